"""The judge's check of the counts a sandbox reports against the requested timing schedule."""

from __future__ import annotations

import pytest

from kernel_arena.engine.judge import _schedule_violation
from kernel_arena.engine.sandbox.protocol import Timed
from kernel_arena.measure.timing import TimingSettings

FIXED = TimingSettings(warmup=1, iters=3, trials=2)


def _timed(calls: int, method: str = "cupti", warmup: int = 1, iters: int = 3) -> Timed:
    return Timed(type="timed", nonce="n", calls=calls, warmup=warmup, iters=iters, method=method)


def test_call_latency_and_kernel_loops_fit():
    assert _schedule_violation(_timed(1 + 2 * 6), FIXED) is None


@pytest.mark.parametrize("method", ["cupti", "host_sync (CUPTI unavailable: no flush after a marker)"])
def test_a_third_loop_does_not_fit_whatever_the_method(method):
    """CUPTI's fallback reuses the call-latency loop: no timing method makes a third loop."""
    assert "protocol violation" in (_schedule_violation(_timed(1 + 3 * 6, method), FIXED) or "")


def test_counts_outside_the_schedule_do_not_fit():
    assert _schedule_violation(_timed(1 + 2 * 6 + 1), FIXED) is not None  # not whole loops
    assert _schedule_violation(_timed(1 + 2 * 8, iters=4), FIXED) is not None  # iters above the fixed 3
    assert _schedule_violation(_timed(2 + 2 * 6, warmup=2), FIXED) is not None  # warm-up differs
