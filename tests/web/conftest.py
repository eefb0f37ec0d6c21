"""A real viewer server on a free localhost port over a small run folder with traces."""

from __future__ import annotations

import threading

import pytest
from helpers import make_tiny_dataset, tiny_workload

from kernel_arena.dataset import write_run_manifest
from kernel_arena.files import write_jsonl
from kernel_arena.web.server import make_server


def _trace(solution, wl, status="PASSED", latency=1.0, log=""):
    t = tiny_workload(wl, n=64 * (int(wl[1:]) + 1))
    t["solution"] = solution
    ev = {
        "status": status,
        "environment": {"hardware": "CPU", "libs": {"torch": "x"}},
        "timestamp": "2026-01-01T00:00:00Z",
        "log": log,
    }
    if status == "PASSED":
        ev["correctness"] = {"max_relative_error": 0.001, "max_absolute_error": 0.001}
        ev["performance"] = {
            "latency_ms": latency,
            "reference_latency_ms": 2.0,
            "speedup_factor": 2.0 / latency,
            "call_latency_ms": latency * 2,
        }
    t["evaluation"] = ev
    return t


@pytest.fixture()
def run_folder(tmp_path):
    from helpers import GOOD_DPS, solution_json

    root = make_tiny_dataset(
        tmp_path / "ds", [solution_json("fast", GOOD_DPS), solution_json("slow", GOOD_DPS)]
    )
    out = tmp_path / "run"
    write_run_manifest(out, root)
    traces = [_trace("fast", f"w{i}", latency=0.5 * (i + 1)) for i in range(4)]
    traces += [_trace("slow", f"w{i}", latency=3.0 * (i + 1)) for i in range(3)]
    traces.append(
        _trace(
            "slow",
            "w3",
            status="INCORRECT_SHAPE",
            log="draw 0: out: shape [3], expected [4]\ndiagnosis: planted diagnosis (P12)",
        )
    )
    write_jsonl(out / "traces" / "elementwise" / "scale_add_n.jsonl", traces)
    return out


@pytest.fixture()
def server(run_folder):
    srv = make_server(run_folder, "127.0.0.1", 0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", run_folder
    srv.shutdown()
    srv.server_close()
