"""The one aggregation rule over traces: per (definition, solution) rows used by run, report and web."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from kernel_arena.schema import Trace


@dataclass
class SummaryRow:
    """Per definition × solution."""

    definition: str
    solution: str
    passed: int
    total: int
    geomean_speedup: float | None
    worst_abs_error: float | None
    first_failure: str | None
    median_latency_ms: float | None


def summarize(traces: list[Trace]) -> list[SummaryRow]:
    """Summary rows over traces (latest per key)."""
    from kernel_arena.report.leaderboard import geomean, latest_traces

    groups: dict[tuple[str, str], list[Trace]] = {}
    for t in latest_traces(traces):
        groups.setdefault((t.definition, t.solution or ""), []).append(t)
    rows = []
    for (definition, solution), ts in sorted(groups.items()):
        passed = [t for t in ts if t.passed]
        speedups = [
            t.evaluation.performance.speedup_factor
            for t in passed  # type: ignore[union-attr]
            if t.evaluation.performance and t.evaluation.performance.speedup_factor > 0
        ]  # type: ignore[union-attr]
        lat = [
            t.evaluation.performance.latency_ms
            for t in passed  # type: ignore[union-attr]
            if t.evaluation.performance
        ]  # type: ignore[union-attr]
        errs = [
            t.evaluation.correctness.max_absolute_error
            for t in ts  # type: ignore[union-attr]
            if t.evaluation and t.evaluation.correctness
        ]
        failures = [t for t in ts if t.evaluation is not None and not t.passed]
        first = None
        if failures:
            ev = failures[0].evaluation
            assert ev is not None
            found = failures[0].diagnoses
            detail = (
                f"diagnosis: {found[0]['message']} ({found[0]['pitfall']})" if found else first_line(ev.log)
            )
            first = f"{ev.status.value}: {detail}"
        rows.append(
            SummaryRow(
                definition,
                solution,
                len(passed),
                len(ts),
                geomean(speedups),
                max(errs) if errs else None,
                first,
                statistics.median(lat) if lat else None,
            )
        )
    return rows


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
