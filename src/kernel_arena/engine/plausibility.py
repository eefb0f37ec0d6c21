"""Flags for timing results no honest kernel produces, recorded in the trace, never hidden.

- ``below_bandwidth_floor`` (judge): a GPU kernel time shorter than writing the outputs once at
  ``PEAK_BYTES_PER_S`` takes.
- ``implausible_speedup`` (orchestrator): more than ``MAX_SPEEDUP_VS_BASELINE`` times faster than
  the baseline Solution's kernel time on the same workload in the same run.

A flag does not fail the trace; ``report`` and the viewer show it next to the number.
"""

from __future__ import annotations

from typing import Any

from kernel_arena.measure.dtypes import torch_dtype
from kernel_arena.measure.timing import Timing
from kernel_arena.schema import Definition, Trace, Workload

PEAK_BYTES_PER_S = 10e12
"""Above any current GPU's memory bandwidth (H100 ~3.35 TB/s, H200 ~4.8 TB/s, B200 ~8 TB/s)."""
MAX_SPEEDUP_VS_BASELINE = 10.0


def output_bytes(definition: Definition, workload: Workload) -> int:
    """Bytes of all outputs of one call."""
    axes = definition.axis_values(workload.axes)
    total = 0
    for spec in definition.outputs.values():
        shape = definition.shape_of(spec, axes) or ()
        n = 1
        for d in shape:
            n *= int(d)
        total += n * torch_dtype(spec.dtype).itemsize
    return total


def bandwidth_flags(
    timing: Timing, definition: Definition, workload: Workload, device_type: str
) -> list[dict[str, Any]]:
    """``below_bandwidth_floor`` when a GPU kernel time is shorter than writing its outputs."""
    if device_type != "cuda":
        return []
    floor_ms = output_bytes(definition, workload) / PEAK_BYTES_PER_S * 1e3
    if timing.latency_ms < floor_ms:
        return [
            {
                "id": "below_bandwidth_floor",
                "message": f"kernel time {timing.latency_ms * 1e3:.3f} us is below the "
                f"{floor_ms * 1e3:.3f} us it takes"
                f" to write the outputs at {PEAK_BYTES_PER_S / 1e12:.0f} TB/s",
            }
        ]
    return []


def baseline_flags(trace: Trace, baseline: Trace | None) -> list[dict[str, Any]]:
    """``implausible_speedup`` against the baseline Solution's trace on the same workload."""
    ev, base = trace.evaluation, baseline.evaluation if baseline is not None else None
    if ev is None or base is None or ev.performance is None or base.performance is None:
        return []
    if trace.solution == baseline.solution:  # type: ignore[union-attr]
        return []
    mine, theirs = ev.performance.latency_ms, base.performance.latency_ms
    if mine <= 0 or theirs <= 0 or theirs / mine <= MAX_SPEEDUP_VS_BASELINE:
        return []
    return [
        {
            "id": "implausible_speedup",
            "message": f"{theirs / mine:.1f}x faster than the baseline {baseline.solution} "  # type: ignore[union-attr]
            f"({theirs * 1e3:.1f} us) on this workload; more than {MAX_SPEEDUP_VS_BASELINE:g}x is flagged",
        }
    ]
