"""Plausibility flags: recorded in the trace, counted by the leaderboard, never a failure."""

from __future__ import annotations

import json

from helpers import GOOD_DPS, make_tiny_dataset, solution_json, tiny_definition, write_json

import kernel_arena
from kernel_arena.dataset import load_dataset
from kernel_arena.engine.config import RunConfig
from kernel_arena.engine.plausibility import bandwidth_flags
from kernel_arena.measure.timing import Timing, TimingSettings
from kernel_arena.report.leaderboard import leaderboard
from kernel_arena.schema import Definition, Workload

SLOW = """
import time

def run(x, y, alpha, out):
    time.sleep(0.02)
    out.copy_(alpha * x + y)
"""


def test_kernel_time_below_the_output_write_floor_is_flagged_on_cuda_only():
    definition = Definition.model_validate(tiny_definition())
    workload = Workload.model_validate({"axes": {"n": 1 << 20}, "inputs": {}, "uuid": "w"})
    forged = Timing(1e-9, 1e-3, "cupti", 0.0)
    assert [f["id"] for f in bandwidth_flags(forged, definition, workload, "cuda")] == ["below_bandwidth_floor"]
    assert bandwidth_flags(forged, definition, workload, "cpu") == []
    honest = Timing(0.01, 0.02, "cupti", 0.0)  # 4 MiB written in 10 us: 0.4 TB/s
    assert bandwidth_flags(honest, definition, workload, "cuda") == []


def test_a_solution_far_faster_than_the_baseline_is_flagged_and_shown(tmp_path):
    root = make_tiny_dataset(
        tmp_path / "ds", [solution_json("a_fast", GOOD_DPS), solution_json("z_base", SLOW)]
    )
    write_json(root / "definitions" / "elementwise" / "scale_add_n.json", {**tiny_definition(), "baseline": "z_base"})
    cfg = RunConfig(timing=TimingSettings(0, 3, 1), timeout_s=60, draws=1)
    result = kernel_arena.run(dataset=root, out=tmp_path / "out", config=cfg, device="cpu")
    by = {t.solution: t for t in result.traces}
    assert by["z_base"].passed and by["a_fast"].passed  # the baseline ran first, nothing failed
    assert [f["id"] for f in by["a_fast"].flags] == ["implausible_speedup"]
    assert by["z_base"].flags == []
    stored = [json.loads(x) for x in (tmp_path / "out/traces/elementwise/scale_add_n.jsonl").read_text().splitlines()]
    assert any(t["evaluation"]["performance"].get("flags") for t in stored)
    rows = {r.solution: r for r in leaderboard(load_dataset(tmp_path / "out").traces, "scale_add_n")}
    assert rows["a_fast"].flags == {"implausible_speedup": 1}
