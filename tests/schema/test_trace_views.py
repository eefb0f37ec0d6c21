"""Trace.diagnoses and Trace.flags: structured where stored, read from old logs in one place."""

from __future__ import annotations

from kernel_arena.schema import Trace


def _trace(evaluation: dict) -> Trace:
    base = {"status": "RUNTIME_ERROR", "environment": {"hardware": "CPU"}, "timestamp": "2026-11-24T00:00:00"}
    return Trace.model_validate(
        {
            "definition": "d",
            "workload": {"axes": {}, "inputs": {}, "uuid": "w"},
            "solution": "s",
            "evaluation": {**base, **evaluation},
        }
    )


def test_structured_diagnoses_are_returned_as_stored():
    t = _trace({"diagnoses": [{"pitfall": "P03", "message": "natural-log LSE"}], "log": "diagnosis: other (P99)"})
    assert t.diagnoses == [{"pitfall": "P03", "message": "natural-log LSE"}]


def test_old_traces_have_their_diagnoses_read_from_the_log():
    t = _trace({"log": "draw 0: boom\ndiagnosis: heads mapped wrong (kv = h % 8) (P04)\nmore"})
    assert t.diagnoses == [{"pitfall": "P04", "message": "heads mapped wrong (kv = h % 8)"}]


def test_flags_come_from_performance():
    t = _trace(
        {
            "status": "PASSED",
            "correctness": {"max_relative_error": 0, "max_absolute_error": 0},
            "performance": {"latency_ms": 1e-9, "flags": [{"id": "below_bandwidth_floor", "message": "m"}]},
        }
    )
    assert [f["id"] for f in t.flags] == ["below_bandwidth_floor"]
    assert _trace({}).flags == []
