"""The viewer's HTTP server (stdlib, threaded, read-only, localhost by default).

Only fixed routes exist: the API of ``api.py`` and a fixed set of bundled static files, so no
request can reach a file outside the package's assets or the loaded dataset (path traversal is
answered 404). The dataset is reloaded when a trace file changes, so a running ``kernel-arena
run`` shows up without a restart. Methods other than GET/HEAD get 405.
"""

from __future__ import annotations

import json
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from kernel_arena.dataset import Dataset, load_dataset
from kernel_arena.web import api

STATIC = Path(__file__).resolve().parent / "static"
ASSETS = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/static/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/static/app.css": ("app.css", "text/css; charset=utf-8"),
}


class DatasetHolder:
    """The loaded dataset, reloaded when its trace files change."""

    def __init__(self, path: str | Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[Any, ...] = ()
        self._ds: Dataset | None = None

    def _signature(self, ds: Dataset | None) -> tuple[Any, ...]:
        root = (ds.trace_root if ds else Path(str(self.path))) / "traces"
        if not root.is_dir():
            return ()
        return tuple(sorted((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in root.rglob("*.jsonl")))

    def get(self) -> Dataset:
        with self._lock:
            sig = self._signature(self._ds)
            if self._ds is None or sig != self._stamp:
                self._ds = load_dataset(self.path)
                self._stamp = self._signature(self._ds)
            return self._ds


def make_handler(holder: DatasetHolder) -> type[BaseHTTPRequestHandler]:
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
            self._send(status, json.dumps(obj).encode(), "application/json")

        def do_HEAD(self) -> None:  # noqa: N802
            self.do_GET()

        def do_GET(self) -> None:  # noqa: N802
            url = urlparse(self.path)
            path = unquote(url.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            if path in ASSETS:
                name, ctype = ASSETS[path]
                self._send(200, (STATIC / name).read_bytes(), ctype)
                return
            if not path.startswith("/api/"):
                self._json({"error": "not found"}, 404)
                return
            try:
                self._json(self._route(path, query))
            except api.NotFound as exc:
                self._json({"error": str(exc)}, 404)
            except (ValueError, TypeError) as exc:
                self._json({"error": str(exc)}, 400)

        def _route(self, path: str, q: dict[str, str]) -> Any:
            parts = [p for p in path.split("/") if p][1:]  # drop "api"
            if parts == ["openapi.json"]:
                return api.OPENAPI
            ds = holder.get()
            if parts == ["definitions"]:
                return api.definitions(ds, q.get("q", ""), q.get("op_type", ""), q.get("tag", ""))
            if len(parts) == 2 and parts[0] == "definitions":
                return api.definition(ds, parts[1])
            if len(parts) == 3 and parts[0] == "definitions" and parts[2] == "leaderboard":
                return api.leaderboard_view(ds, parts[1])
            if parts == ["traces"]:
                return api.trace_list(ds, q.get("definition", ""), q.get("solution", ""), q.get("status", ""))
            if len(parts) == 2 and parts[0] == "traces":
                if not parts[1].isdigit():
                    raise api.NotFound(f"no trace {parts[1]!r}")
                return api.trace_detail(ds, int(parts[1]))
            if len(parts) == 2 and parts[0] == "solutions":
                return api.solution(ds, parts[1])
            raise api.NotFound(f"no route {path}")

        def _refuse(self) -> None:
            self._json({"error": "read-only viewer"}, HTTPStatus.METHOD_NOT_ALLOWED)

        do_POST = do_PUT = do_DELETE = do_PATCH = _refuse  # noqa: N815

    return Handler


def make_server(dataset: str | Path | None, host: str = "127.0.0.1", port: int = 8765) -> ThreadingHTTPServer:
    """A server bound to host:port (port 0 picks a free one); call serve_forever()."""
    holder = DatasetHolder(dataset)
    holder.get()  # fail early on a bad dataset
    server = ThreadingHTTPServer((host, port), make_handler(holder))
    server.daemon_threads = True
    return server
