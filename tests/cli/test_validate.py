"""`kernel-arena validate` on a dataset whose blobs are missing (a clone without them): one line
per missing blob file (not per input), repeated problems of a file grouped with a count, the
--synthesize-missing hint once, and a summary that counts per kind and per file."""

from __future__ import annotations

import json
import shutil

from helpers import assert_exit, kernel_arena_cli

from kernel_arena.dataset import builtin_dataset_path


def test_missing_blobs_are_grouped_counted_and_hinted(tmp_path):
    clone = tmp_path / "clone"
    shutil.copytree(builtin_dataset_path(), clone)
    shutil.rmtree(clone / "blob")
    r = kernel_arena_cli("validate", str(clone), "--json")
    assert_exit(r, 1)
    problems = json.loads(r.stdout)["problems"]
    missing = [p for p in problems if p["kind"] == "missing_blob"]
    assert missing and len(missing) == len(problems)
    # One problem per workload and blob file, naming the inputs it holds (not one per input).
    assert len({(p["file"], p["field"], p["message"]) for p in missing}) == len(missing)
    assert all("(inputs kv_indptr, kv_indices)" in p["message"] for p in missing)
    files = {p["file"] for p in missing}

    r = kernel_arena_cli("validate", str(clone))
    assert_exit(r, 1)
    lines = r.stdout.splitlines()
    assert len(lines) < 6 * len(files) + 3, r.stdout
    assert sum("… and" in ln or "... and" in ln for ln in lines) == len(files)
    hints = [ln for ln in lines if ln.startswith("hint:")]
    assert len(hints) == 1 and "--synthesize-missing" in hints[0]
    assert f"{len(missing)} error(s) in {len(files)} file(s): {len(missing)} missing blob files" in r.stdout
    assert "does not exist (looked at" not in r.stdout  # the path once, not twice
