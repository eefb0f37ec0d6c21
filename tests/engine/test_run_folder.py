"""The run folder's rules: one writer at a time, never inside the dataset, Solutions kept."""

from __future__ import annotations

import pytest
from helpers import GOOD_DPS, make_tiny_dataset, solution_json

import kernel_arena
from kernel_arena.dataset import DatasetError
from kernel_arena.engine.config import RunConfig
from kernel_arena.engine.run_folder import RunFolderLock
from kernel_arena.measure.timing import TimingSettings

FAST = RunConfig(timing=TimingSettings(0, 1, 1), timeout_s=60, draws=1)


def test_a_second_run_into_a_locked_folder_is_refused(tmp_path):
    root = make_tiny_dataset(tmp_path / "ds", [solution_json("good", GOOD_DPS)])
    with RunFolderLock(tmp_path / "out"), pytest.raises(DatasetError, match="another kernel-arena run"):
        kernel_arena.run(dataset=root, out=tmp_path / "out", config=FAST, device="cpu")


def test_out_inside_the_dataset_is_refused(tmp_path):
    root = make_tiny_dataset(tmp_path / "ds", [solution_json("good", GOOD_DPS)])
    with pytest.raises(DatasetError, match="inside the dataset"):
        kernel_arena.run(dataset=root, out=root / "runs", config=FAST, device="cpu")
    assert not (root / "runs").exists()


def test_the_run_folder_keeps_the_solutions_it_ran(tmp_path):
    root = make_tiny_dataset(tmp_path / "ds", [solution_json("good", GOOD_DPS)])
    kernel_arena.run(dataset=root, out=tmp_path / "out", config=FAST, device="cpu")
    kept = tmp_path / "out/solutions/elementwise/scale_add_n/good.json"
    assert "alpha * x + y" in kept.read_text()


def test_a_reference_cache_that_cannot_be_written_does_not_abort_the_run(tmp_path):
    """The cache is an optimization: a failed write (here a file where its folder should be)
    leaves the run's verdicts intact and the trace log says the cache was not written."""
    root = make_tiny_dataset(tmp_path / "ds", [solution_json("good", GOOD_DPS)], workloads=2)
    out = tmp_path / "out"
    out.mkdir()
    (out / ".cache").write_text("a file where the cache folder should be")
    result = kernel_arena.run(dataset=root, out=out, config=FAST, device="cpu")
    assert [t.evaluation.status.value for t in result.traces] == ["PASSED", "PASSED"]
    logs = [t.evaluation.log or "" for t in result.traces]
    assert "reference cache" in logs[0] and ".cache" in logs[0], logs[0]


def test_the_blocked_cache_is_noted_on_a_failing_trace_too(tmp_path):
    """The note rides on the first trace after the failed write, whatever its verdict."""
    wrong = "\ndef run(x, y, alpha, out):\n    out.copy_(alpha * x - y)\n"
    root = make_tiny_dataset(tmp_path / "ds", [solution_json("wrong", wrong)])
    out = tmp_path / "out"
    out.mkdir()
    (out / ".cache").write_text("a file where the cache folder should be")
    result = kernel_arena.run(dataset=root, out=out, config=FAST, device="cpu")
    [trace] = result.traces
    assert trace.evaluation.status.value == "INCORRECT_NUMERICAL"
    assert "reference cache could not be written" in (trace.evaluation.log or "")
