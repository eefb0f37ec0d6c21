"""P13: inputs mutated in place."""

from __future__ import annotations

from kernel_arena.diagnose.registry import FailureEvidence, detector


@detector("P13", "Inputs mutated in place", applies=lambda e: bool(e.mutated_inputs))
def mutated(e: FailureEvidence) -> str | None:
    """The bytes of an input changed during the call."""
    names = ", ".join(e.mutated_inputs)
    return (
        f"input(s) {names} changed during the call: inputs are read-only (write results "
        "to the outputs, e.g. new_state, not into state)"
    )
