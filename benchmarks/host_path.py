"""Where the host time of one Triton GQA/MLA decode call goes, and what a call costs end to end.

    python benchmarks/host_path.py --results benchmarks/results/host_path.md

For each op on two embedded workloads it measures, in one process on the GPU:
- enqueue time (host time of one call, no synchronization) of the Solution's `run`, of `decode`
  with the plan given, of the thin launcher with prepared arguments, and of the compiled
  kernel's own launcher; the differences say what planning, scratch lookup, argument handling
  and the launch itself cost;
- the two ways of asking torch for the current stream;
- call latency as the engine measures it (flush, synchronize, call, synchronize) for our
  Solution, the flashinfer wrapper Solution, flashinfer's run() alone (planned outside), and a
  one-element torch fill (the floor: one launch plus two synchronizations).
Medians of many calls; host timings are perf_counter_ns.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import build_fn, command_line, empty_outputs, environment_line, md_table, write_results  # noqa: E402
from attention_decode import DEFS, flashinfer_run_only  # noqa: E402

from kernel_arena.dataset import load_dataset  # noqa: E402
from kernel_arena.measure.inputs import materialize_inputs  # noqa: E402
from kernel_arena.measure.timing import flush_bytes, make_flush  # noqa: E402

WORKLOADS = ("gpu_b1_kv4096", "gpu_b64_kv2048")


def enqueue_us(fn: Callable[[], Any], n: int = 400) -> float:
    """Median host time of one call, no synchronization (the GPU queue never fills at n=400)."""
    samples = []
    for i in range(n):
        if i % 100 == 0:
            torch.cuda.synchronize()
        t0 = time.perf_counter_ns()
        fn()
        samples.append(time.perf_counter_ns() - t0)
    torch.cuda.synchronize()
    return statistics.median(samples) / 1e3


def call_us(fn: Callable[[], Any], flush: Callable[[], None], n: int = 60) -> float:
    """Median call latency the way the engine's timing measures it."""
    samples = []
    for _ in range(n):
        flush()
        torch.cuda.synchronize()
        t0 = time.perf_counter_ns()
        fn()
        torch.cuda.synchronize()
        samples.append(time.perf_counter_ns() - t0)
    return statistics.median(samples) / 1e3


