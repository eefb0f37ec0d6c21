"""Timing helpers that need no GPU: splitting a CUPTI activity list into calls, CPU timing."""

from __future__ import annotations

import time

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
    # 1 warm-up call against 2 x 10 timed calls: the order holds however loaded the machine is.
    time_call(lambda: sum(range(20_000)), torch.device("cpu"), TimingSettings(1, 10, 2), clock)
    assert set(clock.totals) == {"warmup", "timed_calls"}
    assert clock.totals["timed_calls"] > clock.totals["warmup"] > 0


def _counting_sleep(seconds: float):
    calls = [0]

    def fn() -> None:
        calls[0] += 1
        time.sleep(seconds)

    return fn, calls


def test_fixed_counts_make_exactly_the_calls_asked_for():
    fn, calls = _counting_sleep(0)
    plans = []
    t = time_call(fn, torch.device("cpu"), TimingSettings(2, 4, 3), on_plan=lambda w, i: plans.append((w, i)))
    assert calls[0] == 2 + 3 * 4 and plans == [(2, 4)] and (t.warmup, t.iters) == (2, 4)


def test_a_budget_shrinks_the_counts_of_a_slow_call():
    fn, calls = _counting_sleep(0.02)  # 20 ms a call, 60 ms per timing loop allowed
    t = time_call(fn, torch.device("cpu"), TimingSettings(10, 50, 3, budget_ms=60, min_iters=1))
    assert t.warmup == 2  # the second warm-up call already spends the warm-up's quarter of the budget
    assert t.iters == 1 and calls[0] == t.warmup + 3 * t.iters


def test_a_slow_first_call_does_not_shrink_the_counts():
    """A first call that compiles (here: 200 ms) must not be taken for the call's cost."""
    calls = [0]

    def fn() -> None:
        calls[0] += 1
        time.sleep(0.2 if calls[0] == 1 else 0.0005)

    t = time_call(fn, torch.device("cpu"), TimingSettings(10, 20, 2, budget_ms=100, min_iters=1))
    assert t.iters == 20 and t.warmup == 10


def test_a_budget_never_goes_below_the_minimum_nor_above_the_maximum():
    slow, _ = _counting_sleep(0.01)
    t = time_call(slow, torch.device("cpu"), TimingSettings(3, 50, 2, budget_ms=1, min_iters=2))
    assert t.iters == 2
    fast, calls = _counting_sleep(0)
    t = time_call(fast, torch.device("cpu"), TimingSettings(3, 7, 2, budget_ms=10_000, min_iters=2))
    assert (t.warmup, t.iters) == (3, 7) and calls[0] == 3 + 2 * 7


def test_budget_settings_key_differs_from_fixed_counts():
    assert TimingSettings(10, 50, 3).key() != TimingSettings(10, 50, 3, budget_ms=50).key()
    assert TimingSettings(10, 50, 3, budget_ms=50).to_json_dict()["budget_ms"] == 50


@pytest.mark.gpu
def test_without_a_usable_profile_the_kernel_time_is_the_synchronized_host_time(monkeypatch):
    """Work on a side stream is invisible to CUDA events on the current stream; the fallback
    must not time it for free (A08): it reports the call latency, synchronized device-wide."""
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    import kernel_arena.measure.timing as timing

    def spoiled(*args, **kwargs):
        raise _NoCupti("the profile does not show the L2 flush after a call marker")

    monkeypatch.setattr(timing, "_cupti_trial", spoiled)
    device = torch.device("cuda:0")
    side = torch.cuda.Stream(device)
    x = torch.randn(4096, 4096, device=device)

    def call() -> None:
        side.wait_stream(torch.cuda.current_stream(device))
        with torch.cuda.stream(side):  # the work, where the current stream's events cannot see it
            for _ in range(4):
                x @ x

    done = []
    t = time_call(call, device, TimingSettings(2, 5, 2), on_done=lambda: done.append(1))
    assert t.method.startswith("host_sync (CUPTI unavailable")
    assert t.latency_ms == t.call_latency_ms
    assert t.latency_ms > 0.2  # four 4096^3 matmuls: ~1 ms on an H100, never the ~0.01 of an empty stream
    assert done == [1]
