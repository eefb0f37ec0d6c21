"""The progress of ``kernel-arena run``: a rich bar over all evaluations, shown only on a terminal,
and one line per failure as it happens."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from kernel_arena.engine.plan import Job
from kernel_arena.engine.run import RunListener
from kernel_arena.schema import Trace, Workload


class ProgressListener(RunListener):
    """Draws one bar over all evaluations; prints failures as they happen."""

    def __init__(self, console: Console, enabled: bool = True) -> None:
        self.console = console
        self.enabled = enabled and console.is_terminal
        self._progress: Progress | None = None
        self._task: Any = None

    def __enter__(self) -> ProgressListener:
        if self.enabled:
            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=self.console,
                transient=True,
            )
            self._progress.__enter__()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.__exit__(exc_type, exc, tb)

    def planned(self, total: int, jobs: list[Job]) -> None:
        if self._progress is not None:
            self._task = self._progress.add_task("evaluating", total=total)

    def started(self, job: Job, workload: Workload, device: str) -> None:
        if self._progress is not None:
            name = workload.name or workload.uuid[:8]
            self._progress.update(self._task, description=f"{job.solution.name} · {name} · {device}")

    def finished(self, trace: Trace) -> None:
        if self._progress is not None:
            self._progress.advance(self._task)
        ev = trace.evaluation
        if ev is not None and not trace.passed and self.enabled:
            self.console.print(f"[red]{ev.status.value}[/red] {trace.solution} on {trace.workload.uuid[:8]}")