class Recorder:
    """Stands in for a module's thin launcher for one call to capture what it was given."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.last: tuple | None = None

    def __call__(self, grid, args, constexprs, **options):
        self.last = (grid, args, constexprs, options)
        return self.inner(grid, args, constexprs, **options)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--results", default="benchmarks/results/host_path.md")
    args = ap.parse_args()
    ds = load_dataset()
    dev = torch.device("cuda")
    flush = make_flush(dev, flush_bytes(dev))
    tiny = torch.zeros(1, device=dev)
    rows = []
    stream_rows = [
        ["torch.cuda.current_stream().cuda_stream", f"{enqueue_us(lambda: torch.cuda.current_stream().cuda_stream):.2f}"],
        [
            "torch._C._cuda_getCurrentRawStream(device)",
            f"{enqueue_us(lambda: torch._C._cuda_getCurrentRawStream(torch.cuda.current_device())):.2f}",
        ],
    ]
    floor = call_us(lambda: tiny.fill_(1.0), flush)
    for kind, (def_name, sols) in DEFS.items():
        definition = ds.definitions[def_name]
        ours = build_fn(sols[0])
        module = sys.modules[ours.__module__]
        wrapper = build_fn(sols[1])
        for name in WORKLOADS:
            w = next(w for w in ds.workloads_for(def_name) if (w.model_extra or {}).get("name") == name)
            inputs = materialize_inputs(definition, w, "cuda", 5, ds.root)
            batch = inputs["kv_indptr"].numel() - 1
            outs = empty_outputs(definition, batch, dev)
            vals = list(inputs.values())
            ours(*vals, *outs)  # compile, allocate scratch, cache the plan (and prepare the launch)
            plan = list(getattr(module, "_PLANS", {}).values())[-1]  # this workload's, the newest
            if kind == "mla":  # (chunk, merge_heads)
                pos, kw = (plan[0],), {"merge_heads": plan[1]}
            else:  # (chunk, BLOCK_N, num_warps, num_stages, prefetch)
                pos, kw = tuple(plan), {}
            recorder = Recorder(module._DECODE)
            module._DECODE = recorder
            module.decode(*vals, *outs, *pos, **kw)  # the full path, to capture its launch
            module._DECODE = recorder.inner
            grid, largs, constexprs, options = recorder.last
            launcher = recorder.inner
            compiled = next(iter(launcher.compiled.values()))
            names = launcher.names
            values = [*largs, *(constexprs[n] for n in names[len(largs) :])]
            stream = torch.cuda.current_stream().cuda_stream
            g = (*grid, 1, 1)
            timings = {
                "run": enqueue_us(lambda: ours(*vals, *outs)),
                "decode": enqueue_us(lambda: module.decode(*vals, *outs, *pos, **kw)),
                "launcher": enqueue_us(lambda: launcher(grid, largs, constexprs, **options)),
                "compiled.run": enqueue_us(
                    lambda: compiled.run(
                        g[0], g[1], g[2], stream, compiled.function, compiled.packed_metadata, None, None, None,
                        *values,
                    )
                ),
                "triton launch": enqueue_us(lambda: launcher.jit_fn[grid](*largs, **constexprs, **options)),
            }
            try:
                fi = flashinfer_run_only(kind, inputs)
                fi_call = call_us(lambda: fi(*vals, *outs), flush)
            except Exception as exc:  # noqa: BLE001 - flashinfer not installed
                print("flashinfer run() unavailable:", exc)
                fi_call = None
            ours_call = call_us(lambda: ours(*vals, *outs), flush)
            wrapper_call = call_us(lambda: wrapper(*vals, *outs), flush)
            rows.append(
                [
                    kind,
                    name,
                    f"{timings['run']:.1f}",
                    f"{timings['decode']:.1f}",
                    f"{timings['launcher']:.1f}",
                    f"{timings['compiled.run']:.1f}",
                    f"{timings['triton launch']:.1f}",
                    f"{ours_call:.1f}",
                    "-" if fi_call is None else f"{fi_call:.1f}",
                    f"{wrapper_call:.1f}",
                    f"{wrapper_call / ours_call:.2f}x",
                ]
            )
            print(rows[-1], flush=True)
    text = "\n".join(
        [
            "# Host path of the Triton decode Solutions",
            "",
            f"Command: `{command_line()}`",
            "",
            f"Environment: {environment_line()}",
            "",
            "Enqueue µs: host time of one call without synchronization (median of 400). *run* is the "
            "Solution's entry point (for GQA, a launch prepared on the shape's first call); *decode* the "
            "full path with the plan passed in (launch arguments, scratch lookup, thin launcher); *thin launcher* the "
            "cached-kernel launch with prepared arguments; *compiled.run* Triton's compiled launcher "
            "alone; *triton launch* the normal `kernel[grid](...)` path. Call µs: flush, synchronize, "
            "call, synchronize (median of 60), as the engine measures call latency.",
            "",
            md_table(
                [
                    "op",
                    "workload",
                    "run",
                    "decode",
                    "thin launcher",
                    "compiled.run",
                    "triton launch",
                    "ours call",
                    "flashinfer run() call",
                    "flashinfer Solution call",
                    "Solution / ours",
                ],
                rows,
            ),
            "",
            f"Floor: a one-element torch fill, timed as a call: {floor:.1f} µs.",
            "",
            md_table(["current stream handle", "µs"], stream_rows),
            "",
        ]
    )
    write_results(args.results, text)


if __name__ == "__main__":
    main()
