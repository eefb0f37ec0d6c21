"""Dataset loading and validation: every rule with a bad file, messages name file and field."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from helpers import (
    GOOD_DPS,
    TINY_DEF,
    make_tiny_dataset,
    solution_json,
    tiny_definition,
    tiny_workload,
    write_json,
    write_jsonl,
)

from kernel_arena.dataset import (
    DatasetError,
    builtin_dataset_path,
    load_dataset,
    validate_dataset,
    write_run_manifest,
)


def _problems(root: Path) -> list[str]:
    return [str(p) for p in validate_dataset(root) if p.severity == "error"]


def test_builtin_dataset_validates(builtin):
    assert _problems(builtin_dataset_path()) == []
    assert set(builtin.definitions) == {
        "gqa_paged_decode_h32_kv8_d128_ps1",
        "gdn_decode_qk4_v8_d128_k_last",
        "mla_paged_decode_h16_ckv512_kpe64_ps1",
    }
    for name in builtin.definitions:
        tags = {t for w in builtin.workloads_for(name) for t in w.tags}
        assert tags == {"cpu", "gpu"}, name


def test_tiny_dataset_loads_and_indexes(tmp_path):
    root = make_tiny_dataset(tmp_path, [solution_json("good", GOOD_DPS)], workloads=2)
    ds = load_dataset(root)
    assert ds.definition(TINY_DEF).op_type == "elementwise"
    assert [s.name for s in ds.solutions_for(TINY_DEF)] == ["good"]
    assert [w.uuid for w in ds.workloads_for(TINY_DEF)] == ["wl-0", "wl-1"]
    with pytest.raises(DatasetError, match="known: scale_add_n"):
        ds.definition("nope")
    assert _problems(root) == []


def test_validate_collects_all_problems_with_file_and_field(tmp_path):
    root = make_tiny_dataset(tmp_path)
    bad_def = tiny_definition(name="bad_def")
    bad_def["inputs"]["x"]["shape"] = ["zz"]
    write_json(root / "definitions" / "elementwise" / "bad_def.json", bad_def)
    bad_sol = solution_json("bad_sol", GOOD_DPS)
    bad_sol["spec"]["entry_point"] = "main.py:run"
    write_json(root / "solutions" / "elementwise" / "bad_sol.json", bad_sol)
    (root / "solutions" / "elementwise" / "broken.json").write_text("{not json")
    problems = _problems(root)
    assert any(
        "definitions/elementwise/bad_def.json" in p and "inputs.x.shape" in p and "'zz'" in p
        for p in problems
    ), problems
    assert any("solutions/elementwise/bad_sol.json" in p and "spec.entry_point" in p for p in problems), (
        problems
    )
    assert any("broken.json:1" in p and "invalid JSON" in p for p in problems), problems


def test_jsonl_errors_carry_line_numbers_and_torn_tail_is_a_warning(tmp_path):
    root = make_tiny_dataset(tmp_path)
    path = root / "workloads" / "elementwise" / f"{TINY_DEF}.jsonl"
    good = json.dumps(tiny_workload("second"))
    bad = tiny_workload("third")
    del bad["workload"]["uuid"]
    path.write_text(path.read_text() + good + "\n" + json.dumps(bad) + "\n" + '{"definition": "x",')
    problems = validate_dataset(root)
    errors = [str(p) for p in problems if p.severity == "error"]
    warnings = [str(p) for p in problems if p.severity == "warning"]
    assert any(":3:" in p and "workload.uuid" in p and "required" in p for p in errors), errors
    assert any(":4:" in p and "torn last line" in p for p in warnings), warnings
    assert [w.uuid for w in load_dataset(root).workloads_for(TINY_DEF)] == ["wl-0", "second"]


def test_duplicate_names_across_files_are_errors(tmp_path):
    root = make_tiny_dataset(tmp_path, [solution_json("dup", GOOD_DPS)])
    write_json(root / "definitions" / "other" / "copy.json", tiny_definition())
    write_json(root / "solutions" / "x" / "dup2.json", solution_json("dup", GOOD_DPS))
    problems = _problems(root)
    assert any("copy.json" in p and "duplicate definition name" in p for p in problems)
    assert any("dup2.json" in p and "duplicate solution name 'dup'" in p for p in problems)


def test_cross_file_checks(tmp_path):
    root = make_tiny_dataset(tmp_path, [solution_json("orphan", GOOD_DPS, definition="missing")])
    wl = tiny_workload("w2")
    wl["workload"]["axes"] = {"m": 3}
    wl["workload"]["inputs"]["x"] = {
        "type": "safetensors",
        "path": "./blob/none.safetensors",
        "tensor_key": "x",
    }
    wl["workload"]["inputs"]["alpha"] = {"type": "random"}
    wl["workload"]["inputs"]["zzz"] = {"type": "random"}
    write_jsonl(root / "workloads" / "elementwise" / "more.jsonl", [wl, tiny_workload("wl-0")])
    problems = _problems(root)
    joined = "\n".join(problems)
    assert "orphan.json: definition: definition 'missing' is not in the dataset" in joined
    assert "variable axis 'n' has no value" in joined
    assert "axis 'm' is not an axis" in joined
    assert "blob file ./blob/none.safetensors does not exist" in joined
    assert "'zzz' is not an input" in joined
    assert "duplicate workload uuid 'wl-0'" in joined


def test_constraints_naming_unknown_names_are_reported(tmp_path):
    root = make_tiny_dataset(tmp_path)
    d = tiny_definition(constraints=["n == q_len + 1"])
    write_json(root / "definitions" / "elementwise" / f"{TINY_DEF}.json", d)
    assert any("constraints[0]" in p and "'q_len'" in p for p in _problems(root))


def test_round_trip_is_identical_including_unknown_fields(tmp_path):
    src = builtin_dataset_path()
    ds = load_dataset(src)
    out = tmp_path / "copy"
    shutil.copytree(src / "blob", out / "blob")
    for d in ds.definitions.values():
        ds.save_definition(d, root=out)
        ds.save_workloads(d.name, ds.workloads_for(d.name), root=out)
    again = load_dataset(out)
    for name, d in ds.definitions.items():
        original = json.loads(ds.files[("definition", name)].read_text())
        assert again.definitions[name].to_json_dict() == original
        assert d.to_json_dict() == original
        assert [w.to_json_dict() for w in again.workloads_for(name)] == [
            w.to_json_dict() for w in ds.workloads_for(name)
        ]
    # unknown fields (workload "name"/"tags", tensor "optional") survived
    gdn = again.definitions["gdn_decode_qk4_v8_d128_k_last"]
    assert gdn.inputs["state"].optional
    assert all(w.tags for w in again.workloads_for(gdn.name))


def test_run_view_shows_source_definitions_with_run_traces(tmp_path):
    root = make_tiny_dataset(tmp_path / "data", [solution_json("good", GOOD_DPS)])
    out = tmp_path / "run"
    write_run_manifest(out, root)
    view = load_dataset(out)
    assert TINY_DEF in view.definitions and "good" in view.solutions
    assert view.trace_root == out and view.root == root
    with pytest.raises(DatasetError, match="already holds a run"):
        write_run_manifest(out, None)


def test_missing_dataset_folder_is_a_clear_error(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        load_dataset(tmp_path / "nope")


def test_read_trace_file_continues_from_a_mark(tmp_path):
    import json

    from helpers import tiny_workload

    from kernel_arena.dataset import read_trace_file

    def line(uuid: str) -> bytes:
        t = tiny_workload(uuid)
        t["solution"] = "s"
        t["evaluation"] = {"status": "RUNTIME_ERROR", "environment": {"hardware": "CPU"}, "timestamp": "t"}
        return json.dumps(t).encode() + b"\n"

    path = tmp_path / "t.jsonl"
    path.write_bytes(line("a") + b"{not json}\n" + line("b")[:30])
    traces, problems, mark = read_trace_file(path, tmp_path)
    assert [t.workload.uuid for t in traces] == ["a"]
    assert [(p.line, p.severity) for p in problems] == [(2, "error"), (3, "warning")]  # bad line, torn tail
    assert mark.offset == len(line("a")) + len(b"{not json}\n") and mark.lines == 2
    with open(path, "ab") as f:
        f.write(line("b")[30:] + line("c"))
    traces, problems, mark2 = read_trace_file(path, tmp_path, mark)
    assert [t.workload.uuid for t in traces] == ["b", "c"] and problems == []
    assert mark2.offset == path.stat().st_size and mark2.lines == 4 and mark2.inode == mark.inode
    assert read_trace_file(path, tmp_path, mark2)[0] == []
