"""Inline-SVG line charts (no JavaScript, no network): used by the HTML report and the viewer.

An axis is linear, or logarithmic when its positive data span a factor of ``LOG_RATIO`` or more; its ticks sit at round values (1, 2, 2.5, 5 × 10^k on linear axes; 1, 2, 5 × 10^k or
powers of ten on log axes) and the axis is widened to the ticks around the data, so at least
three labelled ticks frame the data range on every axis. Every point carries a ``<title>`` with
its series and values (a tooltip on hover, with or without JavaScript) and ``data-x``/``data-y``
attributes; the legend sits under the plot and shows full names.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from html import escape

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"]
DASHES = ["6,3", "2,2", "8,3,2,3"]
"""Series past the palette's length repeat its colours with these dash patterns."""
LOG_RATIO = 20.0
"""An ``auto`` axis is logarithmic when max/min of its (positive) data reaches this factor."""
MAX_POINTS = 300
"""Points drawn per series at most; longer series are thinned to medians of equal-count bins."""
CHAR_WIDTH = 6.2
"""Approximate width of one legend character (10px sans-serif) in SVG units."""


def format_number(v: float, digits: int = 6) -> str:
    """A short label for a number with at most ``digits`` significant digits: ``0.25``, ``1500``,
    ``2e-5``, ``3.2e6`` (powers of ten from 10^4 up and below 10^-3)."""
    if v == 0:
        return "0"
    if abs(v) >= 1e4 or abs(v) < 1e-3:
        mantissa, exponent = f"{v:.{digits - 1}e}".split("e")
        if "." in mantissa:
            mantissa = mantissa.rstrip("0").rstrip(".")
        return f"{mantissa}e{int(exponent)}"
    return f"{float(f'{v:.{digits}g}'):.12g}"


def format_bytes(v: float, digits: int = 3) -> str:
    """Bytes with a decimal unit: ``512 B``, ``1.5 kB``, ``64 MB``."""
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(v) >= size:
            return f"{v / size:.{digits}g} {unit}"
    return f"{v:.{digits}g} B"


FORMATS: dict[str, Callable[..., str]] = {"number": format_number, "bytes": format_bytes}


def linear_ticks(lo: float, hi: float, target: int = 5) -> list[float]:
    """Round ticks from the largest one ≤ ``lo`` to the smallest one ≥ ``hi`` (3 to ~7 of them)."""
    if hi <= lo:
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    raw = (hi - lo) / (target - 1)
    magnitude = 10.0 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1.0, 2.0, 2.5, 5.0, 10.0) if raw <= m * magnitude * (1 + 1e-9))
    first, last = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
    if last - first < 2:
        last = first + 2
    return [_round(i * step) for i in range(first, last + 1)]


def log_ticks(lo: float, hi: float) -> list[float]:
    """Ticks of a log axis (``hi / lo`` of at least ``LOG_RATIO``) from the largest one ≤ ``lo``
    to the smallest one ≥ ``hi``: 1, 2, 5 × 10^k over up to three decades, powers of ten beyond
    (every n-th one past eight decades)."""
    decades = math.log10(hi / lo)
    mantissas = (1.0, 2.0, 5.0) if decades <= 3.2 else (1.0,)
    every = max(1, math.ceil(decades / 8))
    low, high = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    candidates = [
        _round(m * 10.0**e) for e in range(low - every, high + every + 1) if e % every == 0 for m in mantissas
    ]
    start = max(t for t in candidates if t <= lo * (1 + 1e-9))
    end = min(t for t in candidates if t >= hi * (1 - 1e-9))
    return [t for t in candidates if start <= t <= end]


def _round(v: float) -> float:
    return float(f"{v:.12g}")


@dataclass
class Axis:
    """One axis: its scale, the value range it shows and its ticks."""

    log: bool
    lo: float
    hi: float
    ticks: list[float]
    fmt: Callable[..., str]

    def fraction(self, v: float) -> float:
        """Where ``v`` falls between the ends of the axis (0 to 1)."""
        if self.log:
            return (math.log10(v) - math.log10(self.lo)) / (math.log10(self.hi) - math.log10(self.lo))
        return (v - self.lo) / (self.hi - self.lo)


def make_axis(values: list[float], scale: str, domain: tuple[float, float] | None, fmt: str) -> Axis:
    """An axis for ``values``: ``scale`` is ``linear`` or ``auto`` (log when the positive data
    span ``LOG_RATIO`` or more); ``domain`` fixes the range shown (ticks inside it as above)."""
    lo, hi = domain if domain is not None else (min(values), max(values))
    log = scale == "auto" and lo > 0 and min(values) > 0 and hi / lo >= LOG_RATIO
    ticks = log_ticks(lo, hi) if log else linear_ticks(lo, hi)
    if domain is not None:
        ticks = [t for t in ticks if domain[0] - 1e-12 <= t <= domain[1] + 1e-12]
        return Axis(log, domain[0], domain[1], ticks, FORMATS[fmt])
    return Axis(log, ticks[0], ticks[-1], ticks, FORMATS[fmt])


def thin(points: list[tuple[float, float]], max_points: int = MAX_POINTS) -> list[tuple[float, float]]:
    """Points sorted by x; above ``max_points``, the medians of equal-count bins."""
    pts = sorted(points)
    if len(pts) <= max_points:
        return pts
    size = len(pts) / max_points
    out = []
    for i in range(max_points):
        chunk = pts[int(i * size) : int((i + 1) * size)]
        if chunk:
            out.append((statistics.median(p[0] for p in chunk), statistics.median(p[1] for p in chunk)))
    return out


