"""A09 (forge the verdict on the reply channel), A10 (pickle payloads) and A11's unknown message:
planted in the ``protocol`` and ``jsonlines`` groups (the latter hangs a judge that trusts the
length prefix of whatever arrives, so it runs apart, under a deadline).

The planted code finds the channel the way an attacker would: every fd of /proc/self/fd above 2
that is a pipe or a socket (where it found none to write to, only "not PASSED" is asserted). Anything malformed from the sandbox is a RUNTIME_ERROR whose log says
"protocol"; the run goes on (the honest solution after them still PASSES) and a pickle from the
sandbox never executes in the judge.
"""

from __future__ import annotations

import pytest

from .conftest import assert_log_has, assert_not_passed, assert_status

GROUPS_USED = ("protocol", "jsonlines")


@pytest.fixture(scope="module")
def protocol(planted):
    return planted.get("protocol")


@pytest.fixture(scope="module")
def jsonlines(planted):
    return planted.get("jsonlines")


def _sprayed(outcome, name: str) -> bool:
    """Whether the planted code managed to write into some pipe or socket of its process."""
    witness = outcome.witness / f"{name}.sprayed"
    return witness.is_file() and any(
        line.strip() not in ("", "[]") for line in witness.read_text().splitlines()
    )


def _protocol_error_if_sprayed(outcome, name: str) -> None:
    for trace in outcome.of(name):
        if _sprayed(outcome, name):
            assert_status(trace, "RUNTIME_ERROR")
            assert_log_has(trace, "protocol")


def test_a09a_json_frames_written_to_the_reply_pipe_are_a_protocol_error(jsonlines):
    assert not jsonlines.timed_out, f"the run hung on forged frames: {jsonlines.describe()}"
    for trace in jsonlines.of("a09a_forge_json_lines"):
        assert_not_passed(trace)
    _protocol_error_if_sprayed(jsonlines, "a09a_forge_json_lines")


def test_a11_unknown_message_type_is_a_protocol_error(jsonlines):
    _protocol_error_if_sprayed(jsonlines, "a11_bogus_message")


def test_a09a_a11_run_goes_on_after_forged_frames(jsonlines):
    for trace in jsonlines.of("z_honest"):
        assert_status(trace, "PASSED")


def test_a09c_forged_frame_then_exit_is_a_runtime_error(protocol):
    for trace in protocol.of("a09c_forge_then_exit"):
        assert_status(trace, "RUNTIME_ERROR")


def test_a09d_verdict_in_the_current_framing_is_a_protocol_error(protocol):
    for trace in protocol.of("a09d_forge_framed_verdict"):
        assert_not_passed(trace)
    _protocol_error_if_sprayed(protocol, "a09d_forge_framed_verdict")


def test_a10_pickle_payload_is_a_protocol_error(protocol):
    _protocol_error_if_sprayed(protocol, "a10_pickle_payload")


def test_a10_pickle_payload_never_executes_in_the_judge(protocol):
    protocol.of("a10_pickle_payload")
    marker = protocol.witness / "pickle_executed"
    assert not marker.exists(), "a pickle written by the solution was loaded by the judge (code execution)"


def test_a09_a10_run_goes_on_after_protocol_errors(protocol):
    assert not protocol.timed_out, protocol.describe()
    for trace in protocol.of("z_honest"):
        assert_status(trace, "PASSED")


def _fired(outcome, name: str) -> bool:
    return (outcome.witness / f"{name}.fired").is_file()


@pytest.mark.parametrize(
    "name",
    [
        "a09e_interim_in_call",  # a Looped reply to a correctness call, which only a Called may answer
        "a09f_interim_forged_early",  # a forged Looped in the first timed call, then the runner's own
    ],
)
def test_a09e_f_misplaced_interim_replies_are_protocol_errors(protocol, name):
    traces = protocol.of(name)
    assert _fired(protocol, name), "the planted code did not find the runner"
    for trace in traces:
        assert_status(trace, "RUNTIME_ERROR")
        assert_log_has(trace, "protocol")


@pytest.mark.parametrize("name", ["a09g_forged_iters", "a09g_forged_warmup"])
def test_a09g_forged_timing_counts_are_protocol_errors(protocol, name):
    """A Timed reply whose warm-up or per-loop counts the requested schedule cannot give (with a
    latency divided by 100) is a protocol error, not a faster PASSED."""
    traces = protocol.of(name)
    assert _fired(protocol, name), "the planted code did not find the runner"
    assert traces
    for trace in traces:
        assert_status(trace, "RUNTIME_ERROR")
        assert_log_has(trace, "protocol violation")


def test_an_interim_reply_with_other_counts_than_the_final_one_is_checked_again(protocol):
    """The early check is kept only when the final reply has its counts; honest outputs pass."""
    traces = protocol.of("z_interim_counts_differ")
    assert _fired(protocol, "z_interim_counts_differ")
    for trace in traces:
        assert_status(trace, "PASSED")


def test_without_an_interim_reply_the_timed_outputs_are_checked_afterwards(protocol):
    traces = protocol.of("z_interim_dropped")
    assert _fired(protocol, "z_interim_dropped")
    for trace in traces:
        assert_status(trace, "PASSED")
