"""`kernel-arena run` off a terminal: one progress line per evaluation; exit codes that match."""

from __future__ import annotations

import subprocess

from helpers import GOOD_DPS, make_tiny_dataset, run_command, solution_json

WRONG = """
def run(x, y, alpha, out):
    out.copy_(x)
"""


def _run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


def test_one_line_per_evaluation_with_eta_and_exit_codes(tmp_path):
    root = make_tiny_dataset(tmp_path / "ds", [solution_json("good", GOOD_DPS)], workloads=2)
    done = _run(run_command(root, tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    lines = [ln for ln in done.stderr.splitlines() if ln.startswith("[")]
    assert len(lines) == 2, done.stderr
    assert lines[0].startswith("[1/2] PASSED good") and "ETA" in lines[0] and "elapsed" in lines[0]
    assert lines[1].startswith("[2/2] PASSED good") and "ETA" not in lines[1]
    assert " us" in lines[0] or " ms" in lines[0]
    assert "good · wl-0 · cpu ·" in lines[0]  # where it ran (a node too, on a cluster)


def test_a_failed_evaluation_exits_1(tmp_path):
    root = make_tiny_dataset(tmp_path / "ds", [solution_json("wrong", WRONG)])
    done = _run(run_command(root, tmp_path / "out"))
    assert done.returncode == 1 and "[1/1] INCORRECT_NUMERICAL wrong" in done.stderr


def test_a_filter_that_matches_nothing_is_a_usage_error(tmp_path):
    root = make_tiny_dataset(tmp_path / "ds", [solution_json("good", GOOD_DPS)])
    done = _run(run_command(root, tmp_path / "out", "--workload", "no-such-workload"))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "nothing to run" in done.stderr and "Traceback" not in done.stderr


def test_counts_below_one_are_usage_errors(tmp_path):
    root = make_tiny_dataset(tmp_path / "ds", [solution_json("good", GOOD_DPS)])
    for flag in ("--iters", "--trials", "--draws"):
        cmd = run_command(root, tmp_path / "out", timing=(flag, "0"))
        done = _run(cmd)
        assert done.returncode == 2 and flag in done.stderr and "Traceback" not in done.stderr, flag
    done = _run(run_command(root, tmp_path / "out", timing=("--budget-ms", "0")))
    assert done.returncode == 2 and "--budget-ms" in done.stderr
