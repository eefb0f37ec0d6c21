"""P09: recurrent state written in [K, V] order where k-last [V, K] is expected."""

from __future__ import annotations

from kernel_arena.diagnose.registry import FailureEvidence, detector


def _applies(e: FailureEvidence) -> bool:
    return e.outputs is not None and "new_state" in e.definition.outputs


@detector("P09", "GDN state layout", applies=_applies)
def state_layout(e: FailureEvidence) -> str | None:
    """new_state equals the reference's new_state with its last two axes swapped."""
    if e.output_passes("new_state"):
        return None
    ref = e.references["new_state"]
    if e.matches("new_state", ref.transpose(-1, -2).contiguous()):
        return (
            "new_state equals the reference transposed in its last two axes: the state is "
            "k-last [B, H, V, K]; the kernel wrote [B, H, K, V] (convert the layout, or use "
            "the library's k-last flag)"
        )
    return None
