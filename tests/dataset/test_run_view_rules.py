"""Run views whose manifests loop, and names that cannot become file names."""

from __future__ import annotations

import json

import pytest
from helpers import GOOD_DPS, make_tiny_dataset, solution_json

from kernel_arena.dataset import DatasetError, load_dataset, validate_dataset


def test_a_cycle_of_run_view_manifests_is_an_error_not_a_recursion(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "kernel-arena-run.json").write_text(json.dumps({"source_dataset": str(b)}))
    (b / "kernel-arena-run.json").write_text(json.dumps({"source_dataset": str(a)}))
    with pytest.raises(DatasetError, match="cycle"):
        load_dataset(a)


def test_validate_reports_names_that_cannot_be_file_names(tmp_path):
    bad = solution_json("not/allowed name", GOOD_DPS)
    root = make_tiny_dataset(tmp_path / "ds")
    (root / "solutions").mkdir()
    (root / "solutions" / "bad.json").write_text(json.dumps(bad))
    problems = validate_dataset(root)
    assert any("cannot be used as a file name" in p.message and p.field == "name" for p in problems), problems
