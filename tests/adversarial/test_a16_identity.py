"""A16 (impersonate another author's Solution by name) and names that would escape the run
folder as path parts (own runs). Content hashes in traces are checked in the ``outputs`` module.

A Solution given by path whose name is another dataset Solution's but whose content differs is
refused (exit code 2, the name on stderr). Names that become path parts must match
``^[A-Za-z0-9._-]+$``: a hostile one is a usage error or a reported failure, and nothing is
written outside --out.
"""

from __future__ import annotations

from pathlib import Path

from helpers import (
    GOOD_DPS,
    make_tiny_dataset,
    solution_json,
    tiny_definition,
    tiny_workload,
    write_json,
    write_jsonl,
)

from .conftest import read_traces, run_cli

GROUPS_USED = ()

IMPOSTOR = """
def run(x, y, alpha, out):
    out.copy_(x + y)
"""


def test_a16_impersonating_a_dataset_solution_by_name_is_refused(tmp_path):
    root = make_tiny_dataset(tmp_path / "ds", [solution_json("alice_fast", GOOD_DPS)], workloads=1)
    forged = tmp_path / "mallory" / "alice_fast.json"
    write_json(forged, solution_json("alice_fast", IMPOSTOR))
    outcome = run_cli(root, tmp_path / "out", "--solution", str(forged))
    assert outcome.returncode == 2, f"the impostor was run: {outcome.describe()}"
    assert "alice_fast" in outcome.stderr
    assert not [t for t in outcome.traces if t.get("solution") == "alice_fast"]


def test_a16_same_name_with_identical_content_is_not_refused(tmp_path):
    sol = solution_json("alice_fast", GOOD_DPS)
    root = make_tiny_dataset(tmp_path / "ds", [sol], workloads=1)
    copy = tmp_path / "copy" / "alice_fast.json"
    write_json(copy, sol)
    outcome = run_cli(root, tmp_path / "out", "--solution", str(copy))
    assert outcome.returncode == 0, outcome.describe()
    assert [t["evaluation"]["status"] for t in outcome.of("alice_fast")] == ["PASSED"]


def _files_outside(tmp_path: Path, out: Path) -> set[Path]:
    return {p for p in tmp_path.rglob("*") if out not in p.parents and p != out}


def _assert_contained(tmp_path: Path, out: Path, before: set[Path], outcome, name: str) -> None:
    created = sorted(str(p.relative_to(tmp_path)) for p in _files_outside(tmp_path, out) - before)
    assert not created, f"the run wrote outside --out: {created}"
    assert outcome.returncode in (1, 2), outcome.describe()
    passed = [
        t for t in outcome.traces if t.get("solution") == name and t["evaluation"]["status"] == "PASSED"
    ]
    assert outcome.returncode == 2 or not passed, f"{name!r} was accepted: {outcome.describe()}"


def test_a16_solution_name_escaping_the_run_folder_given_by_path(tmp_path):
    root = make_tiny_dataset(tmp_path / "ds", [], workloads=1)
    evil = tmp_path / "evil" / "escape.json"
    write_json(evil, solution_json("../../escape", GOOD_DPS))
    out = tmp_path / "w1" / "w2" / "w3" / "out"
    before = _files_outside(tmp_path, out)
    outcome = run_cli(root, out, "--solution", str(evil))
    _assert_contained(tmp_path, out, before, outcome, "../../escape")


def test_a16_solution_name_escaping_the_run_folder_in_the_dataset(tmp_path):
    root = make_tiny_dataset(tmp_path / "ds", [], workloads=1)
    write_json(
        root / "solutions" / "elementwise" / "scale_add_n" / "escape.json",
        solution_json("../../escape", GOOD_DPS),
    )
    out = tmp_path / "w1" / "w2" / "w3" / "out"
    before = _files_outside(tmp_path, out)
    outcome = run_cli(root, out)
    _assert_contained(tmp_path, out, before, outcome, "../../escape")


def test_a16_definition_name_escaping_the_run_folder(tmp_path):
    name = "../../../../escape_def"
    root = tmp_path / "ds"
    write_json(root / "definitions" / "elementwise" / "escape_def.json", tiny_definition(name=name))
    workload = tiny_workload("wl-0", n=32)
    workload["definition"] = name
    write_jsonl(root / "workloads" / "elementwise" / "escape_def.jsonl", [workload])
    write_json(
        root / "solutions" / "elementwise" / "escape_def" / "ok.json",
        solution_json("ok", GOOD_DPS, definition=name),
    )
    out = tmp_path / "w1" / "w2" / "w3" / "out"
    before = _files_outside(tmp_path, out)
    outcome = run_cli(root, out)
    created = sorted(str(p.relative_to(tmp_path)) for p in _files_outside(tmp_path, out) - before)
    assert not created, f"the run wrote outside --out: {created}"
    assert outcome.returncode == 2 or not read_traces(out, name), outcome.describe()
