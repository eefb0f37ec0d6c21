"""P07: softmax scale wrong (squared, missing, or computed from the wrong head dim)."""

from __future__ import annotations

import math

from kernel_arena.diagnose.registry import FailureEvidence, detector


def _applies(e: FailureEvidence) -> bool:
    return e.outputs is not None and "sm_scale" in e.inputs and isinstance(e.inputs["sm_scale"], (int, float))


@detector("P07", "Softmax scale", applies=_applies)
def softmax_scale(e: FailureEvidence) -> str | None:
    """Re-run the reference with scale², 1, and 1/sqrt(d) for the definition's head dims."""
    if not e.failing_outputs():
        return None
    scale = float(e.inputs["sm_scale"])
    axes = e.definition.axis_values(e.workload.axes)
    candidates = {"scale applied twice (scale²)": scale * scale, "no scale (1.0)": 1.0}
    dims = {v for k, v in axes.items() if "dim" in k}
    if len(dims) > 1:
        candidates[f"1/sqrt({sum(dims)}) (all head dims)"] = 1 / math.sqrt(sum(dims))
    for d in sorted(dims):
        candidates[f"1/sqrt({d})"] = 1 / math.sqrt(d)
    for what, value in candidates.items():
        if abs(value - scale) < 1e-9:
            continue
        variant = e.rerun_reference(sm_scale=value)
        if all(e.matches(n, variant[n]) for n in e.definition.outputs):
            return (
                f"outputs match the reference run with sm_scale={value:.6g} ({what}) instead "
                f"of the given {scale:.6g}: use the sm_scale input exactly once"
            )
    return None
