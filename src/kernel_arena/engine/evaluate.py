"""Evaluate a built solution on one workload (runs inside a worker process).

For each of ``draws`` fresh input draws: materialize inputs, get the reference outputs (from
the cache or by running the reference), call the solution (destination-passing style with
poisoned output buffers, or value-returning), check that inputs were not mutated, compare.
The first failure stops the draws and is diagnosed. A solution that passes every draw is timed
on a separate timing draw, and the reference is timed the same way (cached per device).
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from kernel_arena.engine.config import RunConfig
from kernel_arena.engine.sandbox.build import BuiltSolution
from kernel_arena.measure.compare import Comparison, compare_outputs, poison_
from kernel_arena.measure.dtypes import torch_dtype
from kernel_arena.measure.inputs import BlobCache, InputError, clone_inputs, materialize_inputs
from kernel_arena.measure.phases import PhaseClock
from kernel_arena.measure.reference import ReferenceCache, as_output_tuple, load_reference
from kernel_arena.measure.timing import Timing, time_call
from kernel_arena.schema import Definition, EvaluationStatus, Workload

TIMING_DRAW = 1_000_000


@dataclass
class Outcome:
    """What the worker sends back for one workload."""

    status: EvaluationStatus
    messages: list[str] = field(default_factory=list)
    correctness: dict[str, Any] | None = None
    performance: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "messages": self.messages,
            "correctness": self.correctness,
            "performance": self.performance,
        }


@dataclass
class EvalContext:
    """Per-worker state: the definition, the built solution and caches."""

    definition: Definition
    built: BuiltSolution
    device: torch.device
    hardware: str
    dataset_root: Path
    config: RunConfig
    cache: ReferenceCache
    blobs: BlobCache = field(default_factory=BlobCache)
    _reference: Any = None

    @property
    def reference(self) -> Any:
        if self._reference is None:
            self._reference = load_reference(self.definition)
        return self._reference


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def allocate_outputs(definition: Definition, workload: Workload, device: torch.device) -> list[torch.Tensor]:
    """Output buffers in definition order, poisoned."""
    axes = definition.axis_values(workload.axes)
    outs = []
    for spec in definition.outputs.values():
        shape = definition.shape_of(spec, axes) or ()
        outs.append(poison_(torch.empty(shape, dtype=torch_dtype(spec.dtype), device=device)))
    return outs


def reference_outputs(
    ctx: EvalContext, workload: Workload, draw: int, inputs: dict[str, Any]
) -> dict[str, torch.Tensor]:
    """Reference outputs for one draw, from the cache or computed (and then cached)."""
    cached = ctx.cache.get_outputs(ctx.definition, workload.uuid, draw, ctx.device)
    if cached is not None:
        return cached
    with torch.no_grad():
        result = ctx.reference(*clone_inputs(inputs).values())
    names = list(ctx.definition.outputs)
    outs = as_output_tuple(result, names)
    refs = {n: t for n, t in zip(names, outs)}
    _sync(ctx.device)
    ctx.cache.put_outputs(ctx.definition, workload.uuid, draw, ctx.device, refs)
    return refs


def call_solution(
    ctx: EvalContext, inputs: dict[str, Any], outputs: list[torch.Tensor] | None
) -> tuple[Any, ...]:
    """One call in the solution's convention; returns outputs in definition order."""
    args = list(inputs.values())
    if ctx.built.solution.spec.destination_passing_style:
        assert outputs is not None
        ctx.built.fn(*args, *outputs)
        return tuple(outputs)
    result = ctx.built.fn(*args)
    return as_output_tuple(result, list(ctx.definition.outputs))


_SAME_WIDTH_INT = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}


