"""P12: output dtype, shape or memory layout not as declared."""

from __future__ import annotations

import torch

from kernel_arena.diagnose.registry import FailureEvidence, detector
from kernel_arena.measure.dtypes import dtype_name


@detector("P12", "Output dtype or contiguity")
def output_format(e: FailureEvidence) -> str | None:
    """An output with the wrong dtype, or a non-contiguous view returned."""
    notes = []
    for name, out in (e.outputs or {}).items():
        ref = e.references[name]
        if not isinstance(out, torch.Tensor):
            continue
        if out.dtype != ref.dtype:
            notes.append(
                f"{name} is {dtype_name(out.dtype)}, the definition declares "
                f"{dtype_name(ref.dtype)} (cast before returning)"
            )
        elif not out.is_contiguous():
            notes.append(
                f"{name} is a non-contiguous view (strides {list(out.stride())}); return .contiguous()"
            )
    return "; ".join(notes) or None
