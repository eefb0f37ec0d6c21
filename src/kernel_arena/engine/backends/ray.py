"""The Ray backend: one judge per device of a Ray cluster, fed from one queue on the driver.

The driver (this process) connects to the cluster (``ray.init(address)``), places one
``JudgeActor`` per device — one per GPU for a GPU run, one per CPU slot for a CPU run, pinned
to its node, at most ``actors`` of them spread over the nodes — and gives each a thread here
that takes Jobs from a shared queue, ships them as plain data, and pulls the traces back one
workload at a time, handing each to the orchestrator (the only writer of the run folder). The
actors are started by the first ``run`` and ended by ``close``, so the baselines' pass and the
rest of a run share them. The driver never imports Solution code; judges and sandboxes run on
the nodes.

Data movement: a Job carries its Definition, Solution and Workloads; the safetensors blobs its
workloads name are put in the object store once per run and fetched by each node that needs
them; the reference cache is per node (``ray_judge``).

Faults: when an actor dies (its process, or its node), the Job it was running goes back to the
queue with the workloads not yet traced, once; a Job in flight on a second actor that dies is
recorded as RUNTIME_ERROR on its remaining workloads, with both reasons. The thread whose actor
died starts a replacement on the same node; if the node is gone, that thread retires. A run
whose judges are all gone stops with BackendError; the traces written so far stay, and the
next run resumes from them, as after a killed local run.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from kernel_arena.engine.backends import BackendError, OnStart, OnTrace
from kernel_arena.engine.backends.ray_judge import BlobRefs, JudgeActor
from kernel_arena.engine.judge import JudgeSettings, evaluation_trace, job_provenance
from kernel_arena.engine.plan import Job
from kernel_arena.schema import EvaluationStatus, SafetensorsInput, Trace

CONNECT_TIMEOUT_S = 5.0
"""How long the cluster's address may take to accept a connection (Ray itself retries for minutes)."""
READY_TIMEOUT_S = 120.0
"""How long an actor may take to start (a worker process importing torch) before it is given up."""
LOST = tuple(
    getattr(ray.exceptions, name)
    for name in (
        "RayActorError",
        "ActorUnschedulableError",
        "NodeDiedError",
        "ObjectLostError",
        "WorkerCrashedError",
        "GetTimeoutError",
    )
    if hasattr(ray.exceptions, name)  # not every name exists in every Ray release since 2.9
)
"""What a call to an actor raises when the actor, its process or its node is gone."""


