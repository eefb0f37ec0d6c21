"""The HTML report: ``--details`` adds a workload × solution table under each leaderboard, workloads
are shown by name (uuid prefix when unnamed), and its charts, opened in a real headless Chromium,
label every axis and carry each point's values."""

from __future__ import annotations

import subprocess
import sys

from browser import chart_ticks, chromium_page, needs_chromium
from web.conftest import _trace, make_run

LONG = "fast_triton_split_kv_with_a_rather_long_name"


def _report_run(tmp_path):
    # latencies 1.2 .. 9.6 ms and sizes 12 kB .. 96 kB: one decade on every axis
    traces = [
        _trace(LONG, f"w{i}", latency=1.2 * (i + 1), ref=20.0, n=1000 * (i + 1), name=f"batch_{i + 1}")
        for i in range(8)
    ]
    traces += [
        _trace(
            "slow", f"w{i}", latency=1.2 * (i + 1) * 1.05, ref=20.0, n=1000 * (i + 1), name=f"batch_{i + 1}"
        )
        for i in range(7)
    ]
    traces.append(_trace("slow", "w7", status="RUNTIME_ERROR", n=8000, name="batch_8", log="boom"))
    traces.append(_trace("slow", "w9", latency=2.0, ref=20.0, n=1000))  # no name: uuid prefix "w9"
    return make_run(tmp_path, traces, solutions=(LONG, "slow"))


def _html(tmp_path, *extra):
    out = tmp_path / "report.html"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "kernel_arena.cli",
            "report",
            "-d",
            str(_report_run(tmp_path)),
            "--format",
            "html",
            "--out",
            str(out),
            *extra,
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    return out


def test_details_adds_a_per_workload_table_with_workload_names(tmp_path):
    html = _html(tmp_path, "--details").read_text()
    assert "<table class='workloads'>" in html
    table = html[
        html.index("<table class='workloads'>") : html.index(
            "</table>", html.index("<table class='workloads'>")
        )
    ]
    assert f"<th>{LONG}</th><th>slow</th>" in table
    assert "batch_1" in table and "batch_8" in table and ">w9<" in table
    assert "RUNTIME_ERROR" in table and "1.2 ms" in table
    plain = (tmp_path / "plain").mkdir() or _html(tmp_path / "plain")
    assert "class='workloads'" not in plain.read_text()
    assert "batch_8" in plain.read_text()  # the failures table names the workload too


@needs_chromium
def test_report_charts_label_every_axis_and_show_values_in_chromium(tmp_path):
    path = _html(tmp_path, "--details")
    with chromium_page() as page:
        page.goto(path.as_uri())
        charts = page.query_selector_all("svg.chart")
        assert len(charts) == 3  # fast_p, latency, bandwidth
        for chart in charts:
            got = chart_ticks(page, chart)
            assert len(got["x"]) >= 3 and len(got["y"]) >= 3, got
        latency = chart_ticks(page, charts[1])
        assert latency["x"][0] <= 12_000 and latency["x"][-1] >= 96_000
        assert latency["y"][0] <= 1.2 and latency["y"][-1] >= 9.6
        titles = page.eval_on_selector_all(
            "svg.chart circle.point title", "els => els.map(e => e.textContent)"
        )
        assert (
            f"{LONG}\nbytes moved (paged caches: referenced pages only): 12 kB\nlatency (ms): 1.2" in titles
        )
        legend = page.query_selector(f"svg.chart text.legend:text-is('{LONG}')")
        box, svg_box = legend.bounding_box(), charts[1].bounding_box()
        assert box["x"] + box["width"] <= svg_box["x"] + svg_box["width"]
        assert all(u.startswith("file://") for u in page.requests)
