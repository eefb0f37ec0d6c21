"""A05 (monkey-patch the judge's timers, comparison and torch), A08 (work the timer misses:
background threads, late writes, side streams) and A09b (protocol frames printed to stdout):
planted in the ``sandbox`` group; the side-stream variant of A08 needs a GPU and its own run.

Replacing a timer or synchronization function is a RUNTIME_ERROR whose log says "replaced" and
names the function; the verdict is computed in the judge, so patching comparison code or torch
inside the sandbox changes nothing; a Python thread left running, or outputs written after the
call returned, keep a solution from PASSING.
"""

from __future__ import annotations

import pytest
from helpers import make_tiny_dataset, solution_json

from . import planted as P
from .conftest import assert_log_has, assert_not_passed, assert_status, log_of, run_cli

GROUPS_USED = ("sandbox",)


@pytest.fixture(scope="module")
def sandbox(planted):
    return planted.get("sandbox")


def test_a05_honest_control_passes(sandbox):
    for trace in sandbox.of("z_honest"):
        assert_status(trace, "PASSED")


def test_a05a_replaced_perf_counter_at_import_is_a_runtime_error(sandbox):
    for trace in sandbox.of("a05a_perf_counter"):
        assert_status(trace, "RUNTIME_ERROR")
        assert_log_has(trace, "replaced", "time.perf_counter")


def test_a05a_replaced_perf_counter_ns_during_the_call_is_a_runtime_error(sandbox):
    for trace in sandbox.of("a05a_perf_counter_ns"):
        assert_status(trace, "RUNTIME_ERROR")
        assert_log_has(trace, "replaced", "time.perf_counter_ns")


def test_a05a_replaced_cuda_synchronize_and_event_is_a_runtime_error(sandbox):
    for trace in sandbox.of("a05a_cuda_timers"):
        assert_status(trace, "RUNTIME_ERROR")
        assert_log_has(trace, "replaced")
        log = log_of(trace)
        assert "torch.cuda.synchronize" in log or "torch.cuda.Event" in log, log[:1500]


def test_a05b_patched_allclose_and_tensor_sub_do_not_fool_the_judge(sandbox):
    for trace in sandbox.of("a05b_patch_torch"):
        assert_not_passed(trace)


def test_a05c_patched_compare_functions_do_not_fool_the_judge(sandbox):
    for trace in sandbox.of("a05c_patch_compare"):
        assert_not_passed(trace)


def test_a08_outputs_written_by_a_thread_after_return_do_not_pass(sandbox):
    for trace in sandbox.of("a08_late_thread"):
        assert_status(trace, "RUNTIME_ERROR", "INCORRECT_NUMERICAL")
        log = log_of(trace)
        assert "thread" in log or "after the call returned" in log, log[:1500]


def test_a08b_a_thread_left_running_after_return_does_not_pass(sandbox):
    for trace in sandbox.of("a08b_lingering_thread"):
        assert_status(trace, "RUNTIME_ERROR", "INCORRECT_NUMERICAL")
        log = log_of(trace)
        assert "thread" in log or "after the call returned" in log, log[:1500]


def test_a09b_protocol_frames_printed_to_stdout_do_not_pass(sandbox):
    for trace in sandbox.of("a09b_print_frames"):
        assert_not_passed(trace)
        assert_status(trace, "INCORRECT_NUMERICAL", "RUNTIME_ERROR")


@pytest.mark.gpu
def test_a08_side_stream_work_is_timed_or_fails(tmp_path):
    sols = [
        solution_json("a08_side_stream", P.A08_SIDE_STREAM_GPU, targets=["cuda"]),
        solution_json("a08_twin", P.GPU_TWIN, targets=["cuda"]),
    ]
    root = make_tiny_dataset(tmp_path / "ds", sols, workloads=1)
    outcome = run_cli(root, tmp_path / "out", device="cuda:0")
    twin = outcome.of("a08_twin")[0]
    assert_status(twin, "PASSED")
    twin_ms = twin["evaluation"]["performance"]["latency_ms"]
    for trace in outcome.of("a08_side_stream"):
        if trace["evaluation"]["status"] == "PASSED":
            ms = trace["evaluation"]["performance"]["latency_ms"]
            method = trace["evaluation"]["performance"]["timing"]["method"]
            assert ms >= 0.5 * twin_ms, (
                f"side-stream work timed at {ms} ms ({method}), the same work on the call's stream "
                f"{twin_ms} ms ({twin['evaluation']['performance']['timing']['method']})"
            )


@pytest.mark.gpu
def test_a13_cuda_graph_replaying_the_first_calls_memory_fails_while_timed(tmp_path):
    """A CUDA graph captured on the first call replays on that call's buffers: the timed calls,
    which pass other tensors with fresh values, leave their own outputs unwritten."""
    sols = [
        solution_json("a13_graph_replay", P.A13_GRAPH_REPLAY_GPU, targets=["cuda"]),
        solution_json("a13_twin", P.GPU_TWIN, targets=["cuda"]),
    ]
    root = make_tiny_dataset(tmp_path / "ds", sols, workloads=1)
    outcome = run_cli(root, tmp_path / "out", device="cuda:0")
    assert_status(outcome.of("a13_twin")[0], "PASSED")
    for trace in outcome.of("a13_graph_replay"):
        assert_not_passed(trace)
