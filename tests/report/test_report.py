"""Report numbers against hand-computed traces; compare flags only changes beyond the spread."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
from helpers import make_tiny_dataset, tiny_workload

from kernel_arena.dataset import load_dataset, write_run_manifest
from kernel_arena.files import write_jsonl
from kernel_arena.report.compare import compare_runs
from kernel_arena.report.leaderboard import leaderboard
from kernel_arena.schema import Trace


def trace(
    solution: str,
    wl: str,
    status: str = "PASSED",
    latency: float = 1.0,
    ref: float = 2.0,
    err: float = 0.001,
    spread: float = 0.0,
    log: str = "",
) -> dict:
    t = tiny_workload(wl)
    t["solution"] = solution
    ev = {
        "status": status,
        "environment": {"hardware": "CPU", "libs": {}},
        "timestamp": "2026-01-01T00:00:00Z",
        "log": log,
    }
    if status in ("PASSED", "INCORRECT_NUMERICAL"):
        ev["correctness"] = {"max_relative_error": err, "max_absolute_error": err}
    if status == "PASSED":
        ev["performance"] = {
            "latency_ms": latency,
            "reference_latency_ms": ref,
            "speedup_factor": ref / latency,
            "call_latency_ms": latency * 2,
            "timing": {"method": "wall_clock_cpu", "spread": spread},
        }
    t["evaluation"] = ev
    return t


HAND = [
    # solution a: speedups 2, 4, 0.5 on w1..w3
    trace("a", "w1", latency=1.0, ref=2.0),
    trace("a", "w2", latency=0.5, ref=2.0),
    trace("a", "w3", latency=4.0, ref=2.0, err=0.004),
    # solution b: speedup 1 on w1, fails w2 (with diagnosis), 8 on w3
    trace("b", "w1", latency=2.0, ref=2.0),
    trace("b", "w2", status="INCORRECT_NUMERICAL", err=3.0, log="draw 0: x\ndiagnosis: lse off (P03)"),
    trace("b", "w3", latency=0.25, ref=2.0),
]


def _run(tmp_path, traces, name="run"):
    root = make_tiny_dataset(tmp_path / "ds")
    out = tmp_path / name
    write_run_manifest(out, root)
    write_jsonl(out / "traces" / "elementwise" / "scale_add_n.jsonl", traces)
    return out


def test_leaderboard_numbers_match_hand_computation(tmp_path):
    ds = load_dataset(_run(tmp_path, HAND))
    rows = {r.solution: r for r in leaderboard(ds.traces, "scale_add_n")}
    a, b = rows["a"], rows["b"]
    assert (a.passed, a.total, b.passed, b.total) == (3, 3, 2, 3)
    # the headline: over the workloads each passed -> a: (2 * 4 * 0.5) ** (1/3), b: sqrt(1 * 8)
    assert a.geomean_speedup == pytest.approx(4 ** (1 / 3))
    assert b.geomean_speedup == pytest.approx(math.sqrt(8))
    # common workloads passed by all: w1, w3 -> a: sqrt(2 * 0.5) = 1, b: sqrt(1 * 8)
    assert a.geomean_speedup_common == pytest.approx(1.0)
    assert b.geomean_speedup_common == pytest.approx(math.sqrt(8))
    assert a.speedup_basis == "reference" and a.wins is None
    assert a.fast_p == {
        0.0: 1.0,
        0.5: 1.0,
        1.0: pytest.approx(2 / 3),
        1.5: pytest.approx(2 / 3),
        2.0: pytest.approx(2 / 3),
    }
    assert b.fast_p == {
        0.0: pytest.approx(2 / 3),
        0.5: pytest.approx(2 / 3),
        1.0: pytest.approx(2 / 3),
        1.5: pytest.approx(1 / 3),
        2.0: pytest.approx(1 / 3),
    }
    assert a.median_latency_ms == 1.0 and b.median_latency_ms == pytest.approx(1.125)
    assert a.worst_abs_error == pytest.approx(0.004) and b.worst_abs_error == 3.0
    assert b.failures == {"INCORRECT_NUMERICAL": 1} and b.diagnoses == ["diagnosis: lse off (P03)"]
    assert [r.solution for r in leaderboard(ds.traces, "scale_add_n")] == ["a", "b"]


def test_latest_trace_per_key_wins(tmp_path):
    ds = load_dataset(_run(tmp_path, HAND + [trace("b", "w2", latency=1.0, ref=2.0)]))
    rows = {r.solution: r for r in leaderboard(ds.traces, "scale_add_n")}
    assert rows["b"].passed == 3


def test_compare_flags_beyond_spread_and_new_failures_first(tmp_path):
    a = [
        Trace.model_validate(t)
        for t in [
            trace("s", "w1", latency=1.0, spread=0.05),
            trace("s", "w2", latency=1.0),
            trace("s", "w3", latency=1.0),
            trace("s", "w4", latency=1.0),
        ]
    ]
    b = [
        Trace.model_validate(t)
        for t in [
            trace("s", "w1", latency=1.08, spread=0.01),  # within 2x5%
            trace("s", "w2", latency=1.2),
            trace("s", "w3", latency=0.5),
            trace("s", "w4", status="RUNTIME_ERROR"),
        ]
    ]
    kinds = [(c.workload, c.kind) for c in compare_runs(a, b)]
    assert kinds == [("w4", "new_failure"), ("w2", "regression"), ("w3", "improvement"), ("w1", "unchanged")]


def _ka(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "kernel_arena.cli", *args], capture_output=True, text=True, cwd=cwd
    )


def test_report_cli_formats(tmp_path):
    out = _run(tmp_path, HAND)
    rows = json.loads(_ka("report", "-d", str(out), "--format", "json").stdout)
    assert [r["solution"] for r in rows] == ["a", "b"] and rows[1]["fast_2"] == pytest.approx(1 / 3)
    csv_text = _ka("report", "-d", str(out), "--format", "csv").stdout
    assert csv_text.splitlines()[0].startswith("definition,rank,solution")
    assert "| scale_add_n | 1 | a |" in _ka("report", "-d", str(out), "--format", "md").stdout
    r = _ka("report", "-d", str(out), "--format", "html", "--out", str(tmp_path / "r.html"))
    html = (tmp_path / "r.html").read_text()
    assert r.returncode == 0 and "<svg" in html and "fast_p" in html and "lse off (P03)" in html
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "") and "https://" not in html
    assert _ka("report", "-d", str(out), "--format", "pdf").returncode == 2


def test_compare_cli_exit_code(tmp_path):
    a = _run(tmp_path, [trace("s", "w1", latency=1.0)], "a")
    b = _run(tmp_path, [trace("s", "w1", latency=2.0)], "b")
    assert _ka("compare", str(a), str(a)).returncode == 0
    r = _ka("compare", str(a), str(b), "--json")
    assert r.returncode == 1 and json.loads(r.stdout)["changes"][0]["kind"] == "regression"


def test_run_summary_report_and_viewer_share_one_rule(tmp_path):
    """One failing solution must not blank the others' geo-means (it did in `report`)."""
    from kernel_arena.report.render import report_rows
    from kernel_arena.report.summary import summarize

    ds = load_dataset(_run(tmp_path, HAND))
    board = {r.solution: r for r in leaderboard(ds.traces, "scale_add_n")}
    summary = {r.solution: r for r in summarize(ds.traces)}
    report = {r["solution"]: r for r in report_rows(ds, None, details=False)}
    for name in ("a", "b"):
        assert summary[name].geomean_speedup == board[name].geomean_speedup == report[name]["geomean_speedup"]
        assert summary[name].geomean_speedup is not None
        assert summary[name].geomean_speedup_common == report[name]["geomean_speedup_common"]


