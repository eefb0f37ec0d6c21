"""Tolerance configuration precedence: definition > op type > default; CLI flags override."""

from __future__ import annotations

import json

import pytest

from kernel_arena.engine.config import ConfigError, RunConfig, load_config


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