def line_chart(
    series: dict[str, list[tuple[float, float]]],
    title: str,
    xlabel: str,
    ylabel: str,
    *,
    x_scale: str = "auto",
    y_scale: str = "auto",
    x_domain: tuple[float, float] | None = None,
    y_domain: tuple[float, float] | None = None,
    x_format: str = "number",
    y_format: str = "number",
    step: bool = False,
    width: int = 560,
    height: int = 300,
) -> str:
    """An SVG with one polyline (and hoverable markers) per series; empty series are skipped.

    ``step`` draws each series as a staircase (vertical, then horizontal), as fast_p curves are.
    """
    clean = {
        name: [(x, y) for x, y in pts if math.isfinite(x) and math.isfinite(y)]
        for name, pts in series.items()
    }
    clean = {name: pts if step else thin(pts) for name, pts in clean.items() if pts}
    head = (
        '<svg class="chart" role="img" aria-label="{label}" width="{w}" height="{h}" '
        'viewBox="0 0 {w} {h}" xmlns="http://www.w3.org/2000/svg">'
    )
    if not clean:
        return head.format(label=escape(title), w=width, h=60) + (
            f'<text x="12" y="36" class="title">{escape(title)}: no data</text></svg>'
        )
    xs = [x for pts in clean.values() for x, _ in pts]
    ys = [y for pts in clean.values() for _, y in pts]
    xa = make_axis(xs, x_scale, x_domain, x_format)
    ya = make_axis(ys, y_scale, y_domain, y_format)
    ml, mr, mt, mb = 64, 20, 28, 44
    longest = max(len(name) for name in clean)
    width = max(width, int(ml + 26 + CHAR_WIDTH * longest + 8))
    legend_top = height
    total_height = height + 16 * len(clean) + 4
    plot_w, plot_h = width - ml - mr, height - mt - mb

    def px(x: float) -> float:
        return ml + xa.fraction(x) * plot_w

    def py(y: float) -> float:
        return height - mb - ya.fraction(y) * plot_h

    parts = [
        head.format(label=escape(title), w=width, h=total_height),
        f'<text x="{ml}" y="16" class="title">{escape(title)}</text>',
    ]
    for t in xa.ticks:
        x = px(t)
        parts.append(f'<line x1="{x:.1f}" y1="{mt}" x2="{x:.1f}" y2="{height - mb}" stroke="#eee"/>')
        parts.append(
            f'<text x="{x:.1f}" y="{height - mb + 14}" text-anchor="middle" class="tick x">{xa.fmt(t)}</text>'
        )
    for t in ya.ticks:
        y = py(t)
        parts.append(f'<line x1="{ml}" y1="{y:.1f}" x2="{width - mr}" y2="{y:.1f}" stroke="#eee"/>')
        parts.append(
            f'<text x="{ml - 5}" y="{y + 3.5:.1f}" text-anchor="end" class="tick y">{ya.fmt(t)}</text>'
        )
    parts += [
        f'<line x1="{ml}" y1="{height - mb}" x2="{width - mr}" y2="{height - mb}" stroke="#888"/>',
        f'<line x1="{ml}" y1="{mt}" x2="{ml}" y2="{height - mb}" stroke="#888"/>',
        f'<text x="{ml + plot_w / 2}" y="{height - 8}" text-anchor="middle" class="label">'
        f"{escape(xlabel)}{' (log scale)' if xa.log else ''}</text>",
        f'<text x="14" y="{mt + plot_h / 2}" transform="rotate(-90 14 {mt + plot_h / 2})" '
        f'text-anchor="middle" class="label">{escape(ylabel)}{" (log scale)" if ya.log else ""}</text>',
    ]
    for i, (name, pts) in enumerate(clean.items()):
        color = PALETTE[i % len(PALETTE)]
        dash = (
            f' stroke-dasharray="{DASHES[(i // len(PALETTE) - 1) % len(DASHES)]}"'
            if i >= len(PALETTE)
            else ""
        )
        shown = [(x, y) for x, y in pts if xa.lo <= x <= xa.hi and ya.lo <= y <= ya.hi]
        coords = []
        for j, (x, y) in enumerate(shown):
            if step and j:
                coords.append(f"{px(shown[j - 1][0]):.1f},{py(y):.1f}")
            coords.append(f"{px(x):.1f},{py(y):.1f}")
        parts.append(
            f'<polyline class="series" data-series="{escape(name)}" fill="none" stroke="{color}"{dash} '
            f'stroke-width="2" pointer-events="none" points="{" ".join(coords)}"/>'
        )
        for x, y in shown:
            tip = f"{name}\n{xlabel}: {xa.fmt(x, 4)}\n{ylabel}: {ya.fmt(y, 4)}"
            parts.append(
                f'<circle class="point" cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{color}" '
                f'stroke="transparent" stroke-width="6" data-series="{escape(name)}" data-x="{x!r}" '
                f'data-y="{y!r}"><title>{escape(tip)}</title></circle>'
            )
        ly = legend_top + 16 * i + 8
        parts.append(
            f'<line x1="{ml}" y1="{ly - 3}" x2="{ml + 14}" y2="{ly - 3}" stroke="{color}" stroke-width="3"{dash}/>'
            f'<text x="{ml + 20}" y="{ly + 1}" class="legend">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
