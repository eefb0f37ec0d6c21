"""Detector registry and the evidence a detector sees.

Adding a detector is one module: a function ``(FailureEvidence) -> str | None`` decorated with
``@detector("P0x", "title", applies=...)`` and imported in ``_load_detectors``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from kernel_arena.measure.compare import Tolerance, compare_output
from kernel_arena.measure.reference import as_output_tuple
from kernel_arena.schema import Definition, EvaluationStatus, Solution, Workload


@dataclass
class FailureEvidence:
    """Everything known about one failing call."""

    definition: Definition
    workload: Workload
    solution: Solution
    inputs: dict[str, Any]
    """The inputs as they were before the call."""
    outputs: dict[str, Any] | None
    """What the solution produced (None when it raised)."""
    references: dict[str, torch.Tensor]
    reference_fn: Callable[..., Any]
    tolerance: Tolerance
    raised: bool = False
    mutated_inputs: list[str] = field(default_factory=list)
    previous_references: dict[str, torch.Tensor] | None = None
    """Reference outputs of the previous draw, when this is not the first."""

    def matches(self, name: str, candidate: torch.Tensor, output: Any | None = None) -> bool:
        """Does ``output`` (default: the solution's) equal ``candidate`` within tolerance?"""
        out = output if output is not None else (self.outputs or {}).get(name)
        if not isinstance(out, torch.Tensor) or not isinstance(candidate, torch.Tensor):
            return False
        if out.shape != candidate.shape:
            return False
        if out.dtype != candidate.dtype:
            candidate = candidate.to(out.dtype)
        result = compare_output(name, out, candidate, self.tolerance, poisoned=False)
        return result.status == EvaluationStatus.PASSED

    def output_passes(self, name: str) -> bool:
        """Does the solution's output ``name`` already match the reference?"""
        return self.matches(name, self.references[name])

    def rerun_reference(self, **changes: Any) -> dict[str, torch.Tensor]:
        """The reference on the inputs with some replaced (a 'reference variant')."""
        args = {k: (v.clone() if isinstance(v, torch.Tensor) else v) for k, v in self.inputs.items()}
        args.update(changes)
        with torch.no_grad():
            result = self.reference_fn(*args.values())
        return dict(zip(self.definition.outputs, as_output_tuple(result, list(self.definition.outputs))))

    def failing_outputs(self) -> list[str]:
        """Outputs that do not match the reference."""
        if self.outputs is None:
            return []
        return [n for n in self.definition.outputs if not self.output_passes(n)]


@dataclass(frozen=True)
class Detector:
    """A registered pitfall detector."""

    pitfall: str
    """Pitfall id(s), e.g. ``P03`` or ``P04/P10``."""
    title: str
    fn: Callable[[FailureEvidence], Any]
    applies: Callable[[FailureEvidence], bool]
    doc: str


@dataclass(frozen=True)
class Diagnosis:
    """A claimed cause."""

    pitfall: str
    message: str

    def __str__(self) -> str:
        return f"{self.message} ({self.pitfall})"


DETECTORS: list[Detector] = []


def detector(
    pitfall: str, title: str, applies: Callable[[FailureEvidence], bool] | None = None
) -> Callable[[Callable[[FailureEvidence], Any]], Callable[[FailureEvidence], Any]]:
    """Register a detector function for ``pitfall``."""

    def wrap(fn: Callable[[FailureEvidence], Any]) -> Callable[[FailureEvidence], Any]:
        DETECTORS.append(
            Detector(
                pitfall, title, fn, applies or (lambda e: e.outputs is not None), (fn.__doc__ or "").strip()
            )
        )
        return fn

    return wrap


_MODULES = [
    "unwritten",
    "lse_base",
    "head_mapping",
    "scale",
    "state_layout",
    "gdn_variants",
    "output_format",
    "mutation",
    "empty_sequences",
    "cached_results",
]
_loaded = False


def _load_detectors() -> None:
    global _loaded
    if not _loaded:
        for name in _MODULES:
            importlib.import_module(f"kernel_arena.diagnose.{name}")
        _loaded = True


def registered_detectors() -> list[Detector]:
    """All detectors, importing their modules on first use."""
    _load_detectors()
    return list(DETECTORS)


def diagnose_failure(evidence: FailureEvidence) -> list[Diagnosis]:
    """Run every applicable detector; return the causes they could confirm."""
    found = []
    for det in registered_detectors():
        try:
            if not det.applies(evidence):
                continue
            message = det.fn(evidence)
        except Exception:  # noqa: BLE001, S112 - a detector that cannot run claims nothing
            continue
        if isinstance(message, tuple):  # (pitfall, message) when one detector serves several ids
            found.append(Diagnosis(message[0], message[1]))
        elif message:
            found.append(Diagnosis(det.pitfall, message))
    return found
