"""Detector registry and the evidence a detector sees.

Adding a detector is one module: a function ``(FailureEvidence) -> str | None`` decorated with
``@detector("P0x", "title", applies=...)`` and imported in ``_load_detectors``.

Detectors run in stages: the pitfall catalogue (stage 0), then generic detectors that explain a
failure by a layout transformation (stage 1: transposed inputs, permuted outputs), then the
failure localisation (stage 2: where and how the outputs are wrong). A stage runs only when the
stages before it claimed nothing, so a catalogue cause is never repeated in generic words.
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

CATALOGUE, GENERIC, LOCALISATION = 0, 1, 2
"""Detector stages (see the module docstring)."""


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
    _failing: list[str] | None = field(default=None, init=False, repr=False)

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
        """Outputs that do not match the reference (compared once, then remembered)."""
        if self.outputs is None:
            return []
        if self._failing is None:
            self._failing = [n for n in self.definition.outputs if not self.output_passes(n)]
        return list(self._failing)

    def wrong_value_outputs(self) -> list[str]:
        """Failing outputs whose values can be looked at: tensors of the reference's shape and
        dtype (not a wrong shape or dtype, not a returned value the sandbox could not copy)."""
        names = []
        for name in self.failing_outputs():
            out, ref = (self.outputs or {}).get(name), self.references.get(name)
            if (
                isinstance(out, torch.Tensor)
                and isinstance(ref, torch.Tensor)
                and out.device.type != "meta"
                and out.shape == ref.shape
                and out.dtype == ref.dtype
                and out.numel() > 0
            ):
                names.append(name)
        return names

    def axis_names(self, tensor: str, ndim: int) -> list[str]:
        """The definition's axis names of an input or output, or ``dim0, dim1, ...`` where it
        gives none."""
        spec = self.definition.outputs.get(tensor) or self.definition.inputs.get(tensor)
        names = list(spec.shape or []) if spec is not None else []
        return names if len(names) == ndim else [f"dim{i}" for i in range(ndim)]


@dataclass(frozen=True)
class Detector:
    """A registered pitfall detector."""

    pitfall: str
    """Pitfall id(s), e.g. ``P03`` or ``P04/P10``."""
    title: str
    fn: Callable[[FailureEvidence], Any]
    applies: Callable[[FailureEvidence], bool]
    doc: str
    stage: int = CATALOGUE
    """CATALOGUE, GENERIC or LOCALISATION: a stage runs when the earlier ones found nothing."""


@dataclass(frozen=True)
class Diagnosis:
    """A claimed cause."""

    pitfall: str
    message: str
    detail: dict[str, Any] | None = None
    """Structured facts behind the message (JSON-safe), stored with it in the trace."""

    def __str__(self) -> str:
        return f"{self.message} ({self.pitfall})"

    def to_json_dict(self) -> dict[str, Any]:
        """``{"pitfall", "message"}`` plus ``detail`` when there is one: one entry of
        ``evaluation.diagnoses``."""
        out: dict[str, Any] = {"pitfall": self.pitfall, "message": self.message}
        if self.detail:
            out["detail"] = self.detail
        return out


DETECTORS: list[Detector] = []


def detector(
    pitfall: str,
    title: str,
    applies: Callable[[FailureEvidence], bool] | None = None,
    stage: int = CATALOGUE,
) -> Callable[[Callable[[FailureEvidence], Any]], Callable[[FailureEvidence], Any]]:
    """Register a detector function for ``pitfall`` (run in ``stage``, see the module docstring)."""

    def wrap(fn: Callable[[FailureEvidence], Any]) -> Callable[[FailureEvidence], Any]:
        DETECTORS.append(
            Detector(
                pitfall,
                title,
                fn,
                applies or (lambda e: e.outputs is not None),
                (fn.__doc__ or "").strip(),
                stage,
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
    "layout",
    "locate",
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
    """Run every applicable detector, stage by stage until one stage claims something; return
    the causes they could confirm (or, from the last stage, where the outputs are wrong)."""
    found: list[Diagnosis] = []
    detectors = registered_detectors()
    for stage in sorted({d.stage for d in detectors}):
        for det in (d for d in detectors if d.stage == stage):
            try:
                if not det.applies(evidence):
                    continue
                found += _as_diagnoses(det, det.fn(evidence))
            except Exception:  # noqa: BLE001, S112 - a detector that cannot run claims nothing
                continue
        if found:
            break
    return found


def _as_diagnoses(det: Detector, result: Any) -> list[Diagnosis]:
    """What a detector returned: a message, ``(pitfall, message)`` when one detector serves
    several ids, a Diagnosis, a list of Diagnoses, or nothing."""
    if isinstance(result, Diagnosis):
        return [result]
    if isinstance(result, list):
        return [d for d in result if isinstance(d, Diagnosis)]
    if isinstance(result, tuple):
        return [Diagnosis(result[0], result[1])]
    return [Diagnosis(det.pitfall, result)] if result else []
