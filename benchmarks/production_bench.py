"""The production-shaped comparison of ``attention_decode.py --set production``.

Per batch of ``decode_batches.py``: random q and caches over the batch's pool, its page table;
each implementation's outputs checked against the definition's reference; kernel time by
flashinfer's CUPTI timer (``bench_gpu_time_with_cupti``, cold L2: an L2 flush before every
iteration; median of the timed iterations); host call latency (call + synchronize, median of 50
calls). Implementations:

- ``ours``: the Triton Solution, built through the engine's build step;
- ``flashinfer run()``: flashinfer's wrapper planned once for this page table, outside the timed
  region (its kernels alone, as a serving loop that reuses one plan per step runs them);
- ``flashinfer Solution``: the embedded wrapper Solution, which plans on every call.

Bytes counted for bandwidth: q, the K/V rows referenced, outputs and page table, once each.
"""

from __future__ import annotations

import json
import statistics
import time
import warnings
from pathlib import Path
from typing import Any

import torch
from _common import build_fn, command_line, copy_bandwidth_gbs, environment_line, geomean, md_table
from decode_batches import BUCKETS, OPS, DecodeBatch, decode_batches

OURS, FI_RUN, FI_SOL = "ours", "flashinfer run()", "flashinfer Solution"


def production_inputs(kind: str, b: DecodeBatch, seed: int, device: str = "cuda") -> dict[str, Any]:
    """Inputs of one batch in definition order: random q and caches over b.pool pages."""
    g = torch.Generator(device=device).manual_seed(seed)

    def r(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, device=device, dtype=torch.bfloat16, generator=g)

    table = {
        "kv_indptr": torch.from_numpy(b.indptr).to(device),
        "kv_indices": torch.from_numpy(b.indices).to(device),
        "sm_scale": OPS[kind][2],
    }
    if kind == "gqa":
        return {"q": r(b.batch, 32, 128), "k_cache": r(b.pool, 1, 8, 128), "v_cache": r(b.pool, 1, 8, 128), **table}
    return {"q_nope": r(b.batch, 16, 512), "q_pe": r(b.batch, 16, 64), "ckv_cache": r(b.pool, 1, 512),
            "kpe_cache": r(b.pool, 1, 64), **table}


def cupti_ms(fn, iters: int) -> tuple[float, str]:
    """Median kernel time in ms by flashinfer's CUPTI timer (cold L2), and the method it used."""
    from flashinfer.testing import bench_gpu_time_with_cupti

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        times = bench_gpu_time_with_cupti(fn, dry_run_iters=5, repeat_iters=iters, cold_l2_cache=True)
    fell_back = [str(w.message) for w in caught if "Falling back" in str(w.message)]
    return statistics.median(times), ("cuda_event (" + fell_back[0][:80] + ")") if fell_back else "cupti"


def call_ms(fn, n: int = 50) -> float:
    """Median host time of one call until the device is idle (the device idle before it)."""
    samples = []
    for _ in range(n):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        samples.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(samples)


def _measure(kind: str, b: DecodeBatch, seed: int, fns: dict[str, Any], ref, iters: int, copy_bw: float) -> dict:
    from attention_decode import bytes_moved

    from kernel_arena.measure.compare import Tolerance, compare_output
    from kernel_arena.schema import EvaluationStatus

    inputs = production_inputs(kind, b, seed)
    row: dict[str, Any] = {"case": b.name, "bucket": b.bucket, "batch": b.batch, "tokens": b.total,
                           "pool": b.pool, "max_len": max(b.lengths), "bytes": bytes_moved(kind, inputs)}
    ref_out = ref(*inputs.values())
    impls = dict(fns)
    try:
        from attention_decode import flashinfer_run_only

        impls[FI_RUN] = flashinfer_run_only(kind, inputs)  # planned here, outside the timed region
    except Exception as exc:  # noqa: BLE001 - flashinfer missing or unsupported: the row says so
        row["flashinfer_error"] = str(exc)[:200]
    heads, width = (32, 128) if kind == "gqa" else (16, 512)
    for name, fn in impls.items():
        out = torch.full((b.batch, heads, width), float("nan"), dtype=torch.bfloat16, device="cuda")
        lse = torch.full((b.batch, heads), float("nan"), dtype=torch.float32, device="cuda")
        args = (*inputs.values(), out, lse)
        fn(*args)
        torch.cuda.synchronize()
        ok = all(compare_output(n, o, r, Tolerance(), poisoned=True).status == EvaluationStatus.PASSED
                 for n, o, r in zip(("output", "lse"), (out, lse), ref_out))
        kernel_ms, method = cupti_ms(lambda fn=fn, args=args: fn(*args), iters)
        row[name] = {"ok": bool(ok), "kernel_ms": kernel_ms, "method": method,
                     "call_ms": call_ms(lambda fn=fn, args=args: fn(*args)),
                     "bw_frac": row["bytes"] / (kernel_ms * 1e-3) / 1e9 / copy_bw}
    del inputs
    torch.cuda.empty_cache()
    return row


