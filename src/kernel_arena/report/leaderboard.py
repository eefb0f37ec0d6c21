"""Per-definition leaderboards computed from traces.

For each solution: pass rate; geo-mean speedup over the reference on the workloads that *all*
compared solutions passed (so solutions are compared on the same set); fast_p for p in P (the
fraction of the definition's traced workloads where the solution is correct and at least p
times faster than the reference); median latency; worst error; failure reasons with diagnoses.
Only the latest trace per (definition, solution, workload) counts.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from kernel_arena.schema import DTYPE_BYTES, Definition, Trace

FAST_P = (0.0, 0.5, 1.0, 1.5, 2.0)


@dataclass
class LeaderboardRow:
    """One solution of one definition."""

    solution: str
    passed: int
    total: int
    geomean_speedup: float | None
    fast_p: dict[float, float]
    median_latency_ms: float | None
    median_call_latency_ms: float | None
    worst_abs_error: float | None
    failures: dict[str, int] = field(default_factory=dict)
    diagnoses: list[str] = field(default_factory=list)
    flags: dict[str, int] = field(default_factory=dict)
    """Plausibility flag id → number of passed traces carrying it."""

    @property
    def pass_rate(self) -> float:
        return self.passed / self.total if self.total else 0.0

    def to_json_dict(self) -> dict[str, Any]:
        """JSON object of the row (fast_p keys as strings, pass_rate included)."""
        d = dict(self.__dict__)
        d["fast_p"] = {str(k): v for k, v in self.fast_p.items()}
        d["pass_rate"] = self.pass_rate
        return d


def latest_traces(traces: list[Trace]) -> list[Trace]:
    """The last trace per (definition, solution, workload), evaluations only."""
    latest: dict[tuple[str, str, str], Trace] = {}
    for t in traces:
        if t.evaluation is not None:
            latest[t.key] = t
    return list(latest.values())


def geomean(values: list[float]) -> float | None:
    """Geometric mean of the positive values (None when there are none)."""
    vals = [v for v in values if v > 0]
    return math.exp(statistics.fmean(math.log(v) for v in vals)) if vals else None


def leaderboard(
    traces: list[Trace], definition: str, fast_p: tuple[float, ...] = FAST_P
) -> list[LeaderboardRow]:
    """Rows sorted best first (pass rate, then geo-mean speedup)."""
    ts = latest_traces([t for t in traces if t.definition == definition])
    by_sol: dict[str, list[Trace]] = {}
    for t in ts:
        by_sol.setdefault(t.solution or "", []).append(t)
    workloads = {t.workload.uuid for t in ts}
    common = set(workloads)
    for sol_traces in by_sol.values():
        common &= {t.workload.uuid for t in sol_traces if t.passed}
    rows = []
    for sol, sts in by_sol.items():
        passed = [t for t in sts if t.passed]
        perf = [t.evaluation.performance for t in passed if t.evaluation and t.evaluation.performance]
        speedups = [
            t.evaluation.performance.speedup_factor
            for t in passed
            if t.workload.uuid in common and t.evaluation and t.evaluation.performance
        ]
        fp = (
            {
                p: sum(
                    1
                    for t in passed
                    if t.evaluation.performance  # type: ignore[union-attr]
                    and t.evaluation.performance.speedup_factor >= p
                )
                / len(workloads)  # type: ignore[union-attr]
                for p in fast_p
            }
            if workloads
            else {p: 0.0 for p in fast_p}
        )
        calls = [(p.model_extra or {}).get("call_latency_ms") for p in perf]
        errs = [
            t.evaluation.correctness.max_absolute_error
            for t in sts
            if t.evaluation and t.evaluation.correctness
        ]
        finite_errs = [e for e in errs if not math.isnan(e)]
        failures = Counter(t.evaluation.status.value for t in sts if t.evaluation and not t.passed)
        diagnoses = []
        for t in sts:
            if not t.passed:
                for d in t.diagnoses:
                    line = f"diagnosis: {d['message']} ({d['pitfall']})"
                    if line not in diagnoses:
                        diagnoses.append(line)
        flags = Counter(f["id"] for t in passed for f in t.flags)
        rows.append(
            LeaderboardRow(
                sol,
                len(passed),
                len(sts),
                geomean(speedups),
                fp,
                statistics.median(p.latency_ms for p in perf) if perf else None,
                statistics.median(c for c in calls if c is not None)
                if any(c is not None for c in calls)
                else None,
                (math.nan if len(finite_errs) < len(errs) else max(finite_errs)) if errs else None,
                dict(failures),
                diagnoses[:5],
                dict(flags),
            )
        )
    rows.sort(key=lambda r: (-r.pass_rate, -(r.geomean_speedup or 0.0), r.solution))
    return rows


def workload_size_bytes(definition: Definition, axes: dict[str, int]) -> int:
    """Bytes of all inputs and outputs a workload implies (used as the size axis of charts)."""
    key = (id(definition), definition.name, tuple(sorted(axes.items())))
    if key not in _SIZE_CACHE:
        if len(_SIZE_CACHE) > 65536:
            _SIZE_CACHE.clear()
        _SIZE_CACHE[key] = _size_bytes(definition, axes)
    return _SIZE_CACHE[key]


_SIZE_CACHE: dict[tuple[int, str, tuple[tuple[str, int], ...]], int] = {}


def _size_bytes(definition: Definition, axes: dict[str, int]) -> int:
    values = definition.axis_values(axes)
    total = 0
    for spec in list(definition.inputs.values()) + list(definition.outputs.values()):
        if spec.shape is None:
            continue
        try:
            n = math.prod(values[a] for a in spec.shape)
            total += n * DTYPE_BYTES[spec.dtype]
        except KeyError:
            continue
    return total
