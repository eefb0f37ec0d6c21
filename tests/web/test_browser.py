"""The viewer in a real headless Chromium (Debian's /usr/bin/chromium) driven by Playwright:
definitions list -> definition page (leaderboard, charts) -> trace detail; solution page."""

from __future__ import annotations

import pytest
from browser import chart_ticks, chromium_page, needs_chromium
from web.conftest import _trace, make_run, serving

pytestmark = needs_chromium


@pytest.fixture()
def page():
    with chromium_page() as pg:
        yield pg


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
    page.wait_for_selector("h1:text-is('fast')")
    assert "out.copy_" in page.inner_text("main")
    assert all(u.startswith(base) for u in page.requests), "the viewer must not load anything remote"


def test_search_filters_definitions(server, page):
    base, _ = server
    page.goto(base + "/")
    page.wait_for_selector("#q")
    page.fill("#q", "zzz-no-match")
    page.dispatch_event("#q", "change")
    page.wait_for_function("document.querySelectorAll('table.definitions a.def-link').length === 0")


LONG = "fast_triton_split_kv_with_a_rather_long_name"


def test_charts_label_every_axis_and_show_values_on_hover(tmp_path, page):
    # latencies 1.2 .. 9.6 ms and sizes 12 kB .. 96 kB: one decade on every axis
    traces = [_trace(LONG, f"w{i}", latency=1.2 * (i + 1), ref=20.0, n=1000 * (i + 1)) for i in range(8)]
    traces += [_trace("slow", f"w{i}", latency=1.3 * (i + 1), ref=20.0, n=1000 * (i + 1)) for i in range(8)]
    traces.append(_trace("outlier", "w0", latency=0.02, ref=20.0, n=1000))  # 1000x on one workload
    with serving(make_run(tmp_path, traces, solutions=(LONG, "slow", "outlier"))) as base:
        page.goto(base + "/#/def/scale_add_n")
        page.wait_for_selector("svg.chart circle.point")
        charts = page.query_selector_all("svg.chart")
        assert len(charts) == 3
        for chart in charts:
            got = chart_ticks(page, chart)
            assert len(got["x"]) >= 3 and len(got["y"]) >= 3, got
        fast_p, latency, _ = (chart_ticks(page, c) for c in charts)
        assert fast_p["x"][-1] <= 20  # the 1000x outlier does not set the axis
        assert latency["x"][0] <= 12_000 and latency["x"][-1] >= 96_000
        assert latency["y"][0] <= 0.02 and latency["y"][-1] >= 1.3 * 8
        legend = charts[1].query_selector(f"text.legend:text-is('{LONG}')")
        assert (
            legend.bounding_box()["x"] + legend.bounding_box()["width"]
            <= charts[1].bounding_box()["x"] + charts[1].bounding_box()["width"]
        )
        charts[1].query_selector("circle.point[data-series='slow'][data-x='96000.0']").hover()
        page.wait_for_selector("#tip", state="visible")
        assert page.inner_text("#tip").split("\n") == [
            "slow",
            "bytes moved (paged caches: referenced pages only): 96 kB",
            "latency (ms): 10.4",
        ]
        page.goto(base + "/#/")  # a tooltip does not outlive its page
        page.wait_for_selector("table.definitions")
        assert not page.is_visible("#tip")


def test_code_is_tokenized_before_it_is_escaped(tmp_path, page):
    from helpers import solution_json, write_json

    code = 'def run(x, y, alpha, out):\n    msg = "it\'s <b>"  # don\'t & "x"\n    out.copy_(alpha * x + y)  # 2 ops\n'
    run = make_run(tmp_path, [_trace("fast", "w0")])
    write_json(run / "solutions" / "quoted.json", solution_json("quoted", code))
    with serving(run) as base:
        page.goto(base + "/#/solution/quoted")
        page.wait_for_selector("pre.code")
        assert page.inner_text("pre.code") == code.rstrip("\n") or page.inner_text("pre.code") == code
        assert page.inner_text("pre.code span.str") == '"it\'s <b>"'
        comments = page.eval_on_selector_all("pre.code span.com", "els => els.map(e => e.textContent)")
        assert comments == ['# don\'t & "x"', "# 2 ops"]
        assert page.eval_on_selector_all("pre.code span.kw", "els => els.map(e => e.textContent)") == ["def"]


