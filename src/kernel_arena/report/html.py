"""Self-contained HTML report: one file, inline CSS, SVG charts, no network access.

Per definition: the leaderboard, the charts of ``charts.py`` (fast_p, latency and achieved
bandwidth against bytes moved; hover a point for its values), with ``details`` a table of every
workload (rows) by solution (columns), and the failures with their diagnoses. Workloads are shown
by name (``Workload.label``). A file people can attach to a PR.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from html import escape

from kernel_arena.dataset import Dataset
from kernel_arena.report.charts import definition_charts
from kernel_arena.report.leaderboard import FAST_P, Speedups, latest_traces, leaderboard
from kernel_arena.schema import Trace

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:8px 0;font-size:13px}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#1a7f37}.bad{color:#c62828}.charts{display:flex;flex-wrap:wrap;gap:16px}
svg.chart{background:#fff;border:1px solid #eee}svg .tick,svg .legend{font-size:10px}
svg .label{font-size:11px}svg .title{font-size:12px;font-weight:600}svg circle.point:hover{r:5}
pre{white-space:pre-wrap;font-size:12px;background:#fafafa;padding:6px;margin:0}
.muted{color:#777;font-size:11px}
"""


def _num(v: float | None, fmt: str = "{:.3g}") -> str:
    if v is None:
        return "-"
    if isinstance(v, float) and math.isnan(v):
        return "NaN"
    return fmt.format(v)


def _workload_cell(t: Trace) -> str:
    axes = " ".join(f"{k}={v}" for k, v in t.workload.axes.items())
    return (
        f"<td title='{escape(t.workload.uuid)}'>{escape(t.workload.label)}"
        f"<div class='muted'>{escape(axes)}</div></td>"
    )


def details_table(ds: Dataset, name: str, traces: list[Trace], solutions: list[str]) -> str:
    """Every workload (rows, in the dataset's order) by solution (columns): latency and speedup
    (against the leaderboard's basis), or the failure status with its diagnosis on hover."""
    speed = Speedups(traces)
    by_key = {(t.workload.uuid, t.solution or ""): t for t in traces}
    order = {w.uuid: i for i, w in enumerate(ds.workloads_for(name))}
    first: dict[str, Trace] = {}
    for t in traces:
        first.setdefault(t.workload.uuid, t)
    uuids = sorted(first, key=lambda u: (order.get(u, len(order)), first[u].workload.label))
    out = [
        f"<p class='muted'>latency, and speedup over the {escape(speed.basis)}</p>"
        "<table class='workloads'><tr><th>workload</th>"
        + "".join(f"<th>{escape(s)}</th>" for s in solutions)
        + "</tr>"
    ]
    for uuid in uuids:
        cells = []
        for sol in solutions:
            t = by_key.get((uuid, sol))
            ev = t.evaluation if t is not None else None
            if t is None or ev is None:
                cells.append("<td>-</td>")
            elif t.passed and ev.performance is not None:
                perf = ev.performance
                flags = ", ".join(f["id"] for f in t.flags)
                cells.append(
                    f"<td class='num'>{_num(perf.latency_ms, '{:.4g}')} ms"
                    f"<div class='muted'>{_num(speed.of(t), '{:.2f}x')}</div>"
                    + (f"<div class='bad'>{escape(flags)}</div>" if flags else "")
                    + "</td>"
                )
            else:
                why = "; ".join(f"{d['message']} ({d['pitfall']})" for d in t.diagnoses)
                cells.append(f"<td class='bad' title='{escape(why)}'>{ev.status.value}</td>")
        out.append("<tr>" + _workload_cell(first[uuid]) + "".join(cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def definition_section(ds: Dataset, name: str, traces: list[Trace], details: bool = False) -> str:
    """The section of one definition; ``traces`` are its latest traces (``latest_traces``)."""
    definition = ds.definitions.get(name)
    rows = leaderboard(traces, name, spec=definition)
    if not rows:
        return ""
    out = [
        f'<section class="definition" id="{escape(name)}"><h2>{escape(name)}</h2>',
        "<table class='leaderboard'><tr><th>#</th><th>solution</th><th>passed</th>"
        f"<th>geo-mean speedup (vs {escape(rows[0].speedup_basis)})</th>"
        + "".join(f"<th>fast_{p:g}</th>" for p in FAST_P)
        + "<th>median latency (ms)</th><th>median call latency (ms)</th><th>worst abs error</th>"
        "<th>failures</th><th>flags</th></tr>",
    ]
    for i, r in enumerate(rows, 1):
        cls = "ok" if r.passed == r.total else "bad"
        fails = ", ".join(f"{k} x{v}" for k, v in r.failures.items()) or ""
        out.append(
            f"<tr><td>{i}</td><td>{escape(r.solution)}</td><td class='num {cls}'>{r.passed}/{r.total}</td>"
            f"<td class='num'>{_num(r.geomean_speedup, '{:.2f}x')}</td>"
            + "".join(f"<td class='num'>{r.fast_p[p]:.2f}</td>" for p in FAST_P)
            + f"<td class='num'>{_num(r.median_latency_ms, '{:.4g}')}</td>"
            f"<td class='num'>{_num(r.median_call_latency_ms, '{:.4g}')}</td>"
            f"<td class='num'>{_num(r.worst_abs_error)}</td><td>{escape(fails)}</td>"
            f"<td class='bad'>{escape(', '.join(f'{k} x{v}' for k, v in r.flags.items()))}</td></tr>"
        )
    out.append("</table>")
    sols = [r.solution for r in rows]
    if details:
        out.append("<h3>Per workload</h3>" + details_table(ds, name, traces, sols))
    if definition is not None:
        charts = definition_charts(definition, traces, sols)
        out.append("<div class='charts'>" + "".join(charts.values()) + "</div>")
    failed = [t for t in traces if t.evaluation is not None and not t.passed]
    if failed:
        out.append(
            "<h3>Failures</h3><table class='failures'><tr><th>solution</th><th>workload</th>"
            "<th>status</th><th>log (diagnosis first)</th></tr>"
        )
        for t in failed[:200]:
            ev = t.evaluation
            assert ev is not None
            lines = ev.log.splitlines()
            diag = [f"diagnosis: {d['message']} ({d['pitfall']})" for d in t.diagnoses]
            text = "\n".join(diag + [ln for ln in lines if ln not in diag])[:1500]
            out.append(
                f"<tr><td>{escape(t.solution or '')}</td>{_workload_cell(t)}"
                f"<td class='bad'>{ev.status.value}</td><td><pre>{escape(text)}</pre></td></tr>"
            )
        out.append("</table>")
    out.append("</section>")
    return "\n".join(out)


def render_html(ds: Dataset, definitions: list[str] | None = None, details: bool = False) -> str:
    """The whole report as one HTML string; ``details`` adds the per-workload tables."""
    latest: dict[str, list[Trace]] = {}
    for t in latest_traces(ds.traces):
        latest.setdefault(t.definition, []).append(t)
    names = definitions or sorted(latest)
    body = [definition_section(ds, n, latest.get(n, []), details) for n in names]
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
        f"<title>Kernel Arena report</title><style>{CSS}</style></head><body>"
        f"<h1>Kernel Arena report</h1><p>{len(ds.traces)} traces from {escape(str(ds.trace_root))}, "
        f"generated {stamp}.</p>" + "\n".join(b for b in body if b) + "</body></html>"
    )