def _with_baseline(t: dict, base_latency: float) -> dict:
    if t["evaluation"].get("performance"):
        t["evaluation"]["performance"].update(baseline="base", baseline_latency_ms=base_latency)
    return t


def test_speedups_are_quoted_against_the_baseline_when_it_ran(tmp_path):
    traces = [
        trace("base", "w1", latency=2.0, ref=20.0),
        trace("base", "w2", latency=1.0, ref=20.0),
        _with_baseline(trace("fast", "w1", latency=1.0, ref=20.0), 2.0),
        _with_baseline(trace("fast", "w2", latency=2.0, ref=20.0), 1.0),
    ]
    ds = load_dataset(_run(tmp_path, traces))
    rows = {r.solution: r for r in leaderboard(ds.traces, "scale_add_n")}
    fast = rows["fast"]
    assert fast.speedup_basis == "baseline base"
    assert fast.geomean_speedup == pytest.approx(1.0)  # sqrt(2 * 0.5), not the 14x against the reference
    assert fast.geomean_speedup_vs_reference == pytest.approx(math.sqrt(20 * 10))
    assert (fast.wins, fast.losses) == (1, 1)
    assert fast.fast_p[1.0] == pytest.approx(0.5)
    assert rows["base"].geomean_speedup == pytest.approx(1.0) and rows["base"].wins is None


def test_buckets_and_timing_marks(tmp_path):
    traces = [trace("a", "w1", latency=1.0, ref=2.0, spread=0.5), trace("a", "w2", latency=1.0, ref=8.0)]
    traces[1]["workload"]["axes"] = {"n": 1 << 22}  # 3 x 16 MiB of float32
    ds = load_dataset(_run(tmp_path, traces))
    row = leaderboard(ds.traces, "scale_add_n", spec=ds.definitions["scale_add_n"])[0]
    assert row.noisy == 1 and row.cpu_timed == 2
    assert row.by_bucket == {"<1 MiB": pytest.approx(2.0), "16-256 MiB": pytest.approx(8.0)}


def test_md_details_is_a_per_workload_table_under_each_leaderboard(tmp_path):
    """--details rows used to be leaderboard rows of 17 dashes with the workload at the end."""
    from kernel_arena.report.render import render_report

    traces = [trace("a", "w1"), trace("a", "w2")]
    traces[0]["workload"]["name"] = "small_batch"
    text = render_report(load_dataset(_run(tmp_path, traces)), None, "md", True, None)
    tables = text.strip().split("\n\n")
    assert len(tables) == 2
    assert tables[1].splitlines()[0] == "| definition | solution | workload | status | latency_ms | speedup | flags |"
    assert "| small_batch |" in tables[1] and "| w2 |" in tables[1]
    assert "| - | - | - |" not in text
