"""The judge: trusted evaluation of one Solution on its Workloads, on one device.

Per Workload, for each of ``draws`` correctness draws the judge materializes the inputs, gets the
reference outputs (its cache or the reference), lends the sandbox a copy of the inputs and
poisoned output buffers, has the sandbox make one call, then — reading its own memory — compares
the outputs, checks the lent inputs against its pristine copy, and checks that the outputs did
not change after the call returned. A failure is diagnosed here (the detectors run in the judge).

A Solution that passes every draw is timed by its sandbox on inputs from a per-run secret:
every timed call gets fresh values for the small inputs (``variants``), and the outputs of the
last call of every trial are compared against the reference on that call's inputs, so work
skipped or cached while timed fails the trace. The reference is timed here, under its own lock.
The judge never imports Solution code; the sandbox never sees what the judge keeps.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from kernel_arena.engine.config import RunConfig, interpreted
from kernel_arena.engine.evaluators import evaluator_for
from kernel_arena.engine.plan import Job
from kernel_arena.engine.plausibility import bandwidth_flags
from kernel_arena.engine.sandbox.process import (
    SandboxDied,
    SandboxProcess,
    SandboxProtocolError,
    SandboxTimeout,
)
from kernel_arena.engine.sandbox.protocol import (
    BuildFailed,
    BuildRequest,
    Built,
    Called,
    CallRequest,
    Integrity,
    Looped,
    Ready,
    ReadyRequest,
    ReturnedOutput,
    Timed,
    TimeRequest,
)
from kernel_arena.engine.sandbox.shared import SharedArena, TensorRef
from kernel_arena.measure.compare import Comparison, OutputComparison, mutated_inputs, poison_
from kernel_arena.measure.dtypes import dtype_name, torch_dtype
from kernel_arena.measure.environment import hardware_name, library_versions
from kernel_arena.measure.inputs import (
    BlobCache,
    InputError,
    clone_inputs,
    materialize_inputs,
    page_table_inputs,
    random_input,
)
from kernel_arena.measure.phases import PhaseClock
from kernel_arena.measure.provenance import definition_hash, solution_hash, workload_hash
from kernel_arena.measure.reference import ReferenceCache, as_output_tuple, load_reference
from kernel_arena.measure.timing import Timing, TimingSettings, time_call
from kernel_arena.schema import (
    Definition,
    Environment,
    Evaluation,
    EvaluationStatus,
    RandomInput,
    Trace,
    Workload,
)

SMALL_INPUT_BYTES = 16 << 20
"""Random inputs up to this size get fresh values on every timed call (larger ones: per workload)."""
VARIED_SET_BYTES = 4 << 20
"""Largest set of varied inputs (one set per timed call); see ``_varied_inputs``."""
VARIANT_BUDGET_BYTES = 512 << 20
"""Memory the judge spends on timing variants per workload (each lent once more to the sandbox)."""
STARTUP_TIMEOUT_S = 300.0
"""How long a sandbox may take to start (python, torch, CUDA context) before any Solution code."""
_REFERENCE_TIMING = threading.Lock()
"""One profiler session at a time in this process (several judges share it with --device all)."""


@dataclass
class Verdict:
    """The judge's conclusion for one Workload."""

    status: EvaluationStatus
    messages: list[str] = field(default_factory=list)
    correctness: dict[str, Any] | None = None
    performance: dict[str, Any] | None = None
    diagnoses: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class LentCall:
    """What one correctness call is given: lent inputs and output buffers, and their references."""

    inputs: dict[str, Any]
    wire: list[Any]
    buffers: list[torch.Tensor]
    buffer_refs: list[TensorRef]


@dataclass(frozen=True)
class JudgeSettings:
    """What every judge of a run shares: plain data, so a backend can ship it to another process."""

    dataset_root: Path
    config: RunConfig
    secret: int
    """The per-run secret the timing inputs are drawn from (never sent to a sandbox)."""
    cache_dir: Path | None
    log_dir: Path
    build_root: Path


