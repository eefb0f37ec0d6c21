"""G01 / G02: layout mistakes no catalogue entry names, found for any definition.

G01, an input read in another layout: the reference is re-run with one input's memory read with
two axes swapped, ``X' = X.reshape(shape with axes i, j swapped).transpose(i, j)``. For two axes
of equal size that is ``X`` transposed; otherwise it is what a kernel computes that indexes ``X``
with the strides of the other layout (a gemm that forgot ``.T``).

G02, an output written in another layout, needs no re-run: the output equals the reference
written with two axes swapped, or the reference's slices along one axis in another order (a
wrong index or program-id mapping). The slice order is guessed from the nearest neighbours of
each slice on a fixed set of sampled positions, and claimed only when the comparison passes.

Generic detectors run only when no catalogue detector claimed a cause (stage GENERIC). Their
cost is bounded: every candidate is first compared on ``SAMPLE`` fixed random elements, and only
one that passes there is compared in full; axes of more than ``MAX_SLICES`` slices are not
searched for an order; G01 spends at most ``MAX_RERUNS`` reference re-runs and the whole detector
at most ``BUDGET_S`` seconds.
"""

from __future__ import annotations

import math
import time
from typing import Any

import torch

from kernel_arena.diagnose.registry import GENERIC, Diagnosis, FailureEvidence, detector
from kernel_arena.measure.compare import check_elements

SAMPLE = 4096
"""Elements a candidate layout is first compared on (fixed positions, same for every run)."""
MAX_SLICES = 2048
"""Axes longer than this are not searched for a slice order."""
MAX_RERUNS = 24
"""Reference re-runs G01 may spend (one per input and axis pair)."""
BUDGET_S = 10.0
"""Wall-clock seconds the detector may spend; candidates left when it is spent are not tried."""
_COLUMNS = 512
"""Positions within a slice that slices are told apart by (when looking for a slice order)."""


def _applies(e: FailureEvidence) -> bool:
    return e.outputs is not None and bool(e.wrong_value_outputs())


def _swapped(names: list[Any], i: int, j: int) -> list[Any]:
    out = list(names)
    out[i], out[j] = out[j], out[i]
    return out


def read_swapped(x: torch.Tensor, i: int, j: int) -> torch.Tensor:
    """``x``'s memory read as a row-major tensor with axes ``i`` and ``j`` swapped, as ``x``'s shape."""
    shape = list(x.shape)
    shape[i], shape[j] = shape[j], shape[i]
    return x.contiguous().reshape(shape).transpose(i, j).contiguous()


@detector("G01/G02", "Input read transposed, or output permuted", applies=_applies, stage=GENERIC)
def layout(e: FailureEvidence) -> list[Diagnosis]:
    """G02: an output equals the reference written with two axes swapped, or with its slices
    along one axis reordered (nearest slices on sampled positions, then the comparison). G01: all
    outputs match the reference re-run with one input's memory read with two axes swapped
    (transposed, for axes of equal size)."""
    deadline = time.monotonic() + BUDGET_S
    found = [d for name in e.wrong_value_outputs() if (d := _output_layout(e, name, deadline)) is not None]
    if found:
        return found
    claim = _input_layout(e, deadline)
    return [claim] if claim is not None else []


# ---------------------------------------------------------------------------------------- sampling
def _positions(shape: torch.Size, device: torch.device) -> torch.Tensor:
    """Fixed pseudo-random flat positions of a tensor of ``shape`` (all of them when few)."""
    numel = math.prod(shape)
    if numel <= SAMPLE:
        return torch.arange(numel, device=device)
    generator = torch.Generator().manual_seed(0)
    return torch.randint(0, numel, (SAMPLE,), generator=generator).to(device)


def _flat(t: torch.Tensor) -> torch.Tensor:
    return t.contiguous().reshape(-1)


def _sample_passes(e: FailureEvidence, out: torch.Tensor, candidate: torch.Tensor) -> bool:
    """Do the sampled elements of ``out`` match ``candidate`` (values at the same positions)?"""
    check = check_elements(out.double(), candidate.double(), e.tolerance)
    matched = float(check.close.double().mean()) if check.close.numel() else 1.0
    return matched >= e.tolerance.required_matched_ratio - 0.05


# ---------------------------------------------------------------------------------------- G02
def _output_layout(e: FailureEvidence, name: str, deadline: float) -> Diagnosis | None:
    out, ref = e.outputs[name], e.references[name]  # type: ignore[index]
    names = e.axis_names(name, ref.dim())
    sizes = list(ref.shape)
    pos = _positions(ref.shape, ref.device)
    out_s, ref_flat = _flat(out)[pos], _flat(ref)
    for i in range(ref.dim()):
        for j in range(i + 1, ref.dim()):
            if sizes[i] == 1 or sizes[j] == 1 or time.monotonic() > deadline:
                continue
            # candidate = ref.transpose(i, j) stored flat: its element p is ref at the index of p
            # in the swapped shape, with i and j swapped back
            idx = list(torch.unravel_index(pos, tuple(_swapped(sizes, i, j))))
            idx[i], idx[j] = idx[j], idx[i]
            if not _sample_passes(e, out_s, ref[tuple(idx)]):
                continue
            if e.matches(name, ref.transpose(i, j).contiguous().reshape(ref.shape)):
                return Diagnosis(
                    "G02",
                    f"{name} matches the reference written with axes {names[i]} and {names[j]} "
                    f"swapped: the kernel writes [{', '.join(_swapped(names, i, j))}] where the "
                    f"definition declares [{', '.join(names)}] (write with the declared strides)",
                    {"output": name, "swapped_axes": [names[i], names[j]]},
                )
    stride = ref.contiguous().stride()
    for dim in range(ref.dim()):
        if not 1 < sizes[dim] <= MAX_SLICES or time.monotonic() > deadline:
            continue
        mapping = _slice_map(out, ref, dim, pos)
        if mapping is None:
            continue
        at = torch.unravel_index(pos, tuple(sizes))[dim]
        moved = pos + (torch.tensor(mapping, device=pos.device)[at] - at) * stride[dim]
        if not _sample_passes(e, out_s, ref_flat[moved]):
            continue
        if e.matches(name, ref.index_select(dim, torch.tensor(mapping, device=ref.device))):
            return Diagnosis(
                "G02",
                f"{name} matches the reference with its {names[dim]} slices reordered "
                f"({describe_mapping(mapping)}): the kernel writes the result of one {names[dim]} "
                "index into another's place (check the index or program-id arithmetic of that axis)",
                {"output": name, "axis": names[dim], "mapping": mapping[:64]},
            )
    return None