def _bytes_equal(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Bitwise equality (NaN payloads included), compared as integers of the element's width."""
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    a, b = a.contiguous(), b.contiguous()
    as_int = _SAME_WIDTH_INT.get(a.element_size(), torch.uint8)
    try:
        return bool(torch.equal(a.view(-1).view(as_int), b.view(-1).view(as_int)))
    except RuntimeError:
        return bool(torch.equal(a, b))


def mutated_inputs(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Names of tensor inputs whose bytes changed."""
    return [n for n, v in before.items() if isinstance(v, torch.Tensor) and not _bytes_equal(v, after[n])]


def evaluate_workload(ctx: EvalContext, workload: Workload) -> Outcome:
    """Correctness over ``draws`` draws, then timing. Never raises for solution faults."""
    definition = ctx.definition
    names = list(definition.outputs)
    tol = ctx.config.tolerance_for(definition)
    dps = ctx.built.solution.spec.destination_passing_style
    worst = Comparison()
    extra: dict[str, Any] = {"atol": tol.atol, "rtol": tol.rtol, "draws": ctx.config.draws}
    if tol.required_matched_ratio < 1:
        extra["required_matched_ratio"] = tol.required_matched_ratio

    clock = PhaseClock(ctx.device)
    prev_refs: dict[str, torch.Tensor] | None = None
    for draw in range(ctx.config.draws):
        try:
            with clock.phase("inputs"):
                inputs = materialize_inputs(
                    definition,
                    workload,
                    ctx.device,
                    draw,
                    ctx.dataset_root,
                    ctx.blobs,
                    ctx.config.synthesize_missing,
                )
            with clock.phase("reference"):
                refs = reference_outputs(ctx, workload, draw, inputs)
        except InputError as exc:
            return Outcome(EvaluationStatus.RUNTIME_ERROR, [f"workload inputs: {exc}"])
        with clock.phase("snapshot"):
            snapshot = clone_inputs(inputs)
            outputs = allocate_outputs(definition, workload, ctx.device) if dps else None
        try:
            with clock.phase("check_call"), torch.no_grad():
                outs = call_solution(ctx, inputs, outputs)
        except (Exception, SystemExit):  # noqa: BLE001 - sys.exit in a kernel is its runtime error
            messages = [f"draw {draw}: the solution raised:\n{traceback.format_exc()}"]
            messages += _diagnose(ctx, workload, snapshot, refs, None, error=True)
            return Outcome(EvaluationStatus.RUNTIME_ERROR, messages)
        with clock.phase("compare"):
            comparison = compare_outputs(names, outs, refs, tol, poisoned=dps)
        with clock.phase("mutation_check"):
            mutated = mutated_inputs(snapshot, inputs)
        if comparison.status != EvaluationStatus.PASSED or mutated:
            messages = [f"draw {draw}: " + m for m in comparison.messages()]
            if mutated:
                messages.append(f"draw {draw}: the solution modified input(s) {', '.join(mutated)} in place")
            messages += _diagnose(ctx, workload, snapshot, refs, outs, mutated=mutated, previous=prev_refs)
            status = comparison.status
            if status == EvaluationStatus.PASSED:
                status = EvaluationStatus.INCORRECT_NUMERICAL
            correctness = None
            if status == EvaluationStatus.INCORRECT_NUMERICAL:
                correctness = {
                    "max_relative_error": comparison.max_rel,
                    "max_absolute_error": comparison.max_abs,
                    "extra": {
                        **extra,
                        "outputs": comparison.extra(),
                        "failed_draw": draw,
                        "mutated_inputs": mutated,
                    },
                }
            return Outcome(status, messages, correctness)
        layout_notes = [
            f"note: output {n} is a non-contiguous view (strides {list(o.stride())}); values match, "
            "but a consumer reading its memory directly would not (P12)"
            for n, o in zip(names, outs)
            if isinstance(o, torch.Tensor) and not o.is_contiguous()
        ]
        if comparison.max_abs >= worst.max_abs or not worst.outputs:
            worst = comparison
        prev_refs = refs

    correctness = {
        "max_relative_error": worst.max_rel,
        "max_absolute_error": worst.max_abs,
        "extra": {**extra, "outputs": worst.extra()},
    }
    try:
        sol_t, ref_t = time_solution_and_reference(ctx, workload, clock)
    except (Exception, SystemExit):  # noqa: BLE001 - a failure while timing is a runtime error
        return Outcome(
            EvaluationStatus.RUNTIME_ERROR, [f"while timing: the solution raised:\n{traceback.format_exc()}"]
        )
    messages = list(dict.fromkeys(layout_notes))
    performance = {
        "latency_ms": sol_t.latency_ms,
        "reference_latency_ms": ref_t.latency_ms,
        "speedup_factor": ref_t.latency_ms / sol_t.latency_ms if sol_t.latency_ms > 0 else 0.0,
        "call_latency_ms": sol_t.call_latency_ms,
        "reference_call_latency_ms": ref_t.call_latency_ms,
        "timing": {
            "method": sol_t.method,
            "spread": sol_t.spread,
            "trial_medians_ms": sol_t.trial_medians_ms,
            "kernels_per_call": sol_t.kernels_per_call,
            "reference_method": ref_t.method,
            **_settings_json(ctx),
            "harness_ms": clock.rounded(),
        },
    }
    messages += _timing_notes(sol_t)
    return Outcome(EvaluationStatus.PASSED, messages, correctness, performance)


def _settings_json(ctx: EvalContext) -> dict[str, int]:
    s = ctx.config.timing_for(ctx.device.type)
    return {"warmup": s.warmup, "iters": s.iters, "trials": s.trials}


def _timing_notes(t: Timing) -> list[str]:
    notes = []
    if (
        t.method != "wall_clock_cpu"
        and t.latency_ms > 0
        and t.call_latency_ms > 5 * t.latency_ms
        and t.call_latency_ms - t.latency_ms > 0.05
    ):
        notes.append(
            f"call latency {t.call_latency_ms * 1e3:.0f} us is {t.call_latency_ms / t.latency_ms:.0f}x "
            f"the kernel time {t.latency_ms * 1e3:.1f} us: host-side work per call (P18: planning, "
            "allocation or synchronization inside the call)"
        )
    if t.method != "wall_clock_cpu" and t.kernels_per_call == 0:
        notes.append(
            "no GPU kernel was recorded during the call: work on another stream or on "
            "the host (P19); latency_ms is not meaningful"
        )
    return notes


def time_solution_and_reference(
    ctx: EvalContext, workload: Workload, clock: PhaseClock
) -> tuple[Timing, Timing]:
    """Time the solution on a fresh timing draw, and the reference (cached per device)."""
    settings = ctx.config.timing_for(ctx.device.type)
    with clock.phase("timing_inputs"):
        inputs = materialize_inputs(
            ctx.definition,
            workload,
            ctx.device,
            TIMING_DRAW,
            ctx.dataset_root,
            ctx.blobs,
            ctx.config.synthesize_missing,
        )
        dps = ctx.built.solution.spec.destination_passing_style
        outputs = allocate_outputs(ctx.definition, workload, ctx.device) if dps else None

    def call() -> None:
        with torch.no_grad():
            call_solution(ctx, inputs, outputs)

    sol_t = time_call(call, ctx.device, settings, clock)
    with clock.phase("reference_timing_cache"):
        cached = ctx.cache.get_timing(ctx.definition, workload.uuid, ctx.hardware, settings.key())
    if cached is not None:
        ref_t = Timing.from_json(cached)
    else:
        args = list(inputs.values())

        def ref_call() -> None:
            with torch.no_grad():
                ctx.reference(*args)

        with clock.phase("reference_timing"):
            ref_t = time_call(ref_call, ctx.device, settings)
        ctx.cache.put_timing(ctx.definition, workload.uuid, ctx.hardware, settings.key(), ref_t.to_json())
    return sol_t, ref_t


def _diagnose(
    ctx: EvalContext,
    workload: Workload,
    inputs_before: dict[str, Any],
    refs: dict[str, torch.Tensor],
    outs: tuple[Any, ...] | None,
    error: bool = False,
    mutated: list[str] | None = None,
    previous: dict[str, torch.Tensor] | None = None,
) -> list[str]:
    from kernel_arena.diagnose import FailureEvidence, diagnose_failure

    evidence = FailureEvidence(
        definition=ctx.definition,
        workload=workload,
        solution=ctx.built.solution,
        inputs=inputs_before,
        outputs=dict(zip(ctx.definition.outputs, outs)) if outs is not None else None,
        references=refs,
        reference_fn=ctx.reference,
        tolerance=ctx.config.tolerance_for(ctx.definition),
        raised=error,
        mutated_inputs=mutated or [],
        previous_references=previous,
    )
    try:
        return [f"diagnosis: {d}" for d in diagnose_failure(evidence)]
    except Exception as exc:  # noqa: BLE001 - a failing detector must not hide the result
        return [f"diagnosis failed: {type(exc).__name__}: {exc}"]
