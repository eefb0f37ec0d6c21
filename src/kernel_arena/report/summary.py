"""The run summary: per (definition, solution), the leaderboard's numbers plus the first failure.

The numbers come from ``report.leaderboard`` (the one aggregation rule), so ``run``, ``report``
and the viewer agree.
"""

from __future__ import annotations

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
    found = trace.diagnoses
    detail = f"diagnosis: {found[0]['message']} ({found[0]['pitfall']})" if found else first_line(ev.log)
    return f"{ev.status.value}: {detail}"


def first_line(log: str) -> str:
    """The most informative line of a log: a diagnosis if any, else the first line."""
    lines = [ln.strip() for ln in log.splitlines() if ln.strip()]
    for ln in lines:
        if ln.startswith("diagnosis:"):
            return ln
    for ln in reversed(lines):
        if (
            ln.startswith(("Error", "RuntimeError", "ValueError", "TypeError", "AssertionError"))
            or "Error:" in ln
        ):
            return ln
    return lines[0] if lines else ""
