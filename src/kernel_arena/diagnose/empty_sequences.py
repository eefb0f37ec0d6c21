"""P14: empty or length-1 sequences produce NaN instead of output 0 / lse -inf."""

from __future__ import annotations

import torch

from kernel_arena.diagnose.registry import FailureEvidence, detector


def _applies(e: FailureEvidence) -> bool:
    return e.outputs is not None and "kv_indptr" in e.inputs


@detector("P14", "Empty or length-1 sequences", applies=_applies)
def empty_sequences(e: FailureEvidence) -> str | None:
    """All wrong rows are sequences of length 0 or 1, and every longer one is right."""
    indptr = e.inputs["kv_indptr"].long().cpu()
    lengths = indptr[1:] - indptr[:-1]
    short = lengths <= 1
    if not bool(short.any()) or bool(short.all()):
        return None
    bad_rows = torch.zeros_like(short)
    for name, out in e.outputs.items():
        ref = e.references[name]
        if not isinstance(out, torch.Tensor) or out.shape != ref.shape:
            return None
        o, r = out.float().cpu(), ref.float().cpu()
        same = torch.isclose(o, r, atol=e.tolerance.atol, rtol=e.tolerance.rtol, equal_nan=True)
        same |= torch.isinf(o) & torch.isinf(r) & (o == r)
        bad_rows |= ~same.reshape(same.shape[0], -1).all(dim=1)
    if bool(bad_rows.any()) and not bool((bad_rows & ~short).any()):
        rows = torch.nonzero(bad_rows).flatten().tolist()
        return (
            f"only sequences of length 0 or 1 are wrong (rows {rows[:8]}): an empty "
            "sequence must give output 0 and lse -inf, a single token its own value row"
        )
    return None
