"""The viewer in a real headless Chromium (Debian's /usr/bin/chromium) driven by Playwright:
definitions list -> definition page (leaderboard, charts) -> trace detail; solution page."""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM = os.environ.get("KERNEL_ARENA_CHROMIUM", "/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM),
    reason=f"no Chromium at {CHROMIUM} (CI installs Debian's chromium)",
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


@pytest.fixture()
def page(tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        context = browser.new_context(bypass_csp=True)  # our CSP forbids eval; Playwright predicates need it
        requests: list[str] = []
        pg = context.new_page()
        pg.on("request", lambda r: requests.append(r.url))
        pg.requests = requests  # type: ignore[attr-defined]
        yield pg
        browser.close()


def test_click_from_definitions_to_trace_detail(server, page, tmp_path):
    base, _ = server
    page.goto(base + "/")
    page.wait_for_selector("table.definitions a.def-link")
    assert "scale_add_n" in page.inner_text("table.definitions")
    page.click("text=scale_add_n")
    page.wait_for_selector("table.leaderboard")
    assert "fast" in page.inner_text("table.leaderboard")
    assert page.locator("svg.chart polyline").count() >= 4  # fast_p + latency + bandwidth curves
    assert "def run" in page.inner_text("pre.code")
    page.screenshot(path=str(tmp_path / "definition.png"), full_page=True)
    page.select_option("#fstat", "INCORRECT_SHAPE")
    page.wait_for_function("document.querySelectorAll('table.traces tr.click').length === 1")
    page.click("table.traces tr.click")
    page.wait_for_selector("#trace-status")
    assert page.inner_text("#trace-status") == "INCORRECT_SHAPE"
    assert "planted diagnosis (P12)" in page.inner_text("#diagnosis")
    page.goto(base + "/#/solution/fast")
    page.wait_for_selector("pre.code")
    assert "out.copy_" in page.inner_text("main")
    assert all(u.startswith(base) for u in page.requests), "the viewer must not load anything remote"


def test_search_filters_definitions(server, page):
    base, _ = server
    page.goto(base + "/")
    page.wait_for_selector("#q")
    page.fill("#q", "zzz-no-match")
    page.dispatch_event("#q", "change")
    page.wait_for_function("document.querySelectorAll('table.definitions a.def-link').length === 0")
