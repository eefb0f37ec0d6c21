"""Tolerance configuration precedence: definition > op type > default; CLI flags override."""

from __future__ import annotations

import json

import pytest

from kernel_arena.engine.config import INTERPRETER_TIMING, ConfigError, RunConfig, load_config
from kernel_arena.measure.timing import TimingSettings


def test_precedence(tmp_path, builtin):
    path = tmp_path / "tol.json"
    path.write_text(
        json.dumps(
            {
                "tolerance": {
                    "default": {"atol": 0.1},
                    "op_type": {"gdn": {"rtol": 0.2}},
                    "definition": {
                        "gqa_paged_decode_h32_kv8_d128_ps1": {"atol": 0.3, "required_matched_ratio": 0.99}
                    },
                }
            }
        )
    )
    cfg = load_config(path)
    gdn = cfg.tolerance_for(builtin.definitions["gdn_decode_qk4_v8_d128_k_last"])
    gqa = cfg.tolerance_for(builtin.definitions["gqa_paged_decode_h32_kv8_d128_ps1"])
    mla = cfg.tolerance_for(builtin.definitions["mla_paged_decode_h16_ckv512_kpe64_ps1"])
    assert (gdn.atol, gdn.rtol) == (0.1, 0.2)
    assert (gqa.atol, gqa.rtol, gqa.required_matched_ratio) == (0.3, 0.01, 0.99)
    assert (mla.atol, mla.rtol) == (0.1, 0.01)
    cfg.atol = 5.0
    assert cfg.tolerance_for(builtin.definitions["gdn_decode_qk4_v8_d128_k_last"]).atol == 5.0
    assert RunConfig.from_json_dict(cfg.to_json_dict()) == cfg


def test_unknown_key_named(tmp_path):
    path = tmp_path / "tol.json"
    path.write_text(json.dumps({"tolerance": {"op_type": {"gdn": {"atool": 1}}}}))
    with pytest.raises(ConfigError, match=r"tolerance.op_type.gdn: unknown keys \['atool'\]"):
        load_config(path)


def test_triton_on_cpu_is_timed_minimally_unless_timing_is_given(builtin):
    """The interpreter's wall time says nothing about a kernel: one timed call by default; explicit
    settings apply to every Solution."""
    triton = builtin.solutions["gdn_decode_triton"]
    torch_sol = builtin.solutions["gdn_decode_torch"]
    cfg = RunConfig(budget_ms=500)
    assert cfg.timing_for("cpu", triton) == INTERPRETER_TIMING == TimingSettings(0, 1, 1)
    assert cfg.timing_for("cpu", torch_sol) == cfg.timing_for("cpu")
    assert cfg.timing_for("cpu").budget_ms == 500
    assert cfg.timing_for("cuda", triton) == cfg.timing_for("cuda") != INTERPRETER_TIMING
    explicit = RunConfig(timing=TimingSettings(1, 2, 1))
    assert explicit.timing_for("cpu", triton) == explicit.timing_for("cpu", torch_sol) == TimingSettings(1, 2, 1)
    assert INTERPRETER_TIMING.describe() == "1 timed call, no warm-up"
    assert TimingSettings(2, 5, 3).describe() == "2 warm-up + 3x5 timed calls"
    assert TimingSettings(2, 5, 3, budget_ms=100).describe() == "up to 2 warm-up + 3x5 timed calls, 100 ms a loop"
