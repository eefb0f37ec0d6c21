"""The run's baseline: added when left out, run first, quoted in every other trace."""

from __future__ import annotations

import pytest
from helpers import GOOD_DPS, make_tiny_dataset, solution_json, tiny_definition, write_json

import kernel_arena
from kernel_arena.dataset import DatasetError
from kernel_arena.engine.config import RunConfig
from kernel_arena.measure.timing import TimingSettings

SLOW = """
import time

def run(x, y, alpha, out):
    time.sleep(0.005)
    out.copy_(alpha * x + y)
"""
CFG = dict(timing=TimingSettings(0, 2, 1), timeout_s=60, draws=1)


def _dataset(tmp_path, baseline: str | None = "z_base"):
    root = make_tiny_dataset(
        tmp_path / "ds",
        [solution_json("a_fast", GOOD_DPS), solution_json("z_base", SLOW)],
        workloads=2,
    )
    extra = {"baseline": baseline} if baseline else {}
    write_json(root / "definitions" / "elementwise" / "scale_add_n.json", {**tiny_definition(), **extra})
    return root


def test_the_definitions_baseline_is_added_run_first_and_quoted(tmp_path):
    root = _dataset(tmp_path)
    result = kernel_arena.run(
        dataset=root, out=tmp_path / "out", solutions=["a_fast"], config=RunConfig(**CFG), device="cpu"
    )
    order = [t.solution for t in result.traces]
    assert order == ["z_base", "z_base", "a_fast", "a_fast"]  # added although not selected, first
    for t in result.traces:
        perf = t.evaluation.performance
        extra = perf.model_extra or {}
        if t.solution == "z_base":
            assert "speedup_vs_baseline" not in extra
            continue
        assert extra["baseline"] == "z_base"
        base = next(b for b in result.traces if b.solution == "z_base" and b.workload.uuid == t.workload.uuid)
        assert extra["baseline_latency_ms"] == base.evaluation.performance.latency_ms
        assert extra["speedup_vs_baseline"] == pytest.approx(extra["baseline_latency_ms"] / perf.latency_ms)
        assert extra["speedup_vs_baseline"] > 1  # the baseline sleeps 5 ms a call


def test_baseline_override_and_none(tmp_path):
    root = _dataset(tmp_path, baseline=None)
    cfg = RunConfig(**CFG, baseline="z_base")
    result = kernel_arena.run(
        dataset=root, out=tmp_path / "a", solutions=["a_fast"], config=cfg, device="cpu"
    )
    assert {t.solution for t in result.traces} == {"a_fast", "z_base"}
    root2 = _dataset(tmp_path / "2")
    cfg = RunConfig(**CFG, baseline="none")
    result = kernel_arena.run(
        dataset=root2, out=tmp_path / "b", solutions=["a_fast"], config=cfg, device="cpu"
    )
    assert {t.solution for t in result.traces} == {"a_fast"}
    assert all(
        "speedup_vs_baseline" not in (t.evaluation.performance.model_extra or {}) for t in result.traces
    )


def test_an_unknown_baseline_override_is_a_usage_error_naming_the_choices(tmp_path):
    root = _dataset(tmp_path)
    with pytest.raises(DatasetError, match="z_base"):
        kernel_arena.run(
            dataset=root, out=tmp_path / "o", config=RunConfig(**CFG, baseline="nope"), device="cpu"
        )


def test_without_reference_timing_no_speedup_factor_is_claimed(tmp_path):
    root = _dataset(tmp_path, baseline=None)
    cfg = RunConfig(**CFG, reference_timing=False)
    result = kernel_arena.run(
        dataset=root, out=tmp_path / "o", solutions=["a_fast"], config=cfg, device="cpu"
    )
    for t in result.traces:
        perf = t.evaluation.performance
        assert perf.latency_ms > 0 and perf.speedup_factor == 0 and perf.reference_latency_ms == 0
