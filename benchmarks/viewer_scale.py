"""Viewer speed on a big run folder: generates N traces (default 100,000) over the embedded
definitions, starts the real viewer server on it and times, through HTTP, what a user waits for:
the start (loading the folder), the first and a repeated leaderboard, the trace list, and the same
pages after one trace is appended to a trace file (what a running `kernel-arena run` does).

    python benchmarks/viewer_scale.py --traces 100000 --results benchmarks/results/viewer_scale.md

Runs on CPU (no GPU involved); wall-clock seconds on the machine named in the output. It uses
only the viewer's public routes, so the same script measures an older checkout too
(``PYTHONPATH=<checkout>/src``); the output names the code it measured.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report_scale import generate  # noqa: E402

import kernel_arena  # noqa: E402
from kernel_arena.files import append_jsonl  # noqa: E402
from kernel_arena.web.server import make_server  # noqa: E402

NAME = "gqa_paged_decode_h32_kv8_d128_ps1"
OP_TYPE = "gqa_paged"


def code_version() -> str:
    """The checkout whose kernel_arena is imported, with its commit."""
    src = Path(kernel_arena.__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "-C", str(src), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(src), "status", "--porcelain", "--", "."], capture_output=True, text=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return str(src)
    return f"{src} at commit {commit}{' (with uncommitted changes)' if dirty else ''}"


def timed_get(url: str) -> tuple[float, bytes]:
    t0 = time.perf_counter()
    with urllib.request.urlopen(url, timeout=600) as r:
        body = r.read()
    return time.perf_counter() - t0, body


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--traces", type=int, default=100_000)
    ap.add_argument("--results", default="benchmarks/results/viewer_scale.md")
    ap.add_argument("--code", help="How to name the measured code when it is not a git checkout.")
    args = ap.parse_args()
    rows: list[tuple[str, float]] = []
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        generate(out, args.traces)
        t0 = time.perf_counter()
        srv = make_server(out, "127.0.0.1", 0)
        rows.append(("start the viewer (load the folder)", time.perf_counter() - t0))
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{srv.server_address[1]}"
        leaderboard = f"{base}/api/definitions/{NAME}/leaderboard"
        rows.append(("GET /api/definitions", timed_get(f"{base}/api/definitions")[0]))
        rows.append(("GET leaderboard (first)", timed_get(leaderboard)[0]))
        rows.append(("GET leaderboard (again)", timed_get(leaderboard)[0]))
        rows.append(
            (f"GET /api/traces?definition={NAME}", timed_get(f"{base}/api/traces?definition={NAME}")[0])
        )
        # One new trace, as a running `kernel-arena run` appends it.
        _, body = timed_get(f"{base}/api/traces?definition={NAME}")
        first = json.loads(body)["traces"][0]["id"]
        trace = json.loads(timed_get(f"{base}/api/traces/{first}")[1])
        trace["workload"]["uuid"] += "-appended"
        append_jsonl(out / "traces" / OP_TYPE / f"{NAME}.jsonl", [trace])
        rows.append(
            (
                "GET /api/definitions after appending 1 trace (reads it)",
                timed_get(f"{base}/api/definitions")[0],
            )
        )
        rows.append(("GET leaderboard after the append", timed_get(leaderboard)[0]))
        total = json.loads(timed_get(f"{base}/api/traces?definition={NAME}")[1])["total"]
        srv.shutdown()
        srv.server_close()
    load_after = os.getloadavg()[0]
    lines = [
        f"# Viewer speed on a run folder of {args.traces:,} traces",
        "",
        f"Command: `python {shlex.join(sys.argv)}`",
        "",
        f"Code: `{code_version()}`" + (f" ({args.code})" if args.code else ""),
        "",
        f"Machine: {platform.processor() or platform.machine()}, Python {platform.python_version()} "
        "(CPU only; wall-clock seconds of each HTTP request, one client; 1-minute load average "
        f"{load_before:.1f} before and {load_after:.1f} after, on a machine shared with other jobs). "
        f"Folder: {args.traces:,} traces over the 3 embedded definitions, 10 solutions each "
        f"(`benchmarks/report_scale.py`'s generator); {total:,} latest traces of {NAME} after the append.",
        "",
        "| operation | seconds |",
        "|---|---|",
        *[f"| {what} | {sec:.3f} |" for what, sec in rows],
        "",
    ]
    text = "\n".join(lines)
    Path(args.results).parent.mkdir(parents=True, exist_ok=True)
    Path(args.results).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
