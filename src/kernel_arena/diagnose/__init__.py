"""Why is my kernel wrong? Detectors for the pitfall catalogue, run when a solution fails.

Each detector lives in its own module, registers itself with ``@detector(...)`` and looks at a
FailureEvidence. A detector only claims a cause when re-comparing under a known transformation
(scale ratio, head permutation, transpose, reference variant) passes. ``diagnose_failure``
returns the claims, e.g. "lse ... natural-log LSE where base 2 is expected (P03)". When the
catalogue names nothing, generic layout detectors try (``layout``: G01 input read transposed,
G02 output permuted); when nothing names a cause, ``locate`` (LOC) says where and how the outputs
are wrong.
"""

from kernel_arena.diagnose.registry import (
    DETECTORS,
    Detector,
    Diagnosis,
    FailureEvidence,
    detector,
    diagnose_failure,
)

__all__ = ["DETECTORS", "Detector", "Diagnosis", "FailureEvidence", "detector", "diagnose_failure"]
