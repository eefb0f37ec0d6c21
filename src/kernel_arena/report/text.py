"""How numbers and messages read in plain text (terminal tables, one-line summaries): latencies
in auto-scaled units, one-liners shortened in the middle so both their ends survive."""

from __future__ import annotations


def format_ms(value: float | None) -> str:
    """A latency in milliseconds as ``12.3 us`` below 1 ms, ``1.23 ms`` below 1 s, else
    ``1.23 s``; ``-`` for none."""
    if value is None:
        return "-"
    if value < 1:
        return f"{value * 1e3:.1f} us"
    if value < 1e3:
        return f"{value:.2f} ms"
    return f"{value / 1e3:.2f} s"


def shorten(text: str, width: int) -> str:
    """``text`` on one line, at most ``width`` characters: when longer, the middle is replaced
    by `` … `` at word boundaries, so the start (the exception type) and the end (a ``(P03)``
    pitfall id, a ``(main.py:12)`` location) both survive."""
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    keep = max(width - 3, 2)
    tail_len = max(keep // 4, 1)  # room for the last words and a (P03) or (main.py:12)
    head = text[: keep - tail_len]
    tail = text[len(text) - tail_len :]
    if " " in head[len(head) // 2 :]:
        head = head[: head.rindex(" ")]
    if " " in tail[: len(tail) // 2]:
        tail = tail[tail.index(" ") + 1 :]
    return f"{head.rstrip()} … {tail.lstrip()}"