class RayBackend:
    """Judges on the devices of a Ray cluster."""

    def __init__(self, device: str | None, address: str | None, actors: int | None) -> None:
        self._owns_connection = not ray.is_initialized()
        if self._owns_connection:
            where = address or "the default address (RAY_ADDRESS, else a new local instance)"
            _probe(address if address is not None else os.environ.get("RAY_ADDRESS"))
            try:
                ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise BackendError(f"cannot connect to the Ray cluster at {where}: {exc}") from None
        self.max_actors = actors
        self._slots: list[_Slot] | None = None
        self._shelf: _BlobShelf | None = None
        self.nodes = [n for n in ray.nodes() if n.get("Alive")]
        gpus = sum(int(n["Resources"].get("GPU", 0)) for n in self.nodes)
        if device is None:
            device = "cuda" if gpus else "cpu"
        if device == "cpu":
            self.device, self.resource = "cpu", "CPU"
        elif device in ("cuda", "all"):
            if not gpus:
                self.close()
                raise BackendError("the Ray cluster has no GPU; use --device cpu for a CPU run")
            self.device, self.resource = "cuda:0", "GPU"
        else:
            self.close()
            raise ValueError(
                f"device {device!r} with the ray backend: use cpu, cuda or all "
                "(each judge gets one GPU from Ray, seen as cuda:0 on its node)"
            )
        types = {
            key.split(":", 1)[1]
            for n in self.nodes
            if n["Resources"].get(self.resource)
            for key in n["Resources"]
            if key.startswith("accelerator_type:")
        }
        self.hardware = types.pop() if self.device != "cpu" and len(types) == 1 else None

    def close(self) -> None:
        """End the judges (letting idle ones clean their folders), and disconnect when this
        backend connected."""
        if self._slots:
            _end_actors(self._slots, grace_s=10)
        if self._owns_connection and ray.is_initialized():
            ray.shutdown()

    # ------------------------------------------------------------------ placement
    def placements(self) -> list[str]:
        """Node ids, one per judge: each node's device count, interleaved across nodes, capped."""
        per_node = [
            [n["NodeID"]] * int(n["Resources"].get(self.resource, 0))
            for n in sorted(self.nodes, key=lambda n: (n["NodeManagerAddress"], n["NodeID"]))
        ]
        depth = max(map(len, per_node), default=0)
        order = [slots[i] for i in range(depth) for slots in per_node if i < len(slots)]
        return order[: self.max_actors] if self.max_actors else order

    def _new_actor(self, node_id: str, run_folder: str) -> Any:
        gpu = self.resource == "GPU"
        return (
            ray.remote(JudgeActor)
            .options(
                num_cpus=0 if gpu else 1,
                num_gpus=1 if gpu else 0,
                max_restarts=0,
                scheduling_strategy=NodeAffinitySchedulingStrategy(node_id, soft=False),
            )
            .remote(self.device, run_folder)
        )

    def _judges(self, settings: JudgeSettings) -> tuple[list[_Slot], _BlobShelf]:
        """The judges' slots and the blob shelf, made by the first ``run`` and kept until ``close``
        (a run calls ``run`` twice: baselines first, then the rest)."""
        if self._slots is None or self._shelf is None:
            nodes = self.placements()
            if not nodes:
                raise BackendError(f"the Ray cluster has no {self.resource} to run a judge on")
            run_folder = f"{socket.gethostname()}:{settings.log_dir.resolve().parent}"
            self._slots = [_Slot(self, node, run_folder) for node in nodes]
            self._shelf = _BlobShelf(settings)
        return self._slots, self._shelf

    # ------------------------------------------------------------------ the run
    def run(self, jobs: list[Job], settings: JudgeSettings, on_start: OnStart, on_trace: OnTrace) -> None:
        if not jobs:
            return
        all_slots, shelf = self._judges(settings)
        slots = [s for s in all_slots if s.actor is not None]  # the others' nodes are gone
        queue = _WorkQueue(jobs)
        errors: list[BaseException] = []
        lock = threading.Lock()

        def record(job: Job, trace: Trace) -> None:
            with lock:
                if queue.aborted:
                    raise _Aborted
                on_trace(job, trace)

        def slot_loop(slot: _Slot) -> None:
            try:
                if not slot.ready():
                    return
                while (task := queue.take()) is not None:
                    try:
                        self._run_task(slot, task, settings, shelf, on_start, record)
                    except _ActorLost as lost:
                        task.lost.append(f"{slot.label}: {lost}")
                        if len(task.lost) < 2:
                            queue.requeue(task)
                        else:
                            _record_lost_twice(task, slot, settings, record)
                            queue.finish(task)
                        if queue.aborted or not slot.replace():
                            return
                    else:
                        queue.finish(task)
            except _Aborted:
                return
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
                errors.append(exc)
                queue.abort()

        threads = [threading.Thread(target=slot_loop, args=(s,), daemon=True) for s in slots]
        for t in threads:
            t.start()
        try:
            while any(t.is_alive() for t in threads):
                for t in threads:
                    t.join(0.2)
        except BaseException:
            queue.abort()
            _end_actors(slots, grace_s=0)
            raise
        if errors:
            raise errors[0]
        if queue.left:
            raise BackendError(
                f"the Ray cluster lost every judge; {queue.left} evaluation(s) were not run "
                "(the traces written so far are kept: run again to resume)"
            )

    def _run_task(
        self,
        slot: _Slot,
        task: _Task,
        settings: JudgeSettings,
        shelf: _BlobShelf,
        on_start: OnStart,
        record: OnTrace,
    ) -> None:
        job = task.job
        remaining = job.workloads[task.done :]
        todo = Job(job.definition, job.solution, remaining)
        config = settings.config.to_json_dict()
        slot.call(slot.actor.start.remote(todo.to_json_dict(), config, settings.secret, shelf.refs(todo)))
        for workload in remaining:
            on_start(job, workload, slot.label)
            data = slot.call(slot.actor.next_trace.remote())
            if data is None:
                raise RuntimeError(f"the judge on {slot.label} ended {job.solution.name} early")
            trace = Trace.model_validate(data)
            if trace.workload.uuid != workload.uuid:
                raise RuntimeError(f"the judge on {slot.label} answered for another workload")
            record(job, trace)
            task.done += 1


def _record_lost_twice(task: _Task, slot: _Slot, settings: JudgeSettings, record: OnTrace) -> None:
    """RUNTIME_ERROR for the workloads of a Job that was in flight when two judges died."""
    job = task.job
    log = "\n".join(
        [
            "the judge running this Solution died twice, so it is not run again "
            "(a Solution that kills its judge's process or node ends like this):",
            *(f"- {reason}" for reason in task.lost),
        ]
    )
    env = {"hardware": slot.info.get("hardware") or "unknown", "libs": slot.info.get("libs", {})}
    for workload in job.workloads[task.done :]:
        provenance = job_provenance(job, workload, settings.dataset_root, settings.config.synthesize_missing)
        record(job, evaluation_trace(job, workload, EvaluationStatus.RUNTIME_ERROR, log, env, provenance))
        task.done += 1


class _ActorLost(Exception):
    """The actor, its worker process or its node is gone."""


class _Aborted(Exception):
    """The run was interrupted: record nothing more."""


