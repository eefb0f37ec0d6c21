"""`kernel-arena compare`: the summary counts the pairs only one run has, and no change prints
one line, not an empty table; --json carries the same summary."""

from __future__ import annotations

import json

from helpers import assert_exit, hand_run, hand_trace, kernel_arena_cli


def test_pairs_only_in_one_run_are_counted(tmp_path):
    a = hand_run(tmp_path / "a", [hand_trace("s", f"w{i}") for i in range(5)])
    b = hand_run(tmp_path / "b", [hand_trace("s", "w0", latency=2.0), hand_trace("s", "w9")])
    r = kernel_arena_cli("compare", str(a), str(b))
    assert_exit(r, 1)
    assert "1 pair in both runs: 1 regression" in r.stdout
    assert f"not compared: 4 pairs only in {a}, 1 pair only in {b}" in r.stdout


def test_no_change_is_one_line_without_a_table(tmp_path):
    a = hand_run(tmp_path / "a", [hand_trace("s", "w0"), hand_trace("s", "w1")])
    r = kernel_arena_cli("compare", str(a), str(a))
    assert_exit(r, 0)
    assert r.stdout.strip() == "2 pairs in both runs: no change beyond the measured spread"


def test_json_is_one_object_with_the_summary_and_the_changes(tmp_path):
    a = hand_run(tmp_path / "a", [hand_trace("s", f"w{i}") for i in range(5)])
    b = hand_run(tmp_path / "b", [hand_trace("s", "w0", latency=2.0), hand_trace("s", "w1"), hand_trace("s", "w9")])
    r = kernel_arena_cli("compare", str(a), str(b), "--json")
    assert_exit(r, 1)
    got = json.loads(r.stdout)
    assert (got["run_a"], got["run_b"], got["pairs"]) == (str(a), str(b), 2)
    assert got["counts"] == {"new_failure": 0, "regression": 1, "improvement": 0, "fixed": 0, "unchanged": 1}
    assert (got["only_in_a"], got["only_in_b"]) == (3, 1)
    assert [c["kind"] for c in got["changes"]] == ["regression"]
