"""``kernel-arena validate``: every problem of a dataset with file, line and field; exit 1 on
errors.

``--json`` lists every problem. The text output groups what repeats: problems of one kind in one
file (a workload file whose workloads all name missing blobs) print the first few and a count,
each hint prints once, and the summary counts problems per kind and the files they are in.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.markup import escape

from kernel_arena.cli.common import JsonOpt, console, fail

if TYPE_CHECKING:
    from kernel_arena.problems import Problem

SHOWN_PER_GROUP = 2
"""Problems of one kind in one file printed before the rest are counted."""


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
        _print_grouped(problems)
        contents = (
            f"{len(ds.definitions)} definitions, "
            f"{sum(len(v) for v in ds.workloads.values())} workloads, "
            f"{len(ds.solutions)} solutions, {len(ds.traces)} traces"
        )
        if errors:
            files = len({p.file for p in errors})
            kinds = _count_kinds(errors)
            console.print(
                f"[red]{len(errors)} error(s)[/red] in {files} file(s){escape(kinds)}; loaded {contents}"
            )
        else:
            warned = f" ({len(problems)} warning(s))" if problems else ""
            console.print(f"[green]ok[/green]: {contents}{warned}")
    if errors:
        raise typer.Exit(1)


def _print_grouped(problems: list[Problem]) -> None:
    groups: dict[tuple[str, str, str], list[Problem]] = {}
    for p in problems:
        # Problems without a kind stay one per line (each key is unique).
        key = (p.file, p.kind, p.severity) if p.kind else (p.file, str(id(p)), p.severity)
        groups.setdefault(key, []).append(p)
    hints: list[str] = []
    for (file, kind, _), group in groups.items():
        for p in group[:SHOWN_PER_GROUP]:
            color = "red" if p.severity == "error" else "yellow"
            console.print(f"[{color}]{escape(str(p))}[/{color}]")
        rest = len(group) - SHOWN_PER_GROUP
        if rest > 0:
            console.print(
                f"{escape(file)}: ... and {rest} more {escape(_kind_label(kind, rest))} in this file"
            )
        for p in group:
            if p.hint and p.hint not in hints:
                hints.append(p.hint)
    for hint in hints:
        console.print(f"hint: {escape(hint)}")


def _kind_label(kind: str, count: int) -> str:
    from kernel_arena.dataset.validate import PROBLEM_KINDS

    label = PROBLEM_KINDS.get(kind, "problem")
    return label if count == 1 else label + "s"


def _count_kinds(errors: list[Problem]) -> str:
    """``: 32 missing blob files, 3 other`` (empty when no problem has a kind)."""
    counts = Counter(p.kind for p in errors)
    parts = [f"{n} {_kind_label(kind, n)}" for kind, n in counts.most_common() if kind]
    if not parts:
        return ""
    if counts.get(""):
        parts.append(f"{counts['']} other")
    return ": " + ", ".join(parts)
