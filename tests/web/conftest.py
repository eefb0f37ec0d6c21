"""A real viewer server on a free localhost port over a small run folder with traces."""

from __future__ import annotations

import contextlib
import threading

import pytest
from helpers import make_tiny_dataset, tiny_workload

from kernel_arena.dataset import write_run_manifest
from kernel_arena.files import write_jsonl
from kernel_arena.web.server import make_server


def _trace(solution, wl, status="PASSED", latency=1.0, log="", n=None, ref=2.0, err=0.001, **workload_extra):
    t = tiny_workload(wl, n=64 * (int(wl[1:]) + 1) if n is None else n, **workload_extra)
    t["solution"] = solution
    ev = {
        "status": status,
        "environment": {"hardware": "CPU", "libs": {"torch": "x"}},
        "timestamp": "2026-01-01T00:00:00Z",
        "log": log,
    }
    if status in ("PASSED", "INCORRECT_NUMERICAL"):
        ev["correctness"] = {"max_relative_error": err, "max_absolute_error": err}
    if status == "PASSED":
        ev["performance"] = {
            "latency_ms": latency,
            "reference_latency_ms": ref,
            "speedup_factor": ref / latency,
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


def make_run(tmp_path, traces, name="run", solutions=("fast", "slow"), definitions=()):
    """A run folder over a tiny dataset (extra ``definitions`` as dicts) holding ``traces``,
    written to the trace file of each trace's definition."""
    from helpers import GOOD_DPS, solution_json, write_json

    root = tmp_path / f"{name}-ds"
    make_tiny_dataset(root, [solution_json(s, GOOD_DPS) for s in solutions])
    for d in definitions:
        write_json(root / "definitions" / d["op_type"] / f"{d['name']}.json", d)
    out = tmp_path / name
    write_run_manifest(out, root)
    by_def: dict[str, list] = {}
    for t in traces:
        by_def.setdefault(t["definition"], []).append(t)
    for definition, lines in by_def.items():
        write_jsonl(out / "traces" / "elementwise" / f"{definition}.jsonl", lines)
    return out


@contextlib.contextmanager
def serving(folder, host="127.0.0.1", runs=()):
    """A real viewer server on a free port of ``host``; yields its base URL."""
    srv = make_server(folder, host, 0, runs)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()


@pytest.fixture()
def server(run_folder):
    with serving(run_folder) as base:
        yield base, run_folder
