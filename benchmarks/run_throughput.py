"""Throughput of `kernel-arena run` at its default settings on slow, loop-over-the-batch references.

    python benchmarks/run_throughput.py --out runs/throughput --results benchmarks/results/run_throughput.md
    python benchmarks/run_throughput.py --device cpu --ops gqa --buckets b1=16,b16=4,b64=2 \\
        --solutions gqa_paged_decode_torch --out runs/throughput_cpu --results benchmarks/results/run_throughput_cpu.md

Builds a benchmark dataset: the embedded definitions with their references replaced by the
per-sequence loops of ``loop_references.py`` (as the public flashinfer-trace definitions are
written), the production-shaped decode batches of ``decode_batches.py`` for GQA and MLA, and the
embedded GPU workloads for GDN. Runs the embedded Solutions on it (by path) with the default
timing (budgeted counts, reference under its own budget; the definitions' baselines run first),
and reports wall time per (solution, workload) from the run's own start/finish events, the whole
run's wall time, and the counts the budget chose. A fresh run folder each time: the reference
cache starts empty, as in a user's first run.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import decode_batches  # noqa: E402
import loop_references  # noqa: E402
from _common import command_line, environment_line, md_table, write_results  # noqa: E402

import kernel_arena  # noqa: E402
from kernel_arena.builtin.generate import DATASET  # noqa: E402
from kernel_arena.engine.run import RunListener  # noqa: E402

OP_TYPES = {"gqa": "gqa_paged", "mla": "mla_paged", "gdn": "gdn"}


def build_dataset(out: Path, ops: list[str], buckets: dict[str, int]) -> Path:
    """The benchmark dataset folder (definitions with loop references, production workloads)."""
    if out.exists():
        shutil.rmtree(out)
    attention = [op for op in ops if op in decode_batches.OPS]
    if attention:
        decode_batches.write_dataset(out, tuple(attention), max(buckets.values()))
        for op in attention:
            _keep_bucket_counts(out, op, buckets)
    if "gdn" in ops:
        for kind in ("definitions", "workloads"):
            src = next((DATASET / kind / "gdn").iterdir())
            dst = out / kind / "gdn" / src.name
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
    for path in (out / "definitions").rglob("*.json"):
        d = json.loads(path.read_text())
        d["reference"] = loop_references.BY_OP_TYPE[d["op_type"]]
        path.write_text(json.dumps(d, indent=2) + "\n")
    return out


def _keep_bucket_counts(out: Path, op: str, buckets: dict[str, int]) -> None:
    definition, op_type, _, _ = decode_batches.OPS[op]
    path = out / "workloads" / op_type / f"{definition}.jsonl"
    kept, seen = [], defaultdict(int)
    for line in path.read_text().splitlines():
        tags = json.loads(line)["workload"].get("tags", [])
        bucket = next((t.split(":", 1)[1] for t in tags if t.startswith("bucket:")), "")
        if seen[bucket] < buckets.get(bucket, 0):
            seen[bucket] += 1
            kept.append(line)
    path.write_text("".join(x + "\n" for x in kept))


class Clock(RunListener):
    def __init__(self) -> None:
        self.started_at: dict[tuple[str, str], float] = {}
        self.wall: dict[tuple[str, str], float] = {}

    def started(self, job, workload, device) -> None:  # noqa: D102
        self.started_at[(job.solution.name, workload.uuid)] = time.perf_counter()

    def finished(self, trace) -> None:  # noqa: D102
        key = (trace.solution, trace.workload.uuid)
        self.wall[key] = time.perf_counter() - self.started_at[key]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="runs/throughput")
    ap.add_argument("--device", default=None)
    ap.add_argument("--ops", default="gqa,mla,gdn")
    ap.add_argument("--buckets", default="b1=8,b16=8,b64=8", help="workloads per size bucket (GQA/MLA)")
    ap.add_argument("--solutions", default="", help="comma-separated embedded Solution names (default: all)")
    ap.add_argument("--results", default="benchmarks/results/run_throughput.md")
    args = ap.parse_args()
    ops = [o for o in args.ops.split(",") if o]
    buckets = {k: int(v) for k, v in (x.split("=") for x in args.buckets.split(","))}
    out = Path(args.out)
    root = build_dataset(out / "dataset", ops, buckets)
    embedded = kernel_arena.load_dataset(DATASET)
    wanted = [s for s in args.solutions.split(",") if s]
    folders = [
        str(embedded.files[("solution", s.name)].parent)
        for s in embedded.solutions.values()
        if s.definition in {d.name for d in kernel_arena.load_dataset(root).definitions.values()}
        and (not wanted or s.name in wanted)
    ]
    run_folder = out / "run"
    shutil.rmtree(run_folder, ignore_errors=True)
    clock = Clock()
    t0 = time.perf_counter()
    result = kernel_arena.run(
        dataset=root, solutions=folders, out=run_folder, device=args.device, workload_tags=["all"], listener=clock
    )
    total = time.perf_counter() - t0
    by_solution: dict[str, list[float]] = defaultdict(list)
    statuses: dict[str, int] = defaultdict(int)
    counts: dict[str, set[str]] = defaultdict(set)
    ref_ms: list[float] = []
    for t in result.traces:
        by_solution[t.solution].append(clock.wall[(t.solution, t.workload.uuid)])
        statuses[t.evaluation.status.value] += 1
        perf = t.evaluation.performance
        if perf is not None:
            timing = (perf.model_extra or {}).get("timing") or {}
            counts[t.solution].add(f"{timing.get('warmup')}+{timing.get('trials')}x{timing.get('iters')}")
            ref_ms.append(timing.get("harness_ms", {}).get("reference_timing", 0.0))
    pairs = [w for ws in by_solution.values() for w in ws]
    rows = [
        [s, len(ws), f"{statistics.median(ws):.2f}", f"{max(ws):.2f}", ", ".join(sorted(counts[s]))]
        for s, ws in sorted(by_solution.items())
    ]
    lines = [
        "# Throughput of `kernel-arena run` at default settings, loop references",
        "",
        f"Command: `{command_line()}`",
        "",
        f"Environment: {environment_line()}",
        "",
        f"Dataset: ops {', '.join(ops)}; GQA/MLA production-shaped batches per bucket {buckets}; "
        "references loop over the batch in Python (`benchmarks/loop_references.py`); a fresh run folder "
        "(empty reference cache).",
        "",
        f"**{len(pairs)} (solution, workload) pairs in {total:.1f} s wall; per pair: median "
        f"{statistics.median(pairs):.2f} s, mean {statistics.fmean(pairs):.2f} s, max {max(pairs):.2f} s.** "
        f"Statuses: {dict(statuses)}. Reference timing per pair (judge phase, ms): median "
        f"{statistics.median(ref_ms) if ref_ms else 0:.0f}, max {max(ref_ms, default=0):.0f}.",
        "",
        md_table(["solution", "pairs", "median s", "max s", "counts used (warm-up + trials x iters)"], rows),
    ]
    write_results(args.results, "\n".join(lines))


if __name__ == "__main__":
    main()
