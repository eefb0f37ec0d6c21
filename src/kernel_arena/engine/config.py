"""Run configuration: tolerances (default, per op type, per definition), draws, timing, timeout.

A config file (``.toml`` on Python 3.11+, or ``.json``) may hold::

    [tolerance.default]                 # atol, rtol, required_matched_ratio
    [tolerance.op_type.gdn]
    [tolerance.definition.<name>]

The most specific entry wins; ``--atol/--rtol`` on the command line override all of them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from kernel_arena.measure.compare import Tolerance
from kernel_arena.measure.timing import TimingSettings
from kernel_arena.schema import Definition, Solution

GPU_BUDGET_MS = 50.0
"""Default time per timing loop of a Solution on a GPU (counts up to 10 warm-up + 3 x 50)."""
CPU_BUDGET_MS = 100.0
"""Default time per timing loop on CPU (counts up to 2 warm-up + 3 x 5; at least 1 + 3 x 1)."""
REFERENCE_BUDGET_MS = {"cuda": 20.0, "cpu": 50.0}
"""The reference's own, smaller budget: its time only feeds ``speedup_factor``."""
INTERPRETER_TIMING = TimingSettings(warmup=0, iters=1, trials=1)
"""Default timing of a Triton Solution on CPU, where it runs in the Triton interpreter: its wall
time says nothing about the kernel, so one timed call (no warm-up) checks the timing path and the
timed-output check, and the run stays short (a budget would still make 1 + 3 x 1 calls of up to
seconds each)."""


class ConfigError(ValueError):
    """A config file that cannot be used; the message names the file and key."""


@dataclass
class RunConfig:
    """Everything that shapes one evaluation."""

    tolerance: Tolerance = field(default_factory=Tolerance)
    op_type_tolerance: dict[str, Tolerance] = field(default_factory=dict)
    definition_tolerance: dict[str, Tolerance] = field(default_factory=dict)
    atol: float | None = None
    rtol: float | None = None
    draws: int = 3
    timing: TimingSettings | None = None
    """Explicit counts (``--warmup/--iters/--trials``); ``None``: the budgeted defaults."""
    budget_ms: float | None = None
    """Time per timing loop for the budgeted defaults (``--budget-ms``)."""
    timeout_s: float = 600.0
    synthesize_missing: bool = False
    reference_timing: bool = True
    """Time the reference (``--no-reference-timing`` skips it: no ``speedup_factor``)."""
    baseline: str | None = None
    """The Solution speedups are quoted against: overrides every definition's ``baseline``
    field; ``"none"`` means no baseline."""

    def tolerance_for(self, definition: Definition) -> Tolerance:
        """The tolerance that applies to ``definition``."""
        tol = self.definition_tolerance.get(
            definition.name, self.op_type_tolerance.get(definition.op_type, self.tolerance)
        )
        if self.atol is not None:
            tol = replace(tol, atol=self.atol)
        if self.rtol is not None:
            tol = replace(tol, rtol=self.rtol)
        return tol

    def timing_for(self, device: str, solution: Solution | None = None) -> TimingSettings:
        """Timing settings of a Solution: explicit counts, or counts sized by a time budget, or,
        for a ``solution`` that runs in the Triton interpreter, ``INTERPRETER_TIMING``."""
        if self.timing is not None:
            return self.timing
        if solution is not None and interpreted(solution, device):
            return INTERPRETER_TIMING
        if device == "cpu":
            return TimingSettings(2, 5, 3, budget_ms=self.budget_ms or CPU_BUDGET_MS, min_iters=1)
        return TimingSettings(10, 50, 3, budget_ms=self.budget_ms or GPU_BUDGET_MS, min_iters=5)

    def reference_timing_for(self, device: str) -> TimingSettings:
        """Timing settings of the reference: one trial under a small budget (explicit counts win)."""
        if self.timing is not None:
            return self.timing
        if device == "cpu":
            return TimingSettings(1, 5, 1, budget_ms=REFERENCE_BUDGET_MS["cpu"], min_iters=1)
        return TimingSettings(3, 20, 1, budget_ms=REFERENCE_BUDGET_MS["cuda"], min_iters=1)

    def to_json_dict(self) -> dict[str, Any]:
        """Plain form, for a backend that ships jobs to another process or machine."""
        return asdict(self)

    @classmethod
    def from_json_dict(cls, obj: dict[str, Any]) -> RunConfig:
        """Inverse of ``to_json_dict``."""
        obj = dict(obj)
        obj["tolerance"] = Tolerance(**obj["tolerance"])
        obj["op_type_tolerance"] = {k: Tolerance(**v) for k, v in obj["op_type_tolerance"].items()}
        obj["definition_tolerance"] = {k: Tolerance(**v) for k, v in obj["definition_tolerance"].items()}
        obj["timing"] = TimingSettings(**obj["timing"]) if obj.get("timing") else None
        return cls(**obj)


def interpreted(solution: Solution, device: str) -> bool:
    """True when ``solution`` runs in the Triton interpreter: a Triton Solution on CPU (the sandbox
    of a CPU run sets ``TRITON_INTERPRET=1``)."""
    return device == "cpu" and solution.spec.language == "triton"


def _tolerance(obj: Any, where: str, base: Tolerance) -> Tolerance:
    if not isinstance(obj, dict):
        raise ConfigError(f"{where}: expected a table of atol/rtol/required_matched_ratio")
    unknown = set(obj) - {"atol", "rtol", "required_matched_ratio"}
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)}")
    for key, value in obj.items():
        if not isinstance(value, (int, float)) or value < 0:
            raise ConfigError(f"{where}.{key}: expected a non-negative number, got {value!r}")
    return replace(base, **{k: float(v) for k, v in obj.items()})


def load_config(path: Path, config: RunConfig | None = None) -> RunConfig:
    """Read tolerances from a TOML/JSON file into ``config``."""
    config = config or RunConfig()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    try:
        if path.suffix == ".json":
            data = json.loads(text)
        else:
            import tomllib

            data = tomllib.loads(text)
    except ImportError:
        raise ConfigError(f"{path}: TOML needs Python 3.11+; use a .json config") from None
    except Exception as exc:  # noqa: BLE001 - json/toml decode errors
        raise ConfigError(f"{path}: cannot parse: {exc}") from None
    tol = data.get("tolerance", {})
    if not isinstance(tol, dict):
        raise ConfigError(f"{path}: tolerance: expected a table")
    if "default" in tol:
        config.tolerance = _tolerance(tol["default"], f"{path}: tolerance.default", config.tolerance)
    for name, value in (tol.get("op_type") or {}).items():
        config.op_type_tolerance[name] = _tolerance(
            value, f"{path}: tolerance.op_type.{name}", config.tolerance
        )
    for name, value in (tol.get("definition") or {}).items():
        config.definition_tolerance[name] = _tolerance(
            value, f"{path}: tolerance.definition.{name}", config.tolerance
        )
    return config
