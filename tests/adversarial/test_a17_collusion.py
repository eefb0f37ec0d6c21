"""A17 (collusion): one Solution records the inputs it is shown with their outputs in a shared
folder, a second Solution of the same author replays them and computes nothing.

The correctness draws are public (the same for every Solution, so the replayer's lookups hit
there: the witness file shows it), but the timing inputs come from the run's secret *and the
Solution's content hash*: the replayer has never seen its own, returns zeros for them, and the
re-check of a timed call fails it.
"""

from __future__ import annotations

import pytest

from .conftest import assert_log_has, assert_status

GROUPS_USED = ("collusion",)


@pytest.fixture(scope="module")
def collusion(planted):
    return planted.get("collusion")


def test_a17_recorder_is_honest_and_passes(collusion):
    for trace in collusion.of("a17a_recorder"):
        assert_status(trace, "PASSED")


def test_a17_replayer_is_caught_on_its_own_timing_inputs(collusion):
    hits = (collusion.witness / "a17_hits").read_text().split()
    assert hits, "the replayer never found a recorded input: the attack was not exercised"
    traces = collusion.of("a17b_replayer")
    assert traces
    for trace in traces:
        assert_status(trace, "INCORRECT_NUMERICAL")
        assert_log_has(trace, "timed call")
