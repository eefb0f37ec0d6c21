"""P03: LSE in natural log where base 2 is expected (or the reverse)."""

from __future__ import annotations

import math

from kernel_arena.diagnose.registry import FailureEvidence, detector


def _has_lse(e: FailureEvidence) -> bool:
    return e.outputs is not None and "lse" in e.definition.outputs


@detector("P03", "LSE base", applies=_has_lse)
def lse_base(e: FailureEvidence) -> str | None:
    """lse_solution / lse_reference is ln 2 (natural log given) or 1/ln 2 on all finite entries."""
    if e.output_passes("lse"):
        return None
    ref = e.references["lse"]
    for factor, what in (
        (math.log(2.0), "natural-log LSE where base 2 is expected"),
        (1 / math.log(2.0), "base-2 LSE where natural log is expected"),
    ):
        if e.matches("lse", ref * factor):
            return (
                f"lse differs from the reference by a factor of {factor:.3f} on all finite "
                f"entries: {what}; divide the natural logsumexp by ln 2"
            )
    return None
