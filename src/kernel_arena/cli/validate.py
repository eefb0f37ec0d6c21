"""``kernel-arena validate``: every problem of a dataset with file, line and field; exit 1 on
errors."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer
from rich.markup import escape

from kernel_arena.cli.common import JsonOpt, console, fail


def validate_cmd(
    path: Annotated[Optional[str], typer.Argument(help="Dataset folder (default: embedded).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Check every file of a dataset; list all problems with file, line and field."""
    from kernel_arena.dataset import DatasetError, load_dataset, validate_dataset

    try:
        problems = validate_dataset(path)
        ds = load_dataset(path)
    except DatasetError as exc:
        fail(str(exc))
    errors = [p for p in problems if p.severity == "error"]
    if as_json:
        print(json.dumps({"ok": not errors, "problems": [p.to_json_dict() for p in problems]}, indent=2))
    else:
        for p in problems:
            color = "red" if p.severity == "error" else "yellow"
            console.print(f"[{color}]{escape(str(p))}[/{color}]")
        summary = (
            f"{len(ds.definitions)} definitions, "
            f"{sum(len(v) for v in ds.workloads.values())} workloads, "
            f"{len(ds.solutions)} solutions, {len(ds.traces)} traces"
        )
        if errors:
            console.print(f"[red]{len(errors)} problem(s)[/red] in {summary}")
        else:
            console.print(f"[green]ok[/green]: {summary}")
    if errors:
        raise typer.Exit(1)
