"""The Trace model: one evaluation of a solution on a workload (or a bare workload line).

Status rules follow the public schema: PASSED carries correctness and performance,
INCORRECT_NUMERICAL carries correctness only, every other status carries neither.
"""

from __future__ import annotations

import math
from enum import Enum
from functools import cached_property
from typing import Any

from pydantic import Field, field_validator, model_validator

from kernel_arena.schema._base import TraceModel
from kernel_arena.schema.workload import Workload


class EvaluationStatus(str, Enum):
    """Outcome of evaluating a solution on a workload."""

    PASSED = "PASSED"
    INCORRECT_SHAPE = "INCORRECT_SHAPE"
    INCORRECT_NUMERICAL = "INCORRECT_NUMERICAL"
    INCORRECT_DTYPE = "INCORRECT_DTYPE"
    RUNTIME_ERROR = "RUNTIME_ERROR"
    COMPILE_ERROR = "COMPILE_ERROR"
    TIMEOUT = "TIMEOUT"


class Correctness(TraceModel):
    """Numerical comparison against the reference."""

    max_relative_error: float = 0.0
    """Largest |out − ref| / |ref| over all compared elements (NaN allowed)."""
    max_absolute_error: float = 0.0
    """Largest |out − ref| over all compared elements (NaN allowed)."""
    extra: dict[str, Any] | None = None
    """Further metrics (per output errors, matched ratio, tolerances, draws)."""

    @field_validator("max_relative_error", "max_absolute_error")
    @classmethod
    def _non_negative(cls, value: float) -> float:
        if not math.isnan(value) and value < 0:
            raise ValueError("must be non-negative or NaN")
        return value


class Performance(TraceModel):
    """Timing of the solution and the reference on the same device."""

    latency_ms: float = Field(default=0.0, ge=0.0)
    """Solution time per call (GPU: kernel time, first kernel start to last kernel end)."""
    reference_latency_ms: float = Field(default=0.0, ge=0.0)
    """Reference time per call, measured the same way."""
    speedup_factor: float = Field(default=0.0, ge=0.0)
    """reference_latency_ms / latency_ms."""


class Environment(TraceModel):
    """Where the evaluation ran."""

    hardware: str = Field(min_length=1)
    """Device name, e.g. ``NVIDIA H100 80GB HBM3`` or ``CPU``."""
    libs: dict[str, str] = Field(default_factory=dict)
    """Library name → version (torch, triton, cuda, driver, the solution's dependencies)."""


class Evaluation(TraceModel):
    """Result of one solution × workload evaluation."""

    status: EvaluationStatus
    """Outcome."""
    environment: Environment
    """Hardware and software used."""
    timestamp: str = Field(min_length=1)
    """ISO-8601 time of the evaluation."""
    log: str = ""
    """Captured output, error traceback and diagnosis."""
    correctness: Correctness | None = None
    """Present for PASSED and INCORRECT_NUMERICAL."""
    performance: Performance | None = None
    """Present for PASSED only."""

    @model_validator(mode="after")
    def _evidence_matches_status(self) -> Evaluation:
        status = self.status
        if status == EvaluationStatus.PASSED:
            if self.correctness is None or self.performance is None:
                raise ValueError("a PASSED evaluation must carry correctness and performance")
        elif status == EvaluationStatus.INCORRECT_NUMERICAL:
            if self.correctness is None:
                raise ValueError("an INCORRECT_NUMERICAL evaluation must carry correctness")
            if self.performance is not None:
                raise ValueError("an INCORRECT_NUMERICAL evaluation must not carry performance")
        elif self.correctness is not None or self.performance is not None:
            raise ValueError(f"a {status.value} evaluation must carry neither correctness nor performance")
        return self


class Trace(TraceModel):
    """A solution's evaluation on a workload; ``solution``/``evaluation`` null for a workload line."""

    definition: str = Field(min_length=1)
    """Name of the definition."""
    workload: Workload
    """The workload evaluated."""
    solution: str | None = None
    """Name of the solution (null in workload files)."""
    evaluation: Evaluation | None = None
    """The result (null in workload files)."""

    @model_validator(mode="after")
    def _solution_and_evaluation_together(self) -> Trace:
        if (self.solution is None) != (self.evaluation is None):
            raise ValueError("solution and evaluation must both be set or both be null")
        return self

    @property
    def is_workload(self) -> bool:
        """True for a workload line (no solution, no evaluation)."""
        return self.solution is None

    @property
    def passed(self) -> bool:
        """True for an evaluation whose status is PASSED."""
        return self.evaluation is not None and self.evaluation.status == EvaluationStatus.PASSED

    @property
    def diagnoses(self) -> list[dict[str, Any]]:
        """The pitfall diagnoses of a failed evaluation: ``[{"pitfall": "P03", "message": ...}]``
        (and ``"detail"``, a dict, where the detector gave one).

        Stored structured in ``evaluation.diagnoses``; traces written before that are read from
        their ``diagnosis: ... (Pxx)`` log lines, here and nowhere else."""
        if self.evaluation is None:
            return []
        stored = (self.evaluation.model_extra or {}).get("diagnoses")
        if isinstance(stored, list):
            return [d for d in stored if isinstance(d, dict) and "message" in d]
        found: list[dict[str, Any]] = []
        for line in self.evaluation.log.splitlines():
            if line.startswith("diagnosis:"):
                text = line[len("diagnosis:") :].strip()
                pitfall = text[text.rfind("(") + 1 : -1] if text.endswith(")") and "(" in text else ""
                message = text[: text.rfind("(")].rstrip() if pitfall else text
                found.append({"pitfall": pitfall, "message": message})
        return found

    @property
    def flags(self) -> list[dict[str, str]]:
        """Plausibility flags of the timing: ``[{"id": ..., "message": ...}]`` (empty when none)."""
        perf = self.evaluation.performance if self.evaluation is not None else None
        stored = (perf.model_extra or {}).get("flags") if perf is not None else None
        return [f for f in stored if isinstance(f, dict) and "id" in f] if isinstance(stored, list) else []

    @cached_property
    def key(self) -> tuple[str, str, str]:
        """(definition, solution, workload uuid): what a run skips when already traced."""
        return (self.definition, self.solution or "", self.workload.uuid)
