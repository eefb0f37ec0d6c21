"""Chart rules on real traces: ticks frame the data on every axis (linear for narrow ranges, log
for wide ones), the fast_p axis ignores outliers, every point carries its values, legends keep
full names, and bytes moved count a paged cache's referenced pages only."""

from __future__ import annotations

import math
import re

import pytest
from helpers import tiny_workload

from kernel_arena.report.charts import definition_charts, fast_p_limit, fast_p_series
from kernel_arena.report.leaderboard import Speedups, leaderboard
from kernel_arena.report.svg import format_number, line_chart, linear_ticks, log_ticks
from kernel_arena.report.traffic import bytes_moved
from kernel_arena.schema import Definition, Trace


def ticks(svg: str, axis: str) -> list[str]:
    return re.findall(rf'class="tick {axis}">([^<]*)<', svg)


def passed(solution: str, wl: str, latency: float, ref: float = 2.0, n: int = 64, **perf) -> Trace:
    t = tiny_workload(wl, n=n)
    t["solution"] = solution
    t["evaluation"] = {
        "status": "PASSED",
        "environment": {"hardware": "CPU"},
        "timestamp": "2026-01-01T00:00:00Z",
        "correctness": {"max_relative_error": 0.0, "max_absolute_error": 0.0},
        "performance": {
            "latency_ms": latency,
            "reference_latency_ms": ref,
            "speedup_factor": ref / latency,
            **perf,
        },
    }
    return Trace.model_validate(t)


@pytest.mark.parametrize(
    ("lo", "hi"), [(1.0, 9.9), (0.1, 1.0), (0.91, 0.99), (3e-3, 2.7e-2), (12_000, 108_000), (5.0, 5.0)]
)
def test_one_decade_gets_at_least_three_labels_framing_the_data(lo, hi):
    svg = line_chart({"s": [(lo, lo), (hi, hi)]}, "t", "x", "y")
    for axis in ("x", "y"):
        labels = ticks(svg, axis)
        assert len(labels) >= 3, labels
        values = [float(v) for v in labels]
        assert values[0] <= lo and values[-1] >= hi


def test_wide_ranges_are_log_with_round_ticks_and_narrow_ones_linear():
    assert log_ticks(0.013, 4.5) == [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5]
    assert log_ticks(0.013, 45.0) == [0.01, 0.1, 1, 10, 100]
    assert log_ticks(1e-6, 1e6) == pytest.approx([10.0**e for e in range(-6, 7, 2)])  # every 2nd decade
    assert linear_ticks(0.91, 0.99) == [0.9, 0.92, 0.94, 0.96, 0.98, 1.0]
    assert linear_ticks(0.0, 0.9) == [0.0, 0.25, 0.5, 0.75, 1.0]
    wide = line_chart({"s": [(1.0, 1e-3), (1e4, 1.0)]}, "t", "x", "y")
    narrow = line_chart({"s": [(1.0, 1.0), (9.0, 9.0)]}, "t", "x", "y")
    assert "x (log scale)" in wide and "y (log scale)" in wide
    assert "log scale" not in narrow
    assert [format_number(v) for v in (2.5e-4, 0.925, 1500, 3.2e6)] == ["2.5e-4", "0.925", "1500", "3.2e6"]


def test_every_point_carries_its_values_and_legends_keep_full_names():
    long_name = "gqa_paged_decode_triton_split_k_autotuned_v2"
    svg = line_chart({long_name: [(1.0, 0.25), (2.0, 0.5)], "b": [(1.5, 0.75)]}, "t", "size", "ms")
    assert f'class="legend">{long_name}</text>' in svg
    titles = re.findall(r"<title>([^<]*)</title>", svg)
    assert titles[0] == f"{long_name}\nsize: 1\nms: 0.25" and len(titles) == 3
    width = float(re.search(r'width="(\d+)"', svg).group(1))
    assert width >= 64 + 16 + len(long_name) * 6  # the legend text fits inside the SVG
    many = line_chart({f"s{i}": [(1.0, i + 1.0)] for i in range(10)}, "t", "x", "y")
    lines = re.findall(
        r'<polyline class="series" data-series="(s\d)" fill="none" stroke="([^"]*)"( stroke-dasharray)?', many
    )
    assert lines[0][1] == lines[8][1] and not lines[0][2] and lines[8][2]  # colours repeat dashed


