"""The viewer's HTTP API over a real server: content, filters, 404s, read-only, no traversal,
new traces without a restart."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from web.conftest import _trace, make_run, serving

from kernel_arena.files import append_jsonl


def get(url: str) -> tuple[int, dict | str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            body = r.read().decode()
            return r.status, json.loads(body) if "json" in r.headers["Content-Type"] else body
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read().decode() or "{}")


def test_definitions_and_filters(server):
    base, _ = server
    status, data = get(f"{base}/api/definitions")
    assert status == 200 and [d["name"] for d in data["definitions"]] == ["scale_add_n"]
    assert data["definitions"][0]["traces"] == 8
    assert get(f"{base}/api/definitions?q=nothing")[1]["definitions"] == []
    assert get(f"{base}/api/definitions?op_type=elementwise")[1]["definitions"]


def test_leaderboard_traces_detail_solution(server):
    base, _ = server
    lb = get(f"{base}/api/definitions/scale_add_n/leaderboard")[1]
    assert [r["solution"] for r in lb["rows"]] == ["fast", "slow"]
    assert lb["rows"][1]["failures"] == {"INCORRECT_SHAPE": 1}
    assert "<polyline" in lb["charts"]["fast_p"] and "<polyline" in lb["charts"]["latency"]
    tr = get(f"{base}/api/traces?definition=scale_add_n&status=INCORRECT_SHAPE")[1]
    assert tr["total"] == 1 and "planted diagnosis" in tr["traces"][0]["diagnosis"]
    detail = get(f"{base}/api/traces/{tr['traces'][0]['id']}")[1]
    assert detail["evaluation"]["status"] == "INCORRECT_SHAPE"
    assert get(f"{base}/api/solutions/fast")[1]["sources"][0]["path"] == "main.py"
    assert get(f"{base}/api/openapi.json")[1]["openapi"].startswith("3.")


@pytest.mark.parametrize(
    "path",
    [
        "/api/definitions/nope",
        "/api/traces/99999",
        "/api/traces/abc",
        "/api/solutions/nope",
        "/../../etc/passwd",
        "/static/../server.py",
        "/static/%2e%2e/server.py",
        "/api/../../../etc/passwd",
    ],
)
def test_unknown_and_traversal_are_404(server, path):
    base, _ = server
    status, _ = get(base + path)
    assert status == 404


def test_read_only(server):
    base, _ = server
    req = urllib.request.Request(f"{base}/api/definitions", data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(req, timeout=10)
    assert exc.value.code == 405


def test_new_traces_appear_without_restart(server):
    base, run = server
    before = get(f"{base}/api/traces")[1]["total"]
    append_jsonl(run / "traces" / "elementwise" / "scale_add_n.jsonl", [_trace("fast", "w9", latency=0.1)])
    assert get(f"{base}/api/traces")[1]["total"] == before + 1


def test_default_bind_is_localhost():
    import inspect

    from kernel_arena.cli.serve import serve_cmd as serve
    from kernel_arena.web.server import make_server

    assert inspect.signature(make_server).parameters["host"].default == "127.0.0.1"
    assert "127.0.0.1" in str(inspect.signature(serve).parameters["host"].default)


def strict_json(text: str):
    """json.loads that refuses the NaN/Infinity extensions (as browsers' JSON.parse does)."""

    def refuse(name):
        raise ValueError(f"not JSON: {name}")

    return json.loads(text, parse_constant=refuse)


def raw_get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_nan_and_infinite_numbers_are_valid_json(tmp_path):
    traces = [
        _trace("fast", "w0", latency=1.0),
        _trace("slow", "w0", status="INCORRECT_NUMERICAL", err=float("nan")),
        _trace("slow", "w1", latency=1e-300, ref=1e300),  # speedup overflows to inf
    ]
    with serving(make_run(tmp_path, traces)) as base:
        status, text = raw_get(f"{base}/api/definitions/scale_add_n/leaderboard")
        assert status == 200
        rows = {r["solution"]: r for r in strict_json(text)["rows"]}
        assert rows["slow"]["worst_abs_error"] == "NaN"
        status, text = raw_get(f"{base}/api/traces?definition=scale_add_n&solution=slow&status=PASSED")
        assert status == 200 and strict_json(text)["traces"][0]["speedup"] == "Infinity"


def test_a_huge_axis_value_is_answered_not_a_dropped_connection(tmp_path):
    traces = [_trace("fast", "w0", latency=1.0, n=10**400), _trace("fast", "w1", latency=2.0, n=1000)]
    with serving(make_run(tmp_path, traces)) as base:
        status, text = raw_get(f"{base}/api/definitions/scale_add_n/leaderboard")
        assert status == 200 and "<circle" in strict_json(text)["charts"]["latency"]
        status, text = raw_get(f"{base}/api/definitions/scale_add_n")
        assert status == 200 and strict_json(text)["definition"]["name"] == "scale_add_n"


def test_an_unexpected_failure_is_a_json_500_naming_the_cause(tmp_path):
    import shutil

    run = make_run(tmp_path, [_trace("fast", "w0")])
    with serving(run) as base:
        assert raw_get(f"{base}/api/definitions")[0] == 200
        shutil.rmtree(run)  # the run folder disappears under a running viewer
        status, text = raw_get(f"{base}/api/definitions")
        assert status == 500
        assert str(run) in strict_json(text)["error"]


def test_names_with_a_slash_can_be_opened(tmp_path):
    from helpers import GOOD_DPS, solution_json, tiny_definition, write_json

    trace = _trace("team/fast", "w0")
    trace["definition"] = "ops/scale_add"
    run = make_run(tmp_path, [trace], definitions=[tiny_definition(name="ops/scale_add")])
    write_json(
        run / "solutions" / "team_fast.json", solution_json("team/fast", GOOD_DPS, definition="ops/scale_add")
    )
    with serving(run) as base:
        status, data = get(f"{base}/api/definitions/ops%2Fscale_add")
        assert status == 200 and data["definition"]["name"] == "ops/scale_add"
        status, data = get(f"{base}/api/definitions/ops%2Fscale_add/leaderboard")
        assert status == 200 and data["rows"][0]["solution"] == "team/fast"
        status, data = get(f"{base}/api/solutions/team%2Ffast")
        assert status == 200 and data["definition"] == "ops/scale_add"
        assert get(f"{base}/api/definitions/ops/scale_add")[0] == 404  # an unencoded '/' is a path


def test_host_header_must_name_the_bound_address(server):
    base, _ = server
    port = base.rsplit(":", 1)[1]
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"):
        assert raw_get(f"{base}/api/definitions", {"Host": host})[0] == 200, host
    for host in (f"attacker.example:{port}", "127.0.0.1.attacker.example", f"192.168.1.20:{port}"):
        status, text = raw_get(f"{base}/api/definitions", {"Host": host})
        assert status == 403 and "does not name this viewer" in strict_json(text)["error"], host
        assert raw_get(f"{base}/", {"Host": host})[0] == 403


def test_host_rule_for_every_interface():
    import socket

    from kernel_arena.web.host_check import host_allowed, is_loopback

    assert host_allowed("10.0.0.7:8765", "0.0.0.0") and host_allowed("[fe80::1]:8765", "::")
    assert host_allowed(f"{socket.gethostname()}:8765", "0.0.0.0")
    assert not host_allowed("attacker.example:8765", "0.0.0.0")
    assert host_allowed("gpu-box:8765", "gpu-box") and not host_allowed("10.0.0.7", "gpu-box")
    assert is_loopback("127.0.0.1") and is_loopback("::1") and not is_loopback("0.0.0.0")


def test_serve_on_every_interface_warns_and_offers_its_runs(run_folder, tmp_path):
    import subprocess
    import sys

    other = make_run(tmp_path, [_trace("fast", "w0")], "other")
    cmd = [
        sys.executable,
        "-m",
        "kernel_arena.cli",
        "serve",
        "-d",
        str(run_folder),
        "--port",
        "0",
        "--run",
        str(other),
    ]
    for host, warned in (("0.0.0.0", True), ("127.0.0.1", False)):
        proc = subprocess.Popen(
            [*cmd, "--host", host], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            line = proc.stdout.readline()  # printed once the server listens, after any warning
            assert "Kernel Arena viewer on http://" in line
            port = line.split("http://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1]
            runs = get(f"http://127.0.0.1:{port}/api/runs")[1]["runs"]
            assert [r["label"] for r in runs] == [str(run_folder), str(other)]
        finally:
            proc.terminate()
            _, err = proc.communicate(timeout=30)
        assert ("reachable from the network" in err) is warned, err
    missing = subprocess.run([*cmd[:-1], str(tmp_path / "nope")], capture_output=True, text=True)
    assert (
        missing.returncode == 2 and "does not exist" in missing.stderr and "Traceback" not in missing.stderr
    )


def test_definitions_filter_sort_and_has_traces(tmp_path):
    from helpers import tiny_definition

    extra = [tiny_definition(name="gemm_n"), tiny_definition(name="add_n", description="gemm-free add")]
    traces = [_trace("fast", "w0")]
    traces += [dict(_trace("fast", f"w{i}"), definition="gemm_n") for i in range(3)]
    with serving(make_run(tmp_path, traces, definitions=extra)) as base:
        names = lambda q: [d["name"] for d in get(f"{base}/api/definitions?{q}")[1]["definitions"]]  # noqa: E731
        assert names("") == ["add_n", "gemm_n", "scale_add_n"]
        assert names("q=GEMM") == ["add_n", "gemm_n"]  # name or description, any case
        assert names("has_traces=1") == ["gemm_n", "scale_add_n"]
        assert names("sort=traces&order=desc") == ["gemm_n", "scale_add_n", "add_n"]
        assert names("sort=name&order=desc") == ["scale_add_n", "gemm_n", "add_n"]
        assert get(f"{base}/api/definitions?sort=bogus")[0] == 400
        assert get(f"{base}/api/definitions?order=sideways")[0] == 400


def test_compare_uses_the_rule_of_kernel_arena_compare(tmp_path):
    from kernel_arena.dataset import load_dataset
    from kernel_arena.report.compare import compare_runs

    a = make_run(tmp_path, [_trace("fast", f"w{i}", latency=1.0, name=f"wl_{i}") for i in range(5)], "a")
    b_traces = [
        _trace("fast", "w0", latency=1.02, name="wl_0"),  # within the 3% floor
        _trace("fast", "w1", latency=1.5, name="wl_1"),  # regression
        _trace("fast", "w2", latency=0.5, name="wl_2"),  # improvement
        _trace("fast", "w3", status="RUNTIME_ERROR", name="wl_3"),  # new failure
        _trace("fast", "w9", latency=1.0),  # only in B
    ]
    b = make_run(tmp_path, b_traces, "b")
    with serving(a, runs=[b]) as base:
        runs = get(f"{base}/api/runs")[1]["runs"]
        assert [(r["id"], r["label"], r["traces"]) for r in runs] == [(0, str(a), 5), (1, str(b), 5)]
        data = get(f"{base}/api/compare?a=0&b=1")[1]
        expected = compare_runs(load_dataset(a).traces, load_dataset(b).traces)
        assert [(c["workload"], c["kind"]) for c in data["changes"]] == [
            (c.workload, c.kind) for c in expected
        ]
        assert [c["kind"] for c in data["changes"]] == [
            "new_failure",
            "regression",
            "improvement",
            "unchanged",
        ]
        assert data["changes"][1]["workload_label"] == "wl_1" and data["changes"][1]["ratio"] == 1.5
        assert (data["only_in_a"], data["only_in_b"], data["pairs"]) == (1, 1, 4)
        assert data["counts"] == {
            "new_failure": 1,
            "regression": 1,
            "improvement": 1,
            "fixed": 0,
            "unchanged": 1,
        }
        sol = get(f"{base}/api/compare?run=1&solution_a=fast&solution_b=fast")[1]
        assert all(c["kind"] == "unchanged" for c in sol["changes"])
        assert get(f"{base}/api/compare?a=0&b=7")[0] == 404
        assert get(f"{base}/api/compare?a=zero&b=1")[0] == 400
        assert get(f"{base}/api/compare?run=0&solution_a=fast&solution_b=nope")[0] == 404


def test_run_folders_inside_the_viewed_folder_are_offered(tmp_path):
    parent = tmp_path / "runs"
    make_run(parent, [_trace("fast", "w0")], "before")
    make_run(parent, [_trace("fast", "w0", latency=3.0)], "after")
    with serving(parent) as base:
        labels = [r["label"] for r in get(f"{base}/api/runs")[1]["runs"]]
        assert labels == [str(parent), str(parent / "after"), str(parent / "before")]
        data = get(f"{base}/api/compare?a=2&b=1")[1]
        assert [c["kind"] for c in data["changes"]] == ["regression"]
