"""A11 (poison state that other Solutions use): the reference cache (``poison`` group), and
stale cache entries after a workload's content changes under the same uuid (own runs).

The judge alone owns the reference cache, and its keys include content hashes: a Solution that
overwrites files under OUT/.cache cannot make a later honest Solution fail or look faster, and
an edited workload is evaluated with its new content.
"""

from __future__ import annotations

import json

import pytest
from helpers import GOOD_DPS, make_tiny_dataset, solution_json

from .conftest import assert_status, run_cli

GROUPS_USED = ("poison",)


@pytest.fixture(scope="module")
def poison(planted):
    return planted.get("poison")


def test_a11_poisoned_reference_cache_does_not_fail_a_later_honest_solution(poison):
    traces = poison.of("z_honest")
    assert len(traces) == 2, poison.describe()
    for trace in traces:
        assert_status(trace, "PASSED")


def test_a11_poisoned_reference_timings_do_not_inflate_speedups(poison):
    for name in ("z_honest", "a_poison_cache"):
        for trace in poison.of(name):
            perf = trace["evaluation"].get("performance")
            if perf:
                assert perf["speedup_factor"] < 100, (
                    f"{name}: speedup {perf['speedup_factor']} from a poisoned cache"
                )


def test_a11b_a_blocked_reference_cache_does_not_end_the_run(poison):
    """b_block_cache puts a file where OUT/.cache was: later cache writes fail, the run goes on
    (references in memory) and a trace log says so."""
    assert [t["evaluation"]["status"] for t in poison.of("z_honest")] == ["PASSED", "PASSED"], poison.describe()
    logs = [t["evaluation"].get("log") or "" for name in ("b_block_cache", "z_honest") for t in poison.of(name)]
    assert any("reference cache could not be written" in log for log in logs), logs


def _edit_alpha(root, value: float) -> None:
    path = root / "workloads" / "elementwise" / "scale_add_n.jsonl"
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    for line in lines:
        line["workload"]["inputs"]["alpha"]["value"] = value
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))


@pytest.mark.slow
def test_a11_edited_workload_with_the_same_uuid_is_run_with_its_new_content(tmp_path):
    root = make_tiny_dataset(tmp_path / "ds", [solution_json("z_honest", GOOD_DPS)], workloads=1)
    out = tmp_path / "out"
    first = run_cli(root, out)
    before = first.of("z_honest")[-1]
    assert_status(before, "PASSED")
    _edit_alpha(root, 3.0)  # same uuid, different content
    second = run_cli(root, out, "--force")
    after = second.of("z_honest")[-1]
    assert after["workload"]["inputs"]["alpha"]["value"] == 3.0
    assert_status(after, "PASSED")
    old = (before.get("provenance") or {}).get("workload_hash")
    new = (after.get("provenance") or {}).get("workload_hash")
    assert old and new and old != new, f"workload_hash {old!r} -> {new!r}"
