"""Backends run Jobs and hand back Traces: a job in, traces out.

A backend owns where judges live (``local``: one judge per device, each a thread of this process
driving its sandbox processes; ``ray``: one judge per device of a Ray cluster, each in a Ray
actor on its node). The orchestrator (``engine/run.py``) plans, resumes and is the only writer of
the run folder; it assumes no memory shared with a judge: Jobs and Traces are plain data.

A backend is made before planning, because it knows what the plan is for: ``device`` (``cpu``
or ``cuda:N``: which Solutions target it, which workload tags run) and ``hardware`` (the GPU name
``target_hardware`` is matched against; None on CPU, or where it is not known).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from kernel_arena.engine.judge import JudgeSettings
from kernel_arena.engine.plan import Job
from kernel_arena.schema import Trace, Workload

OnStart = Callable[[Job, Workload, str], None]
OnTrace = Callable[[Job, Trace], None]

BACKENDS = ("local", "ray")
RAY_INSTALL_HINT = "pip install 'kernel-arena[ray]'"


class BackendError(Exception):
    """A backend cannot do what was asked: not installed, no cluster, no device, cluster lost."""


class Backend(Protocol):
    """Runs jobs; calls ``on_start`` before each workload and ``on_trace`` with each trace."""

    device: str
    hardware: str | None

    def run(self, jobs: list[Job], settings: JudgeSettings, on_start: OnStart, on_trace: OnTrace) -> None: ...

    def close(self) -> None:
        """Give back what the backend holds (connections, actors); called once, after ``run``."""


def make_backend(
    name: str, device: str | None, address: str | None = None, actors: int | None = None
) -> Backend:
    """The backend called ``name`` for ``device``; ``address`` and ``actors`` are Ray's.

    ValueError for a bad combination of arguments, BackendError when the backend cannot start.
    """
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}: use {' or '.join(BACKENDS)}")
    if actors is not None and actors < 1:
        raise ValueError("actors must be at least 1")
    if name == "local":
        if address is not None or actors is not None:
            raise ValueError("address and actors are options of the ray backend (backend='ray')")
        from kernel_arena.engine.backends.local import LocalBackend

        return LocalBackend.for_device(device)
    try:
        import ray  # noqa: F401 - only to tell whether it is installed
    except ImportError:
        raise BackendError(f"the ray backend needs the ray package: {RAY_INSTALL_HINT}") from None
    from kernel_arena.engine.backends.ray import RayBackend

    return RayBackend(device, address, actors)
