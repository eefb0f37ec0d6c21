"""Plan and run an evaluation: which solutions × workloads, on which devices, into which folder.

The runner never executes solution code itself: each (solution, device) gets a worker process
that builds the solution once and evaluates workloads one request at a time, each under a
timeout. A crash or timeout becomes a trace, the worker is replaced and the run goes on.
Traces are appended as soon as they exist; triples already traced are skipped unless
``force``. GPU-only solutions on a CPU run are reported as skipped, not failed.
"""

from __future__ import annotations

import queue
import shutil
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from kernel_arena.dataset import Dataset, load_dataset, write_run_manifest
from kernel_arena.engine.config import RunConfig
from kernel_arena.engine.plan import Job, Skip, load_solution_arg, plan_run
from kernel_arena.engine.sandbox.process import WorkerDied, WorkerHandle, WorkerTimeout
from kernel_arena.measure.environment import expand_devices
from kernel_arena.schema import (
    Environment,
    Evaluation,
    EvaluationStatus,
    Solution,
    Trace,
    Workload,
)
from kernel_arena.traces import TraceStore

DEFAULT_OUT = Path("runs")


@dataclass
class RunResult:
    """What a run did."""

    out: Path
    traces: list[Trace] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    already_done: int = 0
    planned: int = 0
    jobs: list[Job] = field(default_factory=list)
    """Every (solution, workloads) selected, including those already traced."""

    def all_traces(self) -> list[Trace]:
        """Traces in the run folder for the selected jobs (this run's and earlier ones)."""
        store = TraceStore(self.out)
        wanted = {(j.definition.name, j.solution.name, w.uuid) for j in self.jobs for w in j.workloads}
        seen: dict[tuple[str, str, str], Trace] = {}
        for op_type, definition in sorted({(j.definition.op_type, j.definition.name) for j in self.jobs}):
            for t in store.read(op_type, definition):
                if t.key in wanted:
                    seen[t.key] = t
        return list(seen.values())


class RunListener:
    """Progress hooks (the CLI draws a progress bar from them)."""

    def planned(self, total: int, jobs: list[Job]) -> None:
        """Called once with the number of evaluations to do."""

    def started(self, job: Job, workload: Workload, device: str) -> None:
        """An evaluation is about to start."""

    def finished(self, trace: Trace) -> None:
        """An evaluation produced a trace."""


def run(
    dataset: str | Path | Dataset | None = None,
    definitions: Sequence[str] | None = None,
    solutions: Sequence[str] | None = None,
    workloads: Sequence[str] | None = None,
    device: str | None = None,
    out: str | Path = DEFAULT_OUT,
    config: RunConfig | None = None,
    force: bool = False,
    workload_tags: Sequence[str] | None = None,
    listener: RunListener | None = None,
) -> RunResult:
    """Evaluate solutions on workloads and write traces to ``out``; returns the new traces.

    ``solutions`` may name dataset solutions or give paths (authoring folders, JSON files).
    """
    config = config or RunConfig()
    listener = listener or RunListener()
    ds = dataset if isinstance(dataset, Dataset) else load_dataset(dataset)
    out = Path(out)
    devices = expand_devices(device)
    extra: list[Solution] = []
    named: list[str] = []
    for arg in solutions or []:
        loaded = load_solution_arg(arg)
        if loaded is not None:
            extra.append(loaded)
        else:
            named.append(arg)
    jobs, skips = plan_run(ds, definitions, named or None, extra, devices[0], workloads, workload_tags)
    write_run_manifest(out, _source_for_manifest(ds, dataset))
    store = TraceStore(out)
    result = RunResult(out=out, skipped=skips, jobs=list(jobs))

    # Resume: drop what is already traced (or, with force, forget it).
    todo: list[Job] = []
    for job in jobs:
        op = job.definition.op_type
        keys = {(job.definition.name, job.solution.name, w.uuid) for w in job.workloads}
        if force:
            store.drop(op, job.definition.name, keys)
            todo.append(job)
            continue
        done = store.completed_keys(op, job.definition.name) & keys
        result.already_done += len(done)
        remaining = [w for w in job.workloads if (job.definition.name, job.solution.name, w.uuid) not in done]
        if remaining:
            todo.append(Job(job.definition, job.solution, remaining))
    result.planned = sum(len(j.workloads) for j in todo)
    listener.planned(result.planned, todo)

    work: queue.Queue[Job] = queue.Queue()
    for job in todo:
        work.put(job)
    lock = threading.Lock()
    errors: list[BaseException] = []
    build_root = Path(tempfile.mkdtemp(prefix="kernel-arena-builds-"))

    def device_loop(dev: str) -> None:
        try:
            while True:
                try:
                    job = work.get_nowait()
                except queue.Empty:
                    return
                for trace in _run_job(job, dev, ds, out, config, build_root, listener):
                    store.append(job.definition.op_type, trace)
                    with lock:
                        result.traces.append(trace)
                    listener.finished(trace)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            errors.append(exc)

    try:
        if len(devices) == 1:
            device_loop(devices[0])
        else:
            threads = [threading.Thread(target=device_loop, args=(d,), daemon=True) for d in devices]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
    finally:
        shutil.rmtree(build_root, ignore_errors=True)
    if errors:
        raise errors[0]
    return result


