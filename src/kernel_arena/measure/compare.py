"""Compare a solution's outputs with the reference: shape, then dtype, then values.

Values are compared in fp32 with ``|out - ref| <= atol + rtol * |ref|``; NaN/Inf must sit
exactly where the reference has them. Optionally a ``required_matched_ratio`` < 1 lets a
fraction of elements miss. Outputs still holding the poison value are reported as unwritten.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch

from kernel_arena.measure.dtypes import dtype_name
from kernel_arena.schema import EvaluationStatus

INT_POISON = -0x5A5A5A5A


@dataclass
class Tolerance:
    """Comparison tolerances."""

    atol: float = 1e-2
    rtol: float = 1e-2
    required_matched_ratio: float = 1.0


@dataclass
class OutputComparison:
    """Result for one output tensor."""

    name: str
    status: EvaluationStatus
    message: str = ""
    max_abs: float = 0.0
    max_rel: float = 0.0
    matched_ratio: float = 1.0
    unwritten_ratio: float = 0.0


@dataclass
class Comparison:
    """Result over all outputs; ``status`` is the first failure in output order, or PASSED."""

    outputs: list[OutputComparison] = field(default_factory=list)

    @property
    def status(self) -> EvaluationStatus:
        for o in self.outputs:
            if o.status != EvaluationStatus.PASSED:
                return o.status
        return EvaluationStatus.PASSED

    @property
    def max_abs(self) -> float:
        return _nanmax([o.max_abs for o in self.outputs])

    @property
    def max_rel(self) -> float:
        return _nanmax([o.max_rel for o in self.outputs])

    def messages(self) -> list[str]:
        """One line per failing output."""
        return [f"{o.name}: {o.message}" for o in self.outputs if o.message]

    def extra(self) -> dict[str, Any]:
        """Per-output numbers for ``correctness.extra``."""
        return {
            o.name: {
                "max_absolute_error": _json_float(o.max_abs),
                "max_relative_error": _json_float(o.max_rel),
                "matched_ratio": o.matched_ratio,
            }
            for o in self.outputs
        }


def _json_float(x: float) -> float | str:
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x


def _nanmax(values: list[float]) -> float:
    if any(math.isnan(v) for v in values):
        return math.nan
    return max(values, default=0.0)


def poison_(tensor: torch.Tensor) -> torch.Tensor:
    """Fill a buffer with a value no correct kernel leaves there (NaN, or a sentinel int)."""
    if tensor.dtype.is_floating_point:
        return tensor.fill_(math.nan)
    if tensor.dtype == torch.bool:
        return tensor.fill_(True)
    info = torch.iinfo(tensor.dtype)
    return tensor.fill_(max(info.min, INT_POISON))


def poison_mask(tensor: torch.Tensor) -> torch.Tensor:
    """Elements that still hold the poison value."""
    if tensor.dtype.is_floating_point:
        return torch.isnan(tensor)
    if tensor.dtype == torch.bool:
        return torch.zeros_like(tensor, dtype=torch.bool)
    info = torch.iinfo(tensor.dtype)
    return tensor == max(info.min, INT_POISON)


@dataclass
class ElementCheck:
    """The element-wise rule of ``compare_output``, as masks over the output."""

    close: torch.Tensor
    """Element within tolerance (special values: exactly where the reference has them)."""
    finite: torch.Tensor
    """Both values finite (the only elements whose difference means something)."""
    special_ok: torch.Tensor
    """NaN where the reference has NaN, same-signed Inf where it has Inf, finite elsewhere."""
    diff: torch.Tensor
    """|out - ref| where both are finite, 0 elsewhere."""


def check_elements(
    o: torch.Tensor,
    r: torch.Tensor,
    tol: Tolerance,
    diff: torch.Tensor | None = None,
    ref_abs: torch.Tensor | None = None,
) -> ElementCheck:
    """Which elements of ``o`` match ``r`` (both fp32 or fp64, same shape): ``|o - r| <= atol +
    rtol * |r|``, and NaN/Inf exactly where the reference has them. ``diff``/``ref_abs`` are
    ``|o - r|`` and ``|r|`` when the caller has them already."""
    diff = (o - r).abs_() if diff is None else diff
    ref_abs = r.abs() if ref_abs is None else ref_abs
    o_nan, r_nan = torch.isnan(o), torch.isnan(r)
    o_inf, r_inf = torch.isinf(o), torch.isinf(r)
    finite = ~(o_nan | r_nan | o_inf | r_inf)
    # Special values must match exactly: NaN where NaN, same-signed Inf where Inf.
    special_ok = (o_nan == r_nan) & (o_inf == r_inf) & (~r_inf | (o == r))
    diff = torch.where(finite, diff, 0.0)  # |o - r|, zero where not comparable
    close = torch.where(finite, diff <= tol.atol + tol.rtol * ref_abs, special_ok) & special_ok
    return ElementCheck(close, finite, special_ok, diff)


def compare_output(
    name: str, out: Any, ref: torch.Tensor, tol: Tolerance, poisoned: bool
) -> OutputComparison:
    """Compare one output."""
    if not isinstance(out, torch.Tensor):
        return OutputComparison(
            name,
            EvaluationStatus.INCORRECT_SHAPE,
            f"expected a tensor of shape {list(ref.shape)}, got {type(out).__name__}",
        )
    if tuple(out.shape) != tuple(ref.shape):
        return OutputComparison(
            name, EvaluationStatus.INCORRECT_SHAPE, f"shape {list(out.shape)}, expected {list(ref.shape)}"
        )
    if out.dtype != ref.dtype:
        return OutputComparison(
            name,
            EvaluationStatus.INCORRECT_DTYPE,
            f"dtype {dtype_name(out.dtype)}, expected {dtype_name(ref.dtype)}",
        )
    if out.device != ref.device:
        out = out.to(ref.device)
    o = out.float() if out.dtype != torch.float64 else out
    r = ref.float() if ref.dtype != torch.float64 else ref
    n = max(r.numel(), 1)
    if r.numel() == 0:
        return OutputComparison(name, EvaluationStatus.PASSED, matched_ratio=1.0)
    # Fast path (a handful of kernels and one synchronization): every difference finite and
    # within atol, so every element is close and nothing is NaN, Inf or still poisoned.
    diff = (o - r).abs_()
    ref_abs = r.abs()
    max_abs, max_rel = torch.stack([diff.max(), (diff / ref_abs.clamp_min(1e-12)).max()]).tolist()
    if math.isfinite(max_abs) and max_abs <= tol.atol:
        return OutputComparison(
            name, EvaluationStatus.PASSED, max_abs=max_abs, max_rel=max_rel, matched_ratio=1.0
        )
    check = check_elements(o, r, tol, diff, ref_abs)
    finite, special_ok, close, diff = check.finite, check.special_ok, check.close, check.diff
    rel = torch.where(finite, diff / ref_abs.clamp_min(1e-12), 0.0)
    new_nan = torch.isnan(o) & ~torch.isnan(r)
    unwritten = poison_mask(out) & ~poison_mask(ref) if poisoned else torch.zeros_like(finite)
    # Every statistic in one device-to-host copy: one synchronization per output, not seven.
    stats = torch.stack(
        [
            diff.max().double(),
            rel.max().double(),
            (~special_ok).sum().double(),
            new_nan.sum().double(),
            close.sum().double(),
            unwritten.sum().double(),
        ]
    ).tolist()
    max_abs, max_rel, special_bad, new_nan_count, close_count, unwritten_count = stats
    if special_bad:
        max_abs = max_rel = math.nan if new_nan_count else math.inf
    matched = close_count / n
    result = OutputComparison(
        name,
        EvaluationStatus.PASSED,
        max_abs=max_abs,
        max_rel=max_rel,
        matched_ratio=matched,
        unwritten_ratio=unwritten_count / n,
    )
    if matched < tol.required_matched_ratio - 1e-12:
        result.status = EvaluationStatus.INCORRECT_NUMERICAL
        bad = n - int(close_count)
        parts = [
            f"{bad} of {n} elements differ (max abs {max_abs:.4g}, max rel {max_rel:.4g}; "
            f"atol {tol.atol}, rtol {tol.rtol})"
        ]
        if new_nan_count:
            parts.append(f"{int(new_nan_count)} NaN where the reference is finite")
        if result.unwritten_ratio > 0:
            parts.append(f"{result.unwritten_ratio:.0%} of elements never written (still poison)")
        result.message = "; ".join(parts)
    return result


def compare_outputs(
    names: list[str],
    outs: tuple[Any, ...] | list[Any],
    refs: dict[str, torch.Tensor],
    tol: Tolerance,
    poisoned: bool,
) -> Comparison:
    """Compare all outputs (a missing one counts as a shape error)."""
    comparison = Comparison()
    if len(outs) != len(names):
        comparison.outputs.append(
            OutputComparison(
                "outputs",
                EvaluationStatus.INCORRECT_SHAPE,
                f"returned {len(outs)} outputs, the definition has {len(names)} ({', '.join(names)})",
            )
        )
        return comparison
    for name, out in zip(names, outs):
        comparison.outputs.append(compare_output(name, out, refs[name], tol, poisoned))
    return comparison


_SAME_WIDTH_INT = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}


def _bytes_equal(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Bitwise equality (NaN payloads included), compared as integers of the element's width."""
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    a, b = a.contiguous(), b.contiguous()
    as_int = _SAME_WIDTH_INT.get(a.element_size(), torch.uint8)
    try:
        return bool(torch.equal(a.view(-1).view(as_int), b.view(-1).view(as_int)))
    except RuntimeError:
        return bool(torch.equal(a, b))


def mutated_inputs(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Names of tensor inputs whose bytes changed."""
    return [n for n, v in before.items() if isinstance(v, torch.Tensor) and not _bytes_equal(v, after[n])]
