"""``kernel-arena report``: leaderboards per definition as a table, markdown, CSV, JSON or
HTML."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from kernel_arena.cli.common import console, emit, fail, load


def report_cmd(
    dataset: Annotated[
        Optional[str],
        typer.Option("--dataset", "-d", help="Run folder or dataset with traces (default: ./runs)."),
    ] = "runs",
    definition: Annotated[Optional[list[str]], typer.Option("--definition", help="Only these.")] = None,
    format: Annotated[str, typer.Option(help="table | md | csv | json | html")] = "table",
    out: Annotated[Optional[Path], typer.Option(help="Write to this file instead of stdout.")] = None,
    details: Annotated[
        bool, typer.Option("--details", help="Add per-workload rows (a table under each leaderboard).")
    ] = False,
) -> None:
    """Leaderboards per definition: pass rate, geo-mean speedup, fast_p, latency, errors, failures.

    The table format fits the terminal (or COLUMNS): one table per definition, leaving out the
    least important columns when narrow; md, csv and json carry every column.
    """
    from kernel_arena.report.render import render_report

    formats = {"table", "md", "csv", "json", "html"}
    if format not in formats:
        fail(f"unknown format {format!r}: choose one of {', '.join(sorted(formats))}")
    ds = load(dataset)
    for name in definition or []:
        if name not in ds.definitions:
            fail(f"no definition named {name!r}")
    if not ds.traces:
        fail(f"{ds.trace_root} holds no traces: run `kernel-arena run --out {dataset}` first", 1)
    text = render_report(
        ds, definition, format, details, console if out is None and format == "table" else None
    )
    if text is not None:
        emit(text, out)
