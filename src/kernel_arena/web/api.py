"""JSON API of the viewer: pure functions from a loaded dataset to JSON-able dicts.

The server (``server.py``) maps routes to these; they never touch the file system beyond the
dataset already loaded, so nothing outside the dataset can be served.
"""

from __future__ import annotations

import statistics
from typing import Any

from kernel_arena.dataset import Dataset
from kernel_arena.report.html import fast_p_series
from kernel_arena.report.leaderboard import latest_traces, leaderboard, workload_size_bytes
from kernel_arena.report.svg import line_chart
from kernel_arena.schema import Trace


class NotFound(Exception):
    """A name or id that does not exist."""


def definitions(ds: Dataset, q: str = "", op_type: str = "", tag: str = "") -> dict[str, Any]:
    items = []
    for d in sorted(ds.definitions.values(), key=lambda d: (d.op_type, d.name)):
        if q and q.lower() not in (d.name + " " + (d.description or "")).lower():
            continue
        if op_type and d.op_type != op_type:
            continue
        if tag and tag not in (d.tags or []):
            continue
        items.append(
            {
                "name": d.name,
                "op_type": d.op_type,
                "tags": d.tags or [],
                "description": d.description or "",
                "workloads": len(ds.workloads_for(d.name)),
                "solutions": len(ds.solutions_for(d.name)),
                "traces": sum(1 for t in ds.traces if t.definition == d.name),
            }
        )
    return {
        "definitions": items,
        "op_types": sorted({d.op_type for d in ds.definitions.values()}),
        "tags": sorted({t for d in ds.definitions.values() for t in (d.tags or [])}),
    }


def definition(ds: Dataset, name: str) -> dict[str, Any]:
    if name not in ds.definitions:
        raise NotFound(f"no definition {name!r}")
    d = ds.definitions[name]
    wls = [
        {"uuid": w.uuid, "name": w.name or "", "tags": w.tags, "axes": w.axes} for w in ds.workloads_for(name)
    ]
    return {
        "definition": d.to_json_dict(),
        "workloads": wls,
        "solutions": [
            {
                "name": s.name,
                "language": s.spec.language,
                "author": s.author,
                "targets": s.spec.target_hardware,
            }
            for s in ds.solutions_for(name)
        ],
    }


def _traces_of(ds: Dataset, name: str) -> list[tuple[int, Trace]]:
    wanted = {id(t) for t in latest_traces([t for t in ds.traces if t.definition == name])}
    return [(i, t) for i, t in enumerate(ds.traces) if id(t) in wanted]


def leaderboard_view(ds: Dataset, name: str) -> dict[str, Any]:
    if name not in ds.definitions:
        raise NotFound(f"no definition {name!r}")
    d = ds.definitions[name]
    rows = leaderboard(ds.traces, name)
    traces = [t for _, t in _traces_of(ds, name)]
    sols = [r.solution for r in rows]
    lat: dict[str, list[tuple[float, float]]] = {s: [] for s in sols}
    bw: dict[str, list[tuple[float, float]]] = {s: [] for s in sols}
    for t in traces:
        perf = t.evaluation.performance if t.evaluation else None
        if perf and perf.latency_ms > 0:
            size = float(workload_size_bytes(d, t.workload.axes))
            lat[t.solution or ""].append((size, perf.latency_ms))
            bw[t.solution or ""].append((size, size / (perf.latency_ms * 1e-3) / 1e9))
    speedups = [
        t.evaluation.performance.speedup_factor for t in traces if t.evaluation and t.evaluation.performance
    ]
    p_max = max(2.0, min(max(speedups, default=2.0) * 1.1, 1e3))
    return {
        "rows": [r.to_json_dict() for r in rows],
        "charts": {
            "fast_p": line_chart(
                fast_p_series(ds.traces, name, sols, p_max),
                "fast_p",
                "p (speedup over reference)",
                "fraction of workloads",
            ),
            "latency": line_chart(
                lat, "latency vs workload size", "workload bytes", "latency (ms)", True, True
            ),
            "bandwidth": line_chart(
                bw, "achieved bandwidth (workload bytes / latency)", "workload bytes", "GB/s", True, True
            ),
        },
        "median_latency_ms": statistics.median([p for s in lat.values() for _, p in s])
        if any(lat.values())
        else None,
    }


def trace_list(
    ds: Dataset, definition: str = "", solution: str = "", status: str = "", limit: int = 500
) -> dict[str, Any]:
    items = []
    source = _traces_of(ds, definition) if definition else list(enumerate(ds.traces))
    for i, t in source:
        if solution and t.solution != solution:
            continue
        ev = t.evaluation
        if ev is None or (status and ev.status.value != status):
            continue
        perf = ev.performance
        found = t.diagnoses
        diag = f"diagnosis: {found[0]['message']} ({found[0]['pitfall']})" if found else ""
        items.append(
            {
                "id": i,
                "definition": t.definition,
                "solution": t.solution,
                "workload": t.workload.uuid,
                "workload_name": t.workload.name or "",
                "status": ev.status.value,
                "latency_ms": perf.latency_ms if perf else None,
                "speedup": perf.speedup_factor if perf else None,
                "diagnosis": diag,
                "flags": [f["id"] for f in t.flags],
            }
        )
    return {"total": len(items), "traces": items[:limit]}


def trace_detail(ds: Dataset, trace_id: int) -> dict[str, Any]:
    if not 0 <= trace_id < len(ds.traces):
        raise NotFound(f"no trace {trace_id}")
    return ds.traces[trace_id].to_json_dict()


def solution(ds: Dataset, name: str) -> dict[str, Any]:
    if name not in ds.solutions:
        raise NotFound(f"no solution {name!r}")
    return ds.solutions[name].to_json_dict()


OPENAPI: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {
        "title": "Kernel Arena viewer API",
        "version": "1",
        "description": "Read-only view of a dataset or run folder.",
    },
    "paths": {
        "/api/definitions": {
            "get": {
                "summary": "Definitions, filtered",
                "parameters": [
                    {"name": n, "in": "query", "schema": {"type": "string"}} for n in ("q", "op_type", "tag")
                ],
                "responses": {"200": {"description": "definitions, op_types, tags"}},
            }
        },
        "/api/definitions/{name}": {
            "get": {
                "summary": "A definition with its workloads and solutions",
                "parameters": [
                    {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {"200": {"description": "definition"}, "404": {"description": "unknown"}},
            }
        },
        "/api/definitions/{name}/leaderboard": {
            "get": {
                "summary": "Leaderboard rows and SVG charts",
                "parameters": [
                    {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {"200": {"description": "rows, charts"}},
            }
        },
        "/api/traces": {
            "get": {
                "summary": "Trace list",
                "parameters": [
                    {"name": n, "in": "query", "schema": {"type": "string"}}
                    for n in ("definition", "solution", "status")
                ],
                "responses": {"200": {"description": "traces"}},
            }
        },
        "/api/traces/{id}": {
            "get": {
                "summary": "One trace",
                "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                "responses": {"200": {"description": "trace"}, "404": {"description": "unknown"}},
            }
        },
        "/api/solutions/{name}": {
            "get": {
                "summary": "A solution with its sources",
                "parameters": [
                    {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {"200": {"description": "solution"}, "404": {"description": "unknown"}},
            }
        },
    },
}
