"""P01: outputs never written — destination-passing style mismatch."""

from __future__ import annotations

import torch

from kernel_arena.diagnose.registry import FailureEvidence, detector
from kernel_arena.measure.compare import poison_mask


@detector("P01", "Destination-passing style mismatch")
def unwritten_outputs(e: FailureEvidence) -> str | None:
    """Every element of an output still holds the poison value: the kernel never wrote it
    (returned its result instead of filling the buffer, or the reverse)."""
    if not e.solution.spec.destination_passing_style or not e.outputs:
        return None
    untouched = [
        n
        for n, t in e.outputs.items()
        if isinstance(t, torch.Tensor)
        and t.numel()
        and bool(poison_mask(t).all())
        and not bool(poison_mask(e.references[n]).all())
    ]
    if not untouched:
        return None
    return (
        f"output(s) {', '.join(untouched)} were never written (still hold the poison): the "
        "entry point is called destination-passing style (outputs passed after the inputs, "
        "to fill in place) but behaves as if it returns them; write into the output "
        "arguments or set destination_passing_style: false"
    )
