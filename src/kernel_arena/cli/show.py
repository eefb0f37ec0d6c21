"""``kernel-arena show``: one definition (axes, inputs/outputs, constraints, reference) or one
solution (spec and sources), as text or JSON."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.syntax import Syntax
from rich.table import Table

from kernel_arena.cli.common import DatasetOpt, JsonOpt, console, fail, load


def show_cmd(
    name: Annotated[str, typer.Argument(help="A definition or solution name.")],
    dataset: DatasetOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a definition (axes, inputs/outputs, constraints, reference) or a solution."""
    ds = load(dataset)
    if name in ds.definitions:
        d = ds.definitions[name]
        if as_json:
            print(d.to_json(indent=2))
            return
        console.print(f"[bold]{d.name}[/bold]  (op_type {d.op_type})")
        if d.description:
            console.print(d.description)
        axes = Table(title="axes", show_header=True)
        for col in ("axis", "kind", "value", "description"):
            axes.add_column(col)
        for axis_name, axis in d.axes.items():
            axes.add_row(
                axis_name, axis.type, str(getattr(axis, "value", "")), escape(axis.description or "")
            )
        console.print(axes)
        io = Table(title="inputs and outputs (signature order)", show_header=True)
        for col in ("", "name", "shape", "dtype", "description"):
            io.add_column(col)
        for kind, specs in (("in", d.inputs), ("out", d.outputs)):
            for tensor, spec in specs.items():
                shape = "scalar" if spec.shape is None else "[" + ", ".join(spec.shape) + "]"
                opt = " (optional)" if spec.optional else ""
                io.add_row(kind, tensor, shape, spec.dtype, escape((spec.description or "") + opt))
        console.print(io)
        if d.constraints:
            console.print("[bold]constraints[/bold]")
            for c in d.constraints:
                console.print(f"  {escape(c)}")
        console.print("[bold]reference[/bold]")
        console.print(Syntax(d.reference, "python", line_numbers=True))
        return
    if name in ds.solutions:
        s = ds.solutions[name]
        if as_json:
            print(s.to_json(indent=2))
            return
        console.print(f"[bold]{s.name}[/bold] for {s.definition} by {escape(s.author)}")
        if s.description:
            console.print(escape(s.description))
        console.print(
            f"language {s.spec.language}, targets {', '.join(s.spec.target_hardware)}, "
            f"entry {s.spec.entry_point}, destination-passing "
            f"{s.spec.destination_passing_style}, dependencies "
            f"{', '.join(s.spec.dependencies) or 'none'}"
        )
        for src in s.sources:
            lexer = "python" if src.path.endswith(".py") else "cpp"
            console.print(f"[bold]{escape(src.path)}[/bold]")
            console.print(Syntax(src.content, lexer, line_numbers=True))
        return
    fail(f"no definition or solution named {name!r}")
