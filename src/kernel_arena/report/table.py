"""The leaderboards as terminal tables: one table per definition, short headers, cells formatted
for reading (``3/4``, ``1.25x``, ``12.3 us``), columns that are empty everywhere left out, and a
legend under each table. Markdown, CSV and JSON (``render.py``) keep every column, unformatted.
"""

from __future__ import annotations

import io
import math

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from kernel_arena.dataset import Dataset
from kernel_arena.report.leaderboard import LeaderboardRow, latest_traces, leaderboard
from kernel_arena.report.marks import TIMING_MARKS_LEGEND, timing_marks
from kernel_arena.report.summary import failure_reason
from kernel_arena.report.text import format_ms, shorten
from kernel_arena.schema import Trace

TABLE_FAST_P = (1.0, 2.0)
"""The fast_p columns of the terminal table (every p is in md, csv and json)."""
FAILURE_WIDTH = 120
"""A failure one-liner is shortened in the middle beyond this many characters."""


LEGEND = (
    "speedup: geo-mean over the workloads each solution passed; common: over those all passed; "
    "w/l: wins/losses against the baseline; fast_p: share of workloads correct and at least p "
    f"times faster. {TIMING_MARKS_LEGEND}"
)
DROP_FIRST = ("call", "w/l", "common", "fast_2", "flags", "fast_1", "max err", "latency", "vs reference")
"""Columns left out, in this order, while a table is wider than the console."""


def leaderboard_tables(
    ds: Dataset, definitions: list[str] | None, details: bool, width: int
) -> list[Table | Text]:
    """Per definition: its leaderboard table, with ``details`` a per-workload table under it;
    the legend last. Each table fits ``width`` columns, leaving out the least important columns
    when it would not."""
    names = definitions or sorted({t.definition for t in ds.traces})
    out: list[Table | Text] = []
    for name in names:
        traces = [t for t in latest_traces(ds.traces) if t.definition == name]
        rows = leaderboard(traces, name, spec=ds.definitions.get(name))
        if not rows:
            continue
        out.append(_fit(_leaderboard_columns(rows, traces), _title(name, rows), width))
        if details:
            out.append(_fit(_workload_columns(traces), f"{escape(name)}: per workload", width))
    if out:
        out.append(Text(LEGEND, style="dim"))
    return out


def _title(name: str, rows: list[LeaderboardRow]) -> str:
    bases = {r.speedup_basis for r in rows}
    return f"{escape(name)}  (speedup vs {escape(bases.pop() if len(bases) == 1 else 'its basis')})"


Columns = dict[str, list[str]]


def _leaderboard_columns(rows: list[LeaderboardRow], traces: list[Trace]) -> Columns:
    first_failure: dict[str, str] = {}
    for t in traces:
        if not t.passed and t.evaluation is not None and (t.solution or "") not in first_failure:
            first_failure[t.solution or ""] = f"{t.evaluation.status.value}: {failure_reason(t)}"
    return {
        "#": [str(i) for i in range(1, len(rows) + 1)],
        "solution": [r.solution for r in rows],
        "passed": [f"{r.passed}/{r.total}" for r in rows],
        "speedup": [_times(r.geomean_speedup) + timing_marks(r.noisy, r.cpu_timed) for r in rows],
        "common": [_times(r.geomean_speedup_common) for r in rows],
        "w/l": [f"{r.wins}/{r.losses}" if r.wins is not None else "-" for r in rows],
        **{f"fast_{p:g}": [f"{r.fast_p[p]:.2f}" for r in rows] for p in TABLE_FAST_P},
        "latency": [format_ms(r.median_latency_ms) for r in rows],
        "call": [format_ms(r.median_call_latency_ms) for r in rows],
        "max err": [_error(r.worst_abs_error) for r in rows],
        "first failure": [shorten(first_failure.get(r.solution, ""), FAILURE_WIDTH) for r in rows],
        "flags": ["; ".join(f"{k} x{v}" for k, v in r.flags.items()) for r in rows],
    }


def _workload_columns(traces: list[Trace]) -> Columns:
    ordered = sorted(traces, key=lambda t: (t.solution or "", t.workload.label))
    perfs = [t.evaluation.performance if t.evaluation is not None else None for t in ordered]
    return {
        "solution": [t.solution or "" for t in ordered],
        "workload": [t.workload.label for t in ordered],
        "status": [t.evaluation.status.value if t.evaluation is not None else "" for t in ordered],
        "latency": [format_ms(p.latency_ms if p else None) for p in perfs],
        "vs reference": [_times(p.speedup_factor if p else None) for p in perfs],
        "flags": [", ".join(f["id"] for f in t.flags) for t in ordered],
    }


def _fit(columns: Columns, title: str, width: int) -> Table:
    """The table of the non-empty ``columns``, without the least important ones while it would
    be wider than ``width``."""
    shown = {k: v for k, v in columns.items() if any(cell not in ("", "-") for cell in v)}
    for name in DROP_FIRST:
        if _needed_width(shown, TEXT_COLUMNS) <= width:
            return _table(shown, title, TEXT_COLUMNS)
        shown.pop(name, None)
    # Still too wide: long names wrap too.
    return _table(shown, title, (*TEXT_COLUMNS, "solution", "workload"))


TEXT_COLUMNS = ("first failure", "flags")
"""Columns that wrap; every other column keeps its cells on one line."""


def _table(columns: Columns, title: str, wrapping: tuple[str, ...]) -> Table:
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, header_style="bold")
    for col in columns:
        table.add_column(
            col,
            no_wrap=col not in wrapping,
            overflow="fold",
            justify="left" if col in (*TEXT_COLUMNS, "#", "solution", "workload", "status") else "right",
            min_width=24 if col == "first failure" else None,
        )
    rows = len(next(iter(columns.values()), []))
    for i in range(rows):
        table.add_row(*(escape(cells[i]) for cells in columns.values()))
    return table


def _needed_width(columns: Columns, wrapping: tuple[str, ...]) -> int:
    """Width of the table with every one-line column whole and the wrapping ones at their
    narrowest."""
    narrowest = {k: ([""] * len(v) if k in wrapping else v) for k, v in columns.items()}
    console = Console(width=100_000, file=io.StringIO())
    return console.measure(_table(narrowest, "", wrapping)).maximum


def _times(value: float | None) -> str:
    return f"{value:.2f}x" if value else "-"


def _error(value: float | None) -> str:
    if value is None:
        return "-"
    return "NaN" if math.isnan(value) else f"{value:.3g}"
