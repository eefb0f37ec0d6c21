"""A real headless Chromium (Debian's /usr/bin/chromium, or $KERNEL_ARENA_CHROMIUM) driven by
Playwright, for the viewer's and the HTML report's tests; skipped where either is missing."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

CHROMIUM = os.environ.get("KERNEL_ARENA_CHROMIUM", "/usr/bin/chromium")
needs_chromium = pytest.mark.skipif(
    not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM),
    reason=f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium)",
)
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextlib.contextmanager
def chromium_page() -> Iterator[Any]:
    """A page whose ``requests`` attribute lists every URL it requested."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        context = browser.new_context(bypass_csp=True)  # our CSP forbids eval; Playwright predicates need it
        requests: list[str] = []
        page = context.new_page()
        page.on("request", lambda r: requests.append(r.url))
        page.requests = requests  # type: ignore[attr-defined]
        try:
            yield page
        finally:
            browser.close()


def chart_ticks(page: Any, chart: Any) -> dict[str, list[float]]:
    """The numbers of the x and y tick labels a rendered chart (an SVG element handle) shows."""

    def number(label: str) -> float:
        value, unit = re.fullmatch(r"(-?[\d.]+(?:e-?\d+)?)\s*(\w*)", label.strip()).groups()
        return float(value) * {"": 1, "B": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12}[unit]

    return {
        axis: [
            number(t)
            for t in chart.eval_on_selector_all(f"text.tick.{axis}", "els => els.map(e => e.textContent)")
        ]
        for axis in ("x", "y")
    }
