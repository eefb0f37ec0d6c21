"""The marks every view puts next to a speedup whose timing deserves less trust."""

from __future__ import annotations

NOISY_SPREAD = 0.10
"""A timing whose trial medians differ by more than this fraction of their median is noisy."""
NOISY_MARK = "~"
"""Some traces have trial medians more than ``NOISY_SPREAD`` apart."""
CPU_MARK = "*"
"""Some traces were timed by the CPU wall clock (Triton on CPU: its interpreter)."""
TIMING_MARKS_LEGEND = (
    f"{NOISY_MARK} noisy timing (trial medians more than {NOISY_SPREAD:.0%} apart); "
    f"{CPU_MARK} CPU wall-clock timing (Triton runs in its interpreter there: not kernel speed)"
)


def timing_marks(noisy: int, cpu_timed: int) -> str:
    """The marks for a row with ``noisy`` noisy and ``cpu_timed`` CPU-timed traces."""
    return (NOISY_MARK if noisy else "") + (CPU_MARK if cpu_timed else "")
