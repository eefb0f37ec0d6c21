"""Schema validation rules: each bad input is rejected with a message naming the field."""

from __future__ import annotations

import json

import pytest
from helpers import GOOD_DPS, solution_json, tiny_definition, tiny_workload
from pydantic import ValidationError

from kernel_arena.schema import Definition, Evaluation, Solution, Trace, Workload


def _msg(exc: pytest.ExceptionInfo[ValidationError]) -> str:
    return "\n".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.value.errors())


def test_definition_accepts_valid_and_keeps_unknown_fields():
    d = tiny_definition()
    d["inputs"]["x"]["optional"] = True
    d["x_custom"] = {"a": 1}
    model = Definition.model_validate(d)
    assert model.inputs["x"].optional
    assert model.to_json_dict() == d


@pytest.mark.parametrize(
    ("change", "expect"),
    [
        (lambda d: d["inputs"]["x"].update(shape=["m"]), "names axis 'm'"),
        (lambda d: d.update(constraints=["n >"]), "not a Python expression"),
        (lambda d: d.update(reference="def nope(:\n  pass"), "not valid Python"),
        (
            lambda d: d.update(reference="def other():\n    return 1\n"),
            "must define a top-level function `run`",
        ),
        (lambda d: d["outputs"].update(x={"shape": ["n"], "dtype": "float32"}), "disjoint"),
        (lambda d: d["inputs"]["x"].update(dtype="float128"), "inputs.x.dtype"),
        (lambda d: d["axes"].update(k={"type": "const", "value": 0}), "axes.k"),
    ],
)
def test_definition_rules(change, expect):
    d = tiny_definition()
    change(d)
    with pytest.raises(ValidationError) as exc:
        Definition.model_validate(d)
    assert expect in _msg(exc)


@pytest.mark.parametrize(
    ("change", "expect"),
    [
        (lambda s: s["spec"].update(entry_point="main.py:run"), "exactly one '::'"),
        (lambda s: s["spec"].update(entry_point="main.py::a::b"), "exactly one '::'"),
        (lambda s: s["spec"].update(entry_point="other.py::run"), "entry file 'other.py'"),
        (lambda s: s["sources"].append({"path": "main.py", "content": ""}), "duplicate source path"),
        (lambda s: s["sources"].append({"path": "../evil.py", "content": ""}), "must not contain '..'"),
        (lambda s: s["sources"].append({"path": "/etc/passwd", "content": ""}), "must be relative"),
        (lambda s: s["spec"].update(target_hardware=[]), "spec.target_hardware"),
        (lambda s: s["spec"].update(language="fortran"), "spec.language"),
        (lambda s: s["spec"].update(binding="pybind"), "spec.binding"),
    ],
)
def test_solution_rules(change, expect):
    s = solution_json("s", GOOD_DPS)
    change(s)
    with pytest.raises(ValidationError) as exc:
        Solution.model_validate(s)
    assert expect in _msg(exc)


def test_solution_defaults_to_destination_passing_style():
    s = solution_json("s", GOOD_DPS)
    del s["spec"]["destination_passing_style"]
    assert Solution.model_validate(s).spec.destination_passing_style is True


def test_workload_input_kinds():
    w = Workload.model_validate(
        {
            "axes": {"n": 3},
            "uuid": "u",
            "inputs": {
                "x": {"type": "random"},
                "a": {"type": "scalar", "value": 1.5},
                "t": {"type": "safetensors", "path": "./blob/x.safetensors", "tensor_key": "t"},
            },
        }
    )
    assert [type(v).__name__ for v in w.inputs.values()] == ["RandomInput", "ScalarInput", "SafetensorsInput"]
    with pytest.raises(ValidationError) as exc:
        Workload.model_validate(
            {"axes": {"n": 3}, "uuid": "u", "inputs": {"t": {"type": "safetensors", "path": "p"}}}
        )
    assert "tensor_key" in _msg(exc)


