"""``kernel-arena try``: one solution on one workload, in seconds.

Uses the real engine (judge, sandbox, reference, correctness on one draw, diagnosis, a short
timing) with its output folder in a temporary directory, so trying never touches ``runs/``.
``try_solution`` returns a ``TryOutcome``; the command line prints it for a person or as JSON.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kernel_arena.dataset import Dataset, DatasetError
from kernel_arena.engine.config import INTERPRETER_TIMING, RunConfig, interpreted
from kernel_arena.engine.plan import load_solution_arg, select_workloads
from kernel_arena.engine.run import run
from kernel_arena.measure.environment import expand_devices
from kernel_arena.measure.timing import TimingSettings
from kernel_arena.schema import Solution, Trace, Workload

DEFAULT_TIMEOUT_S = 300.0
"""Seconds a build or a workload may take before TIMEOUT (JIT builds of GPU libraries are slow)."""


class TryError(ValueError):
    """``try`` cannot start: an unknown or invalid solution, device or workload (a usage error)."""


@dataclass
class TryOutcome:
    """What one ``try`` did: the trace, or why the solution was skipped."""

    solution: Solution
    workload: Workload
    device: str
    elapsed_s: float
    trace: Trace | None = None
    skipped: str | None = None
    interpreted: bool = False
    """A Triton solution on CPU: it ran in the Triton interpreter (its latency is not GPU speed)."""

    @property
    def passed(self) -> bool:
        return self.trace is not None and self.trace.passed

    def to_json_dict(self) -> dict[str, Any]:
        """A flat JSON object for agents: status, errors, diagnoses, timing, log."""
        ev = self.trace.evaluation if self.trace is not None else None
        perf = ev.performance if ev is not None else None
        extra = (perf.model_extra or {}) if perf is not None else {}
        return {
            "status": ev.status.value if ev is not None else "SKIPPED",
            "passed": self.passed,
            "solution": self.solution.name,
            "definition": self.solution.definition,
            "workload": {"uuid": self.workload.uuid, "name": self.workload.name},
            "device": self.device,
            "elapsed_s": round(self.elapsed_s, 3),
            "skipped": self.skipped,
            "max_abs_error": ev.correctness.max_absolute_error if ev and ev.correctness else None,
            "max_rel_error": ev.correctness.max_relative_error if ev and ev.correctness else None,
            "latency_ms": perf.latency_ms if perf else None,
            "call_latency_ms": extra.get("call_latency_ms"),
            "reference_latency_ms": perf.reference_latency_ms if perf else None,
            "speedup": perf.speedup_factor if perf else None,
            "baseline": extra.get("baseline"),
            "speedup_vs_baseline": extra.get("speedup_vs_baseline"),
            "timing_method": (extra.get("timing") or {}).get("method"),
            "interpreted": self.interpreted,
            "diagnoses": self.trace.diagnoses if self.trace is not None else [],
            "log": ev.log if ev is not None else "",
        }


def try_solution(
    ds: Dataset,
    solution_arg: str,
    workload: str | None,
    device: str | None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    synthesize_missing: bool = False,
) -> TryOutcome:
    """Evaluate once on one workload (the first one for the device, or ``workload``).

    TryError when the solution, its definition, the device or the workload cannot be used.
    """
    if timeout_s <= 0:
        raise TryError("--timeout must be a positive number of seconds")
    try:
        from_path = load_solution_arg(solution_arg)
        solution = from_path or ds.solution(solution_arg)
        definition = ds.definition(solution.definition)
        dev = expand_devices(device)[0]
    except (DatasetError, ValueError) as exc:
        raise TryError(str(exc)) from None
    candidates = select_workloads(
        definition, ds.workloads_for(definition.name), dev, [workload] if workload else None, None
    )
    if not candidates:
        what = f"matching {workload!r}" if workload else f"for {dev}"
        raise TryError(f"{definition.name} has no workload {what}")
    chosen = candidates[0]
    if interpreted(solution, dev):
        timing = INTERPRETER_TIMING
    else:
        timing = TimingSettings(1, 5, 1) if dev == "cpu" else TimingSettings(3, 20, 1)
    config = RunConfig(
        draws=1,
        timing=timing,
        timeout_s=timeout_s,
        synthesize_missing=synthesize_missing,
    )
    arg = solution_arg if from_path is not None else solution.name
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="kernel-arena-try-") as out:
        try:
            result = run(
                dataset=ds, solutions=[arg], workloads=[chosen.uuid], device=dev, out=Path(out), config=config
            )
        except DatasetError as exc:
            raise TryError(str(exc)) from None
    outcome = TryOutcome(
        solution,
        chosen,
        dev,
        time.monotonic() - t0,
        interpreted=interpreted(solution, dev),
    )
    # The run also evaluates the definition's baseline first (when it targets the device):
    # the outcome is this solution's trace, which records its speedup against the baseline.
    skipped = [s for s in result.skipped if s.solution == solution.name]
    if skipped:
        outcome.skipped = skipped[0].reason
    else:
        outcome.trace = next(t for t in result.traces if t.solution == solution.name)
    return outcome


def _snapshot(root: Path) -> dict[Path, float]:
    files = [root] if root.is_file() else [p for p in root.rglob("*") if p.is_file()]
    return {p: p.stat().st_mtime for p in files if "__pycache__" not in p.parts}


def watch_paths(solution_arg: str, interval: float = 0.5) -> None:
    """Block until a file under the solution folder (or the JSON file) changes."""
    root = Path(solution_arg)
    if not root.exists():
        time.sleep(interval)
        return
    before = _snapshot(root)
    while _snapshot(root) == before:
        time.sleep(interval)
