"""What every command shares: the consoles, the common options, failing with exit code 2,
writing output to stdout or a file, loading the ``--dataset`` argument, and cell formats.

Off a terminal (pipes, CI logs) rich would wrap tables at 80 columns; names here are long, so
both consoles get a wide fixed width there.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, Optional

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from kernel_arena.dataset import Dataset

console = Console(width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 200)

DatasetOpt = Annotated[
    Optional[str],
    typer.Option("--dataset", "-d", help="Dataset folder or run folder (default: the embedded dataset)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]


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
    err.print(f"wrote {out}")


def load(dataset: str | None) -> Dataset:
    """The dataset (or run view) named by ``--dataset``; a DatasetError fails with exit code 2."""
    from kernel_arena.dataset import DatasetError, load_dataset

    try:
        return load_dataset(dataset)
    except DatasetError as exc:
        fail(str(exc))


def format_ms(value: float | None) -> str:
    """A latency in milliseconds as ``12.3 us`` below 1 ms, else ``1.23 ms``; ``-`` for none."""
    if value is None:
        return "-"
    if value < 1:
        return f"{value * 1e3:.1f} us"
    return f"{value:.2f} ms"
