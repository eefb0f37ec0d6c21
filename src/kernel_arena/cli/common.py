"""What every command shares: the consoles, the common options, failing with exit code 2,
writing output to stdout or a file, loading the ``--dataset`` argument (with a warning per file
that did not load), and the interpreter note.

Off a terminal (pipes, CI logs) rich would wrap tables at 80 columns; names here are long, so
both consoles get a wide fixed width there, unless ``COLUMNS`` sets one.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, Optional, TextIO

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from kernel_arena.dataset import Dataset
    from kernel_arena.problems import Problem


def _width(stream: TextIO) -> int | None:
    """The console width: the terminal's (or ``COLUMNS``) when there is one, else 200."""
    return None if stream.isatty() or os.environ.get("COLUMNS", "").isdigit() else 200


# soft_wrap: a message is one line however narrow the terminal (copy it, grep it); tables still
# fit the width, and a long text that should wrap is printed with soft_wrap=False.
console = Console(width=_width(sys.stdout), soft_wrap=True)
err = Console(stderr=True, width=_width(sys.stderr), soft_wrap=True)

DatasetOpt = Annotated[
    Optional[str],
    typer.Option("--dataset", "-d", help="Dataset folder or run folder (default: the embedded dataset)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]
SynthesizeMissingOpt = Annotated[
    bool, typer.Option("--synthesize-missing", help="Synthesize page tables whose blob files are missing.")
]


def fail(message: str, code: int = 2) -> NoReturn:
    """Print a one-line error (never a traceback) and exit with ``code`` (2: usage error)."""
    err.print(f"[red]error:[/red] {escape(message)}")
    raise typer.Exit(code)


def emit(text: str, out: Path | None) -> None:
    """Write command output to stdout, or atomically to a file (reported on stderr)."""
    if out is None:
        sys.stdout.write(text)
        return
    from kernel_arena.files import atomic_write_text

    atomic_write_text(out, text)
    err.print(escape(f"wrote {out}"))


def load(dataset: str | None) -> Dataset:
    """The dataset (or run view) named by ``--dataset``; a DatasetError fails with exit code 2.

    Files that did not load (a JSON typo, a schema error, a torn trace line) are skipped by the
    loader; each is reported here once, as a warning with file, line and reason.
    """
    from kernel_arena.dataset import DatasetError, load_dataset

    try:
        ds = load_dataset(dataset)
    except DatasetError as exc:
        fail(str(exc))
    warn_problems(ds.problems, dataset)
    return ds


MAX_WARNINGS = 5
"""Loader problems printed one per line; beyond that, a count and where to see them all."""


def warn_problems(problems: list[Problem], dataset: str | None) -> None:
    """Warn on stderr about dataset files that did not load (the first few, then a count)."""
    if not problems:
        return
    root = Path(dataset) if dataset else None
    for p in problems[:MAX_WARNINGS]:
        where = str(root / p.file) if root is not None and (root / p.file).exists() else p.file
        where += f":{p.line}" if p.line is not None else ""
        field = f" {p.field}:" if p.field else ""
        skipped = "line skipped" if p.file.endswith(".jsonl") and p.line is not None else "file skipped"
        err.print(f"[yellow]warning:[/yellow] {escape(f'{where}:{field} {p.message} ({skipped})')}")
    if len(problems) > MAX_WARNINGS:
        target = f" {dataset}" if dataset else ""
        err.print(
            f"[yellow]warning:[/yellow] {len(problems) - MAX_WARNINGS} more problem(s); "
            f"`kernel-arena validate{escape(target)}` lists them all"
        )


def interpreter_note(solutions: list[str], timing: str | None = None) -> str:
    """What a CPU latency of Triton solutions means (they ran in the Triton interpreter), and how
    they were timed (``TimingSettings.describe()``)."""
    how = f", timed with {timing}" if timing else ""
    return (
        "on CPU, Triton solutions run in the Triton interpreter "
        f"({', '.join(solutions)}){how}: their latency checks the pipeline, not GPU speed"
    )
