"""The charts of one definition, shared by the HTML report and the viewer: series data and their
SVGs (``svg.py`` draws them).

- **fast_p**: for each solution, the fraction of the definition's traced workloads it passes at
  least ``p`` times faster than the leaderboard's basis (the baseline Solution when it ran, else
  the reference: ``leaderboard.Speedups``), as a staircase over ``p``. The ``p`` axis ends at
  a round value above the 90th percentile of the passed speedups (at least 2), so one outlier
  does not squeeze every curve against the left edge.
- **latency**: kernel time (CPU: wall clock) against the bytes the workload moves
  (``traffic.bytes_moved``), the median per size and solution.
- **bandwidth**: achieved bandwidth, bytes moved / kernel time, in GB/s.
"""

from __future__ import annotations

import bisect
import math
import statistics

from kernel_arena.report.leaderboard import Speedups
from kernel_arena.report.svg import line_chart, linear_ticks
from kernel_arena.report.traffic import bytes_moved
from kernel_arena.schema import Definition, Trace

FAST_P_QUANTILE = 0.9
FAST_P_MIN_LIMIT = 2.0
FAST_P_POINTS = 200
"""Above this many distinct speedups, fast_p is drawn on an even grid of this many steps."""


def _speedups(traces: list[Trace], speed: Speedups) -> list[tuple[Trace, float]]:
    """(trace, speedup) of the passed traces whose speedup is known and finite."""
    return [(t, s) for t in traces if (s := speed.of(t)) is not None and math.isfinite(s)]


def fast_p_limit(traces: list[Trace], speed: Speedups) -> float:
    """Right end of the fast_p axis: a round value above the 90th percentile of the speedups of
    the passed traces, at least 2."""
    speedups = sorted(s for _, s in _speedups(traces, speed))
    if not speedups:
        return FAST_P_MIN_LIMIT
    q = speedups[min(len(speedups) - 1, int(FAST_P_QUANTILE * len(speedups)))]
    return max(FAST_P_MIN_LIMIT, linear_ticks(0.0, q * 1.1)[-1])


def fast_p_series(
    traces: list[Trace], solutions: list[str], p_max: float, speed: Speedups
) -> dict[str, list[tuple[float, float]]]:
    """fast_p(p) for ``p`` in [0, p_max], per solution, over the latest ``traces`` of one
    definition (the leaderboard's fast_p at every step of the curve)."""
    n = len({t.workload.uuid for t in traces})
    speedups: dict[str, list[float]] = {s: [] for s in solutions}
    for t, s in _speedups(traces, speed):
        if t.solution in speedups:
            speedups[t.solution].append(s)
    out = {}
    for sol, values in speedups.items():
        values.sort()
        steps = sorted({v for v in values if 0 < v < p_max})
        if len(steps) > FAST_P_POINTS:
            steps = [p_max * i / FAST_P_POINTS for i in range(1, FAST_P_POINTS)]
        grid = [0.0, *steps, p_max]
        out[sol] = [(p, (len(values) - bisect.bisect_left(values, p)) / n if n else 0.0) for p in grid]
    return out


def size_series(
    definition: Definition, traces: list[Trace], solutions: list[str]
) -> tuple[dict[str, list[tuple[float, float]]], dict[str, list[tuple[float, float]]]]:
    """(latency ms, achieved GB/s) against bytes moved, per solution, one point (the median)
    per distinct size; passed traces only."""
    sizes: dict[tuple[tuple[str, int], ...], float] = {}
    lat: dict[str, dict[float, list[float]]] = {s: {} for s in solutions}
    for t in traces:
        perf = t.evaluation.performance if t.evaluation is not None and t.passed else None
        if perf is None or not perf.latency_ms > 0 or t.solution not in lat:
            continue
        key = tuple(sorted(t.workload.axes.items()))
        if key not in sizes:
            try:
                sizes[key] = float(bytes_moved(definition, t.workload.axes))
            except OverflowError:
                sizes[key] = math.inf
        if math.isfinite(sizes[key]) and sizes[key] > 0:
            lat[t.solution].setdefault(sizes[key], []).append(perf.latency_ms)
    latency = {s: [(x, statistics.median(ys)) for x, ys in sorted(by.items())] for s, by in lat.items()}
    bandwidth = {s: [(x, x / (y * 1e-3) / 1e9) for x, y in pts] for s, pts in latency.items()}
    return latency, bandwidth


def definition_charts(definition: Definition, traces: list[Trace], solutions: list[str]) -> dict[str, str]:
    """SVGs ``fast_p``, ``latency`` and ``bandwidth`` for the latest ``traces`` of ``definition``,
    one series per solution in the order given."""
    speed = Speedups(traces)
    p_max = fast_p_limit(traces, speed)
    latency, bandwidth = size_series(definition, traces, solutions)
    return {
        "fast_p": line_chart(
            fast_p_series(traces, solutions, p_max, speed),
            f"fast_p: fraction of workloads correct and ≥ p× faster than the {speed.basis}",
            f"p (speedup over the {speed.basis})",
            "fraction of workloads",
            x_scale="linear",
            y_scale="linear",
            x_domain=(0.0, p_max),
            y_domain=(0.0, 1.0),
            step=True,
        ),
        "latency": line_chart(
            latency,
            "latency vs bytes moved",
            "bytes moved (paged caches: referenced pages only)",
            "latency (ms)",
            x_format="bytes",
        ),
        "bandwidth": line_chart(
            bandwidth,
            "achieved bandwidth (bytes moved / latency)",
            "bytes moved (paged caches: referenced pages only)",
            "GB/s",
            x_format="bytes",
        ),
    }
