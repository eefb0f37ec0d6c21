"""Per-definition leaderboards computed from traces: the one aggregation rule of ``run``'s
summary, ``report`` and the viewer.

Speedups are quoted against the definition's *baseline* Solution when its traces are there (the
run recorded ``performance.baseline``; the baseline's kernel time on the same workload, from the
same run folder), else against the reference (``speedup_factor``, kept for interop). For each
solution:

- pass rate;
- geo-mean speedup over the workloads *it* passed (the headline), and, labelled as such, over
  the workloads that *all* solutions of the definition passed ("on common workloads");
- wins and losses against the baseline (workloads where it is faster / slower);
- fast_p for p in P: the fraction of the definition's traced workloads where the solution is
  correct and at least p times faster;
- geo-mean speedup per size bucket (batch size when the definition has a ``batch_size`` axis,
  else the bytes a workload moves);
- median latency and call latency, worst error, failure reasons with diagnoses, plausibility
  flags, and how many passed traces have a noisy timing (trial medians more than
  ``NOISY_SPREAD`` apart) or a CPU wall-clock timing.

Only the latest trace per (definition, solution, workload) counts.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from kernel_arena.report.marks import NOISY_SPREAD
from kernel_arena.report.traffic import bytes_moved
from kernel_arena.schema import Definition, Trace

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
    speedup_basis: str = "reference"
    """What speedups are quoted against: ``baseline <name>`` or ``reference``."""
    geomean_speedup_common: float | None = None
    """Geo-mean speedup on the workloads every solution of the definition passed."""
    geomean_speedup_vs_reference: float | None = None
    """Geo-mean of ``speedup_factor`` over the workloads it passed (interop)."""
    wins: int | None = None
    """Workloads where it is faster than the baseline (None without a baseline)."""
    losses: int | None = None
    by_bucket: dict[str, float | None] = field(default_factory=dict)
    """Size bucket → geo-mean speedup over the workloads of that bucket it passed."""
    noisy: int = 0
    """Passed traces whose timing spread exceeds ``NOISY_SPREAD``."""
    cpu_timed: int = 0
    """Passed traces timed by the CPU wall clock (Triton on CPU runs in its interpreter)."""

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


class Speedups:
    """Speedup of each trace of one definition against its basis (the baseline, else the reference)."""

    def __init__(self, traces: list[Trace]) -> None:
        named = Counter(
            (t.evaluation.performance.model_extra or {}).get("baseline")
            for t in traces
            if t.evaluation is not None and t.evaluation.performance is not None
        )
        named.pop(None, None)
        self.baseline: str | None = named.most_common(1)[0][0] if named else None
        self._base: dict[str, float] = {}
        if self.baseline is not None:
            for t in traces:
                perf = t.evaluation.performance if t.evaluation is not None else None
                if t.solution == self.baseline and t.passed and perf is not None and perf.latency_ms > 0:
                    self._base[t.workload.uuid] = perf.latency_ms

    @property
    def basis(self) -> str:
        return f"baseline {self.baseline}" if self.baseline else "reference"

    def of(self, t: Trace) -> float | None:
        """The speedup of a passed trace against the basis (None when it cannot be told)."""
        perf = t.evaluation.performance if t.evaluation is not None and t.passed else None
        if perf is None or perf.latency_ms <= 0:
            return None
        if self.baseline is None:
            return perf.speedup_factor if perf.speedup_factor > 0 else None
        base = self._base.get(t.workload.uuid)
        if base is None:
            base = (perf.model_extra or {}).get("baseline_latency_ms")
        return base / perf.latency_ms if isinstance(base, (int, float)) and base > 0 else None


def size_bucket(definition: Definition | None, axes: dict[str, int]) -> str:
    """The size bucket of a workload: its batch size, in powers of four, else the bytes it moves
    (``traffic.bytes_moved``)."""
    if "batch_size" in axes:
        b = int(axes["batch_size"])
        for low, high in ((1, 1), (2, 4), (5, 16), (17, 64), (65, 256)):
            if low <= b <= high:
                return f"batch {low}" if low == high else f"batch {low}-{high}"
        return "batch >256"
    if definition is None:
        return "all"
    size = bytes_moved(definition, axes)
    for limit, label in ((1 << 20, "<1 MiB"), (16 << 20, "1-16 MiB"), (256 << 20, "16-256 MiB")):
        if size < limit:
            return label
    return ">256 MiB"


def leaderboard(
    traces: list[Trace],
    definition: str,
    fast_p: tuple[float, ...] = FAST_P,
    spec: Definition | None = None,
) -> list[LeaderboardRow]:
    """Rows sorted best first (pass rate, then geo-mean speedup); ``spec`` (the Definition) sizes
    the buckets of workloads without a ``batch_size`` axis."""
    ts = latest_traces([t for t in traces if t.definition == definition])
    speed = Speedups(ts)
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
        mine = {t.workload.uuid: speed.of(t) for t in passed}
        known = {k: v for k, v in mine.items() if v is not None}
        buckets: dict[str, list[float]] = {}
        for t in passed:
            if known.get(t.workload.uuid) is not None:
                label = size_bucket(spec, t.workload.axes)
                buckets.setdefault(label, []).append(known[t.workload.uuid])
        fp = {
            p: (sum(1 for v in known.values() if v >= p) / len(workloads) if workloads else 0.0)
            for p in fast_p
        }
        reference = [p.speedup_factor for p in perf if p.speedup_factor > 0]
        baseline_run = speed.baseline is not None and sol != speed.baseline
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
        timings = [(p.model_extra or {}).get("timing") or {} for p in perf]
        rows.append(
            LeaderboardRow(
                sol,
                len(passed),
                len(sts),
                geomean(list(known.values())),
                fp,
                statistics.median(p.latency_ms for p in perf) if perf else None,
                statistics.median(c for c in calls if c is not None)
                if any(c is not None for c in calls)
                else None,
                (math.nan if len(finite_errs) < len(errs) else max(finite_errs)) if errs else None,
                dict(failures),
                diagnoses[:5],
                dict(flags),
                speed.basis,
                geomean([v for k, v in known.items() if k in common]),
                geomean(reference),
                sum(1 for v in known.values() if v > 1) if baseline_run else None,
                sum(1 for v in known.values() if v < 1) if baseline_run else None,
                {k: geomean(v) for k, v in sorted(buckets.items(), key=lambda kv: _bucket_order(kv[0]))},
                sum(1 for t in timings if (t.get("spread") or 0) > NOISY_SPREAD),
                sum(1 for t in timings if t.get("method") == "wall_clock_cpu"),
            )
        )
    rows.sort(key=lambda r: (-r.pass_rate, -(r.geomean_speedup or 0.0), r.solution))
    return rows


_BUCKET_ORDER = (
    "batch 1",
    "batch 2-4",
    "batch 5-16",
    "batch 17-64",
    "batch 65-256",
    "batch >256",
    "<1 MiB",
    "1-16 MiB",
    "16-256 MiB",
    ">256 MiB",
    "all",
)


def _bucket_order(label: str) -> int:
    return _BUCKET_ORDER.index(label) if label in _BUCKET_ORDER else len(_BUCKET_ORDER)
