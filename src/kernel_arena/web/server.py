"""The viewer's HTTP server (stdlib, threaded, read-only, localhost by default).

Only fixed routes exist: the API of ``api.py`` and a fixed set of bundled static files, so no
request can reach a file outside the package's assets or the loaded datasets (path traversal is
answered 404). A route's names are its path segments, percent-decoded one by one, so a name may
hold a ``/`` (sent as ``%2F``). Requests whose ``Host`` header does not name the bound address are
refused (``host_check.py``: DNS rebinding). The viewed folder is kept current as a run writes into
it (``live.py``). Every answer of the API is valid JSON, errors included: an unexpected exception
is a 500 with its message, never a dropped connection. Methods other than GET/HEAD get 405.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Sequence
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from kernel_arena.web import api
from kernel_arena.web.host_check import host_allowed
from kernel_arena.web.runs import Run, find_runs

STATIC = Path(__file__).resolve().parent / "static"
ASSETS = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/static/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/static/app.css": ("app.css", "text/css; charset=utf-8"),
}
NON_FINITE = {math.inf: "Infinity", -math.inf: "-Infinity"}


def finite_json(obj: Any) -> Any:
    """``obj`` with every float that JSON cannot carry (NaN, ±inf) replaced by its name."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return "NaN" if math.isnan(obj) else NON_FINITE[obj]
    if isinstance(obj, dict):
        return {k: finite_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite_json(v) for v in obj]
    return obj


def json_bytes(obj: Any) -> bytes:
    """Strict JSON (no bare NaN or Infinity) of an API answer."""
    return json.dumps(finite_json(obj), allow_nan=False).encode()


class BadRequest(ValueError):
    """A query parameter the route cannot use (answered 400)."""


def _int(q: dict[str, str], name: str) -> int:
    try:
        return int(q[name])
    except KeyError:
        raise BadRequest(f"missing parameter {name!r}") from None
    except ValueError:
        raise BadRequest(f"parameter {name!r} must be an integer, not {q[name]!r}") from None


def make_handler(runs: list[Run], bound: str) -> type[BaseHTTPRequestHandler]:
    api_lock = threading.RLock()

    def run(q: dict[str, str], name: str) -> Run:
        i = _int(q, name)
        if not 0 <= i < len(runs):
            raise api.NotFound(f"no run {i}")
        return runs[i]

    class Handler(BaseHTTPRequestHandler):
        server_version = "kernel-arena"

        def log_message(self, fmt: str, *args: Any) -> None:  # quiet
            pass

        def _send(self, status: int, body: bytes, ctype: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header(
                "Content-Security-Policy",
                "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:",
            )
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _json(self, obj: Any, status: int = 200) -> None:
            self._send(status, json_bytes(obj), "application/json")

        def do_HEAD(self) -> None:  # noqa: N802
            self.do_GET()

        def do_GET(self) -> None:  # noqa: N802
            if not host_allowed(self.headers.get("Host"), bound):
                self._json(
                    {
                        "error": f"Host {self.headers.get('Host')!r} does not name this viewer "
                        f"(bound to {bound}); open it by its address"
                    },
                    HTTPStatus.FORBIDDEN,
                )
                return
            url = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            if unquote(url.path) in ASSETS:
                name, ctype = ASSETS[unquote(url.path)]
                self._send(200, (STATIC / name).read_bytes(), ctype)
                return
            segments = [unquote(p) for p in url.path.split("/") if p]
            if not segments or segments[0] != "api":
                self._json({"error": "not found"}, 404)
                return
            try:
                with api_lock:
                    answer = self._route(segments[1:], query)
                self._json(answer)
            except api.NotFound as exc:
                self._json({"error": str(exc)}, 404)
            except (ValueError, TypeError) as exc:
                self._json({"error": str(exc)}, 400)
            except Exception as exc:  # noqa: BLE001 - every failure is answered, never a dropped connection
                self._json({"error": f"internal error: {type(exc).__name__}: {exc}"}, 500)

        def _route(self, parts: list[str], q: dict[str, str]) -> Any:
            if parts == ["openapi.json"]:
                return api.OPENAPI
            if parts == ["runs"]:
                return {
                    "runs": [
                        {"id": i, "label": r.label, **api.run_summary(r.live.current())}
                        for i, r in enumerate(runs)
                    ]
                }
            if parts == ["compare"]:
                if "a" in q or "b" in q:
                    return api.compare_view(run(q, "a").live.current(), run(q, "b").live.current())
                return api.compare_view(
                    run(q, "run").live.current(), None, q.get("solution_a", ""), q.get("solution_b", "")
                )
            idx = runs[0].live.current()
            if parts == ["definitions"]:
                order = q.get("order", "asc")
                if order not in ("asc", "desc"):
                    raise BadRequest(f"order must be asc or desc, not {order!r}")
                return api.definitions(
                    idx,
                    q.get("q", ""),
                    q.get("op_type", ""),
                    q.get("tag", ""),
                    q.get("has_traces", "") in ("1", "true"),
                    q.get("sort", ""),
                    order == "desc",
                )
            if len(parts) == 2 and parts[0] == "definitions":
                return api.definition(idx, parts[1])
            if len(parts) == 3 and parts[0] == "definitions" and parts[2] == "leaderboard":
                return api.leaderboard_view(idx, parts[1])
            if parts == ["traces"]:
                return api.trace_list(
                    idx, q.get("definition", ""), q.get("solution", ""), q.get("status", "")
                )
            if len(parts) == 2 and parts[0] == "traces":
                if not parts[1].isdigit():
                    raise api.NotFound(f"no trace {parts[1]!r}")
                return api.trace_detail(idx, int(parts[1]))
            if len(parts) == 2 and parts[0] == "solutions":
                return api.solution(idx, parts[1])
            raise api.NotFound(f"no route /api/{'/'.join(parts)}")

        def _refuse(self) -> None:
            self._json({"error": "read-only viewer"}, HTTPStatus.METHOD_NOT_ALLOWED)

        do_POST = do_PUT = do_DELETE = do_PATCH = _refuse  # noqa: N815

    return Handler


def make_server(
    dataset: str | Path | None,
    host: str = "127.0.0.1",
    port: int = 8765,
    runs: Sequence[str | Path] = (),
) -> ThreadingHTTPServer:
    """A server bound to host:port (port 0 picks a free one) over ``dataset``, offering ``runs``
    (and the run folders inside ``dataset``) to the compare page; call serve_forever()."""
    found = find_runs(dataset, runs)
    found[0].live.current()  # fail early on a bad dataset
    server = ThreadingHTTPServer((host, port), make_handler(found, host))
    server.daemon_threads = True
    return server
