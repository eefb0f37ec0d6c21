"""A sandbox that dies while building is retried on the next workload; a build error is final."""

from __future__ import annotations

from helpers import make_tiny_dataset, solution_json

import kernel_arena
from kernel_arena.engine.config import RunConfig
from kernel_arena.measure.timing import TimingSettings

FAST = RunConfig(timing=TimingSettings(0, 1, 1), timeout_s=60, draws=1)


def test_a_build_killed_once_is_retried_and_a_build_error_is_not(tmp_path):
    marker = tmp_path / "died-once"
    dies_once = f"""
import os, pathlib
if not pathlib.Path({str(marker)!r}).exists():
    pathlib.Path({str(marker)!r}).write_text("x")
    os._exit(9)  # the sandbox dies during the first build only

def run(x, y, alpha, out):
    out.copy_(alpha * x + y)
"""
    broken = "raise ImportError('no such kernel')\n"
    root = make_tiny_dataset(
        tmp_path / "ds", [solution_json("dies_once", dies_once), solution_json("broken", broken)], workloads=2
    )
    result = kernel_arena.run(dataset=root, out=tmp_path / "out", config=FAST, device="cpu")
    statuses: dict[str, list[str]] = {}
    for t in result.traces:
        statuses.setdefault(t.solution, []).append(t.evaluation.status.value)
    assert statuses["dies_once"] == ["COMPILE_ERROR", "PASSED"]
    assert statuses["broken"] == ["COMPILE_ERROR", "COMPILE_ERROR"]
