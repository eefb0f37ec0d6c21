"""Render leaderboards as a rich table, markdown, CSV, JSON or HTML."""

from __future__ import annotations

import csv
import io
import json
import math
from typing import Any

from rich.console import Console

from kernel_arena.dataset import Dataset
from kernel_arena.report.leaderboard import FAST_P, latest_traces, leaderboard
from kernel_arena.report.marks import timing_marks


def _cell(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return "NaN" if math.isnan(v) else f"{v:.4g}"
    return str(v)


def report_rows(ds: Dataset, definitions: list[str] | None, details: bool) -> list[dict[str, Any]]:
    """Flat rows: one per (definition, solution), plus per-workload rows with ``details``."""
    names = definitions or sorted({t.definition for t in ds.traces})
    rows: list[dict[str, Any]] = []
    for name in names:
        for rank, r in enumerate(leaderboard(ds.traces, name, spec=ds.definitions.get(name)), 1):
            row = {
                "definition": name,
                "rank": rank,
                "solution": r.solution,
                "passed": r.passed,
                "total": r.total,
                "pass_rate": r.pass_rate,
                "speedup_basis": r.speedup_basis,
                "geomean_speedup": r.geomean_speedup,
                "geomean_speedup_common": r.geomean_speedup_common,
                "wins": r.wins,
                "losses": r.losses,
                "timing_marks": timing_marks(r.noisy, r.cpu_timed),
                "by_bucket": "; ".join(
                    f"{k}: {v:.2f}x" if v is not None else f"{k}: -" for k, v in r.by_bucket.items()
                ),
                "geomean_speedup_vs_reference": r.geomean_speedup_vs_reference,
            }
            row.update({f"fast_{p:g}": r.fast_p[p] for p in FAST_P})
            row.update(
                {
                    "median_latency_ms": r.median_latency_ms,
                    "median_call_latency_ms": r.median_call_latency_ms,
                    "worst_abs_error": r.worst_abs_error,
                    "failures": "; ".join(f"{k} x{v}" for k, v in r.failures.items()),
                    "diagnoses": " | ".join(r.diagnoses),
                    "flags": "; ".join(f"{k} x{v}" for k, v in r.flags.items()),
                }
            )
            rows.append(row)
        if details:
            for t in sorted(latest_traces(ds.traces), key=lambda t: (t.solution or "", t.workload.uuid)):
                if t.definition != name or t.evaluation is None:
                    continue
                perf = t.evaluation.performance
                rows.append(
                    {
                        "definition": name,
                        "solution": t.solution,
                        "workload": t.workload.label,
                        "status": t.evaluation.status.value,
                        "latency_ms": perf.latency_ms if perf else None,
                        "speedup": perf.speedup_factor if perf else None,
                        "flags": ", ".join(f["id"] for f in t.flags),
                    }
                )
    return rows


TABLE_FILE_WIDTH = 160
"""Width of the table format written to a file (``--out``): no terminal to fit."""


def render_report(
    ds: Dataset, definitions: list[str] | None, fmt: str, details: bool, console: Console | None
) -> str | None:
    """The report as text (None when printed directly to ``console``)."""
    if fmt == "html":
        from kernel_arena.report.html import render_html

        return render_html(ds, definitions, details)
    rows = report_rows(ds, definitions, details)
    if fmt == "json":
        return json.dumps(rows, indent=2, default=str) + "\n"
    cols = list(dict.fromkeys(k for r in rows for k in r))
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=cols)
        writer.writeheader()
        writer.writerows(rows)
        return buf.getvalue()
    if fmt == "md":
        # A leaderboard, then (with --details) its per-workload table: one table per run of rows
        # of the same kind, each with its own columns.
        out: list[str] = []
        groups: list[list[dict[str, Any]]] = []
        for row in rows:
            if groups and ("workload" in row) == ("workload" in groups[-1][0]):
                groups[-1].append(row)
            else:
                groups.append([row])
        for group in groups:
            keys = list(dict.fromkeys(k for r in group for k in r))
            if out:
                out.append("")
            out += ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
            out += ["| " + " | ".join(_cell(r.get(c)) for c in keys) + " |" for r in group]
        return "\n".join(out) + "\n"
    from kernel_arena.report.table import leaderboard_tables

    tables = leaderboard_tables(ds, definitions, details, console.width if console else TABLE_FILE_WIDTH)
    if console is None:
        buf = Console(file=io.StringIO(), width=TABLE_FILE_WIDTH, color_system=None)
        for table in tables:
            buf.print(table)
        return buf.file.getvalue()  # type: ignore[attr-defined]
    for table in tables:
        console.print(table, soft_wrap=False)  # the legend wraps at the console width
    return None
