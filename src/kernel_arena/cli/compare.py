"""``kernel-arena compare``: latency change per (solution, workload) between two runs; exit 1
on regressions or new failures."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from kernel_arena.cli.common import JsonOpt, console, load
from kernel_arena.report.text import format_ms

if TYPE_CHECKING:
    from kernel_arena.report.compare import Change


def compare_cmd(
    run_a: Annotated[str, typer.Argument(help="Baseline run folder.")],
    run_b: Annotated[str, typer.Argument(help="New run folder.")],
    as_json: JsonOpt = False,
    show_all: Annotated[bool, typer.Option("--all", help="Also list unchanged pairs.")] = False,
) -> None:
    """Latency change per (solution, workload) from RUN_A to RUN_B; exit 1 on regressions.

    A change is flagged only beyond the run-to-run spread recorded in the traces (at least 3%);
    new failures are listed first. --json prints one object: the two runs, the number of pairs
    compared, the count of each kind of change, the pairs only one run has, and the changes.
    """
    from kernel_arena.report.compare import compare_runs, unpaired

    a, b = load(run_a), load(run_b)
    changes = compare_runs(a.traces, b.traces)
    shown = [c for c in changes if show_all or c.kind != "unchanged"]
    counts = {k: sum(1 for c in changes if c.kind == k) for k in KINDS}
    only_a, only_b = unpaired(a.traces, b.traces)
    if as_json:
        summary = {
            "run_a": run_a,
            "run_b": run_b,
            "pairs": len(changes),
            "counts": {**counts, "unchanged": sum(1 for c in changes if c.kind == "unchanged")},
            "only_in_a": only_a,
            "only_in_b": only_b,
            "changes": [c.to_json_dict() for c in shown],
        }
        print(json.dumps(summary, indent=2))
    else:
        if shown:
            console.print(_table(shown, f"{run_a} -> {run_b}"))
        found = ", ".join(_count(v, k.replace("_", " ")) for k, v in counts.items() if v)
        verdict = found or "no change beyond the measured spread"
        console.print(f"{_count(len(changes), 'pair')} in both runs: {escape(verdict)}")
        if only_a or only_b:
            console.print(
                f"not compared: {_count(only_a, 'pair')} only in {escape(run_a)}, "
                f"{_count(only_b, 'pair')} only in {escape(run_b)}"
            )
    if any(c.kind in ("new_failure", "regression") for c in changes):
        raise typer.Exit(1)


KINDS = ("new_failure", "regression", "improvement", "fixed")
"""The kinds of change counted in the summary line (``unchanged`` is the rest)."""


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _table(shown: list[Change], title: str) -> Table:
    table = Table(title=escape(title), show_header=True, header_style="bold")
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
            escape(c.definition),
            escape(c.solution),
            escape(c.workload[:12]),
            f"{c.status_a} -> {c.status_b}",
            format_ms(c.latency_a_ms),
            format_ms(c.latency_b_ms),
            f"{c.change:+.1%}" if c.change is not None else "-",
            f"±{c.threshold:.0%}",
        )
    return table
