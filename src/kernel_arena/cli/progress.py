"""The progress of ``kernel-arena run``: on a terminal, a rich bar over all evaluations and one line
per failure as it happens; elsewhere (a pipe, a CI log, an agent), one plain line per finished
(solution, workload) on stderr: counter, status, kernel time, speedup, elapsed time and ETA."""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from kernel_arena.engine.plan import Job
from kernel_arena.engine.run import RunListener
from kernel_arena.report.summary import failure_reason
from kernel_arena.report.text import format_ms, shorten
from kernel_arena.schema import Trace, Workload


class ProgressListener(RunListener):
    """Draws one bar over all evaluations; prints failures as they happen."""

    def __init__(self, console: Console, enabled: bool = True, lines: Console | None = None) -> None:
        self.console = console
        self.enabled = enabled and console.is_terminal
        self.lines = lines if enabled and not console.is_terminal else None
        self._progress: Progress | None = None
        self._task: Any = None
        self._total = 0
        self._done = 0
        self._start = time.monotonic()
        self._where: dict[tuple[str, str], str] = {}
        """(solution, workload uuid) -> the device (and node, on a cluster) it started on."""

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
        self._total, self._done, self._start = total, 0, time.monotonic()
        if self._progress is not None:
            self._task = self._progress.add_task("evaluating", total=total)

    def started(self, job: Job, workload: Workload, device: str) -> None:
        self._where[(job.solution.name, workload.uuid)] = device
        if self._progress is not None:
            name = workload.name or workload.uuid[:8]
            self._progress.update(self._task, description=escape(f"{job.solution.name} · {name} · {device}"))

    def finished(self, trace: Trace) -> None:
        self._done += 1
        if self._progress is not None:
            self._progress.advance(self._task)
        device = self._where.pop((trace.solution or "", trace.workload.uuid), None)
        if self.lines is not None:
            elapsed = time.monotonic() - self._start
            line = progress_line(trace, self._done, self._total, elapsed, device)
            self.lines.print(escape(line), soft_wrap=True)  # one line, whatever the width
        ev = trace.evaluation
        if ev is not None and not trace.passed and self.enabled:
            self.console.print(
                f"[red]{ev.status.value}[/red] {escape(f'{trace.solution} on {trace.workload.uuid[:8]}')}"
            )


FAILURE_WIDTH = 100
"""A failure's reason in a progress line is shortened in the middle beyond this many characters."""


def progress_line(trace: Trace, done: int, total: int, elapsed_s: float, device: str | None = None) -> str:
    """``[3/12] PASSED solution · workload · cuda:0 · 8.4 us · 1.05x vs baseline · 0:12 elapsed ·
    ETA 0:36``; the device names its node on a cluster (``cuda:0 on 10.0.0.3 (node 1a2b3c4d)``); a
    failure says why in one line (``· SystemExit: 3 (main.py:4)``)."""
    ev = trace.evaluation
    parts = [f"[{done}/{total}]", ev.status.value if ev is not None else "?"]
    parts.append(f"{trace.solution} · {trace.workload.name or trace.workload.uuid[:8]}")
    if device:
        parts.append(f"· {device}")
    perf = ev.performance if ev is not None else None
    if perf is not None and perf.latency_ms > 0:
        parts.append(f"· {format_ms(perf.latency_ms)}")
        extra = perf.model_extra or {}
        if extra.get("speedup_vs_baseline"):
            parts.append(f"· {extra['speedup_vs_baseline']:.2f}x vs {extra.get('baseline')}")
        elif perf.speedup_factor > 0:
            parts.append(f"· {perf.speedup_factor:.2f}x vs reference")
    if ev is not None and not trace.passed:
        parts.append(f"· {shorten(failure_reason(trace), FAILURE_WIDTH)}")
    parts.append(f"· {_clock(elapsed_s)} elapsed")
    if 0 < done < total:
        parts.append(f"· ETA {_clock(elapsed_s / done * (total - done))}")
    return " ".join(parts)


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