def _source_for_manifest(ds: Dataset, dataset: Any) -> str | None:
    if ds.source is not None:
        return ds.source
    if dataset is None or str(dataset) == "builtin":
        return None
    return str(ds.root)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _trace(
    job: Job,
    workload: Workload,
    status: EvaluationStatus,
    log: str,
    env: dict[str, Any],
    correctness: dict[str, Any] | None = None,
    performance: dict[str, Any] | None = None,
) -> Trace:
    evaluation = Evaluation(
        status=status,
        environment=Environment(hardware=env.get("hardware") or "unknown", libs=env.get("libs", {})),
        timestamp=_now(),
        log=log,
        correctness=correctness,
        performance=performance,
    )
    return Trace(
        definition=job.definition.name, workload=workload, solution=job.solution.name, evaluation=evaluation
    )


def _join_log(messages: list[str], output: str) -> str:
    parts = [m.rstrip() for m in messages if m]
    if output.strip():
        parts.append("--- solution output ---\n" + output.rstrip())
    return "\n".join(parts)


def _run_job(
    job: Job, device: str, ds: Dataset, out: Path, config: RunConfig, build_root: Path, listener: RunListener
) -> Any:
    """Yield one trace per workload of ``job``."""
    log_path = out / ".logs" / f"{job.solution.name}.{device.replace(':', '')}.log"
    handle = WorkerHandle(device, log_path)
    build_msg = {
        "op": "build",
        "device": device,
        "solution": job.solution.to_json_dict(),
        "definition": job.definition.to_json_dict(),
        "dataset_root": str(ds.root),
        "config": config.to_json(),
        "build_root": str(build_root),
        "cache_dir": str(out / ".cache" / "reference"),
    }
    env: dict[str, Any] = {"hardware": None, "libs": {}}
    built = False
    try:
        for workload in job.workloads:
            listener.started(job, workload, device)
            if not built:
                try:
                    reply, output = handle.request(build_msg, config.timeout_s)
                except WorkerTimeout as exc:
                    yield _trace(
                        job, workload, EvaluationStatus.TIMEOUT, _join_log([f"build: {exc}"], exc.log), env
                    )
                    continue
                except WorkerDied as exc:
                    yield _trace(
                        job,
                        workload,
                        EvaluationStatus.COMPILE_ERROR,
                        _join_log([f"build: {exc}"], exc.log),
                        env,
                    )
                    continue
                env = {"hardware": reply.get("hardware"), "libs": reply.get("libs", {})}
                if not reply.get("ok"):
                    message = reply.get("build_error") or reply.get("error") or "build failed"
                    # A build error is deterministic: report it for every workload.
                    for wl in job.workloads[job.workloads.index(workload) :]:
                        yield _trace(
                            job, wl, EvaluationStatus.COMPILE_ERROR, _join_log([message], output), env
                        )
                    return
                built = True
            try:
                reply, output = handle.request(
                    {"op": "eval", "workload": workload.to_json_dict()}, config.timeout_s
                )
            except WorkerTimeout as exc:
                built = False
                yield _trace(
                    job, workload, EvaluationStatus.TIMEOUT, _join_log([f"timeout: {exc}"], exc.log), env
                )
                continue
            except WorkerDied as exc:
                built = False
                yield _trace(
                    job, workload, EvaluationStatus.RUNTIME_ERROR, _join_log([f"crash: {exc}"], exc.log), env
                )
                continue
            if not reply.get("ok"):
                yield _trace(
                    job,
                    workload,
                    EvaluationStatus.RUNTIME_ERROR,
                    _join_log([f"harness error: {reply.get('error')}"], output),
                    env,
                )
                continue
            status = EvaluationStatus(reply["status"])
            yield _trace(
                job,
                workload,
                status,
                _join_log(reply.get("messages", []), output),
                env,
                reply.get("correctness"),
                reply.get("performance"),
            )
    finally:
        handle.stop()