def test_definition_list_filters_as_you_type_sorts_and_keeps_its_state_in_the_url(tmp_path, page):
    from helpers import tiny_definition

    extra = [tiny_definition(name="gemm_n"), tiny_definition(name="add_n", description="gemm-free add")]
    traces = [_trace("fast", "w0")] + [dict(_trace("fast", f"w{i}"), definition="gemm_n") for i in range(3)]
    with serving(make_run(tmp_path, traces, definitions=extra)) as base:
        page.goto(base + "/")
        page.wait_for_selector("table.definitions a.def-link")

        def names() -> list[str]:
            return page.eval_on_selector_all(
                "table.definitions a.def-link", "els => els.map(e => e.textContent)"
            )

        assert names() == ["add_n", "gemm_n", "scale_add_n"]
        page.type("#q", "gem")  # no Enter, no change event
        page.wait_for_function("document.querySelectorAll('table.definitions a.def-link').length === 2")
        assert names() == ["add_n", "gemm_n"] and "q=gem" in page.url
        page.fill("#q", "")
        page.wait_for_function("document.querySelectorAll('table.definitions a.def-link').length === 3")
        page.click("th[data-sort=traces]")
        page.wait_for_function("location.hash.includes('sort=traces')")
        page.wait_for_selector("th[data-sort=traces]:has-text('▼')")
        assert names() == ["gemm_n", "scale_add_n", "add_n"] and "order=desc" in page.url
        page.check("#has")
        page.wait_for_function("document.querySelectorAll('table.definitions a.def-link').length === 2")
        assert "has_traces=1" in page.url
        url = page.url
        page.goto("about:blank")
        page.goto(url)  # the URL alone restores the page
        page.wait_for_selector("table.definitions a.def-link")
        assert names() == ["gemm_n", "scale_add_n"] and page.is_checked("#has")
        assert page.inner_text("#count") == "2 of 3 definitions"


def test_names_with_a_slash_open_in_the_viewer(tmp_path, page):
    from helpers import GOOD_DPS, solution_json, tiny_definition, write_json

    trace = dict(_trace("team/fast", "w0"), definition="ops/scale_add")
    run = make_run(tmp_path, [trace], definitions=[tiny_definition(name="ops/scale_add")])
    write_json(
        run / "solutions" / "team_fast.json", solution_json("team/fast", GOOD_DPS, definition="ops/scale_add")
    )
    with serving(run) as base:
        page.goto(base + "/")
        page.click("text=ops/scale_add")
        page.wait_for_selector("table.leaderboard")
        assert page.inner_text("h1") == "ops/scale_add"
        page.click("table.leaderboard >> text=team/fast")
        page.wait_for_selector("h1:text-is('team/fast')")  # the definition page has a pre.code too
        assert page.inner_text("h1") == "team/fast" and "out.copy_" in page.inner_text("main")


def test_compare_page_shows_regressions_first_with_ratios(tmp_path, page):
    a = make_run(tmp_path, [_trace("fast", f"w{i}", latency=1.0, name=f"wl_{i}") for i in range(4)], "a")
    b_traces = [
        _trace("fast", "w0", latency=1.01, name="wl_0"),
        _trace("fast", "w1", latency=0.5, name="wl_1"),
        _trace("fast", "w2", latency=2.0, name="wl_2"),
        _trace("slow", "w0", latency=4.0, name="wl_0"),
        _trace("slow", "w1", latency=1.0, name="wl_1"),
    ]
    b = make_run(tmp_path, b_traces, "b")
    with serving(a, runs=[b]) as base:
        page.goto(base + "/")
        page.click("#nav-compare")
        page.wait_for_selector("table.compare")
        rows = page.eval_on_selector_all(
            "table.compare tr", "trs => trs.slice(1).map(tr => [...tr.cells].map(c => c.textContent))"
        )
        assert [r[0] for r in rows] == ["regression", "improvement", "unchanged"]
        assert rows[0][3] == "wl_2" and rows[0][7] == "2×" and rows[1][7] == "0.5×"
        assert (
            page.inner_text("#compare-summary")
            == "3 pairs compared: 0 new failure, 1 regression, 1 improvement, 0 fixed, 1 unchanged; 1 only in A, 2 only in B."
        )
        # two solutions of run B
        page.check("input[name=mode][value=solutions]")
        page.select_option("#rr", "1")
        page.wait_for_function("location.hash.includes('run=1')")
        page.wait_for_selector("#sb option:text-is('slow')", state="attached")  # run B's solutions listed
        page.select_option("#sa", "fast")
        page.select_option("#sb", "slow")
        page.wait_for_function("location.hash.includes('solution_b=slow')")
        page.wait_for_function(
            "document.querySelector('#compare-summary') && document.querySelector('#compare-summary').textContent.startsWith('2 pairs')"
        )
        rows = page.eval_on_selector_all(
            "table.compare tr", "trs => trs.slice(1).map(tr => [...tr.cells].map(c => c.textContent))"
        )
        assert [(r[0], r[2], r[3], r[7]) for r in rows] == [
            ("regression", "fast -> slow", "wl_0", "3.96×"),
            ("regression", "fast -> slow", "wl_1", "2×"),
        ]
