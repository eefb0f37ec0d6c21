"""``kernel-arena list``: the definitions, workloads, solutions or traces of a dataset, as a
table or JSON."""

from __future__ import annotations

import json
from typing import Annotated, Any, Optional

import typer
from rich.markup import escape
from rich.table import Table

from kernel_arena.cli.common import DatasetOpt, JsonOpt, console, fail, load


def list_cmd(
    what: Annotated[str, typer.Argument(help="definitions | workloads | solutions | traces")],
    dataset: DatasetOpt = None,
    definition: Annotated[
        Optional[list[str]], typer.Option("--definition", help="Only these definitions.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """List the definitions, workloads, solutions or traces of a dataset."""
    kinds = {"definitions", "workloads", "solutions", "traces"}
    if what not in kinds:
        fail(f"cannot list {what!r}: choose one of {', '.join(sorted(kinds))}")
    ds = load(dataset)
    wanted = set(definition or [])
    for name in wanted:
        if name not in ds.definitions:
            fail(f"no definition named {name!r} (known: {', '.join(sorted(ds.definitions))})")

    def keep(def_name: str) -> bool:
        return not wanted or def_name in wanted

    rows: list[dict[str, Any]] = []
    if what == "definitions":
        for d in sorted(ds.definitions.values(), key=lambda d: (d.op_type, d.name)):
            if keep(d.name):
                rows.append(
                    {
                        "name": d.name,
                        "op_type": d.op_type,
                        "workloads": len(ds.workloads_for(d.name)),
                        "solutions": len(ds.solutions_for(d.name)),
                        "tags": d.tags or [],
                    }
                )
    elif what == "workloads":
        for def_name in sorted(ds.workloads):
            if keep(def_name):
                for w in ds.workloads[def_name]:
                    rows.append(
                        {
                            "definition": def_name,
                            "uuid": w.uuid,
                            "name": w.name or "",
                            "tags": w.tags,
                            "axes": w.axes,
                        }
                    )
    elif what == "solutions":
        for s in sorted(ds.solutions.values(), key=lambda s: (s.definition, s.name)):
            if keep(s.definition):
                rows.append(
                    {
                        "name": s.name,
                        "definition": s.definition,
                        "author": s.author,
                        "language": s.spec.language,
                        "targets": s.spec.target_hardware,
                        "dependencies": s.spec.dependencies,
                    }
                )
    else:
        for t in ds.traces:
            if keep(t.definition) and t.evaluation:
                perf = t.evaluation.performance
                rows.append(
                    {
                        "definition": t.definition,
                        "solution": t.solution,
                        "workload": t.workload.uuid,
                        "status": t.evaluation.status.value,
                        "latency_ms": perf.latency_ms if perf else None,
                        "speedup": perf.speedup_factor if perf else None,
                    }
                )
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    if not rows:
        console.print(escape(f"no {what}"))
        return
    table = Table(show_header=True, header_style="bold")
    for col in rows[0]:
        table.add_column(col)
    for row in rows:
        table.add_row(*[_cell(v) for v in row.values()])
    console.print(table)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return escape(", ".join(str(v) for v in value))
    if isinstance(value, dict):
        return escape(" ".join(f"{k}={v}" for k, v in value.items()))
    return escape(str(value))
