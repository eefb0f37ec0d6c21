"""The viewer's HTTP API over a real server: content, filters, 404s, read-only, no traversal,
new traces without a restart."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from web.conftest import _trace

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
