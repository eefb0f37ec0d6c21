"""`kernel-arena report` as a table fits the terminal with short headers; a report written with
--out honours the umask and is not also printed; `--help` is reflowed, without type labels on
flags."""

from __future__ import annotations

import os
import re

import pytest
from helpers import assert_exit, hand_run, hand_trace, kernel_arena_cli

LONG = "a_solution_with_a_rather_long_descriptive_name"


EXITS_LOG = (
    "draw 0: the solution raised:\nTraceback (most recent call last):\n"
    '  File "main.py", line 4, in run\n    sys.exit(3)\nSystemExit: 3\n'
)


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    traces = [hand_trace(LONG, "w1", latency=0.0004), hand_trace(LONG, "w2", latency=1500.0)]
    traces += [
        hand_trace("exits", "w1", "RUNTIME_ERROR", log=EXITS_LOG),
        hand_trace("exits", "w2", latency=3.0),
    ]
    return hand_run(tmp_path_factory.mktemp("report") / "run", traces)


@pytest.mark.parametrize("columns", [80, 100, 160])
def test_the_table_fits_the_terminal_with_whole_headers(run_folder, columns):
    r = kernel_arena_cli("report", "--dataset", str(run_folder), env={"COLUMNS": str(columns)})
    assert_exit(r, 0)
    lines = r.stdout.splitlines()
    assert max(len(line) for line in lines) <= columns, r.stdout
    header = next(line for line in lines if line.strip().startswith("#"))
    assert re.search(r"#\s+solution\s+passed\s+speedup", header), r.stdout
    assert "scale_add_n" in r.stdout
    assert LONG in r.stdout or columns < 100  # at 80 columns a long name wraps in its cell
    assert "geomean_speedu" not in r.stdout
    # The failure is the exception line with its place (wrapped in its column when narrow).
    assert "RUNTIME_ERROR: SystemExit: 3 (main.py:4)" in " ".join(r.stdout.split())
    if columns >= 160:
        # Room for every column: latencies in auto-scaled units.
        assert re.search(r"\b1\.50 s\b", r.stdout) and re.search(r"\b3\.00 ms\b", r.stdout), r.stdout


def test_details_add_a_workload_table_that_fits(run_folder):
    r = kernel_arena_cli("report", "--dataset", str(run_folder), "--details", env={"COLUMNS": "100"})
    assert_exit(r, 0)
    assert max(len(line) for line in r.stdout.splitlines()) <= 100
    assert "scale_add_n: per workload" in r.stdout and "RUNTIME_ERROR" in r.stdout


def test_a_table_written_to_a_file_is_not_printed_and_honours_the_umask(run_folder, tmp_path):
    def umask_022() -> None:
        os.umask(0o022)

    target = tmp_path / "report.txt"
    r = kernel_arena_cli("report", "--dataset", str(run_folder), "--out", str(target), preexec_fn=umask_022)
    assert_exit(r, 0)
    assert r.stdout == "" and f"wrote {target}" in r.stderr
    assert LONG in target.read_text()
    assert target.stat().st_mode & 0o777 == 0o644


def test_help_is_reflowed_and_flags_have_no_type_label():
    r = kernel_arena_cli("run", "--help", env={"COLUMNS": "200"})
    assert_exit(r, 0)
    assert "produced; an interrupted run resumes where it stopped." in r.stdout
    assert "<bool>" not in r.stdout and "--no-force" not in r.stdout and "no-force" not in r.stdout
    assert "[default: 3]" in r.stdout  # --draws
    r = kernel_arena_cli("--help", env={"COLUMNS": "200"})
    assert_exit(r, 0)
    assert "<bool>" not in r.stdout
