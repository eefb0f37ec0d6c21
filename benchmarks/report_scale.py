"""Report and viewer speed on a large run: generates N traces (default 20,000) over the embedded
definitions and times `report` (every format) and each viewer API page.

    python benchmarks/report_scale.py --traces 20000 --results benchmarks/results/report_scale.md

Runs on CPU (no GPU involved); the numbers are wall-clock times on the machine named below.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import command_line, md_table  # noqa: E402

from kernel_arena.dataset import load_dataset, write_run_manifest  # noqa: E402
from kernel_arena.files import write_jsonl  # noqa: E402
from kernel_arena.report.render import render_report  # noqa: E402
from kernel_arena.web.server import make_server  # noqa: E402


def generate(out: Path, n: int) -> None:
    ds = load_dataset()
    rng = random.Random(0)
    write_run_manifest(out, None)
    per_def = n // len(ds.definitions)
    for d in ds.definitions.values():
        wls = ds.workloads_for(d.name)
        lines = []
        for i in range(per_def):
            w = wls[i % len(wls)].to_json_dict()
            w["uuid"] = f"{w['uuid']}-{i // len(wls)}"
            sol = f"sol_{i % 10}"
            status = "PASSED" if rng.random() < 0.9 else "INCORRECT_NUMERICAL"
            lat = rng.lognormvariate(-3, 1)
            ev = {
                "status": status,
                "environment": {"hardware": "NVIDIA H100 80GB HBM3", "libs": {"torch": "2.11"}},
                "timestamp": "2026-11-24T00:00:00+00:00",
                "log": "" if status == "PASSED" else "diagnosis: x (P03)",
                "correctness": {"max_relative_error": 0.001, "max_absolute_error": 0.002},
            }
            if status == "PASSED":
                ev["performance"] = {
                    "latency_ms": lat,
                    "reference_latency_ms": 1.0,
                    "speedup_factor": 1.0 / lat,
                    "call_latency_ms": lat * 3,
                    "timing": {"method": "cupti", "spread": 0.01},
                }
            lines.append({"definition": d.name, "workload": w, "solution": sol, "evaluation": ev})
        write_jsonl(out / "traces" / d.op_type / f"{d.name}.jsonl", lines)


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--traces", type=int, default=20000)
    ap.add_argument("--results", default="benchmarks/results/report_scale.md")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        generate(out, args.traces)
        rows = []
        load = timed(lambda: load_dataset(out))
        rows.append(["load run folder", f"{load:.2f}"])
        for fmt in ("table", "md", "csv", "json", "html"):
            t = timed(lambda fmt=fmt: render_report(load_dataset(out), None, fmt, False, None))
            rows.append([f"report --format {fmt} (incl. load)", f"{t:.2f}"])
        srv = make_server(out, "127.0.0.1", 0)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{srv.server_address[1]}"
        name = "gqa_paged_decode_h32_kv8_d128_ps1"
        first = json.loads(urllib.request.urlopen(f"{base}/api/traces?definition={name}").read())["traces"][
            0
        ]["id"]
        for path in (
            "/",
            "/static/app.js",
            "/api/definitions",
            f"/api/definitions/{name}",
            f"/api/definitions/{name}/leaderboard",
            f"/api/traces?definition={name}",
            f"/api/traces/{first}",
        ):
            t = timed(lambda path=path: urllib.request.urlopen(base + path).read())
            rows.append([f"viewer GET {path}", f"{t:.3f}"])
        srv.shutdown()
    text = "\n".join(
        [
            f"# Report and viewer speed on {args.traces} traces",
            "",
            f"Command: `{command_line()}`",
            "",
            f"Machine: {platform.processor() or platform.machine()}, Python {platform.python_version()} (CPU only). "
            "Targets: report under 2 s, each viewer page under 1 s (the viewer loads the dataset once and "
            "reloads only when a trace file changes; API timings are with the dataset loaded).",
            "",
            md_table(["operation", "seconds"], rows),
            "",
        ]
    )
    Path(args.results).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