class Judge:
    """Evaluates Jobs on one device; owns the reference cache and the sandboxes it starts."""

    def __init__(self, device: str, settings: JudgeSettings) -> None:
        self.device_name = device
        self.device = torch.device(device if device.startswith("cuda") else "cpu")
        self.dataset_root = Path(settings.dataset_root)
        self.config = settings.config
        self.secret = settings.secret
        self.cache = ReferenceCache(settings.cache_dir)
        self._cache_errors_noted = 0
        self.log_dir = Path(settings.log_dir)
        self.build_root = Path(settings.build_root)
        self.blobs = BlobCache()
        self.hardware = hardware_name(device)
        self.libs = library_versions(device)
        self._references: dict[str, Any] = {}

    # ------------------------------------------------------------------ a job
    def evaluate(self, job: Job, on_start: Callable[[Workload], None] | None = None) -> Iterator[Trace]:
        """One trace per workload of ``job``, in order; ``on_start`` is told before each workload."""
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
        log_path = self.log_dir / f"{job.solution.name}.{self.device_name.replace(':', '')}.log"
        sandbox = SandboxProcess(self.device_name, log_path)
        arena = SharedArena(self.device)
        env = self.environment(job)
        build_failure: tuple[EvaluationStatus, str] | None = None
        built = False
        try:
            for workload in job.workloads:
                if on_start is not None:
                    on_start(workload)
                provenance = job_provenance(job, workload, self.dataset_root, self.config.synthesize_missing)
                if build_failure is not None:
                    yield evaluation_trace(job, workload, build_failure[0], build_failure[1], env, provenance)
                    continue
                if not built:
                    status, log, final = self._build(sandbox, job)
                    if status is not None:
                        if final:
                            build_failure = (status, log)
                        yield evaluation_trace(job, workload, status, log, env, provenance)
                        continue
                    built = True
                verdict, output, alive = self._evaluate_workload(sandbox, arena, job, workload, provenance)
                built = built and alive
                yield evaluation_trace(
                    job,
                    workload,
                    verdict.status,
                    _join_log(verdict.messages, output),
                    env,
                    provenance,
                    verdict.correctness,
                    verdict.performance,
                    verdict.diagnoses,
                )
        finally:
            sandbox.stop()
            arena.close()

    def environment(self, job: Job) -> dict[str, Any]:
        """What a trace of ``job`` on this judge records as its environment (plain data)."""
        return {"hardware": self.hardware, "libs": {**self.libs, **_dependency_versions(job)}}

    def _build(self, sandbox: SandboxProcess, job: Job) -> tuple[EvaluationStatus | None, str, bool]:
        """Build in a fresh sandbox: (None, "", _) when built, else the status, the log, and whether
        the failure is final (a build error or a hang: not retried for later workloads; a sandbox
        that died while building is retried on the next workload)."""
        request = BuildRequest("", job.solution.to_json_dict(), self.device_name, str(self.build_root))
        try:
            # Start-up (python, torch, the CUDA context) is the harness's time, not the Solution's.
            sandbox.request(ReadyRequest("", self.device_name), (Ready,), STARTUP_TIMEOUT_S)
        except (SandboxTimeout, SandboxDied, SandboxProtocolError) as exc:
            log = _join_log([f"the sandbox did not start: {exc}"], exc.log)
            return EvaluationStatus.RUNTIME_ERROR, log, False
        try:
            reply, output = sandbox.request(request, (Built, BuildFailed), self.config.timeout_s)
        except SandboxTimeout as exc:
            log = _join_log([f"build: {exc} (not retried for later workloads)"], exc.log)
            return EvaluationStatus.TIMEOUT, log, True
        except (SandboxDied, SandboxProtocolError) as exc:
            return EvaluationStatus.COMPILE_ERROR, _join_log([f"build: {exc}"], exc.log), False
        if isinstance(reply, BuildFailed):
            sandbox.stop()
            return EvaluationStatus.COMPILE_ERROR, _join_log([reply.error], output), True
        return None, "", False

    # ------------------------------------------------------------------ a workload
    def _evaluate_workload(
        self,
        sandbox: SandboxProcess,
        arena: SharedArena,
        job: Job,
        workload: Workload,
        provenance: dict[str, str],
    ) -> tuple[Verdict, str, bool]:
        """(verdict, sandbox output, whether the sandbox is still usable)."""
        outputs: list[str] = []
        arena.reset()
        try:
            verdict = self._judge_workload(sandbox, arena, job, workload, provenance, outputs)
            self._note_cache_errors(outputs)
            return verdict, "\n".join(o for o in outputs if o.strip()), True
        except SandboxTimeout as exc:
            status, message, log = EvaluationStatus.TIMEOUT, f"timeout: {exc}", exc.log
        except SandboxDied as exc:
            status, message, log = EvaluationStatus.RUNTIME_ERROR, f"crash: {exc}", exc.log
        except SandboxProtocolError as exc:
            status, message, log = EvaluationStatus.RUNTIME_ERROR, str(exc), exc.log
        outputs.append(log)
        self._note_cache_errors(outputs)
        return Verdict(status, [message]), "\n".join(o for o in outputs if o.strip()), False

    def _note_cache_errors(self, outputs: list[str]) -> None:
        """Say once, in the trace being made, that the reference cache could not be written."""
        if len(self.cache.write_errors) > self._cache_errors_noted:
            self._cache_errors_noted = len(self.cache.write_errors)
            outputs.append(
                "note: the reference cache could not be written, so this run keeps references in memory "
                "only (later runs recompute them): " + self.cache.write_errors[-1]
            )

    def _reference(self, definition: Definition) -> Any:
        if definition.name not in self._references:
            self._references[definition.name] = load_reference(definition)
        return self._references[definition.name]

    def _reference_outputs(
        self, definition: Definition, key: str, draw: int | None, inputs: dict[str, Any]
    ) -> dict[str, torch.Tensor]:
        """Reference outputs for one input set (cached when ``draw`` is a public draw number)."""
        if draw is not None:
            cached = self.cache.get_outputs(definition, key, draw, self.device)
            if cached is not None:
                return cached
        with torch.no_grad():
            result = self._reference(definition)(*clone_inputs(inputs).values())
        names = list(definition.outputs)
        refs = dict(zip(names, as_output_tuple(result, names)))
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        if draw is not None:
            self.cache.put_outputs(definition, key, draw, self.device, refs)
        return refs

    def _output_buffers(
        self, arena: SharedArena, definition: Definition, workload: Workload
    ) -> tuple[list[torch.Tensor], list[TensorRef]]:
        axes = definition.axis_values(workload.axes)
        tensors, refs = [], []
        for spec in definition.outputs.values():
            shape = definition.shape_of(spec, axes) or ()
            tensor, ref = arena.empty(tuple(shape), torch_dtype(spec.dtype))
            poison_(tensor)
            tensors.append(tensor)
            refs.append(ref)
        return tensors, refs

    def _lend_call(
        self,
        arena: SharedArena,
        definition: Definition,
        workload: Workload,
        inputs: dict[str, Any],
        previous: LentCall | None,
    ) -> LentCall:
        """Lend one draw: the first allocates; later draws of the workload refill the same memory
        (the sandbox keeps its mappings, so no new export per draw) and re-poison the outputs."""
        if previous is None:
            lent, wire = self._lend_inputs(arena, inputs)
            buffers, refs = self._output_buffers(arena, definition, workload)
            return LentCall(lent, wire, buffers, refs)
        for name, value in inputs.items():
            if isinstance(value, torch.Tensor):
                previous.inputs[name].copy_(value)
        for buffer in previous.buffers:
            poison_(buffer)
        return previous

    def _lend_inputs(self, arena: SharedArena, inputs: dict[str, Any]) -> tuple[dict[str, Any], list[Any]]:
        lent: dict[str, Any] = {}
        wire: list[Any] = []
        for name, value in inputs.items():
            if isinstance(value, torch.Tensor):
                tensor, ref = arena.lend(value)
                lent[name] = tensor
                wire.append(ref)
            else:
                lent[name] = value
                wire.append(value)
        return lent, wire

    def _judge_workload(
        self,
        sandbox: SandboxProcess,
        arena: SharedArena,
        job: Job,
        workload: Workload,
        provenance: dict[str, str],
        outputs: list[str],
    ) -> Verdict:
        definition = job.definition
        names = list(definition.outputs)
        evaluator = evaluator_for(definition)
        tol = self.config.tolerance_for(definition)
        dps = job.solution.spec.destination_passing_style
        key = f"{workload.uuid}-{provenance['workload_hash']}"
        extra: dict[str, Any] = {"atol": tol.atol, "rtol": tol.rtol, "draws": self.config.draws}
        if tol.required_matched_ratio < 1:
            extra["required_matched_ratio"] = tol.required_matched_ratio
        clock = PhaseClock(self.device)
        worst = Comparison()
        layout_notes: list[str] = []
        prev_refs: dict[str, torch.Tensor] | None = None
        lent: LentCall | None = None
        draw_phases: dict[str, float] = {}  # the sandbox's own clock of the correctness calls
        large: dict[str, torch.Tensor] = {}  # large random inputs, drawn once for all draws
        for draw in range(self.config.draws):
            try:
                with clock.phase("inputs"):
                    inputs = materialize_inputs(
                        definition,
                        workload,
                        self.device,
                        draw,
                        self.dataset_root,
                        self.blobs,
                        self.config.synthesize_missing,
                        large,
                    )
                with clock.phase("reference"):
                    refs = self._reference_outputs(definition, key, draw, inputs)
            except InputError as exc:
                return Verdict(EvaluationStatus.RUNTIME_ERROR, [f"workload inputs: {exc}"])
            with clock.phase("lend"):
                lent = self._lend_call(arena, definition, workload, inputs, lent)
            with clock.phase("call_roundtrip"):
                reply, output = sandbox.request(
                    CallRequest("", lent.wire, lent.buffer_refs, names), (Called,), self.config.timeout_s
                )
            for phase, ms in reply.harness_ms.items():
                draw_phases[f"draw {phase}"] = draw_phases.get(f"draw {phase}", 0.0) + ms
            outputs.append(output)
            with clock.phase("read_outputs"):
                got = [b.clone() for b in lent.buffers]
            tampering = _integrity_failure(reply.integrity)
            if tampering:
                return Verdict(EvaluationStatus.RUNTIME_ERROR, [f"draw {draw}: {tampering}"])
            if reply.error is not None:
                messages = [f"draw {draw}: the solution raised:\n{reply.error}"]
                found = self._diagnose(job, workload, inputs, refs, None, error=True)
                return Verdict(EvaluationStatus.RUNTIME_ERROR, messages + _lines(found), diagnoses=found)
            with clock.phase("compare"):
                comparison = self._compare(evaluator, names, got, refs, tol, dps, reply)
            with clock.phase("mutation_check"):
                mutated = mutated_inputs(inputs, lent.inputs)
            with clock.phase("late_write_check"):
                late = [n for n, g, b in zip(names, got, lent.buffers) if not _same_bytes(g, b)]
            if comparison.status != EvaluationStatus.PASSED or mutated or late:
                messages = [f"draw {draw}: " + m for m in comparison.messages()]
                if mutated:
                    messages.append(
                        f"draw {draw}: the solution modified input(s) {', '.join(mutated)} in place"
                    )
                if late:
                    messages.append(
                        f"draw {draw}: output(s) {', '.join(late)} changed after the call returned "
                        "(work finishing on another thread or stream after the timer stopped, A08)"
                    )
                outs = _outputs_for_diagnosis(names, got, None if dps else reply.returned)
                found = self._diagnose(job, workload, inputs, refs, outs, mutated=mutated, previous=prev_refs)
                messages += _lines(found)
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
                return Verdict(status, messages, correctness, diagnoses=found)
            layout_notes += [
                f"note: output {r.name} is a non-contiguous view; values match, but a consumer reading "
                "its memory directly would not (P12)"
                for r in reply.returned
                if not r.contiguous
            ]
            if comparison.max_abs >= worst.max_abs or not worst.outputs:
                worst = comparison
            prev_refs = refs

        correctness = {
            "max_relative_error": worst.max_rel,
            "max_absolute_error": worst.max_abs,
            "extra": {**extra, "outputs": worst.extra()},
        }
        assert lent is not None  # draws >= 1
        timed = self._time(sandbox, arena, lent, inputs, job, workload, key, provenance, clock, outputs)
        if isinstance(timed, Verdict):
            if timed.status == EvaluationStatus.INCORRECT_NUMERICAL:
                timed.correctness = correctness
            return timed
        sol_t, ref_t, sandbox_ms, flags = timed
        if self.cache.tampered:
            outputs.append(
                "note: reference cache entries changed during this run were recomputed: "
                + ", ".join(self.cache.tampered[:5])
            )
            self.cache.tampered.clear()
        settings = self.config.timing_for(self.device.type, job.solution)
        timing: dict[str, Any] = {
            "method": sol_t.method,
            "spread": sol_t.spread,
            "trial_medians_ms": sol_t.trial_medians_ms,
            "kernels_per_call": sol_t.kernels_per_call,
            "warmup": sol_t.warmup,
            "iters": sol_t.iters,
            "trials": settings.trials,
            "budget_ms": settings.budget_ms,
            "harness_ms": clock.rounded(),
            "sandbox_ms": {**{k: round(v, 2) for k, v in draw_phases.items()}, **sandbox_ms},
        }
        performance: dict[str, Any] = {
            "latency_ms": sol_t.latency_ms,
            "call_latency_ms": sol_t.call_latency_ms,
            "timing": timing,
        }
        if ref_t is not None:
            performance.update(
                reference_latency_ms=ref_t.latency_ms,
                speedup_factor=ref_t.latency_ms / sol_t.latency_ms if sol_t.latency_ms > 0 else 0.0,
                reference_call_latency_ms=ref_t.call_latency_ms,
            )
            timing.update(
                reference_method=ref_t.method, reference_warmup=ref_t.warmup, reference_iters=ref_t.iters
            )
        if flags:
            performance["flags"] = flags
        messages = list(dict.fromkeys(layout_notes)) + _timing_notes(sol_t)
        if interpreted(job.solution, self.device.type):
            messages.append(
                f"note: Triton interpreter (CPU), timed with {settings.describe()}: the latency checks "
                "the pipeline, not the kernel's speed"
            )
        messages += [f"flag: {f['message']}" for f in flags]
        return Verdict(EvaluationStatus.PASSED, messages, correctness, performance)

    def _compare(
        self,
        evaluator: Any,
        names: list[str],
        got: list[torch.Tensor],
        refs: dict[str, torch.Tensor],
        tol: Any,
        dps: bool,
        reply: Called,
    ) -> Comparison:
        if dps:
            return evaluator.compare(names, got, refs, tol, poisoned=True)
        if reply.returned_count != len(names):
            return Comparison(
                [
                    OutputComparison(
                        "outputs",
                        EvaluationStatus.INCORRECT_SHAPE,
                        f"returned {reply.returned_count} outputs, the definition has {len(names)} "
                        f"({', '.join(names)})",
                    )
                ]
            )
        mismatch = _returned_mismatch(names, reply.returned, refs)
        if mismatch is not None:
            return mismatch
        return evaluator.compare(names, got, refs, tol, poisoned=False)

    # ------------------------------------------------------------------ timing
    def _time(
        self,
        sandbox: SandboxProcess,
        arena: SharedArena,
        lent: LentCall,
        base: dict[str, Any],
        job: Job,
        workload: Workload,
        key: str,
        provenance: dict[str, str],
        clock: PhaseClock,
        outputs: list[str],
    ) -> Verdict | tuple[Timing, Timing | None, dict[str, float], list[dict[str, str]]]:
        """Time the Solution on ``base`` (the last correctness draw's pristine inputs), its varied
        inputs replaced on every call by values of a secret draw."""
        definition = job.definition
        names = list(definition.outputs)
        settings = self.config.timing_for(self.device.type, job.solution)
        loops = 2 if self.device.type == "cuda" else 1
        secret_draw = _secret_draw(self.secret, workload.uuid, provenance["solution_hash"])
        with clock.phase("timing_inputs"):
            varied = _varied_inputs(definition, workload, base)
            per_set = sum(base[n].numel() * base[n].element_size() for n in varied) or 1
            planned_calls = max(settings.warmup, 1) + loops * settings.trials * settings.iters
            count = max(1, min(planned_calls, VARIANT_BUDGET_BYTES // per_set))
            variants = {
                n: random_input(definition, workload, n, secret_draw, self.device, count) for n in varied
            }
        with clock.phase("timing_lend"):
            # The correctness call's memory is reused: its inputs refilled from the judge's pristine
            # copy (whatever happened to them since the mutation check), its outputs (re-poisoned)
            # are trial 0's set; the sandbox has these mapped already.
            lent = self._lend_call(arena, definition, workload, base, lent)
            wire_variants = {n: arena.lend(stack)[1] for n, stack in variants.items()}
            sets = [(lent.buffers, lent.buffer_refs)]
            sets += [self._output_buffers(arena, definition, workload) for _ in range(settings.trials - 1)]
        request = TimeRequest(
            "",
            lent.wire,
            list(base),
            wire_variants,
            [refs for _, refs in sets],
            names,
            settings.warmup,
            settings.iters,
            settings.trials,
            settings.budget_ms,
            settings.min_iters,
        )
        with clock.phase("timing_roundtrip"):
            reply, output = sandbox.request(request, (Timed,), self.config.timeout_s, interim=(Looped,))
        early: tuple[Looped, Verdict | None] | None = None
        if isinstance(reply, Looped):
            # The loops are over and the sandbox is reading its profile: check the timed outputs
            # meanwhile. Only a final reply with the same counts keeps this check.
            outputs.append(output)
            with clock.phase("timed_output_check"):
                early = (reply, self._check_timed_outputs(job, base, variants, sets, reply, settings, count))
            with clock.phase("timing_tail"):  # what the check did not overlap
                reply, output = sandbox.follow_up((Timed,), self.config.timeout_s)
        outputs.append(output)
        tampering = _integrity_failure(reply.integrity)
        if tampering:
            return Verdict(EvaluationStatus.RUNTIME_ERROR, [f"while timing: {tampering}"])
        if reply.error is not None:
            return Verdict(
                EvaluationStatus.RUNTIME_ERROR, [f"while timing: the solution raised:\n{reply.error}"]
            )
        violation = _schedule_violation(reply, settings)
        if violation is not None:
            return Verdict(EvaluationStatus.RUNTIME_ERROR, [violation])
        if early is not None and (early[0].calls, early[0].iters) == (reply.calls, reply.iters):
            failure = early[1]
        else:
            with clock.phase("timed_output_check"):
                failure = self._check_timed_outputs(job, base, variants, sets, reply, settings, count)
        if failure is not None:
            return failure
        sol_t = Timing(
            reply.latency_ms,
            reply.call_latency_ms,
            reply.method,
            reply.spread,
            list(reply.trial_medians_ms),
            reply.kernels_per_call,
            reply.warmup,
            reply.iters,
        )
        ref_t = None
        if self.config.reference_timing:
            with clock.phase("reference_timing"):
                ref_t = self._reference_timing(definition, key, base)
        flags = bandwidth_flags(sol_t, definition, workload, self.device.type)
        return sol_t, ref_t, dict(reply.harness_ms), flags

    def _check_timed_outputs(
        self,
        job: Job,
        base: dict[str, Any],
        variants: dict[str, torch.Tensor],
        sets: list[tuple[list[torch.Tensor], list[TensorRef]]],
        reply: Timed | Looped,
        settings: TimingSettings,
        count: int,
    ) -> Verdict | None:
        """Compare the last timed call of one trial, drawn in secret after the loops returned, with
        the reference on that call's inputs (every trial wrote its own output set, so a Solution
        that skips or caches work in any trial the median depends on is caught with probability
        at least 1 - 1/trials per workload, at the cost of one reference call)."""
        definition = job.definition
        names = list(definition.outputs)
        tol = self.config.tolerance_for(definition)
        evaluator = evaluator_for(definition)
        loop = settings.trials * reply.iters
        trial = secrets.randbelow(len(sets))
        buffers, _ = sets[trial]
        n = reply.calls - loop + (trial + 1) * reply.iters - 1
        inputs = dict(base)
        for name, values in variants.items():
            inputs[name] = values[n % count]
        refs = self._reference_outputs(definition, "", None, inputs)
        got = [b.clone() for b in buffers]
        dps = job.solution.spec.destination_passing_style
        comparison = evaluator.compare(names, got, refs, tol, poisoned=dps)
        if comparison.status == EvaluationStatus.PASSED:
            return None
        detail = "; ".join(comparison.messages()) or comparison.status.value
        return Verdict(
            EvaluationStatus.INCORRECT_NUMERICAL,
            [
                f"trial {trial}: the outputs of the last timed call do not match the reference on "
                f"that call's inputs ({detail}): work skipped or cached while timed (A01/A02)"
            ],
        )

    def _reference_timing(self, definition: Definition, key: str, base: dict[str, Any]) -> Timing:
        """The reference's time on this workload: cached per definition, workload content,
        hardware and settings (the method follows from the hardware); timed under its own lock."""
        settings = self.config.reference_timing_for(self.device.type)
        cached = self.cache.get_timing(definition, key, self.hardware, settings.key())
        if cached is not None:
            return Timing.from_json_dict(cached)
        args = list(clone_inputs(base).values())
        reference = self._reference(definition)

        def ref_call() -> None:
            with torch.no_grad():
                reference(*args)

        with _REFERENCE_TIMING:
            ref_t = time_call(ref_call, self.device, settings)
        self.cache.put_timing(definition, key, self.hardware, settings.key(), ref_t.to_json_dict())
        return ref_t

    # ------------------------------------------------------------------ diagnosis
    def _diagnose(
        self,
        job: Job,
        workload: Workload,
        inputs: dict[str, Any],
        refs: dict[str, torch.Tensor],
        outs: dict[str, Any] | None,
        error: bool = False,
        mutated: list[str] | None = None,
        previous: dict[str, torch.Tensor] | None = None,
    ) -> list[dict[str, Any]]:
        """The detectors' confirmed causes, as ``{"pitfall", "message"}`` (a failing detector
        claims nothing; a failure of the whole diagnosis is reported as pitfall ``-``)."""
        from kernel_arena.diagnose import FailureEvidence, diagnose_failure

        evidence = FailureEvidence(
            definition=job.definition,
            workload=workload,
            solution=job.solution,
            inputs=inputs,
            outputs=outs,
            references=refs,
            reference_fn=self._reference(job.definition),
            tolerance=self.config.tolerance_for(job.definition),
            raised=error,
            mutated_inputs=mutated or [],
            previous_references=previous,
        )
        try:
            return [d.to_json_dict() for d in diagnose_failure(evidence)]
        except Exception as exc:  # noqa: BLE001 - a failing detector must not hide the result
            return [{"pitfall": "-", "message": f"the diagnosis failed: {type(exc).__name__}: {exc}"}]


# ============================================================================ helpers
def _secret_draw(secret: int, uuid: str, solution: str) -> int:
    """A draw number no Solution can predict: derived from the per-run secret, the workload and the
    Solution's content hash, so that one Solution's timing inputs tell nothing about another's
    (two Solutions of one author cannot hand each other outputs through the file system)."""
    import hashlib

    digest = hashlib.sha256(f"{secret}:{uuid}:{solution}".encode()).digest()
    return (int.from_bytes(digest[:8], "little") & ((1 << 62) - 1)) + (1 << 40)


def _schedule_violation(reply: Timed, settings: TimingSettings) -> str | None:
    """Why the counts a sandbox reports cannot come from the requested schedule, if they cannot."""
    fixed = settings.budget_ms is None
    low_iters = settings.iters if fixed else min(settings.min_iters, settings.iters)
    low_warmup = settings.warmup if fixed else min(1, max(settings.warmup, 1))
    high_warmup = settings.warmup if fixed else max(settings.warmup, 1)
    loop = settings.trials * reply.iters
    made = reply.calls - reply.warmup
    if (
        not low_warmup <= reply.warmup <= high_warmup
        or not low_iters <= reply.iters <= settings.iters
        or loop < 1
        or made < loop
        or made % loop
        or made // loop > 2
    ):
        return (
            f"protocol violation: the timing loops reported {reply.calls} calls with {reply.warmup} "
            f"warm-up and {settings.trials}x{reply.iters} per loop, which the requested schedule "
            f"({settings.to_json_dict()}) does not give"
        )
    return None


def _varied_inputs(definition: Definition, workload: Workload, base: dict[str, Any]) -> list[str]:
    """Random tensor inputs that get fresh values on every timed call: the smallest ones, in
    ascending size, while one set of them stays within ``VARIED_SET_BYTES`` (at least one).

    One varied input the outputs depend on is enough to defeat a memo (a stale output for new
    values fails the re-check; a fresh computation is timed); keeping the set small keeps the
    number of distinct sets (one per timed call) affordable, so no set repeats within a run's
    calls and a memo never hits."""
    tables = page_table_inputs(definition)
    candidates = sorted(
        (
            (value.numel() * value.element_size(), name)
            for name, value in base.items()
            if isinstance(value, torch.Tensor)
            and isinstance(workload.inputs.get(name), RandomInput)
            and name not in tables
            and value.numel() * value.element_size() <= SMALL_INPUT_BYTES
        ),
    )
    chosen, total = [], 0
    for size, name in candidates:
        if chosen and total + size > VARIED_SET_BYTES:
            break
        chosen.append(name)
        total += size
    return [name for name in base if name in chosen]


def _same_bytes(a: torch.Tensor, b: torch.Tensor) -> bool:
    return not mutated_inputs({"x": a}, {"x": b})


def _integrity_failure(integrity: Integrity) -> str | None:
    parts = []
    if integrity.replaced:
        parts.append(
            "the solution replaced timer/synchronization functions the harness relies on: "
            + ", ".join(integrity.replaced[:10])
            + " (A05)"
        )
    if integrity.threads_left:
        parts.append(
            "the solution left Python thread(s) running after the call returned: "
            + ", ".join(integrity.threads_left[:5])
            + " (work after the timer stopped, A08)"
        )
    return "; ".join(parts) or None


def _returned_mismatch(
    names: list[str], returned: list[ReturnedOutput], refs: dict[str, torch.Tensor]
) -> Comparison | None:
    """Shape/dtype failures of a value-returning call, as the comparison reports them."""
    comparison = Comparison()
    for name, item in zip(names, returned):
        ref = refs[name]
        if item.shape is None:
            comparison.outputs.append(
                OutputComparison(
                    name,
                    EvaluationStatus.INCORRECT_SHAPE,
                    f"expected a tensor of shape {list(ref.shape)}, got {item.type_name}",
                )
            )
        elif tuple(item.shape) != tuple(ref.shape):
            comparison.outputs.append(
                OutputComparison(
                    name, EvaluationStatus.INCORRECT_SHAPE, f"shape {item.shape}, expected {list(ref.shape)}"
                )
            )
        elif item.dtype != dtype_name(ref.dtype):
            comparison.outputs.append(
                OutputComparison(
                    name,
                    EvaluationStatus.INCORRECT_DTYPE,
                    f"dtype {item.dtype}, expected {dtype_name(ref.dtype)}",
                )
            )
    return comparison if comparison.outputs else None


def _outputs_for_diagnosis(
    names: list[str], got: list[torch.Tensor], returned: list[ReturnedOutput] | None
) -> dict[str, Any]:
    """The outputs detectors see: the judge's copies; for what a value-returning call returned but
    could not be copied (wrong shape or dtype), a ``meta`` tensor with the reported shape and dtype."""
    outs: dict[str, Any] = dict(zip(names, got))
    for item in returned or []:
        if item.copied or item.name not in outs:
            continue
        try:
            dtype = torch_dtype(item.dtype or "")
            outs[item.name] = torch.empty(item.shape or [], dtype=dtype, device="meta")
        except (KeyError, ValueError, TypeError, RuntimeError):
            outs[item.name] = None
    return outs


def _lines(diagnoses: list[dict[str, Any]]) -> list[str]:
    """The log lines of diagnoses (the trace also stores them structured)."""
    return [f"diagnosis: {d['message']} ({d['pitfall']})" for d in diagnoses]


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


def _dependency_versions(job: Job) -> dict[str, str]:
    """Versions of the Solution's declared dependencies, read from package metadata (no import)."""
    import importlib.metadata

    from kernel_arena.engine.sandbox.build import parse_dependency

    versions = {}
    for dep in job.solution.spec.dependencies:
        try:
            dist, _, _ = parse_dependency(dep)
            versions[dist] = importlib.metadata.version(dist)
        except Exception:  # noqa: BLE001, S112 - a missing package is the build's COMPILE_ERROR
            continue
    return versions


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _join_log(messages: list[str], output: str) -> str:
    parts = [m.rstrip() for m in messages if m]
    if output.strip():
        parts.append("--- solution output ---\n" + output.rstrip())
    return "\n".join(parts)


def job_provenance(
    job: Job, workload: Workload, dataset_root: Path, synthesize_missing: bool
) -> dict[str, str]:
    """The content hashes a trace of ``job`` on ``workload`` records (what resume compares)."""
    return {
        "solution_hash": solution_hash(job.solution),
        "definition_hash": definition_hash(job.definition),
        "workload_hash": workload_hash(workload, dataset_root, synthesize_missing),
    }


def evaluation_trace(
    job: Job,
    workload: Workload,
    status: EvaluationStatus,
    log: str,
    env: dict[str, Any],
    provenance: dict[str, str],
    correctness: dict[str, Any] | None = None,
    performance: dict[str, Any] | None = None,
    diagnoses: list[dict[str, Any]] | None = None,
) -> Trace:
    """A trace of ``job`` on ``workload`` with this verdict (also used by a backend that records a
    failure no judge could: a judge lost twice on a cluster)."""
    extra = {"diagnoses": diagnoses} if diagnoses else {}
    evaluation = Evaluation(
        **extra,
        status=status,
        environment=Environment(hardware=env.get("hardware") or "unknown", libs=env.get("libs", {})),
        timestamp=_now(),
        log=log,
        correctness=correctness,
        performance=performance,
    )
    return Trace(
        definition=job.definition.name,
        workload=workload,
        solution=job.solution.name,
        evaluation=evaluation,
        provenance=provenance,
    )
