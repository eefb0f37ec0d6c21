"""JSON API of the viewer: pure functions from an indexed dataset (``index.TraceIndex``) to
JSON-able dicts.

The server (``server.py``) maps routes to these; they never touch the file system beyond the
datasets already loaded, so nothing outside them can be served. Numbers that are not finite
(a NaN error, an infinite speedup) are sent as the strings ``"NaN"``, ``"Infinity"`` and
``"-Infinity"`` by the server, so every response is valid JSON.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from kernel_arena.report.charts import definition_charts
from kernel_arena.report.compare import MIN_THRESHOLD, Change, compare_runs, compare_solutions
from kernel_arena.report.leaderboard import latest_traces, leaderboard
from kernel_arena.report.summary import failure_reason
from kernel_arena.web.index import TraceIndex

SORT_KEYS = ("name", "op_type", "workloads", "solutions", "traces")
CHANGE_KINDS = ("new_failure", "regression", "improvement", "fixed", "unchanged")


class NotFound(Exception):
    """A name or id that does not exist."""


def definitions(
    idx: TraceIndex,
    q: str = "",
    op_type: str = "",
    tag: str = "",
    has_traces: bool = False,
    sort: str = "",
    descending: bool = False,
) -> dict[str, Any]:
    """Definitions matching every filter given (``q``: a substring of name or description, any
    case), by op type and name, or sorted by ``sort`` (one of ``SORT_KEYS``; ties keep that
    order)."""
    if sort and sort not in SORT_KEYS:
        raise ValueError(f"sort must be one of {', '.join(SORT_KEYS)}, not {sort!r}")
    ds = idx.ds
    items = []
    for d in ds.definitions.values():
        if q and q.lower() not in (d.name + " " + (d.description or "")).lower():
            continue
        if op_type and d.op_type != op_type:
            continue
        if tag and tag not in (d.tags or []):
            continue
        if has_traces and not idx.count(d.name):
            continue
        items.append(
            {
                "name": d.name,
                "op_type": d.op_type,
                "tags": d.tags or [],
                "description": d.description or "",
                "workloads": len(ds.workloads_for(d.name)),
                "solutions": len(ds.solutions_for(d.name)),
                "traces": idx.count(d.name),
            }
        )
    items.sort(key=lambda d: (d["op_type"], d["name"]))
    if sort:
        items.sort(key=lambda d: d[sort], reverse=descending)
    return {
        "definitions": items,
        "total": len(ds.definitions),
        "op_types": sorted({d.op_type for d in ds.definitions.values()}),
        "tags": sorted({t for d in ds.definitions.values() for t in (d.tags or [])}),
    }


def definition(idx: TraceIndex, name: str) -> dict[str, Any]:
    """A definition with its workloads and solutions."""
    ds = idx.ds
    if name not in ds.definitions:
        raise NotFound(f"no definition {name!r}")
    d = ds.definitions[name]
    wls = [
        {"uuid": w.uuid, "name": w.name or "", "label": w.label, "tags": w.tags, "axes": w.axes}
        for w in ds.workloads_for(name)
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


def leaderboard_view(idx: TraceIndex, name: str) -> dict[str, Any]:
    """Leaderboard rows and chart SVGs of a definition (computed once per change of its traces)."""
    if name not in idx.ds.definitions:
        raise NotFound(f"no definition {name!r}")

    def compute() -> dict[str, Any]:
        traces = [t for _, t in idx.latest(name)]
        rows = leaderboard(traces, name, spec=idx.ds.definitions[name])
        charts = definition_charts(idx.ds.definitions[name], traces, [r.solution for r in rows])
        return {"rows": [r.to_json_dict() for r in rows], "charts": charts}

    return idx.memo("leaderboard", name, compute)


def trace_list(
    idx: TraceIndex, definition: str = "", solution: str = "", status: str = "", limit: int = 500
) -> dict[str, Any]:
    """Traces (with ``definition``: its latest ones), filtered, at most ``limit`` of them."""
    items = []
    total = 0
    source = idx.latest(definition) if definition else list(enumerate(idx.ds.traces))
    for i, t in source:
        if solution and t.solution != solution:
            continue
        ev = t.evaluation
        if ev is None or (status and ev.status.value != status):
            continue
        total += 1
        if len(items) >= limit:
            continue
        perf = ev.performance
        diag = failure_reason(t) if not t.passed else ""
        items.append(
            {
                "id": i,
                "definition": t.definition,
                "solution": t.solution,
                "workload": t.workload.uuid,
                "workload_name": t.workload.name or "",
                "workload_label": t.workload.label,
                "status": ev.status.value,
                "latency_ms": perf.latency_ms if perf else None,
                "speedup": perf.speedup_factor if perf else None,
                "diagnosis": diag,
                "flags": [f["id"] for f in t.flags],
            }
        )
    return {"total": total, "traces": items}


def trace_detail(idx: TraceIndex, trace_id: int) -> dict[str, Any]:
    """One trace as stored."""
    if not 0 <= trace_id < len(idx.ds.traces):
        raise NotFound(f"no trace {trace_id}")
    return idx.ds.traces[trace_id].to_json_dict()


def solution(idx: TraceIndex, name: str) -> dict[str, Any]:
    """A solution with its sources."""
    if name not in idx.ds.solutions:
        raise NotFound(f"no solution {name!r}")
    return idx.ds.solutions[name].to_json_dict()


def run_summary(idx: TraceIndex) -> dict[str, Any]:
    """What the compare page needs to offer a run: its trace count and traced solutions."""
    return {
        "traces": len(idx.ds.traces),
        "solutions": sorted({t.solution for t in idx.ds.traces if t.solution}),
    }


def compare_view(
    a: TraceIndex, b: TraceIndex | None = None, solution_a: str = "", solution_b: str = ""
) -> dict[str, Any]:
    """Run A vs run B (``b`` given), or Solution A vs Solution B within run ``a``: the changes of
    ``report.compare`` (the rule of ``kernel-arena compare``), new failures and regressions
    first, each with its workload's label and the latency ratio B / A."""
    if b is not None:
        changes = compare_runs(a.ds.traces, b.ds.traces)
        keys_a = {t.key for t in latest_traces(a.ds.traces)}
        keys_b = {t.key for t in latest_traces(b.ds.traces)}
        only_a, only_b = len(keys_a - keys_b), len(keys_b - keys_a)
        labels = {t.workload.uuid: t.workload.label for t in (*a.ds.traces, *b.ds.traces)}
    else:
        if not solution_a or not solution_b:
            raise ValueError("compare needs two runs (a, b) or two solutions (solution_a, solution_b)")
        known = {t.solution for t in a.ds.traces}
        for name in (solution_a, solution_b):
            if name not in known:
                raise NotFound(f"no traces of solution {name!r} in this run")
        changes = compare_solutions(a.ds.traces, solution_a, solution_b)
        latest = latest_traces(a.ds.traces)
        ran_a = {(t.definition, t.workload.uuid) for t in latest if t.solution == solution_a}
        ran_b = {(t.definition, t.workload.uuid) for t in latest if t.solution == solution_b}
        only_a, only_b = len(ran_a - ran_b), len(ran_b - ran_a)
        labels = {t.workload.uuid: t.workload.label for t in a.ds.traces}
    counts = Counter(c.kind for c in changes)
    return {
        "changes": [_change_json(c, labels) for c in changes],
        "counts": {k: counts.get(k, 0) for k in CHANGE_KINDS},
        "pairs": len(changes),
        "only_in_a": only_a,
        "only_in_b": only_b,
        "min_threshold": MIN_THRESHOLD,
    }


