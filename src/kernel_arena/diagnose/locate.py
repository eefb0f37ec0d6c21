"""LOC: where and how an output is wrong, when no detector could name a cause.

For each failing output (a tensor of the reference's shape and dtype): how many elements are
wrong; along which axes they lie (the indices holding wrong elements, or the few indices holding
most of the error mass when every index has some); the worst element (index, expected, got);
the fraction of NaN / Inf where the reference is finite; and whether the wrong elements differ
from the reference by one constant offset, one scale factor, both (affine), or are zero. The
element rule is the comparison's own (``measure.compare.check_elements``).

Runs last (stage LOCALISATION) and claims no cause. Its cost is a few passes over the output; an
output above ``MAX_ELEMENTS`` elements is looked at on evenly spaced indices of its longest axes
(said in the message).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from kernel_arena.diagnose.registry import LOCALISATION, Diagnosis, FailureEvidence, detector
from kernel_arena.measure.compare import check_elements

MAX_ELEMENTS = 1 << 22
"""Outputs larger than this are sampled along their longest axes."""
CONCENTRATED = 0.9
"""An axis 'holds the error' at the fewest indices whose share of the error mass reaches this."""


def _applies(e: FailureEvidence) -> bool:
    return e.outputs is not None and bool(e.wrong_value_outputs())


@detector("LOC", "Failure localisation (no cause found)", applies=_applies, stage=LOCALISATION)
def locate(e: FailureEvidence) -> list[Diagnosis]:
    """Claims no cause: for each failing output, where the wrong elements lie (per axis: the wrong
    indices, or the few holding 90% of the error), the worst element with its expected and actual
    value, the NaN/Inf fraction, and whether the error is a constant offset, a scale, both
    (affine) or zeros."""
    return [locate_output(e, name) for name in e.wrong_value_outputs()]


@dataclass
class _Sample:
    """An output and its reference, possibly on evenly spaced indices of some axes."""

    out: torch.Tensor
    ref: torch.Tensor
    index_maps: list[torch.Tensor | None]
    """Per axis, the original index of each kept index (None: every index kept)."""

    def original(self, dim: int, i: int) -> int:
        m = self.index_maps[dim]
        return i if m is None else int(m[i])


def _sample(out: torch.Tensor, ref: torch.Tensor) -> _Sample:
    maps: list[torch.Tensor | None] = [None] * ref.dim()
    while ref.numel() > MAX_ELEMENTS:
        dim = max(range(ref.dim()), key=lambda d: ref.shape[d])
        keep = max(1, ref.shape[dim] * MAX_ELEMENTS // ref.numel())
        idx = torch.linspace(0, ref.shape[dim] - 1, keep).round().long().unique()
        out = out.index_select(dim, idx.to(out.device))
        ref = ref.index_select(dim, idx.to(ref.device))
        prev = maps[dim]
        maps[dim] = idx if prev is None else prev[idx]
    return _Sample(out, ref, maps)


def locate_output(e: FailureEvidence, name: str) -> Diagnosis:
    """The localisation of one failing output."""
    s = _sample(e.outputs[name], e.references[name])  # type: ignore[index]
    o = s.out.double()
    r = s.ref.double()
    tol = e.tolerance
    check = check_elements(o, r, tol)
    wrong = ~check.close
    n, n_wrong = r.numel(), int(wrong.sum())
    names = e.axis_names(name, r.dim())
    detail: dict[str, Any] = {"output": name, "elements": n, "wrong": n_wrong}
    sampled = [names[d] for d, m in enumerate(s.index_maps) if m is not None]
    if sampled:
        detail["sampled_axes"] = sampled
    parts = [f"{name}: {n_wrong} of {n} elements wrong"]

    # Error mass per element: |out - ref| where finite; a misplaced NaN/Inf weighs as much as
    # the largest finite error (or 1), so it counts but does not swamp everything else.
    finite_err = torch.where(check.finite & wrong, check.diff, 0.0)
    largest = float(finite_err.max()) if n else 0.0
    mass = finite_err + (~check.special_ok).double() * (largest if largest > 0 else 1.0)

    axes = [_axis(s, d, names[d], wrong, mass) for d in range(r.dim()) if r.shape[d] > 1]
    detail["axes"] = [a for a, _ in axes]
    only = [text for a, text in axes if text and "error_at" not in a]
    most = [text for a, text in axes if text and "error_at" in a]
    where = (["only at " + ", ".join(only)] if only else []) + most
    if axes:
        parts[0] += ", " + ("; ".join(where) if where else "spread over every axis")

    score = torch.where(check.finite, check.diff / (tol.atol + tol.rtol * r.abs()), 0.0)
    score = torch.where(check.special_ok, score, math.inf)
    flat = int(score.reshape(-1).argmax())
    idx = [int(v) for v in torch.unravel_index(torch.tensor(flat), tuple(r.shape))]
    at = [s.original(d, i) for d, i in enumerate(idx)]
    expected, got = float(r[tuple(idx)]), float(o[tuple(idx)])
    parts.append(f"worst {name}[{', '.join(map(str, at))}]: expected {_num(expected)}, got {_num(got)}")
    detail["worst"] = {"index": at, "expected": _json(expected), "got": _json(got)}

    parts += _specials(o, r, n, e.solution.spec.destination_passing_style, detail)
    form = _error_form(o, r, check.finite & wrong, tol.atol, tol.rtol, detail)
    if form:
        parts.append(form)
    if sampled:
        parts.append(f"(looked at evenly spaced indices of {', '.join(sampled)})")
    return Diagnosis("LOC", "; ".join(parts), detail)


def _axis(
    s: _Sample, dim: int, name: str, wrong: torch.Tensor, mass: torch.Tensor
) -> tuple[dict[str, Any], str | None]:
    """Where along one axis the error lies, as detail and text: the indices with wrong elements
    when they are half the axis or less; else the fewest indices holding CONCENTRATED of the error
    mass when they are a quarter of the axis or less; else the indices with wrong elements when
    not all; else no text (spread along the axis)."""
    size = wrong.shape[dim]
    per_index = wrong.movedim(dim, 0).reshape(size, -1).sum(dim=1)
    bad = [i for i, c in enumerate(per_index.tolist()) if c]
    out: dict[str, Any] = {"axis": name, "size": size, "wrong_at": _ranges([s.original(dim, i) for i in bad])}
    only = f"{name} {out['wrong_at']} ({len(bad)} of {size})"
    if len(bad) <= size // 2:
        return out, only
    per_mass = mass.movedim(dim, 0).reshape(size, -1).sum(dim=1)
    total = float(per_mass.sum())
    if total > 0 and size >= 4:
        order = torch.argsort(per_mass, descending=True)
        share = torch.cumsum(per_mass[order], 0) / total
        k = int((share < CONCENTRATED).sum()) + 1
        if k <= size // 4 and k < len(bad):
            out["error_share"] = round(float(share[k - 1]), 3)
            out["error_at"] = _ranges(sorted(s.original(dim, int(i)) for i in order[:k]))
            return out, f"{out['error_share']:.0%} of the error at {name} {out['error_at']} ({k} of {size})"
    return out, only if len(bad) < size else None


def _specials(o: torch.Tensor, r: torch.Tensor, n: int, dps: bool, detail: dict[str, Any]) -> list[str]:
    """NaN / Inf where the reference is finite, and finite values where it is NaN / Inf."""
    r_finite = torch.isfinite(r)
    new_nan = int((torch.isnan(o) & r_finite).sum())
    new_inf = int((torch.isinf(o) & r_finite).sum())
    lost = int((torch.isfinite(o) & ~r_finite).sum())
    detail["nan_fraction"] = new_nan / n
    detail["inf_fraction"] = new_inf / n
    parts = []
    if new_nan:
        unwritten = " (or never written: the buffers start as NaN)" if dps else ""
        parts.append(f"NaN at {new_nan / n:.1%} ({new_nan}) where the reference is finite{unwritten}")
    if new_inf:
        parts.append(f"Inf at {new_inf / n:.1%} ({new_inf}) where the reference is finite")
    if lost:
        detail["finite_where_reference_is_not"] = lost
        parts.append(f"{lost} finite value(s) where the reference is NaN or Inf")
    return parts


def _error_form(
    o: torch.Tensor, r: torch.Tensor, sel: torch.Tensor, atol: float, rtol: float, detail: dict[str, Any]
) -> str | None:
    """Is the error on the wrong finite elements zeros, a constant offset, or a scale?"""
    if int(sel.sum()) < 2:
        return None
    got, exp = o[sel], r[sel]
    allowed = atol + rtol * exp.abs()
    if bool((got == 0).all()):
        detail["form"] = "zeros"
        return "every wrong finite element is 0 (not computed, or masked out)"
    offset = float((got - exp).median())
    if bool(((got - exp - offset).abs() <= allowed).all()):
        detail["form"], detail["offset"] = "offset", offset
        sign = "+" if offset >= 0 else "-"
        return f"got = expected {sign} {abs(offset):.4g} on every wrong element (a constant offset)"
    nonzero = exp.abs() > atol
    if int(nonzero.sum()) >= 2:
        scale = float((got[nonzero] / exp[nonzero]).median())
        if bool(((got - scale * exp).abs() <= allowed).all()):
            detail["form"], detail["scale"] = "scale", scale
            return f"got = {scale:.4g} x expected on every wrong element (a scale)"
    # got = a * expected + b by least squares, e.g. a normalization or bias applied wrong.
    design = torch.stack([exp, torch.ones_like(exp)], dim=1)
    a, b = (float(v) for v in torch.linalg.lstsq(design, got[:, None]).solution.flatten())
    if bool(((got - (a * exp + b)).abs() <= allowed).all()):
        detail["form"], detail["scale"], detail["offset"] = "affine", a, b
        sign = "+" if b >= 0 else "-"
        return f"got = {a:.4g} x expected {sign} {abs(b):.4g} on every wrong element (affine)"
    detail["form"] = "other"
    return "not a constant offset or scale of the expected values"


def _ranges(indices: list[int], limit: int = 6) -> str:
    """``[0, 1, 2, 5, 9, 10]`` -> ``"0-2, 5, 9-10"`` (at most ``limit`` runs, then a count)."""
    runs: list[tuple[int, int]] = []
    for i in sorted(indices):
        if runs and i == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    text = ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs[:limit])
    if len(runs) > limit:
        text += f", ... ({len(runs) - limit} more runs)"
    return text


def _num(x: float) -> str:
    return f"{x:.4g}" if math.isfinite(x) else str(x)


def _json(x: float) -> float | str:
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x
