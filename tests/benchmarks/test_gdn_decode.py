"""benchmarks/gdn_decode.py: FLA's kernel called directly gives the reference result, and the
reports say what each ratio compares (read back from the committed H100 measurements)."""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
import gdn_decode as gd  # noqa: E402

from kernel_arena.measure.reference import load_reference  # noqa: E402
from kernel_arena.measure.timing import TimingSettings  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"


def test_fla_kernel_set_ups_match_the_reference(builtin):
    """Both ways of calling FLA's kernel directly compute the definition's step (on CPU through
    the Triton interpreter), so timing them times the same work as ours."""
    pytest.importorskip("fla")
    if os.environ.get("TRITON_INTERPRET") != "1":
        pytest.skip("CPU tensors: runs through the Triton interpreter")
    gen = torch.Generator().manual_seed(3)
    batch = 2
    inputs = {
        "q": torch.randn(batch, 1, 4, 128, generator=gen).bfloat16(),
        "k": (torch.randn(batch, 1, 4, 128, generator=gen) * 0.1).bfloat16(),
        "v": torch.randn(batch, 1, 8, 128, generator=gen).bfloat16(),
        "state": torch.randn(batch, 8, 128, 128, generator=gen),
        "A_log": torch.randn(8, generator=gen),
        "a": torch.randn(batch, 1, 8, generator=gen).bfloat16(),
        "dt_bias": torch.randn(8, generator=gen),
        "b": torch.randn(batch, 1, 8, generator=gen).bfloat16(),
        "scale": 1 / math.sqrt(128),
    }
    ref_out, ref_state = load_reference(builtin.definitions[gd.DEF])(*inputs.values())
    calls = gd.fla_kernel_calls(inputs)
    assert set(calls) == set(gd.FLA_SETUPS)
    for call, to_ours in calls.values():
        assert gd.close(*to_ours(call()), ref_out, ref_state)


def test_report_labels_each_ratio_and_takes_the_faster_fla_set_up():
    data = json.loads((RESULTS / "gdn.json").read_text())
    text = gd.report(data["rows"], data["copy_bw_gbs"], 1.0)
    assert "FLA kernel / ours (kernel vs kernel)" in text
    assert "FLA wrapper / ours (Solution vs Solution)" in text
    assert "CUPTI" in text and "cold L2" in text
    row = data["rows"][0]
    fla = min(row[s]["kernel_ms"] for s in gd.FLA_SETUPS)
    line = next(line for line in text.splitlines() if line.startswith(f"| {row['batch']} |"))
    assert f"**{fla / row['gdn_decode_triton']['kernel_ms']:.2f}x**" in line


def test_sweep_report_puts_fla_first_and_marks_only_our_fastest():
    data = json.loads((RESULTS / "gdn_sweep.json").read_text())
    batches = tuple(sorted({r["batch"] for r in data["results"]}))
    text = gd.sweep_report(data["results"], batches, TimingSettings(3, 30, 3), data["copy_bw_gbs"])
    rows = [line for line in text.splitlines() if line.startswith("| ") and "BLOCK_V" not in line]
    assert rows[0].startswith("| - | - | FLA kernel v-first |") and "**" not in rows[0]
    assert sum(line.count("**") for line in rows) == 2 * len(batches)  # one bold cell per batch
    assert all(r["ok"] for r in data["results"])
