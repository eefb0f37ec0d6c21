"""P20: results cached across calls — right on the first draw, stale on fresh inputs."""

from __future__ import annotations

from kernel_arena.diagnose.registry import FailureEvidence, detector


def _applies(e: FailureEvidence) -> bool:
    return e.outputs is not None and e.previous_references is not None


@detector("P20", "Results cached across calls", applies=_applies)
def cached_results(e: FailureEvidence) -> str | None:
    """The outputs on a fresh draw equal the reference of the previous draw."""
    prev = e.previous_references or {}
    if all(e.matches(n, prev[n]) for n in e.definition.outputs if n in prev):
        return (
            "the outputs equal the previous draw's results: the solution returns results "
            "cached from an earlier call (keyed by pointer or shape) instead of computing"
        )
    return None