@dataclass
class _Task:
    """A Job, how many of its workloads are traced, and the judges lost while it ran."""

    job: Job
    done: int = 0
    lost: list[str] = field(default_factory=list)


class _WorkQueue:
    """Jobs waiting for a judge; knows when nothing can come back to it any more."""

    def __init__(self, jobs: list[Job]) -> None:
        self._cond = threading.Condition()
        self._pending = deque(_Task(j) for j in jobs)
        self._running = 0
        self.aborted = False

    def take(self) -> _Task | None:
        """The next Job; None once every Job is finished (or the run was aborted)."""
        with self._cond:
            while not self.aborted:
                if self._pending:
                    self._running += 1
                    return self._pending.popleft()
                if self._running == 0:
                    return None
                self._cond.wait()
            return None

    def finish(self, task: _Task) -> None:
        with self._cond:
            self._running -= 1
            self._cond.notify_all()

    def requeue(self, task: _Task) -> None:
        """Back to the front of the queue: the next free judge takes it."""
        with self._cond:
            self._running -= 1
            self._pending.appendleft(task)
            self._cond.notify_all()

    def abort(self) -> None:
        with self._cond:
            self.aborted = True
            self._cond.notify_all()

    @property
    def left(self) -> int:
        """Workloads of Jobs nobody ran."""
        with self._cond:
            return sum(len(t.job.workloads) - t.done for t in self._pending)


class _Slot:
    """One judge's place on a node: its actor, replaced when it dies and the node is still there."""

    def __init__(self, backend: RayBackend, node_id: str, run_folder: str) -> None:
        self.backend = backend
        self.node_id = node_id
        self.run_folder = run_folder
        self.actor: Any = backend._new_actor(node_id, run_folder)
        self.info: dict[str, Any] = {}
        self.label = f"{backend.device} on node {node_id[:8]}"

    def ready(self) -> bool:
        """Wait for the actor to start; False (and the actor given up) when it does not."""
        if self.actor is None:
            return False
        if self.info:
            return True
        try:
            self.info = self.call(self.actor.describe.remote(), READY_TIMEOUT_S)
        except _ActorLost:
            self.stop()
            return False
        self.label = f"{self.info['device']} on {self.info['ip']} (node {self.node_id[:8]})"
        return True

    def replace(self) -> bool:
        """A new actor on the same node, after the last one died."""
        self.stop()
        self.actor = self.backend._new_actor(self.node_id, self.run_folder)
        self.info = {}
        return self.ready()

    def call(self, ref: Any, timeout: float | None = None) -> Any:
        try:
            return ray.get(ref, timeout=timeout)
        except LOST as exc:
            raise _ActorLost(_first_lines(str(exc))) from None

    def stop(self) -> None:
        """End the actor (after a death, or when its start was given up)."""
        actor, self.actor = self.actor, None
        if actor is not None:
            ray.kill(actor)


def _end_actors(slots: list[_Slot], grace_s: float) -> None:
    """Let idle actors clean their folders (up to ``grace_s`` seconds in all), then end them all."""
    live = [s for s in slots if s.actor is not None]
    if grace_s > 0 and live:
        ray.wait([s.actor.close.remote() for s in live], num_returns=len(live), timeout=grace_s)
    for slot in live:
        slot.stop()


class _BlobShelf:
    """The safetensors blobs of the run's workloads, each put in the object store once."""

    def __init__(self, settings: JudgeSettings) -> None:
        self.root = settings.dataset_root
        self._refs: BlobRefs = {}
        self._lock = threading.Lock()

    def refs(self, job: Job) -> BlobRefs:
        """The blobs ``job`` reads that exist on the driver (a missing one stays missing)."""
        wanted: BlobRefs = {}
        with self._lock:
            for workload in job.workloads:
                for spec in workload.inputs.values():
                    if not isinstance(spec, SafetensorsInput):
                        continue
                    rel = spec.relative_path
                    if rel not in self._refs:
                        path = self.root / rel
                        if not path.is_file():
                            continue
                        data = path.read_bytes()
                        self._refs[rel] = (hashlib.sha256(data).hexdigest(), ray.put(data))
                    wanted[rel] = self._refs[rel]
        return wanted


def _probe(address: str | None) -> None:
    """BackendError when a ``HOST:PORT`` (or ``ray://HOST:PORT``) address does not accept a TCP
    connection within ``CONNECT_TIMEOUT_S``; ``auto`` and no address are left to Ray."""
    if not address or address == "auto":
        return
    host, _, port = address.split("://", 1)[-1].rpartition(":")
    if not host or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        message = f"no Ray cluster answers at {address} ({exc}): is its head node started?"
        raise BackendError(message) from None


def _first_lines(text: str, limit: int = 400) -> str:
    """A Ray error message on one line, bounded."""
    line = " ".join(part.strip() for part in text.splitlines() if part.strip())
    return line if len(line) <= limit else line[: limit - 3] + "..."
