"""Compare two runs (or two Solutions of one run): per (definition, solution, workload) latency
change, flagged only when it exceeds the run-to-run spread measured in the traces; new failures
first. Used by ``kernel-arena compare`` and the viewer's compare page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kernel_arena.report.leaderboard import latest_traces
from kernel_arena.schema import Trace

MIN_THRESHOLD = 0.03


@dataclass
class Change:
    """One (definition, solution, workload) present in both runs (or newly failing)."""

    definition: str
    solution: str
    workload: str
    status_a: str
    status_b: str
    latency_a_ms: float | None
    latency_b_ms: float | None
    threshold: float
    kind: str  # new_failure | fixed | regression | improvement | unchanged

    @property
    def change(self) -> float | None:
        if self.latency_a_ms and self.latency_b_ms:
            return self.latency_b_ms / self.latency_a_ms - 1.0
        return None

    def to_json_dict(self) -> dict[str, Any]:
        """JSON object of the change, with the relative ``change`` included."""
        return dict(self.__dict__, change=self.change)


def _spread(t: Trace) -> float:
    perf = t.evaluation.performance if t.evaluation else None
    timing = (perf.model_extra or {}).get("timing", {}) if perf else {}
    return float(timing.get("spread") or 0.0)


def compare_runs(a: list[Trace], b: list[Trace]) -> list[Change]:
    """Changes from run A to run B, new failures first, then regressions, improvements."""
    la = {t.key: t for t in latest_traces(a)}
    lb = {t.key: t for t in latest_traces(b)}
    return _sorted([_change(key, la[key], lb[key]) for key in sorted(set(la) & set(lb))])


def compare_solutions(traces: list[Trace], solution_a: str, solution_b: str) -> list[Change]:
    """Changes from Solution A to Solution B on the workloads both ran (same run, same rule as
    ``compare_runs``); ``Change.solution`` reads ``A -> B``."""
    latest = latest_traces(traces)
    la = {(t.definition, t.workload.uuid): t for t in latest if t.solution == solution_a}
    lb = {(t.definition, t.workload.uuid): t for t in latest if t.solution == solution_b}
    label = f"{solution_a} -> {solution_b}"
    return _sorted([_change((d, label, w), la[(d, w)], lb[(d, w)]) for d, w in sorted(set(la) & set(lb))])


def _change(key: tuple[str, str, str], ta: Trace, tb: Trace) -> Change:
    """The change from ``ta`` to ``tb``: flagged only beyond twice the larger spread (at least
    ``MIN_THRESHOLD``)."""
    sa, sb = ta.evaluation.status, tb.evaluation.status  # type: ignore[union-attr]
    pa = ta.evaluation.performance  # type: ignore[union-attr]
    pb = tb.evaluation.performance  # type: ignore[union-attr]
    threshold = max(MIN_THRESHOLD, 2 * max(_spread(ta), _spread(tb)))
    kind = "unchanged"
    if ta.passed and not tb.passed:
        kind = "new_failure"
    elif not ta.passed and tb.passed:
        kind = "fixed"
    elif pa and pb and pa.latency_ms > 0:
        rel = pb.latency_ms / pa.latency_ms - 1.0
        if rel > threshold:
            kind = "regression"
        elif rel < -threshold:
            kind = "improvement"
    return Change(
        key[0],
        key[1],
        key[2],
        sa.value,
        sb.value,
        pa.latency_ms if pa else None,
        pb.latency_ms if pb else None,
        threshold,
        kind,
    )


def _sorted(changes: list[Change]) -> list[Change]:
    order = {"new_failure": 0, "regression": 1, "improvement": 2, "fixed": 3, "unchanged": 4}
    return sorted(changes, key=lambda c: (order[c.kind], c.definition, c.solution, c.workload))


def unpaired(a: list[Trace], b: list[Trace]) -> tuple[int, int]:
    """How many (definition, solution, workload) keys only run A has, and only run B has: they
    are not compared."""
    ka = {t.key for t in latest_traces(a)}
    kb = {t.key for t in latest_traces(b)}
    return len(ka - kb), len(kb - ka)
