"""`kernel-arena run` (and `try`) end in one line, never a traceback: a GPU the torch build cannot
use, an output folder that cannot be written, a full disk; a torn trace line is one warning."""

from __future__ import annotations

import json
import re
import resource
import signal

import pytest
import torch
from helpers import GOOD_DPS, LIGHTEST, assert_exit, kernel_arena_cli, make_tiny_dataset, solution_json


@pytest.mark.parametrize("command", ["run", "try"])
def test_a_gpu_this_torch_cannot_use_is_a_usage_error(tmp_path, command):
    root = make_tiny_dataset(tmp_path / "ds", [solution_json("good", GOOD_DPS)])
    args = ("--out", str(tmp_path / "out")) if command == "run" else ("good",)
    devices = ["cuda:99"] + ([] if torch.cuda.is_available() else ["cuda", "cuda:0"])
    for device in devices:
        r = kernel_arena_cli(command, *args, "--dataset", str(root), "--device", device)
        assert_exit(r, 2)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: device '{device}'"), r.stderr
    r = kernel_arena_cli(command, *args, "--dataset", str(root), "--device", "gpu")
    assert_exit(r, 2)
    assert "unknown device 'gpu'" in r.stderr


def test_an_output_folder_that_cannot_be_created_is_one_line(tmp_path):
    root = make_tiny_dataset(tmp_path / "ds", [solution_json("good", GOOD_DPS)])
    (tmp_path / "a_file").write_text("")
    r = kernel_arena_cli("run", "--dataset", str(root), "--out", str(tmp_path / "a_file" / "runs"))
    assert_exit(r, 2)
    assert r.stderr.strip() == f"error: {tmp_path / 'a_file' / 'runs'}: Not a directory"


def _small_disk() -> None:
    """A disk that fills after 8 KiB: writes beyond it fail with EFBIG instead of SIGXFSZ."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (8192, resource.RLIM_INFINITY))


def test_a_full_disk_ends_the_run_with_one_line_naming_the_file(tmp_path):
    """The reference outputs of this workload (400 KB) do not fit in the 8 KiB left: the cache
    write fails and the run goes on without it (the cache only saves time), then the file of the
    inputs lent to the sandbox cannot be made either, which ends the run with its name."""
    root = make_tiny_dataset(tmp_path / "ds", [solution_json("good", GOOD_DPS)])
    workloads = root / "workloads" / "elementwise" / "scale_add_n.jsonl"
    workloads.write_text(workloads.read_text().replace('"n": 32', '"n": 100000'))
    r = kernel_arena_cli(*_run_args(root, tmp_path / "out"), preexec_fn=_small_disk, timeout=300)
    assert_exit(r, 2)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and re.fullmatch(r"error: /\S*kernel-arena-shared-\S*/chunk1: File too large", lines[0]), (
        r.stderr
    )


def _run_args(root, out) -> list[str]:
    return ["run", "--dataset", str(root), "--out", str(out), "--device", "cpu", *LIGHTEST]


@pytest.mark.slow
def test_a_torn_trace_line_is_one_plain_warning(tmp_path):
    root = make_tiny_dataset(tmp_path / "ds", [solution_json("good", GOOD_DPS)], workloads=2)
    out = tmp_path / "out"
    assert_exit(kernel_arena_cli(*_run_args(root, out), "--workload", "wl-0"), 0)
    trace_file = out / "traces" / "elementwise" / "scale_add_n.jsonl"
    torn = '{"definition": "scale_add_n", "sol'  # a write cut by a kill
    with open(trace_file, "a") as handle:
        handle.write(torn)
    r = kernel_arena_cli(*_run_args(root, out), "--workload", "wl-1")
    assert_exit(r, 0)
    warnings = [ln for ln in r.stderr.splitlines() if ln.startswith("warning:")]
    assert warnings == [
        f"warning: {trace_file}: removed a torn last line ({len(torn)} bytes) left by an interrupted run"
    ], r.stderr
    assert all(json.loads(line) for line in trace_file.read_text().splitlines())


def test_the_summary_shows_why_a_solution_failed(tmp_path):
    exits = solution_json("exits", "import sys\n\ndef run(x, y, alpha, out):\n    sys.exit(3)\n")
    root = make_tiny_dataset(tmp_path / "ds", [exits])
    r = kernel_arena_cli(*_run_args(root, tmp_path / "out"), env={"COLUMNS": "200"})
    assert_exit(r, 1)
    assert "RUNTIME_ERROR: SystemExit: 3 (main.py:4)" in r.stdout, r.stdout
    progress = [line for line in r.stderr.splitlines() if line.startswith("[1/1]")]
    assert (
        progress and "RUNTIME_ERROR exits" in progress[0] and "· SystemExit: 3 (main.py:4) ·" in progress[0]
    )


def test_a_run_of_the_embedded_dataset_names_it_builtin(tmp_path):
    out = tmp_path / "out"
    args = ["run", "--out", str(out), "--solution", "gdn_decode_torch", "--workload", "cpu_b1"]
    r = kernel_arena_cli(*args, "--device", "cpu", *LIGHTEST)
    assert_exit(r, 0)
    assert json.loads((out / "kernel-arena-run.json").read_text())["source_dataset"] == "builtin"
