"""Run every Solution of the embedded dataset on its GPU workloads through `kernel-arena run`,
and write benchmarks/results/seed_solutions.md.

    python benchmarks/seed_solutions.py --out runs/seed --results benchmarks/results/seed_solutions.md

Per definition × solution: pass count, geo-mean speedup over the reference, median kernel time
(CUPTI) and host-inclusive call latency on small / medium / large workloads.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import command_line, environment_line, fmt_us, fmt_x, geomean, md_table, write_results  # noqa: E402

import kernel_arena  # noqa: E402
from kernel_arena.engine.run import RunListener  # noqa: E402
from kernel_arena.schema import EvaluationStatus, Trace  # noqa: E402


def size_class(trace: Trace) -> str:
    axes = trace.workload.axes
    if "num_kv_indices" in axes:
        tokens = axes["num_kv_indices"]
        return "small" if tokens < 2048 else ("medium" if tokens < 20000 else "large")
    batch = axes.get("batch_size", 1)
    return "small" if batch <= 4 else ("medium" if batch <= 16 else "large")


class Echo(RunListener):
    def finished(self, trace: Trace) -> None:
        ev = trace.evaluation
        perf = ev.performance if ev else None
        name = (trace.workload.model_extra or {}).get("name", trace.workload.uuid[:8])
        print(
            f"{trace.solution:32s} {name:24s} {ev.status.value if ev else '?':20s} "
            f"{fmt_us(perf.latency_ms) if perf else '-':>9} us",
            flush=True,
        )
        if ev and ev.status != EvaluationStatus.PASSED:
            print("   " + ev.log[:2000].replace("\n", "\n   "), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default="runs/seed")
    ap.add_argument("--results", default="benchmarks/results/seed_solutions.md")
    ap.add_argument("--device", default=None)
    ap.add_argument("--solution", action="append")
    ap.add_argument("--definition", action="append")
    args = ap.parse_args()
    t0 = time.time()
    result = kernel_arena.run(
        out=args.out,
        device=args.device,
        solutions=args.solution,
        definitions=args.definition,
        listener=Echo(),
    )
    wall = time.time() - t0
    ds = kernel_arena.load_dataset(args.out)
    rows = []
    groups: dict[tuple[str, str], list[Trace]] = {}
    for t in ds.traces:
        groups.setdefault((t.definition, t.solution or ""), []).append(t)
    for (definition, solution), traces in sorted(groups.items()):
        passed = [t for t in traces if t.evaluation and t.evaluation.status == EvaluationStatus.PASSED]
        cells = []
        for cls in ("small", "medium", "large"):
            sel = [t for t in passed if size_class(t) == cls]
            k = [t.evaluation.performance.latency_ms for t in sel]
            c = [t.evaluation.performance.model_extra.get("call_latency_ms", 0) for t in sel]
            cells.append(
                f"{fmt_us(statistics.median(k)) if k else '-'} / {fmt_us(statistics.median(c)) if c else '-'}"
            )
        sp = geomean([t.evaluation.performance.speedup_factor for t in passed])
        rows.append([definition, solution, f"{len(passed)}/{len(traces)}", fmt_x(sp), *cells])
    methods = sorted(
        {
            (t.evaluation.performance.model_extra or {}).get("timing", {}).get("method", "?")
            for t in ds.traces
            if t.evaluation and t.evaluation.performance
        }
    )
    text = "\n".join(
        [
            "# Seed solutions on the embedded GPU workloads",
            "",
            f"Command: `{command_line()}`",
            "",
            f"Environment: {environment_line()}",
            "",
            f"Kernel-time method: {', '.join(methods)} (cold L2, median of 3 trials × 50 calls); call "
            "latency = host wall time of one call until the device is idle.",
            f"Whole run: {wall:.0f} s for {len(result.traces)} evaluations "
            f"({result.already_done} already traced).",
            "",
            "Cells: median kernel time / median call latency in µs. Small < 2k KV tokens (GDN: batch ≤ 4), "
            "medium < 20k (batch ≤ 16), large ≥ 20k (batch ≥ 64).",
            "",
            md_table(
                [
                    "definition",
                    "solution",
                    "passed",
                    "geo-mean speedup vs reference",
                    "small",
                    "medium",
                    "large",
                ],
                rows,
            ),
            "",
        ]
    )
    write_results(args.results, text)


if __name__ == "__main__":
    main()