def test_fast_p_axis_does_not_stretch_to_an_outlier():
    traces = [
        passed("a", f"w{i}", latency=2.0 / s) for i, s in enumerate([0.8, 1.1, 1.3, 1.6, 2.2, 2.5, 3.0])
    ]
    traces += [passed("a", "w-outlier", latency=2.0 / 1000.0)]
    traces += [
        passed("b", f"w{i}", latency=2.0 / s) for i, s in enumerate([0.9, 1.2, 1.4, 1.9, 2.1, 2.4, 2.8])
    ]
    limit = fast_p_limit(traces, Speedups(traces))
    assert 3.0 <= limit <= 5.0
    definition = Definition.model_validate(
        {
            "name": "scale_add_n",
            "op_type": "elementwise",
            "axes": {"n": {"type": "var"}},
            "inputs": {"x": {"shape": ["n"], "dtype": "float32"}},
            "outputs": {"out": {"shape": ["n"], "dtype": "float32"}},
            "reference": "def run(x):\n    return x\n",
        }
    )
    svg = definition_charts(definition, traces, ["a", "b"])["fast_p"]
    xs = [float(v) for v in ticks(svg, "x")]
    assert len(xs) >= 3 and xs[-1] == limit
    # the staircase still ends where the outlier keeps solution a: 1 of 8 workloads
    a_points = re.findall(r'data-series="a" data-x="([^"]*)" data-y="([^"]*)"', svg)
    assert float(a_points[-1][0]) == limit and float(a_points[-1][1]) == pytest.approx(1 / 8)


def test_bytes_moved_counts_the_referenced_pages_not_the_pool(builtin):
    gqa = builtin.definitions["gqa_paged_decode_h32_kv8_d128_ps1"]
    axes = {"batch_size": 2, "num_pages": 100_000, "len_indptr": 3, "num_kv_indices": 10}
    page = 1 * 8 * 128 * 2  # page_size x kv heads x head_dim x bf16
    q = out = 2 * 32 * 128 * 2
    lse = 2 * 32 * 4
    expected = q + 2 * 10 * page + 3 * 4 + 10 * 4 + out + lse
    assert bytes_moved(gqa, axes) == expected
    # a pool smaller than the page table: each page is read once at most
    assert bytes_moved(gqa, {**axes, "num_pages": 4}) == expected - 2 * 6 * page
    gdn = builtin.definitions["gdn_decode_qk4_v8_d128_k_last"]
    assert bytes_moved(gdn, {"batch_size": 1}) > 2 * 8 * 128 * 128 * 4  # state read and written


def test_huge_axis_values_are_left_out_of_the_charts_not_an_error():
    traces = [passed("a", "w1", latency=1.0, n=10**400), passed("a", "w2", latency=2.0, n=1000)]
    definition = Definition.model_validate(
        {
            "name": "scale_add_n",
            "op_type": "elementwise",
            "axes": {"n": {"type": "var"}},
            "inputs": {"x": {"shape": ["n"], "dtype": "float32"}},
            "outputs": {"out": {"shape": ["n"], "dtype": "float32"}},
            "reference": "def run(x):\n    return x\n",
        }
    )
    charts = definition_charts(definition, traces, ["a"])
    assert len(re.findall(r"<circle", charts["latency"])) == 1
    assert all(math.isfinite(float(v)) for v in re.findall(r'data-x="([^"]*)"', charts["latency"]))


def test_fast_p_curves_use_the_leaderboards_basis():
    # against the reference every speedup is >= 2; against the baseline only w0 and w1 are faster
    traces = [passed("base", f"w{i}", latency=1.0, ref=10.0, baseline="base") for i in range(3)]
    traces += [
        passed("a", "w0", 0.5, ref=10.0, baseline="base"),
        passed("a", "w1", 0.5, ref=10.0, baseline="base"),
    ]
    traces += [passed("a", "w2", 2.0, ref=10.0, baseline="base")]
    speed = Speedups(traces)
    curve = dict(fast_p_series(traces, ["a"], 4.0, speed)["a"])
    rows = {r.solution: r for r in leaderboard(traces, "scale_add_n")}
    assert speed.basis == "baseline base"
    assert curve[2.0] == rows["a"].fast_p[2.0] == pytest.approx(2 / 3)


def test_size_buckets_count_the_referenced_pages():
    from kernel_arena.report.leaderboard import size_bucket

    paged = Definition.model_validate(
        {
            "name": "paged_gather",
            "op_type": "paged",
            "axes": {
                "num_pages": {"type": "var"},
                "num_kv_indices": {"type": "var"},
                "page_size": {"type": "const", "value": 16},
                "d": {"type": "const", "value": 128},
            },
            "inputs": {
                "cache": {"shape": ["num_pages", "page_size", "d"], "dtype": "float32"},
                "indices": {"shape": ["num_kv_indices"], "dtype": "int32"},
            },
            "outputs": {"out": {"shape": ["num_kv_indices", "page_size", "d"], "dtype": "float32"}},
            "reference": "def run(cache, indices):\n    return cache[indices]\n",
        }
    )
    axes = {"num_pages": 200_000, "num_kv_indices": 8}  # a 1.6 GB pool, 8 pages read
    assert bytes_moved(paged, axes) == 8 * 16 * 128 * 4 * 2 + 8 * 4
    assert size_bucket(paged, axes) == "<1 MiB"