def run_production(kinds: list[str], results: str, json_path: str | None, per_bucket: int, iters: int,
                   from_json: str | None) -> None:
    """Time every production batch of each op and write the markdown (and JSON) report."""
    if from_json:
        data = json.loads(Path(from_json).read_text())
        write_production_markdown(results, data)
        return
    from attention_decode import DEFS

    from kernel_arena.dataset import load_dataset
    from kernel_arena.measure.reference import load_reference

    t0 = time.time()
    copy_bw = copy_bandwidth_gbs()
    ds = load_dataset()
    data: dict[str, Any] = {"copy_bw_gbs": copy_bw, "environment": environment_line(), "command": command_line(),
                            "iters": iters, "rows": {}}
    for kind in kinds:
        def_name, sols = DEFS[kind]
        ref = load_reference(ds.definitions[def_name])
        fns = {OURS: build_fn(sols[0]), FI_SOL: build_fn(sols[1])}
        data["rows"][kind] = []
        for i, b in enumerate(decode_batches(kind, per_bucket)):
            row = _measure(kind, b, 1000 + i, fns, ref, iters, copy_bw)
            data["rows"][kind].append(row)
            print(kind, json.dumps(row)[:300], flush=True)
            if json_path:  # after every batch: a run cut short keeps what it measured
                Path(json_path).write_text(json.dumps(data, indent=1))
    data["wall_s"] = time.time() - t0
    if json_path:
        Path(json_path).write_text(json.dumps(data, indent=1))
    write_production_markdown(results, data)


def _ratio(r: dict, num: str, den: str) -> float | None:
    if r.get(num) and r.get(den):
        return r[num]["kernel_ms"] / r[den]["kernel_ms"]
    return None


def summary_rows(rows: list[dict]) -> list[list[Any]]:
    """Per bucket and overall: count, wins, geo-means of kernel time and of flashinfer run() / ours,
    median bandwidth shares, median call latencies."""
    out = []
    groups = [(f"{k} (batch {v[0]})", [r for r in rows if r["bucket"] == k]) for k, v in BUCKETS.items()]
    for label, rs in [*groups, ("all", rows)]:
        if not rs:
            continue
        ratios = [x for x in (_ratio(r, FI_RUN, OURS) for r in rs) if x]

        def gm(name: str, rs: list[dict] = rs) -> str:
            v = geomean([r[name]["kernel_ms"] for r in rs if r.get(name)])
            return "-" if v is None else f"{v * 1e3:.1f}"

        def med(name: str, key: str, scale: float, rs: list[dict] = rs) -> str:
            v = [r[name][key] for r in rs if r.get(name)]
            return "-" if not v else f"{statistics.median(v) * scale:.0f}" if key == "bw_frac" else \
                f"{statistics.median(v) * scale:.1f}"

        ratio = geomean(ratios)
        out.append([label, len(rs), f"{sum(x > 1 for x in ratios)} of {len(ratios)}", gm(OURS), gm(FI_RUN), gm(FI_SOL),
                    "-" if ratio is None else f"**{ratio:.2f}x**",
                    f"{min(ratios):.2f}–{max(ratios):.2f}x" if ratios else "-",
                    med(OURS, "bw_frac", 100), med(FI_RUN, "bw_frac", 100),
                    med(OURS, "call_ms", 1e3), med(FI_RUN, "call_ms", 1e3), med(FI_SOL, "call_ms", 1e3)])
    return out