def _slice_map(out: torch.Tensor, ref: torch.Tensor, dim: int, pos: torch.Tensor) -> list[int] | None:
    """For each slice of ``out`` along ``dim``, the index of the reference slice nearest to it on
    the positions of ``pos`` within a slice (ties go to the same index); None when that is the
    identity or says nothing (every slice it points to is constant there, e.g. all zeros)."""
    size = ref.shape[dim]
    stride = ref.contiguous().stride()[dim]
    within = pos - torch.unravel_index(pos, tuple(ref.shape))[dim] * stride  # position at index 0
    columns = torch.unique(within)[:_COLUMNS]
    flat_positions = columns[None, :] + torch.arange(size, device=pos.device)[:, None] * stride

    def rows(t: torch.Tensor) -> torch.Tensor:
        return _flat(t)[flat_positions].double().nan_to_num(nan=0.0, posinf=0.0, neginf=0.0)

    o, r = rows(out), rows(ref)
    dist = torch.cdist(o, r)
    nearest = dist.argmin(dim=1)
    own = torch.arange(size, device=dist.device)
    nearest = torch.where(dist.diagonal() <= dist.gather(1, nearest[:, None]).squeeze(1), own, nearest)
    mapping = [int(v) for v in nearest.tolist()]
    if mapping == list(range(size)):
        return None
    chosen = r[sorted(set(mapping))]
    if bool((chosen == chosen[:, :1]).all()):
        return None
    return mapping


def describe_mapping(mapping: list[int]) -> str:
    """A short description of 'slice i holds the reference's slice mapping[i]'."""
    size = len(mapping)
    if len(set(mapping)) == 1:
        return f"every index holds the reference's index {mapping[0]}"
    if mapping == list(range(size - 1, -1, -1)):
        return "in reverse order"
    shift = mapping[0] % size
    if all(m == (i + shift) % size for i, m in enumerate(mapping)):
        step = f"+ {shift}" if shift <= size // 2 else f"- {size - shift}"
        return f"shifted: index i holds the reference's index (i {step}) mod {size}"
    head = ", ".join(str(m) for m in mapping[:8]) + (", ..." if size > 8 else "")
    if sorted(mapping) == list(range(size)):
        return f"a permutation: index i holds the reference's [{head}][i]"
    return f"index i holds the reference's [{head}][i], some indices repeated"


# ---------------------------------------------------------------------------------------- G01
def _input_layout(e: FailureEvidence, deadline: float) -> Diagnosis | None:
    reruns = 0
    for name, value in e.inputs.items():
        if not isinstance(value, torch.Tensor) or not value.dtype.is_floating_point or value.dim() < 2:
            continue
        names = e.axis_names(name, value.dim())
        sizes = list(value.shape)
        for i in range(value.dim()):
            for j in range(i + 1, value.dim()):
                if sizes[i] == 1 or sizes[j] == 1:
                    continue
                if reruns >= MAX_RERUNS or time.monotonic() > deadline:
                    return None
                candidate = read_swapped(value, i, j)
                if torch.equal(candidate, value):
                    continue
                reruns += 1
                if _all_match(e, e.rerun_reference(**{name: candidate})):
                    return _input_claim(name, names, i, j, sizes[i] == sizes[j])
    return None


def _all_match(e: FailureEvidence, variant: dict[str, Any]) -> bool:
    """Every output matches the variant: sampled first, then in full."""
    for n in e.definition.outputs:
        out, cand = (e.outputs or {}).get(n), variant.get(n)
        if not isinstance(out, torch.Tensor) or not isinstance(cand, torch.Tensor) or out.shape != cand.shape:
            return False
        if out.device.type == "meta":
            return False
        pos = _positions(out.shape, out.device)
        if not _sample_passes(e, _flat(out)[pos], _flat(cand.to(out.device))[pos]):
            return False
    return all(e.matches(n, variant[n]) for n in e.definition.outputs)


def _input_claim(name: str, names: list[str], i: int, j: int, square: bool) -> Diagnosis:
    declared, swapped = ", ".join(names), ", ".join(_swapped(names, i, j))
    how = (
        f"with input {name} transposed in axes {names[i]} and {names[j]}"
        if square
        else f"with input {name}'s memory read as [{swapped}]"
    )
    return Diagnosis(
        "G01",
        f"outputs match the reference {how}: the kernel reads {name} as [{swapped}] where the "
        f"definition declares [{declared}] (a missing or extra transpose, or the other layout's strides)",
        {"input": name, "swapped_axes": [names[i], names[j]]},
    )
