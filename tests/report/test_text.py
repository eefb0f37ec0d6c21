"""Plain-text formats: latencies in auto-scaled units; a one-liner shortened in the middle keeps
its start and its pitfall id, and cuts between words."""

from __future__ import annotations

from kernel_arena.report.text import format_ms, shorten

DIAGNOSIS = (
    "INCORRECT_NUMERICAL: diagnosis: lse differs from the reference by a factor of 0.693 on all "
    "finite entries: natural-log LSE where base 2 is expected; multiply by log2(e) or use exp2 "
    "throughout the kernel (P03)"
)


def test_latencies_are_auto_scaled():
    assert [format_ms(v) for v in (None, 0.0004, 0.25, 12.345, 872.4063, 1500.0)] == [
        "-",
        "0.4 us",
        "250.0 us",
        "12.35 ms",
        "872.41 ms",
        "1.50 s",
    ]


def test_shorten_keeps_both_ends_and_whole_words():
    short = shorten(DIAGNOSIS, 100)
    assert len(short) <= 100
    assert short.startswith("INCORRECT_NUMERICAL: diagnosis: lse differs")
    assert short.endswith("(P03)") and " … " in short
    kept = short.replace(" … ", " ").split()
    assert all(word in DIAGNOSIS.split() for word in kept)
    assert shorten("fits as it is", 100) == "fits as it is"
    assert shorten("line one\nline two", 100) == "line one line two"
