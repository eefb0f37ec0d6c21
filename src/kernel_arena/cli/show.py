"""``kernel-arena show``: one definition (axes, inputs/outputs, constraints, reference) or one
solution (spec and sources), as text or JSON.

The argument is a name from the dataset, or a path: an authoring folder or a Solution JSON file
(the forms ``check``, ``try``, ``run`` and ``pack`` accept), or a Definition JSON file. Every
string from a dataset goes through ``escape``: shapes such as ``[batch_size, head_dim]`` and
descriptions are text, never rich markup.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.syntax import Syntax
from rich.table import Table

from kernel_arena.cli.common import DatasetOpt, JsonOpt, console, fail, load
from kernel_arena.schema import Definition, Solution


def show_cmd(
    name: Annotated[
        str,
        typer.Argument(help="A definition or solution name, an authoring folder, or a JSON file."),
    ],
    dataset: DatasetOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a definition (axes, inputs/outputs, constraints, reference) or a solution."""
    shown = _from_path(name)
    if shown is None:
        ds = load(dataset)
        if name in ds.definitions:
            shown = ds.definitions[name]
        elif name in ds.solutions:
            shown = ds.solutions[name]
        else:
            fail(
                f"no definition or solution named {name!r}{ds.load_failure(name)} "
                "(and no such folder or JSON file)"
            )
    if as_json:
        print(shown.to_json(indent=2))
    elif isinstance(shown, Definition):
        _print_definition(shown)
    else:
        _print_solution(shown)


def _from_path(arg: str) -> Definition | Solution | None:
    """The Solution (authoring folder or JSON) or Definition (JSON) at ``arg``; None when ``arg``
    is no such path. A file that cannot be read or validated fails with one located line."""
    from pydantic import ValidationError

    from kernel_arena.authoring.pack import PackError, read_solution_arg
    from kernel_arena.dataset import is_solution_folder
    from kernel_arena.problems import validation_summary

    path = Path(arg)
    if not (is_solution_folder(path) or (path.is_file() and path.suffix == ".json")):
        return None
    try:
        data, where = read_solution_arg(arg)
    except PackError as exc:
        fail(str(exc))
    model: type[Definition] | type[Solution] = (
        Definition if isinstance(data, dict) and "reference" in data else Solution
    )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fail(validation_summary(exc, where))


def _print_definition(d: Definition) -> None:
    console.print(f"[bold]{escape(d.name)}[/bold]  (op_type {escape(d.op_type)})")
    if d.description:
        console.print(escape(d.description))
    axes = Table(title="axes", show_header=True)
    for col in ("axis", "kind", "value", "description"):
        axes.add_column(col)
    for axis_name, axis in d.axes.items():
        axes.add_row(
            escape(axis_name),
            escape(axis.type),
            escape(str(getattr(axis, "value", ""))),
            escape(axis.description or ""),
        )
    console.print(axes)
    io = Table(title="inputs and outputs (signature order)", show_header=True)
    for col in ("", "name", "shape", "dtype", "description"):
        io.add_column(col)
    for kind, specs in (("in", d.inputs), ("out", d.outputs)):
        for tensor, spec in specs.items():
            shape = "scalar" if spec.shape is None else "[" + ", ".join(spec.shape) + "]"
            opt = " (optional)" if spec.optional else ""
            io.add_row(
                kind,
                escape(tensor),
                escape(shape),
                escape(spec.dtype),
                escape((spec.description or "") + opt),
            )
    console.print(io)
    if d.constraints:
        console.print("[bold]constraints[/bold]")
        for c in d.constraints:
            console.print(f"  {escape(c)}")
    console.print("[bold]reference[/bold]")
    console.print(Syntax(d.reference, "python", line_numbers=True))


def _print_solution(s: Solution) -> None:
    console.print(f"[bold]{escape(s.name)}[/bold] for {escape(s.definition)} by {escape(s.author)}")
    if s.description:
        console.print(escape(s.description))
    console.print(
        escape(
            f"language {s.spec.language}, targets {', '.join(s.spec.target_hardware)}, "
            f"entry {s.spec.entry_point}, destination-passing "
            f"{s.spec.destination_passing_style}, dependencies "
            f"{', '.join(s.spec.dependencies) or 'none'}"
        )
    )
    for src in s.sources:
        lexer = "python" if src.path.endswith(".py") else "cpp"
        console.print(f"[bold]{escape(src.path)}[/bold]")
        console.print(Syntax(src.content, lexer, line_numbers=True))
