"""``kernel-arena compare``: latency change per (solution, workload) between two runs; exit 1
on regressions or new failures."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from kernel_arena.cli.common import JsonOpt, console, format_ms, load


def compare_cmd(
    run_a: Annotated[str, typer.Argument(help="Baseline run folder.")],
    run_b: Annotated[str, typer.Argument(help="New run folder.")],
    as_json: JsonOpt = False,
    show_all: Annotated[bool, typer.Option("--all", help="Also list unchanged pairs.")] = False,
) -> None:
    """Latency change per (solution, workload) from RUN_A to RUN_B; exit 1 on regressions.

    A change is flagged only beyond the run-to-run spread recorded in the traces (at least 3%);
    new failures are listed first.
    """
    from kernel_arena.report.compare import compare_runs

    a, b = load(run_a), load(run_b)
    changes = compare_runs(a.traces, b.traces)
    shown = [c for c in changes if show_all or c.kind != "unchanged"]
    if as_json:
        print(json.dumps([c.to_json_dict() for c in shown], indent=2))
    else:
        table = Table(title=f"{run_a} -> {run_b}", show_header=True, header_style="bold")
        for col in (
            "kind",
            "definition",
            "solution",
            "workload",
            "status",
            "latency A",
            "latency B",
            "change",
            "threshold",
        ):
            table.add_column(col)
        for c in shown:
            color = {"new_failure": "red", "regression": "red", "improvement": "green", "fixed": "green"}.get(
                c.kind, ""
            )
            table.add_row(
                f"[{color}]{c.kind}[/{color}]" if color else c.kind,
                c.definition,
                c.solution,
                c.workload[:12],
                f"{c.status_a} -> {c.status_b}",
                format_ms(c.latency_a_ms),
                format_ms(c.latency_b_ms),
                f"{c.change:+.1%}" if c.change is not None else "-",
                f"±{c.threshold:.0%}",
            )
        console.print(table)
        counts = {
            k: sum(1 for c in changes if c.kind == k)
            for k in ("new_failure", "regression", "improvement", "fixed")
        }
        console.print(
            ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items()) + f" of {len(changes)} pairs"
        )
    if any(c.kind in ("new_failure", "regression") for c in changes):
        raise typer.Exit(1)
