"""A01 (memoised outputs) and A02 (skip work only when timed): planted in the ``timing`` group.

The judge gives every timed call fresh secret input values and re-checks the outputs of timed
calls: a solution whose timed outputs are wrong is INCORRECT_NUMERICAL with "while timed" in its
log; a solution that recognises inputs to skip work either fails or is timed doing the work.
The memo/prediction tricks do 3 ms of "work" (a sleep) only on inputs they do not recognise, so
the skipped work is visible next to ``a01_slow_twin``, which always does it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import assert_log_has, assert_status

GROUPS_USED = ("timing",)


@pytest.fixture(scope="module")
def timing(planted):
    return planted.get("timing")


def _latency(trace) -> float:
    return trace["evaluation"]["performance"]["latency_ms"]


def _fails_or_does_the_work(timing, name: str) -> None:
    twin = timing.of("a01_slow_twin")[0]
    assert_status(twin, "PASSED")
    for trace in timing.of(name):
        if trace["evaluation"]["status"] != "PASSED":
            continue
        assert _latency(trace) >= 0.5 * _latency(twin), (
            f"{name} PASSED at {_latency(trace):.4f} ms while its twin that does the work takes "
            f"{_latency(twin):.4f} ms: the timed calls skipped the work (speedup "
            f"{trace['evaluation']['performance']['speedup_factor']:.1f})"
        )


def test_a01_honest_control_passes(timing):
    for trace in timing.of("a01_slow_twin"):
        assert_status(trace, "PASSED")


def test_a01_memo_on_data_ptr_fails_or_is_timed_doing_the_work(timing):
    _fails_or_does_the_work(timing, "a01_memo_data_ptr")


def test_a01_memo_on_data_ptr_never_passes_on_stale_outputs(timing):
    """Either the memo misses (fresh buffers) and the work is timed, or it hits and is caught."""
    for trace in timing.of("a01_memo_data_ptr"):
        if trace["evaluation"]["status"] != "PASSED":
            assert_status(trace, "INCORRECT_NUMERICAL")


def test_a01b_memo_on_fingerprint_fails_or_is_timed_doing_the_work(timing):
    _fails_or_does_the_work(timing, "a01b_memo_fingerprint")


def test_a02a_garbage_after_the_checked_calls_is_caught_while_timed(timing):
    for trace in timing.of("a02a_first_calls_only"):
        assert_status(trace, "INCORRECT_NUMERICAL")
        assert_log_has(trace, "while timed")


def test_a02b_garbage_when_a_timing_frame_is_on_the_stack(timing):
    fired = (timing.witness / "a02b_stack_sniff").is_file()
    for trace in timing.of("a02b_stack_sniff"):
        if not fired:
            # The timing loop could not be recognised from the stack: the solution was honest.
            assert_status(trace, "PASSED")
            continue
        assert_status(trace, "INCORRECT_NUMERICAL")
        assert_log_has(trace, "while timed")


def test_a02c_inputs_predicted_from_public_seeds_do_not_buy_speed(timing):
    _fails_or_does_the_work(timing, "a02c_predict_seeds")


def test_a02c_timed_inputs_are_not_predictable(timing):
    """At most the correctness draws may be predictable; if any timed input was, the run is fast."""
    witness = Path(timing.witness) / "a02c_predict_seeds"
    predicted = witness.read_text().count("predicted") if witness.is_file() else 0
    # --draws 2 + --warmup 1 + --iters 3 x --trials 2 = 9 calls per workload
    assert predicted <= 2, f"{predicted} calls received inputs re-creatable from public seeds"