def _evaluation(status: str, correctness: bool, performance: bool) -> dict:
    ev = {
        "status": status,
        "environment": {"hardware": "CPU", "libs": {}},
        "timestamp": "2026-01-01T00:00:00Z",
        "log": "",
    }
    if correctness:
        ev["correctness"] = {"max_relative_error": 0.0, "max_absolute_error": 0.0}
    if performance:
        ev["performance"] = {"latency_ms": 1.0, "reference_latency_ms": 2.0, "speedup_factor": 2.0}
    return ev


@pytest.mark.parametrize(
    ("status", "c", "p", "ok"),
    [
        ("PASSED", True, True, True),
        ("PASSED", True, False, False),
        ("PASSED", False, True, False),
        ("INCORRECT_NUMERICAL", True, False, True),
        ("INCORRECT_NUMERICAL", False, False, False),
        ("INCORRECT_NUMERICAL", True, True, False),
        ("RUNTIME_ERROR", False, False, True),
        ("RUNTIME_ERROR", True, False, False),
        ("TIMEOUT", False, True, False),
        ("COMPILE_ERROR", False, False, True),
        ("INCORRECT_SHAPE", False, False, True),
        ("INCORRECT_DTYPE", False, False, True),
    ],
)
def test_evaluation_evidence_rules(status, c, p, ok):
    data = _evaluation(status, c, p)
    if ok:
        Evaluation.model_validate(data)
    else:
        with pytest.raises(ValidationError):
            Evaluation.model_validate(data)


def test_status_names_are_the_public_ones():
    from kernel_arena.schema import EvaluationStatus

    assert {s.value for s in EvaluationStatus} == {
        "PASSED",
        "INCORRECT_SHAPE",
        "INCORRECT_NUMERICAL",
        "INCORRECT_DTYPE",
        "RUNTIME_ERROR",
        "COMPILE_ERROR",
        "TIMEOUT",
    }


def test_trace_round_trip_with_infinite_errors_and_extras():
    ev = _evaluation("INCORRECT_NUMERICAL", True, False)
    ev["correctness"]["max_relative_error"] = "Infinity"
    ev["correctness"]["max_absolute_error"] = "NaN"
    t = {
        "definition": "d",
        "workload": tiny_workload("u")["workload"],
        "solution": "s",
        "evaluation": ev,
        "extra_field": [1, 2],
    }
    model = Trace.model_validate(t)
    again = json.loads(model.to_json())
    assert again == t
    assert Trace.model_validate(again).to_json_dict() == t


def test_workload_name_is_the_optional_name_extra():
    wl = tiny_workload("u")["workload"]
    assert Workload.model_validate(wl).name is None
    named = Workload.model_validate({**wl, "name": "cpu_b1"})
    assert named.name == "cpu_b1"
    assert named.to_json_dict()["name"] == "cpu_b1"


@pytest.mark.parametrize(("status", "c", "p"), [("PASSED", True, True), ("INCORRECT_NUMERICAL", True, False)])
def test_trace_passed_only_for_a_passed_evaluation(status, c, p):
    t = {"definition": "d", "workload": tiny_workload("u")["workload"], "solution": "s"}
    assert Trace.model_validate({**t, "evaluation": _evaluation(status, c, p)}).passed == (status == "PASSED")
    assert not Trace.model_validate(tiny_workload("u")).passed


def test_workload_trace_line_needs_both_null():
    t = tiny_workload("u")
    Trace.model_validate(t)
    t["solution"] = "s"
    with pytest.raises(ValidationError):
        Trace.model_validate(t)


def test_schema_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, kernel_arena.schema, kernel_arena.dataset; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_dtype_bytes_cover_every_dtype_and_match_torch():
    from typing import get_args

    from kernel_arena.measure.dtypes import TORCH_DTYPES
    from kernel_arena.schema import DTYPE_BYTES, DType

    assert set(DTYPE_BYTES) == set(get_args(DType))
    for name, dtype in TORCH_DTYPES.items():
        assert DTYPE_BYTES[name] == dtype.itemsize, name
