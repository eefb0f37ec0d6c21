"""The run summary: per (definition, solution), the leaderboard's numbers plus the first failure.

The numbers come from ``report.leaderboard`` (the one aggregation rule), so ``run``, ``report``
and the viewer agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kernel_arena.schema import Definition, Trace


@dataclass
class SummaryRow:
    """Per definition × solution."""

    definition: str
    solution: str
    passed: int
    total: int
    geomean_speedup: float | None
    """Over the workloads it passed, against ``speedup_basis``."""
    worst_abs_error: float | None
    first_failure: str | None
    median_latency_ms: float | None
    speedup_basis: str = "reference"
    geomean_speedup_common: float | None = None
    """On the workloads every solution of the definition passed."""
    wins: int | None = None
    losses: int | None = None
    noisy: int = 0
    cpu_timed: int = 0


def summarize(traces: list[Trace], definitions: dict[str, Definition] | None = None) -> list[SummaryRow]:
    """Summary rows over traces (latest per key), sorted by definition and solution."""
    from kernel_arena.report.leaderboard import latest_traces, leaderboard

    latest = latest_traces(traces)
    rows = []
    for name in sorted({t.definition for t in latest}):
        spec = (definitions or {}).get(name)
        for r in sorted(leaderboard(latest, name, spec=spec), key=lambda r: r.solution):
            failures = [
                t for t in latest if t.definition == name and t.solution == r.solution and not t.passed
            ]
            rows.append(
                SummaryRow(
                    name,
                    r.solution,
                    r.passed,
                    r.total,
                    r.geomean_speedup,
                    r.worst_abs_error,
                    _first_failure(failures[0]) if failures else None,
                    r.median_latency_ms,
                    r.speedup_basis,
                    r.geomean_speedup_common,
                    r.wins,
                    r.losses,
                    r.noisy,
                    r.cpu_timed,
                )
            )
    return rows


def _first_failure(trace: Trace) -> str:
    ev = trace.evaluation
    assert ev is not None
    return f"{ev.status.value}: {failure_reason(trace)}"


def failure_reason(trace: Trace) -> str:
    """Why a trace failed, in one line: its first diagnosis with the pitfall id, else what its
    log says (``log_reason``)."""
    found = trace.diagnoses
    if found:
        return f"diagnosis: {found[0]['message']} ({found[0]['pitfall']})"
    return log_reason(trace.evaluation.log if trace.evaluation is not None else "")


_FRAME = re.compile(r'^\s+File "(?P<file>[^"]+)", line (?P<line>\d+)')


def log_reason(log: str) -> str:
    """The most informative line of a failure log, with the Solution's output left out.

    A diagnosis line if there is one; else the exception line of the last traceback, with the
    Solution file and line it was raised from (``SystemExit: 3 (main.py:23)``), prefixed with
    ``while timing:`` when it happened in the timing loop; else the first line (a crash signal,
    a timeout, a build or comparison message).
    """
    head = log.split("--- solution output ---", 1)[0]
    lines = [ln.rstrip() for ln in head.splitlines() if ln.strip() and not ln.startswith("flag:")]
    for ln in lines:
        if ln.strip().startswith("diagnosis:"):
            return ln.strip()
    found: str | None = None
    in_traceback = False
    where: str | None = None
    intro = ""
    for i, ln in enumerate(lines):
        frame = _FRAME.match(ln)
        if ln.startswith("Traceback (most recent call last)") or frame:
            if not in_traceback:
                intro = lines[i - 1] if i > 0 and ln.startswith("Traceback") else intro
                where = None
            in_traceback = True
            if frame and not frame["file"].startswith(("/", "<")):
                where = f"{frame['file']}:{frame['line']}"
            continue
        if in_traceback and not ln.startswith((" ", "\t")):
            if ln.startswith(("During handling", "The above exception")):
                continue
            found = ln.strip() + (f" ({where})" if where else "")
            in_traceback = False
    if found is not None:
        return ("while timing: " if intro.startswith("while timing") else "") + found
    return lines[0].strip() if lines else ""
