"""benchmarks/tune_attention.py: a swept configuration counts only if its outputs agree with the
Solution's own run() (a fast wrong configuration is no candidate for a plan)."""

from __future__ import annotations

import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
from tune_attention import outputs_agree  # noqa: E402


def _outputs() -> list[torch.Tensor]:
    out = torch.randn(3, 4, 8).to(torch.bfloat16)
    lse = torch.randn(3, 4)
    lse[1] = float("-inf")  # an empty sequence
    return [out, lse]


def test_equal_and_nearly_equal_outputs_agree():
    expected = _outputs()
    assert outputs_agree([t.clone() for t in expected], expected)
    near = [expected[0].float().add(1e-3).to(torch.bfloat16), expected[1] + 1e-3]
    assert outputs_agree(near, expected)


def test_wrong_values_shapes_or_infinities_disagree():
    expected = _outputs()
    wrong = [expected[0].clone(), expected[1].clone()]
    wrong[0][0, 0, 0] += 1
    assert not outputs_agree(wrong, expected)
    finite_where_empty = [expected[0], torch.nan_to_num(expected[1], neginf=0.0)]
    assert not outputs_agree(finite_where_empty, expected)
    nan = [expected[0], expected[1].clone()]
    nan[1][0, 0] = float("nan")
    assert not outputs_agree(nan, expected)
    assert not outputs_agree([expected[0][:2], expected[1]], expected)
