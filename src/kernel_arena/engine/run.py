"""Orchestrate a run: plan, resume, hand Jobs to a backend, write every trace the moment it exists.

The orchestrator never executes Solution code: a backend's judges do the evaluation and their
sandboxes run the Solutions. Here: the run folder is locked, checked and marked as a view of its
dataset; every Solution that runs is stored in it (so the code behind each trace can be shown);
triples already traced with the same content hashes are skipped unless ``force``; baseline
Solutions run first, so that later traces can be flagged against them; GPU-only Solutions on a
CPU run are reported as skipped, not failed. SIGTERM and SIGHUP stop a run like Ctrl-C does.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kernel_arena.dataset import (
    Dataset,
    DatasetError,
    builtin_dataset_path,
    load_dataset,
    write_run_manifest,
)
from kernel_arena.engine.backends import Backend, make_backend
from kernel_arena.engine.baseline import add_baseline_jobs, annotate, baseline_traces, is_baseline
from kernel_arena.engine.config import RunConfig
from kernel_arena.engine.judge import JudgeSettings, job_provenance
from kernel_arena.engine.plan import Job, Skip, load_solution_arg, plan_run
from kernel_arena.engine.run_folder import RunFolderLock, check_out_folder, save_solution_json
from kernel_arena.measure.provenance import solution_hash
from kernel_arena.schema import Solution, Trace, Workload
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
    backend: str = "local",
    address: str | None = None,
    actors: int | None = None,
) -> RunResult:
    """Evaluate solutions on workloads and write traces to ``out``; returns the new traces.

    ``solutions`` may name dataset solutions or give paths (authoring folders, JSON files).
    ``backend``: ``local`` (judges on this machine's devices) or ``ray`` (one judge per device of
    the Ray cluster at ``address``, at most ``actors`` of them; see docs/cluster.md).
    DatasetError for unusable arguments (unknown names, a path Solution that takes another's
    name, unsafe names, ``out`` inside the dataset, a run folder locked by another run);
    ValueError for a bad device or backend option; BackendError when the backend cannot start
    or loses every judge.
    """
    config = config or RunConfig()
    listener = listener or RunListener()
    ds = dataset if isinstance(dataset, Dataset) else load_dataset(dataset)
    out = Path(out)
    named, extra = _solution_args(ds, solutions)
    judges = make_backend(backend, device, address, actors)
    try:
        jobs, skips = plan_run(
            ds, definitions, named or None, extra, judges.device, workloads, workload_tags, judges.hardware
        )
        jobs = add_baseline_jobs(ds, jobs, config.baseline, judges.device, judges.hardware)
        return _execute(judges, ds, dataset, jobs, skips, out, config, force, listener)
    finally:
        judges.close()


def _solution_args(ds: Dataset, solutions: Sequence[str] | None) -> tuple[list[str], list[Solution]]:
    """(names of dataset Solutions, Solutions given by path that the dataset does not have)."""
    extra: list[Solution] = []
    named: list[str] = []
    for arg in solutions or []:
        loaded = load_solution_arg(arg)
        if loaded is None:
            named.append(arg)
            continue
        known = ds.solutions.get(loaded.name)
        if known is not None and solution_hash(known) != solution_hash(loaded):
            where = ds.files.get(("solution", loaded.name))
            raise DatasetError(
                f"{arg}: solution name {loaded.name!r} already belongs to another Solution of the dataset"
                f"{f' ({where})' if where else ''} with different content; give yours its own name"
            )
        if known is None:
            extra.append(loaded)
        else:
            named.append(loaded.name)
    return named, extra


def _execute(
    backend: Backend,
    ds: Dataset,
    dataset: Any,
    jobs: list[Job],
    skips: list[Skip],
    out: Path,
    config: RunConfig,
    force: bool,
    listener: RunListener,
) -> RunResult:
    """Lock the run folder, resume, and have ``backend`` run what is left; traces written here."""
    check_out_folder(out, ds)
    result = RunResult(out=out, skipped=skips, jobs=list(jobs))
    with RunFolderLock(out), _signals_as_interrupt():
        write_run_manifest(out, _source_for_manifest(ds, dataset))
        store = TraceStore(out)
        todo = _resume(jobs, store, ds.root, config, force, result)
        for job in todo:
            save_solution_json(out, job.definition.op_type, job.solution)
        result.planned = sum(len(j.workloads) for j in todo)
        listener.planned(result.planned, todo)
        baselines = baseline_traces(todo, store, config.baseline)
        build_root = Path(tempfile.mkdtemp(prefix="kernel-arena-builds-"))
        lock = threading.Lock()

        def on_trace(job: Job, trace: Trace) -> None:
            key = (trace.definition, trace.workload.uuid)
            if is_baseline(job, config.baseline):
                if trace.passed:
                    baselines[key] = trace
            else:
                annotate(trace, baselines.get(key))
            store.append(job.definition.op_type, trace)
            with lock:
                result.traces.append(trace)
            listener.finished(trace)

        settings = JudgeSettings(
            ds.root, config, secrets.randbits(62), out / ".cache" / "reference", out / ".logs", build_root
        )
        try:
            # Baselines first and on their own, so that every other trace can quote them.
            first = [j for j in todo if is_baseline(j, config.baseline)]
            backend.run(first, settings, listener.started, on_trace)
            rest = [j for j in todo if not is_baseline(j, config.baseline)]
            backend.run(rest, settings, listener.started, on_trace)
        finally:
            shutil.rmtree(build_root, ignore_errors=True)
    return result


def _resume(
    jobs: list[Job], store: TraceStore, root: Path, config: RunConfig, force: bool, result: RunResult
) -> list[Job]:
    """Jobs left to do: a triple counts as done only when traced with the same content hashes."""
    todo: list[Job] = []
    for job in sorted(jobs, key=lambda j: (j.definition.name, not is_baseline(j, config.baseline))):
        op = job.definition.op_type
        keys = {(job.definition.name, job.solution.name, w.uuid) for w in job.workloads}
        if force:
            store.drop(op, job.definition.name, keys)
            todo.append(job)
            continue
        done = store.provenance_of(op, job.definition.name)
        remaining = []
        for w in job.workloads:
            prov = done.get((job.definition.name, job.solution.name, w.uuid))
            current = job_provenance(job, w, root, config.synthesize_missing)
            if prov is not None and all(prov.get(k) == v for k, v in current.items()):
                result.already_done += 1
            else:
                remaining.append(w)
        if remaining:
            todo.append(Job(job.definition, job.solution, remaining))
    return todo


@contextlib.contextmanager
def _signals_as_interrupt() -> Iterator[None]:
    """SIGTERM/SIGHUP raise KeyboardInterrupt (main thread only), so cleanup runs as for Ctrl-C."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _source_for_manifest(ds: Dataset, dataset: Any) -> str | None:
    if ds.source is not None:
        return ds.source
    if dataset is None or str(dataset) == "builtin" or ds.root.resolve() == builtin_dataset_path().resolve():
        return None
    return str(ds.root)
