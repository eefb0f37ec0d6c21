"""The node side of the Ray backend: an actor that owns one device and runs a Judge on it.

The actor lives in a Ray worker process on a cluster node and evaluates Jobs exactly as the
local backend's judge threads do: the ``Judge`` starts one sandbox process per Solution on this
node; the actor never imports Solution code either. Everything crosses the wire as plain data:
Jobs and the run's settings as JSON-ready dicts, traces back the same way, one per call of
``next_trace`` (so the driver sees each trace the moment it exists, and a lost actor costs at
most the workload in flight).

The per-run secret the timing inputs are drawn from comes with each ``start`` call and stays in
this process; it is never a constructor argument (Ray keeps those in its control store).

Files on the node: the blobs a Job needs (fetched from the object store, once per actor) and
the sandboxes' builds live in a private folder that ``close`` removes; the reference cache and
the sandbox logs live in ``$TMPDIR/kernel-arena-ray/<run key>/`` (one per node and run folder,
named by a hash of the driver's host and run folder, which ``run-folder.txt`` there names;
shared by the node's actors and kept across runs, as ``OUT/.cache`` and ``OUT/.logs`` are for
a local run). A starting actor marks its run folder's as used and removes what nobody uses any
more (``prune_node_folder``): actor folders whose actor process is gone (a killed actor never
ran ``close``) and run-folder caches unused for ``STALE_RUN_DAYS`` days.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kernel_arena.engine.config import RunConfig
from kernel_arena.engine.judge import Judge, JudgeSettings
from kernel_arena.engine.plan import Job
from kernel_arena.files import atomic_write_bytes
from kernel_arena.measure.environment import hardware_name, library_versions
from kernel_arena.schema import Trace

NODE_FOLDER = "kernel-arena-ray"
"""Under the node's temporary folder: per-run-folder caches and logs, and the actors' folders."""

STALE_RUN_DAYS = 14
"""A run folder's node cache not used by any actor for this many days is removed."""
OWNER_FILE = "owner.pid"
"""In an actor's private folder: the pid of the actor process that made it."""

BlobRefs = dict[str, tuple[str, Any]]
"""Blob path relative to the dataset root -> (sha256 of its bytes, object-store reference)."""


def run_key(run_folder: str) -> str:
    """The node folder's name for a run folder (``host:path`` of the driver's run folder)."""
    return hashlib.sha256(run_folder.encode()).hexdigest()[:16]


def prune_node_folder(base: Path, now: float | None = None) -> list[Path]:
    """Remove, under the node folder ``base``, the actor folders whose actor process is gone and
    the run-folder caches whose ``run-folder.txt`` was not touched for ``STALE_RUN_DAYS`` days;
    return what was removed. An actor folder without an owner file (or one that cannot be read)
    counts as gone after a day. Never raises: a folder that cannot be read or removed stays."""
    now = time.time() if now is None else now
    removed = []
    try:
        entries = list(base.iterdir())
    except OSError:
        return removed
    for path in entries:
        try:
            if not path.is_dir() or path.is_symlink():
                continue
            if path.name.startswith("actor-"):
                stale = _owner_gone(path, now)
            else:
                marker = path / "run-folder.txt"
                stale = marker.is_file() and now - marker.stat().st_mtime > STALE_RUN_DAYS * 86400
        except OSError:
            continue
        if stale:
            shutil.rmtree(path, ignore_errors=True)
            if not path.exists():
                removed.append(path)
    return removed


def _owner_gone(folder: Path, now: float) -> bool:
    """Whether the actor process that made ``folder`` no longer runs on this node."""
    try:
        pid = int((folder / OWNER_FILE).read_text().strip())
    except (OSError, ValueError):
        return now - folder.stat().st_mtime > 86400
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, owned by another user
        return False
    return False


class JudgeActor:
    """One device of one node; made a Ray actor by the backend (``ray.remote(JudgeActor)``)."""

    def __init__(self, device: str, run_folder: str) -> None:
        self.device = device
        base = Path(tempfile.gettempdir()) / NODE_FOLDER
        base.mkdir(parents=True, exist_ok=True)
        self.shared = base / run_key(run_folder)
        self.shared.mkdir(exist_ok=True)
        origin = self.shared / "run-folder.txt"
        if not origin.exists():
            atomic_write_bytes(origin, f"{run_folder}\n".encode())
        os.utime(origin)  # used now: prune_node_folder keeps it
        self.private = Path(tempfile.mkdtemp(prefix="actor-", dir=base))
        (self.private / OWNER_FILE).write_text(f"{os.getpid()}\n")
        prune_node_folder(base)
        self.dataset_root = self.private / "dataset"
        (self.private / "builds").mkdir()
        self._blobs: dict[str, str] = {}
        self._judge: Judge | None = None
        self._settings: JudgeSettings | None = None
        self._traces: Iterator[Trace] | None = None

    def describe(self) -> dict[str, Any]:
        """Where this actor runs and what its traces record as their environment."""
        import ray

        context = ray.get_runtime_context()
        return {
            "node_id": context.get_node_id(),
            "ip": ray.util.get_node_ip_address(),
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "device": self.device,
            "hardware": hardware_name(self.device),
            "libs": library_versions(self.device),
        }

    def start(self, job: dict[str, Any], config: dict[str, Any], secret: int, blobs: BlobRefs) -> None:
        """Begin a Job: fetch the blobs this node lacks, then hand the Job to the judge."""
        self._fetch_blobs(blobs)
        settings = JudgeSettings(
            self.dataset_root,
            RunConfig.from_json_dict(config),
            secret,
            self.shared / "reference",
            self.shared / "logs",
            self.private / "builds",
        )
        if self._judge is None or settings != self._settings:
            self._judge, self._settings = Judge(self.device, settings), settings
        self._stop_job()
        self._traces = self._judge.evaluate(Job.from_json_dict(job))

    def next_trace(self) -> dict[str, Any] | None:
        """The trace of the Job's next workload (None when the Job is done).

        The Job's sandbox outlives its last trace until the next ``start`` or ``close``, as with
        the local backend: the trace goes back first, the sandbox's exit is paid afterwards."""
        if self._traces is None:
            return None
        trace = next(self._traces, None)
        return None if trace is None else trace.to_json_dict()

    def close(self) -> None:
        """Stop the Job's sandbox and remove this actor's private folder."""
        self._stop_job()
        shutil.rmtree(self.private, ignore_errors=True)

    def _stop_job(self) -> None:
        if self._traces is not None:
            self._traces.close()  # runs the judge's cleanup: the sandbox stops
            self._traces = None

    def _fetch_blobs(self, blobs: BlobRefs) -> None:
        import ray

        root = self.dataset_root.resolve()
        for rel, (digest, ref) in sorted(blobs.items()):
            if self._blobs.get(rel) == digest:
                continue
            target = (root / rel).resolve()
            if not target.is_relative_to(root):
                raise ValueError(f"blob path {rel!r} leaves the dataset folder")
            atomic_write_bytes(target, ray.get(ref))
            self._blobs[rel] = digest
