"""Sandbox logs of a run folder stay bounded across runs: a log past the cap when a sandbox
starts is moved aside (one old copy kept), so repeated runs into one folder do not grow it."""

from __future__ import annotations

from helpers import GOOD_DPS, make_tiny_dataset, solution_json

import kernel_arena
from kernel_arena.engine.config import RunConfig
from kernel_arena.engine.sandbox import process
from kernel_arena.engine.sandbox.process import rotate_log
from kernel_arena.measure.timing import TimingSettings

FAST = RunConfig(timing=TimingSettings(0, 1, 1), timeout_s=60, draws=1)


def test_rotate_log_keeps_one_old_copy(tmp_path):
    log = tmp_path / "s.cpu.log"
    log.write_bytes(b"a" * 11)
    rotate_log(log, keep=10)
    assert not log.exists() and (tmp_path / "s.cpu.log.1").read_bytes() == b"a" * 11
    log.write_bytes(b"b" * 11)
    rotate_log(log, keep=10)
    assert (tmp_path / "s.cpu.log.1").read_bytes() == b"b" * 11
    log.write_bytes(b"c" * 5)
    rotate_log(log, keep=10)
    assert log.read_bytes() == b"c" * 5  # under the cap: left alone
    rotate_log(tmp_path / "absent.log", keep=10)  # nothing to move: no error


def test_repeated_runs_into_one_folder_keep_the_logs_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(process, "LOG_KEEP_BYTES", 1000)
    root = make_tiny_dataset(tmp_path / "ds", [solution_json("good", GOOD_DPS)])
    out = tmp_path / "out"
    logs = out / ".logs"
    logs.mkdir(parents=True)
    (logs / "good.cpu.log").write_bytes(b"x" * 5000)  # what earlier runs left
    for _ in range(2):
        result = kernel_arena.run(dataset=root, out=out, config=FAST, device="cpu", force=True)
        assert [t.evaluation.status.value for t in result.traces] == ["PASSED"]
    assert sorted(p.name for p in logs.iterdir()) == ["good.cpu.log", "good.cpu.log.1"]
    assert (logs / "good.cpu.log").stat().st_size <= 5000
    assert (logs / "good.cpu.log.1").read_bytes() == b"x" * 5000
