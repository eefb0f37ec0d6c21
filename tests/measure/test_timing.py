"""Timing helpers that need no GPU: splitting a CUPTI activity list into calls, CPU timing."""

from __future__ import annotations

import pytest
import torch

from kernel_arena.measure.phases import PhaseClock
from kernel_arena.measure.timing import MARKER_NAME, TimingSettings, _NoCupti, split_calls, time_call


def test_split_calls_spans_the_call_after_each_flush():
    ev = [
        (MARKER_NAME, 0, 1),
        ("vectorized_elementwise_kernel<bitwise_not_kernel_cuda>", 2, 8),
        ("k1", 10, 20),
        ("Memcpy HtoD (Pageable -> Device)", 5, 6),
        ("k2", 30, 50),
        (MARKER_NAME, 60, 61),
        ("bitwise_not flush", 70, 80),
        (MARKER_NAME, 90, 91),
    ]
    samples, counts = split_calls(ev, 2)
    assert samples == [pytest.approx(40e-6), 0.0]
    assert counts == [2, 0]


def test_split_calls_rejects_a_profile_it_cannot_split():
    with pytest.raises(_NoCupti):
        split_calls([(MARKER_NAME, 0, 1), ("k", 2, 3)], 1)  # no closing marker
    with pytest.raises(_NoCupti):  # the first activity after a marker is not the flush
        split_calls([(MARKER_NAME, 0, 1), ("k", 2, 3), (MARKER_NAME, 4, 5)], 1)


def test_cpu_timing_reports_wall_clock():
    t = time_call(lambda: torch.ones(10).sum(), torch.device("cpu"), TimingSettings(1, 3, 2))
    assert t.method == "wall_clock_cpu" and t.latency_ms > 0 and len(t.trial_medians_ms) == 2


def test_timing_loops_are_charged_to_the_phase_clock():
    clock = PhaseClock()
    time_call(lambda: sum(range(20_000)), torch.device("cpu"), TimingSettings(2, 5, 2), clock)
    assert set(clock.totals) == {"warmup", "timed_calls"}
    assert clock.totals["timed_calls"] > clock.totals["warmup"] > 0

