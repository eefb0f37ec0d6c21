"""Output comparison: shape, dtype, tolerance, NaN/Inf placement, poison."""

from __future__ import annotations

import math

import pytest
import torch

from kernel_arena.measure.compare import Tolerance, compare_output, poison_
from kernel_arena.schema import EvaluationStatus as S


def test_order_shape_then_dtype_then_values():
    ref = torch.zeros(4)
    assert compare_output("o", torch.zeros(5), ref, Tolerance(), True).status == S.INCORRECT_SHAPE
    assert (
        compare_output("o", torch.zeros(4, dtype=torch.float16), ref, Tolerance(), True).status
        == S.INCORRECT_DTYPE
    )
    assert compare_output("o", torch.full((4,), 0.5), ref, Tolerance(), True).status == S.INCORRECT_NUMERICAL
    assert compare_output("o", "nope", ref, Tolerance(), True).status == S.INCORRECT_SHAPE


def test_tolerance_and_errors():
    ref = torch.tensor([1.0, 2.0, 100.0])
    out = ref + torch.tensor([0.005, 0.0, 0.9])
    r = compare_output("o", out, ref, Tolerance(1e-2, 1e-2), True)
    assert r.status == S.PASSED
    assert math.isclose(r.max_abs, 0.9, rel_tol=1e-5)
    assert math.isclose(r.max_rel, 0.009, rel_tol=1e-3)
    bad = compare_output("o", ref + 1.5, ref, Tolerance(1e-2, 1e-2), True)
    assert bad.status == S.INCORRECT_NUMERICAL and "differ" in bad.message


def test_nan_and_inf_must_sit_where_the_reference_has_them():
    ref = torch.tensor([1.0, -math.inf, math.nan])
    assert compare_output("o", ref.clone(), ref, Tolerance(), False).status == S.PASSED
    wrong_sign = torch.tensor([1.0, math.inf, math.nan])
    assert compare_output("o", wrong_sign, ref, Tolerance(), False).status == S.INCORRECT_NUMERICAL
    nan_out = torch.tensor([math.nan, -math.inf, math.nan])
    r = compare_output("o", nan_out, ref, Tolerance(), False)
    assert r.status == S.INCORRECT_NUMERICAL and math.isnan(r.max_abs)


def test_required_matched_ratio():
    ref = torch.zeros(10)
    out = ref.clone()
    out[0] = 5
    assert compare_output("o", out, ref, Tolerance(), True).status == S.INCORRECT_NUMERICAL
    assert compare_output("o", out, ref, Tolerance(required_matched_ratio=0.9), True).status == S.PASSED


def test_poisoned_untouched_output_is_reported_unwritten():
    ref = torch.ones(8)
    out = poison_(torch.empty(8))
    r = compare_output("o", out, ref, Tolerance(), True)
    assert r.status == S.INCORRECT_NUMERICAL and r.unwritten_ratio == 1.0
    assert "never written" in r.message
    ints = poison_(torch.empty(3, dtype=torch.int32))
    assert bool((ints == ints[0]).all()) and int(ints[0]) < 0


def test_empty_outputs_match():
    """A zero-element output (a batch of 0) used to count as 0% matched and fail."""
    r = compare_output("o", torch.empty(0, 4), torch.empty(0, 4), Tolerance(), poisoned=True)
    assert r.status == S.PASSED and r.matched_ratio == 1.0


def test_fast_and_full_paths_report_the_same_errors():
    ref = torch.tensor([1.0, -2.0, 4.0])
    near = ref + torch.tensor([0.005, 0.0, -0.008])  # within atol: the fast path
    far = ref + torch.tensor([0.005, 0.0, -0.03])  # beyond atol, within rtol: the full path
    fast = compare_output("o", near, ref, Tolerance(), poisoned=False)
    full = compare_output("o", far, ref, Tolerance(), poisoned=False)
    assert fast.status == full.status == S.PASSED
    assert fast.max_abs == pytest.approx(0.008, rel=1e-4) and fast.max_rel == pytest.approx(0.005, rel=1e-4)
    assert full.max_abs == pytest.approx(0.03, rel=1e-4) and full.max_rel == pytest.approx(0.0075, rel=1e-4)
    assert fast.matched_ratio == full.matched_ratio == 1.0
