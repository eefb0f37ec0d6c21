"""Where the kernel time of one call goes: each kernel's start offset and duration (CUPTI).

    python benchmarks/kernel_breakdown.py --cases gqa:1:4096,mla:1:4096,mla:16:256

For each case (op kind : batch : KV tokens per sequence) the embedded Triton Solution is called
20 times between marker kernels with a cold L2, as ``kernel_arena.measure.timing`` does; per
kernel position in the call the median start offset (from the call's first kernel) and median
duration are printed, so a gap between two launches (host launch cost showing on the GPU) or
a slow merge stands out. Evidence for the limits named in ``attention_decode.md``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import empty_outputs  # noqa: E402
from attention_decode import DEFS, sweep_inputs  # noqa: E402

from kernel_arena.dataset import load_dataset  # noqa: E402
from kernel_arena.engine.sandbox.build import build_solution  # noqa: E402
from kernel_arena.measure.timing import _gpu_events, _marker, call_activities, make_flush  # noqa: E402


def breakdown(fn, device: torch.device, calls: int = 20) -> list[tuple[str, float, float]]:
    """(kernel name, median start offset µs, median duration µs) per kernel position."""
    from torch.profiler import ProfilerActivity, profile

    flush = make_flush(device)
    mark = _marker(device)
    for _ in range(3):
        flush()
        fn()
    torch.cuda.synchronize(device)
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(calls):
            mark()
            flush()
            fn()
        mark()
        torch.cuda.synchronize(device)
    per_call = call_activities(_gpu_events(prof))
    width = min(len(c) for c in per_call)
    rows = []
    for i in range(width):
        offsets = [(c[i][1] - c[0][1]) / 1e3 for c in per_call]
        durations = [(c[i][2] - c[i][1]) / 1e3 for c in per_call]
        rows.append((per_call[0][i][0][:60], statistics.median(offsets), statistics.median(durations)))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cases", default="gqa:1:4096,gqa:16:256,mla:1:128,mla:1:4096,mla:16:256")
    args = ap.parse_args()
    ds = load_dataset()
    device = torch.device("cuda:0")
    for case in args.cases.split(","):
        kind, batch, kv = case.split(":")
        def_name, sols = DEFS[kind]
        definition = ds.definitions[def_name]
        built = build_solution(ds.solution(sols[0]))
        inputs = sweep_inputs(kind, int(batch), int(kv), int(batch) + int(kv))
        outs = empty_outputs(definition, int(batch), device)
        rows = breakdown(lambda: built.fn(*inputs.values(), *outs), device)
        end = max(o + d for _, o, d in rows)
        module = sys.modules[built.fn.__module__]
        launchers = {
            n: (v.enabled, len(v.compiled)) for n, v in vars(module).items() if type(v).__name__ == "FastLaunch"
        }
        print(f"{case}: span {end:.1f} µs; thin launchers (enabled, kernels cached): {launchers}")
        for name, offset, duration in rows:
            print(f"    +{offset:6.1f} µs  {duration:6.1f} µs  {name}")


if __name__ == "__main__":
    main()