def write_production_markdown(path: str, data: dict) -> None:
    from attention_decode import DEFS

    copy_bw = data["copy_bw_gbs"]
    methods = sorted({v["method"] for rs in data["rows"].values() for r in rs for v in r.values()
                      if isinstance(v, dict) and "method" in v})
    lines = [
        "# Paged attention decode on production-shaped batches: Triton vs flashinfer",
        "",
        f"Command: `{data['command']}`",
        "",
        f"Environment: {data['environment']}",
        "",
        "Batches: `benchmarks/decode_batches.py` (fixed seeds; batch 1 with 2–3,000 KV tokens, batch 16 with "
        "450–21,000 in total, batch 64 with 10,000–75,000; one sequence in eight 10–50x longer than the "
        "lognormal rest; page indices scattered over a pool 2–12x the pages used).",
        "",
        "What is compared, all in one process on the same inputs: *ours* = the Triton Solution; *flashinfer "
        "run()* = flashinfer's wrapper planned once per batch outside the timed region (its kernels alone); "
        "*flashinfer Solution* = the embedded wrapper Solution, which plans on every call (its time includes "
        "the plan's host-to-device copies). Kernel time: flashinfer's own CUPTI timer "
        f"(`flashinfer.testing.bench_gpu_time_with_cupti`, cold L2), median of {data['iters']} timed "
        f"iterations after 5 dry runs; timing method recorded: {', '.join(methods) or '-'}. Ratios are "
        "flashinfer run() kernel time / ours (above 1: ours faster). Call latency: host time of one call "
        "until the device is idle, median of 50. BW% = bytes (q, referenced K/V rows, outputs, page table) / "
        f"kernel time / the measured device-to-device copy bandwidth, {copy_bw:.0f} GB/s (read + write). "
        f"Whole script: {data.get('wall_s', 0):.0f} s.",
        "",
    ]
    for kind, rows in data["rows"].items():
        def_name = DEFS[kind][0]
        lines += [f"## {def_name}", "", "Summary (geo-means of kernel time; medians of BW% and call latency):", "",
                  md_table(["bucket", "batches", "won", "ours µs", "flashinfer run() µs", "flashinfer Solution µs",
                            "flashinfer run() / ours", "range", "ours BW%", "flashinfer run() BW%",
                            "ours call µs", "flashinfer run() call µs", "flashinfer Solution call µs"],
                           summary_rows(rows)), "", "Per batch:", ""]
        table = []
        for r in rows:
            def cell(name, key, scale=1e3, fmt="{:.1f}", r=r):
                v = (r.get(name) or {}).get(key)
                return "-" if v is None else fmt.format(v * scale)

            ratio = _ratio(r, FI_RUN, OURS)
            oks = all(v["ok"] for v in r.values() if isinstance(v, dict))
            table.append([r["case"], r["batch"], r["tokens"], r["max_len"], cell(OURS, "kernel_ms"),
                          cell(FI_RUN, "kernel_ms"), cell(FI_SOL, "kernel_ms"),
                          "-" if ratio is None else f"{ratio:.2f}x", cell(OURS, "bw_frac", 100, "{:.0f}"),
                          cell(FI_RUN, "bw_frac", 100, "{:.0f}"), cell(OURS, "call_ms"), cell(FI_RUN, "call_ms"),
                          "yes" if oks else "NO"])
        lines += [md_table(["case", "batch", "KV tokens", "longest", "ours µs", "flashinfer run() µs",
                            "flashinfer Solution µs", "flashinfer run() / ours", "ours BW%", "flashinfer run() BW%",
                            "ours call µs", "flashinfer run() call µs", "correct"], table), ""]
    lines += ["'correct': all three implementations matched the reference (every production sequence has at "
              "least one token, so flashinfer run()'s lse of empty sequences never comes up).", ""]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
