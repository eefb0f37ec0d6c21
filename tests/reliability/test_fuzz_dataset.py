"""Malformed datasets: mutated definitions, workloads, solutions and traces never crash the
loader or `validate`; every problem names its file."""

from __future__ import annotations

import copy
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from helpers import GOOD_DPS, TINY_DEF, make_tiny_dataset, solution_json, tiny_workload
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kernel_arena.dataset import load_dataset, validate_dataset

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats()
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def _paths(obj: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _paths(v, prefix + (i,))
    return out


@st.composite
def mutated(draw: Any, base: Any) -> Any:
    doc = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(doc) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["delete", "replace", "deep"]))
        if action == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif action == "deep":
            nested: Any = "x"
            for _ in range(draw(st.integers(50, 400))):
                nested = [nested]
            parent[path[-1]] = nested
        else:
            parent[path[-1]] = draw(JSON_VALUES)
    return doc


def _base_files() -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp())
    make_tiny_dataset(tmp)
    definition = json.loads((tmp / "definitions" / "elementwise" / f"{TINY_DEF}.json").read_text())
    shutil.rmtree(tmp)
    trace = tiny_workload("t1")
    trace["solution"] = "good"
    trace["evaluation"] = {
        "status": "PASSED",
        "environment": {"hardware": "CPU", "libs": {}},
        "timestamp": "2026-01-01T00:00:00Z",
        "log": "",
        "correctness": {"max_relative_error": 0, "max_absolute_error": 0},
        "performance": {"latency_ms": 1, "reference_latency_ms": 1, "speedup_factor": 1},
    }
    return {
        "definition": definition,
        "workload": tiny_workload("w1"),
        "solution": solution_json("good", GOOD_DPS),
        "trace": trace,
    }


BASE = _base_files()
FILES = {
    "definition": f"definitions/elementwise/{TINY_DEF}.json",
    "workload": f"workloads/elementwise/{TINY_DEF}.jsonl",
    "solution": f"solutions/elementwise/{TINY_DEF}/good.json",
    "trace": f"traces/elementwise/{TINY_DEF}.jsonl",
}


def _write_dataset(root: Path, kind: str, doc: Any) -> None:
    make_tiny_dataset(root, [BASE["solution"]])
    target = root / FILES[kind]
    target.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(doc, ensure_ascii=False) + ("\n" if target.suffix == ".jsonl" else "")
    target.write_text(text, encoding="utf-8")


def _assert_survives(kind: str, doc: Any) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        try:
            _write_dataset(root, kind, doc)
        except (ValueError, RecursionError):
            return  # not even serializable as JSON: nothing to load
        problems = validate_dataset(root)  # must not raise
        load_dataset(root)
        for p in problems:
            assert p.file and p.message


def _fuzz(kind: str):
    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(mutated(BASE[kind]))
    def run(doc: Any) -> None:
        _assert_survives(kind, doc)

    return run


test_fuzz_definition = _fuzz("definition")
test_fuzz_workload = _fuzz("workload")
test_fuzz_solution = _fuzz("solution")
test_fuzz_trace = _fuzz("trace")


def test_garbage_bytes_and_unicode_files_are_reported(tmp_path):
    root = make_tiny_dataset(tmp_path)
    (root / "solutions").mkdir()
    (root / "solutions" / "bin.json").write_bytes(b"\xff\xfe\x00garbage")
    (root / "traces" / "x").mkdir(parents=True)
    (root / "traces" / "x" / "t.jsonl").write_text('{"définition": "ü"}\n[1, 2]\n', encoding="utf-8")
    problems = [str(p) for p in validate_dataset(root)]
    assert any("bin.json" in p for p in problems)
    assert any("t.jsonl:1" in p for p in problems) and any("t.jsonl:2" in p for p in problems)


def test_truncated_and_mistyped_blobs_are_named(tmp_path):
    import pytest
    import torch
    from safetensors.torch import save_file

    from kernel_arena.measure.inputs import InputError, materialize_inputs

    root = make_tiny_dataset(tmp_path)
    blob = root / "blob.safetensors"
    save_file({"x": torch.zeros(32)}, str(blob))
    blob.write_bytes(blob.read_bytes()[:20])
    wl = tiny_workload("w", n=32)
    wl["workload"]["inputs"]["x"] = {"type": "safetensors", "path": "blob.safetensors", "tensor_key": "x"}
    (root / "workloads" / "elementwise" / f"{TINY_DEF}.jsonl").write_text(json.dumps(wl) + "\n")
    ds = load_dataset(root)
    with pytest.raises(InputError, match="blob.safetensors cannot be read"):
        materialize_inputs(ds.definitions[TINY_DEF], ds.workloads_for(TINY_DEF)[0], "cpu", 0, ds.root)