def _change_json(c: Change, labels: dict[str, str]) -> dict[str, Any]:
    out = c.to_json_dict()
    out["workload_label"] = labels.get(c.workload, c.workload[:8])
    out["ratio"] = c.latency_b_ms / c.latency_a_ms if c.latency_a_ms and c.latency_b_ms else None
    return out


def _query(*names: str, description: str = "") -> list[dict[str, Any]]:
    return [
        {"name": n, "in": "query", "schema": {"type": "string"}, "description": description} for n in names
    ]


def _path(name: str, kind: str = "string") -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": kind}}


_NOT_FOUND = {"404": {"description": "unknown name or id"}}

OPENAPI: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {
        "title": "Kernel Arena viewer API",
        "version": "2",
        "description": (
            "Read-only view of a dataset or run folder. Every response is JSON; errors are "
            '{"error": message} with status 400 (bad parameter), 403 (a Host header that does not '
            "name this viewer), 404 (unknown name or route) or 500 (anything else). Numbers that are "
            'not finite are the strings "NaN", "Infinity" and "-Infinity". Names are path '
            "segments: percent-encode them (a '/' in a name is %2F)."
        ),
    },
    "paths": {
        "/api/definitions": {
            "get": {
                "summary": "Definitions, filtered and sorted",
                "parameters": [
                    *_query("q", description="substring of name or description, any case"),
                    *_query("op_type", "tag"),
                    *_query("has_traces", description="1: only definitions with traces"),
                    *_query("sort", description="one of " + ", ".join(SORT_KEYS)),
                    *_query("order", description="asc (default) or desc"),
                ],
                "responses": {"200": {"description": "definitions, total, op_types, tags"}},
            }
        },
        "/api/definitions/{name}": {
            "get": {
                "summary": "A definition with its workloads and solutions",
                "parameters": [_path("name")],
                "responses": {"200": {"description": "definition"}, **_NOT_FOUND},
            }
        },
        "/api/definitions/{name}/leaderboard": {
            "get": {
                "summary": "Leaderboard rows and SVG charts (fast_p, latency, bandwidth)",
                "parameters": [_path("name")],
                "responses": {"200": {"description": "rows, charts"}, **_NOT_FOUND},
            }
        },
        "/api/traces": {
            "get": {
                "summary": "Trace list (with definition: its latest traces)",
                "parameters": _query("definition", "solution", "status"),
                "responses": {"200": {"description": "total, traces (at most 500)"}},
            }
        },
        "/api/traces/{id}": {
            "get": {
                "summary": "One trace",
                "parameters": [_path("id", "integer")],
                "responses": {"200": {"description": "trace"}, **_NOT_FOUND},
            }
        },
        "/api/solutions/{name}": {
            "get": {
                "summary": "A solution with its sources",
                "parameters": [_path("name")],
                "responses": {"200": {"description": "solution"}, **_NOT_FOUND},
            }
        },
        "/api/runs": {
            "get": {
                "summary": "The runs the compare page offers (id 0 is the folder being viewed)",
                "responses": {"200": {"description": "runs: id, label, traces, solutions"}},
            }
        },
        "/api/compare": {
            "get": {
                "summary": "Run A vs run B, or Solution A vs Solution B of one run",
                "parameters": [
                    *_query("a", "b", description="run ids (from /api/runs)"),
                    *_query("run", description="run id for a comparison of two solutions"),
                    *_query("solution_a", "solution_b"),
                ],
                "responses": {
                    "200": {
                        "description": "changes (new failures and regressions first), counts, only_in_a, only_in_b"
                    },
                    "400": {"description": "missing or bad parameters"},
                    **_NOT_FOUND,
                },
            }
        },
    },
}
