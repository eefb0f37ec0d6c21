"""Tiny inline-SVG line charts (no JavaScript, no network): used by the HTML report and the viewer."""

from __future__ import annotations

import math
from html import escape

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"]


def _ticks(lo: float, hi: float, log: bool) -> list[float]:
    if log:
        a, b = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
        return [10.0**e for e in range(a, b + 1)]
    step = (hi - lo) / 4 or 1.0
    return [lo + i * step for i in range(5)]


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 1e4 or abs(v) < 1e-2:
        return f"{v:.0e}"
    return f"{v:.3g}"


def line_chart(
    series: dict[str, list[tuple[float, float]]],
    title: str,
    xlabel: str,
    ylabel: str,
    logx: bool = False,
    logy: bool = False,
    width: int = 560,
    height: int = 320,
) -> str:
    """An SVG with one polyline (and markers) per series; empty series are skipped."""
    pts = [
        (x, y)
        for s in series.values()
        for x, y in s
        if (not logx or x > 0) and (not logy or y > 0) and math.isfinite(x) and math.isfinite(y)
    ]
    head = (
        f'<svg class="chart" role="img" aria-label="{escape(title)}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
    )
    if not pts:
        return head + f'<text x="20" y="40">{escape(title)}: no data</text></svg>'
    ml, mr, mt, mb = 60, 150, 28, 42
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    x0, x1 = min(xs), max(xs)
    y0, y1 = (min(ys), max(ys)) if logy else (min(0.0, min(ys)), max(ys))
    if x1 == x0:
        x1 = x0 * 10 if logx else x0 + 1
    if y1 == y0:
        y1 = y0 * 10 if logy else y0 + 1
    tx = (lambda v: math.log10(v)) if logx else (lambda v: v)
    ty = (lambda v: math.log10(v)) if logy else (lambda v: v)
    X0, X1, Y0, Y1 = tx(x0), tx(x1), ty(y0), ty(y1)

    def px(x: float) -> float:
        return ml + (tx(x) - X0) / (X1 - X0) * (width - ml - mr)

    def py(y: float) -> float:
        return height - mb - (ty(y) - Y0) / (Y1 - Y0) * (height - mt - mb)

    parts = [
        head,
        f'<text x="{ml}" y="16" class="title">{escape(title)}</text>',
        f'<line x1="{ml}" y1="{height - mb}" x2="{width - mr}" y2="{height - mb}" stroke="#888"/>',
        f'<line x1="{ml}" y1="{mt}" x2="{ml}" y2="{height - mb}" stroke="#888"/>',
    ]
    for t in _ticks(x0, x1, logx):
        if x0 <= t <= x1:
            parts.append(
                f'<text x="{px(t):.1f}" y="{height - mb + 14}" text-anchor="middle" class="tick">{_fmt(t)}</text>'
            )
    for t in _ticks(y0, y1, logy):
        if y0 <= t <= y1:
            parts.append(
                f'<text x="{ml - 4}" y="{py(t) + 4:.1f}" text-anchor="end" class="tick">{_fmt(t)}</text>'
            )
    parts.append(
        f'<text x="{(ml + width - mr) / 2}" y="{height - 6}" text-anchor="middle" class="label">{escape(xlabel)}</text>'
    )
    parts.append(
        f'<text x="12" y="{(mt + height - mb) / 2}" transform="rotate(-90 12 {(mt + height - mb) / 2})" '
        f'text-anchor="middle" class="label">{escape(ylabel)}</text>'
    )
    for i, (name, s) in enumerate(series.items()):
        color = PALETTE[i % len(PALETTE)]
        good = sorted(
            (x, y)
            for x, y in s
            if (not logx or x > 0) and (not logy or y > 0) and math.isfinite(x) and math.isfinite(y)
        )
        if not good:
            continue
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in good)
        parts.append(
            f'<polyline class="series" data-series="{escape(name)}" fill="none" stroke="{color}" '
            f'stroke-width="2" points="{path}"/>'
        )
        parts += [f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="2.5" fill="{color}"/>' for x, y in good]
        ly = mt + 14 * i
        parts.append(
            f'<rect x="{width - mr + 8}" y="{ly - 8}" width="10" height="10" fill="{color}"/>'
            f'<text x="{width - mr + 22}" y="{ly + 1}" class="legend">{escape(name[:22])}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
