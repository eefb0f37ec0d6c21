"""Self-contained HTML report: one file, inline CSS, SVG charts, no network access.

Per definition: the leaderboard, fast_p curves, latency vs workload size (log-log, one line per
solution) and the failures with their diagnoses. A file people can attach to a PR.
"""

from __future__ import annotations

import bisect
import math
from datetime import datetime, timezone
from html import escape

from kernel_arena.dataset import Dataset
from kernel_arena.report.leaderboard import FAST_P, latest_traces, leaderboard, workload_size_bytes
from kernel_arena.report.svg import line_chart

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:8px 0;font-size:13px}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#1a7f37}.bad{color:#c62828}.charts{display:flex;flex-wrap:wrap;gap:16px}
svg.chart{background:#fff;border:1px solid #eee}svg .tick,svg .legend{font-size:10px}
svg .label{font-size:11px}svg .title{font-size:12px;font-weight:600}
pre{white-space:pre-wrap;font-size:12px;background:#fafafa;padding:6px;margin:0}
"""


def _num(v: float | None, fmt: str = "{:.3g}") -> str:
    if v is None:
        return "-"
    if isinstance(v, float) and math.isnan(v):
        return "NaN"
    return fmt.format(v)


def fast_p_series(
    traces, definition: str, solutions: list[str], p_max: float
) -> dict[str, list[tuple[float, float]]]:
    """fast_p(p) curves on a fine grid of p (the same definition as the leaderboard's fast_p)."""
    ts = latest_traces([t for t in traces if t.definition == definition])
    n = len({t.workload.uuid for t in ts})
    speedups: dict[str, list[float]] = {s: [] for s in solutions}
    for t in ts:
        if t.solution in speedups and t.passed and t.evaluation and t.evaluation.performance:
            speedups[t.solution].append(t.evaluation.performance.speedup_factor)
    grid = [p_max * i / 40 for i in range(41)]
    out = {}
    for s, values in speedups.items():
        values.sort()
        out[s] = [(p, (len(values) - bisect.bisect_left(values, p)) / n if n else 0.0) for p in grid]
    return out


def definition_section(ds: Dataset, name: str, traces) -> str:
    rows = leaderboard(traces, name)
    if not rows:
        return ""
    definition = ds.definitions.get(name)
    ts = latest_traces([t for t in traces if t.definition == name])
    out = [
        f'<section class="definition" id="{escape(name)}"><h2>{escape(name)}</h2>',
        "<table class='leaderboard'><tr><th>#</th><th>solution</th><th>passed</th>"
        "<th>geo-mean speedup</th>"
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
    speedups = [
        t.evaluation.performance.speedup_factor for t in ts if t.evaluation and t.evaluation.performance
    ]
    p_max = max(2.0, min(max(speedups, default=2.0) * 1.1, 1e3))
    sols = [r.solution for r in rows]
    lat: dict[str, list[tuple[float, float]]] = {s: [] for s in sols}
    for t in ts:
        if t.evaluation and t.evaluation.performance and definition is not None:
            lat[t.solution or ""].append(
                (float(workload_size_bytes(definition, t.workload.axes)), t.evaluation.performance.latency_ms)
            )
    out.append("<div class='charts'>")
    out.append(
        line_chart(
            fast_p_series(traces, name, sols, p_max),
            "fast_p: fraction correct and ≥ p× faster",
            "p (speedup over reference)",
            "fraction of workloads",
        )
    )
    out.append(
        line_chart(
            lat,
            "latency vs workload size",
            "workload bytes (inputs + outputs)",
            "latency (ms)",
            logx=True,
            logy=True,
        )
    )
    out.append("</div>")
    failed = [t for t in ts if t.evaluation is not None and not t.passed]
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
                f"<tr><td>{escape(t.solution or '')}</td><td>{escape(t.workload.uuid)}</td>"
                f"<td class='bad'>{ev.status.value}</td><td><pre>{escape(text)}</pre></td></tr>"
            )
        out.append("</table>")
    out.append("</section>")
    return "\n".join(out)


def render_html(ds: Dataset, definitions: list[str] | None = None) -> str:
    """The whole report as one HTML string."""
    names = definitions or sorted({t.definition for t in ds.traces})
    body = [definition_section(ds, n, ds.traces) for n in names]
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
        f"<title>Kernel Arena report</title><style>{CSS}</style></head><body>"
        f"<h1>Kernel Arena report</h1><p>{len(ds.traces)} traces from {escape(str(ds.trace_root))}, "
        f"generated {stamp}.</p>" + "\n".join(b for b in body if b) + "</body></html>"
    )
