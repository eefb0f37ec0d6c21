"""A03 (steal the reference's outputs), A04 (call the reference), A06 (lying tensor subclass),
A07 (mutate or alias inputs): planted in the ``outputs`` group.

The reference never runs in, and its outputs never enter, the Solution's process; outputs are
copied into judge-owned buffers and compared as plain tensors; the judge keeps pristine inputs.
"""

from __future__ import annotations

import re

import pytest

from .conftest import assert_not_passed, assert_status, log_of

GROUPS_USED = ("outputs",)


@pytest.fixture(scope="module")
def outputs(planted):
    return planted.get("outputs")


def test_a03_honest_control_passes(outputs):
    for trace in outputs.of("z_honest"):
        assert_status(trace, "PASSED")


@pytest.mark.parametrize("name", ["a03a_frame_walk", "a03b_gc_scan", "a03c_cache_file"])
def test_a03_stolen_reference_outputs_do_not_pass(outputs, name):
    for trace in outputs.of(name):
        assert_not_passed(trace)


def test_a04_calling_the_reference_passes_at_about_1x(outputs):
    for trace in outputs.of("a04_calls_reference"):
        assert_status(trace, "PASSED")
        speedup = trace["evaluation"]["performance"]["speedup_factor"]
        assert 0.05 <= speedup <= 20, f"the reference called from a solution timed at {speedup}x"


def test_a06_lying_tensor_subclass_is_compared_as_a_plain_tensor(outputs):
    for trace in outputs.of("a06_lying_subclass"):
        assert_not_passed(trace)


def test_a07a_mutating_an_input_to_match_is_caught_and_named(outputs):
    for trace in outputs.of("a07a_mutate_y"):
        assert_status(trace, "INCORRECT_NUMERICAL")
        assert re.search(r"\by\b", log_of(trace)), (
            f"the mutated input y is not named: {log_of(trace)[:1500]!r}"
        )


def test_a07b_returning_an_aliased_input_with_wrong_values_fails(outputs):
    for trace in outputs.of("a07b_alias_y"):
        assert_not_passed(trace)


def test_a16_every_trace_records_content_hashes(outputs):
    assert outputs.traces, outputs.describe()
    for trace in outputs.traces:
        prov = trace.get("provenance")
        assert isinstance(prov, dict), f"{trace['solution']}: no provenance in the trace"
        for key in ("solution_hash", "definition_hash", "workload_hash"):
            value = prov.get(key)
            assert isinstance(value, str) and re.fullmatch(r"[0-9a-f]{16,}", value), (key, value)


def test_a16_solution_hash_tells_different_code_apart(outputs):
    hashes = {}
    for name in ("z_honest", "a04_calls_reference", "a07a_mutate_y"):
        prov = outputs.of(name)[0].get("provenance") or {}
        hashes[name] = prov.get("solution_hash")
    assert None not in hashes.values(), hashes
    assert len(set(hashes.values())) == 3, hashes
    defs = {(t.get("provenance") or {}).get("definition_hash") for t in outputs.traces}
    assert len(defs) == 1, "one definition, one definition hash"
