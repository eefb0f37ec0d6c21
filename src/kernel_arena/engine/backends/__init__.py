"""Backends run Jobs and hand back Traces: a job in, traces out.

A backend owns where judges live (``local``: one judge per device, each a thread of this process
driving its sandbox processes; a cluster backend: one judge per remote device). The orchestrator
(``engine/run.py``) plans, resumes and is the only writer of the run folder; it assumes no memory
shared with a judge: Jobs and Traces are plain data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from kernel_arena.engine.plan import Job
from kernel_arena.schema import Trace, Workload

OnStart = Callable[[Job, Workload, str], None]
OnTrace = Callable[[Job, Trace], None]


class Backend(Protocol):
    """Runs jobs; calls ``on_start`` before each workload and ``on_trace`` with each trace."""

    def run(self, jobs: list[Job], on_start: OnStart, on_trace: OnTrace) -> None: ...
