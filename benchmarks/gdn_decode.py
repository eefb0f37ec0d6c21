"""Gated DeltaNet decode on the GPU: our fused Triton kernel against FLA's recurrent kernel called
directly, and our Solution against the FLA wrapper Solution and the PyTorch baseline, side by side
in one process on the same inputs.

    python benchmarks/gdn_decode.py --results benchmarks/results/gdn_decode.md
    python benchmarks/gdn_decode.py --sweep benchmarks/results/gdn_decode_sweep.md

Batches 1 to 1024. Kernel time: CUPTI (first kernel start to last kernel end of one call, cold
L2); call latency: host wall time until the device is idle. Bandwidth: the fp32 state read and
written (B x 8 x 128 x 128 x 4 x 2 bytes) plus q/k/v/gates/output, over kernel time, against the
measured copy bandwidth.

FLA's kernel is called directly (``fla.ops.gated_delta_rule.fused_recurrent_gated_delta_rule``),
its arguments prepared outside the timed region, in two set-ups: ``v-first`` hands it our inputs
as they are (the k-last state is FLA's ``state_v_first`` layout; gate, sigmoid and the q/k head
grouping computed in its kernel: the same work as ours), ``k-first`` gives it its default
[B, H, K, V] state (pre-transposed) and the gates precomputed in log space. The kernel-against-
kernel ratio takes the faster of the two at each batch.

``--sweep`` times our kernel's launch options (row tile BLOCK_V, warps, the reduction order, an
eviction hint) at every batch with the same timer and writes one table. ``--sweep-walk`` times,
from batch 32 on, programs that walk 1, 2, 4 or 8 row tiles with the next tile's load issued
ahead (fewer, longer programs), against FLA's kernel.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import build_fn, command_line, copy_bandwidth_gbs, environment_line, md_table, write_results  # noqa: E402

from kernel_arena.dataset import load_dataset  # noqa: E402
from kernel_arena.measure.reference import load_reference  # noqa: E402
from kernel_arena.measure.timing import TimingSettings, time_call  # noqa: E402

DEF = "gdn_decode_qk4_v8_d128_k_last"
SOLS = ["gdn_decode_triton", "gdn_decode_fla", "gdn_decode_torch"]
BATCHES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
FLA_SETUPS = ("fla_kernel_vfirst", "fla_kernel_kfirst")


def make_inputs(batch: int, seed: int) -> dict:
    g = torch.Generator(device="cuda").manual_seed(seed)

    def r(*shape, dtype=torch.bfloat16):
        return torch.randn(*shape, device="cuda", dtype=dtype, generator=g)

    return {
        "q": r(batch, 1, 4, 128),
        "k": r(batch, 1, 4, 128),
        "v": r(batch, 1, 8, 128),
        "state": r(batch, 8, 128, 128, dtype=torch.float32),
        "A_log": r(8, dtype=torch.float32),
        "a": r(batch, 1, 8),
        "dt_bias": r(8, dtype=torch.float32),
        "b": r(batch, 1, 8),
        "scale": 1 / math.sqrt(128),
    }


def state_bytes(batch: int) -> int:
    """Bytes a decode step must move: state read + written, q/k/v/output, gates."""
    return batch * 8 * 128 * 128 * 4 * 2 + batch * (4 + 4 + 8 + 8) * 128 * 2 + batch * 16 * 2


def fla_kernel_calls(inputs: dict) -> dict[str, tuple[Callable[[], Any], Callable[[Any], tuple]]]:
    """FLA's recurrent kernel with ready arguments: per set-up, (the timed call, a function turning
    its result into (output, new state) in our layout for the correctness check)."""
    from fla.ops.gated_delta_rule import fused_recurrent_gated_delta_rule as fla

    i = inputs
    # v-first: our tensors unchanged; FLA computes gate, sigmoid and the head grouping in-kernel.
    vfirst = dict(
        g=i["a"],
        beta=i["b"],
        scale=i["scale"],
        initial_state=i["state"],
        output_final_state=True,
        use_gate_in_kernel=True,
        A_log=i["A_log"],
        dt_bias=i["dt_bias"],
        use_beta_sigmoid_in_kernel=True,
        state_v_first=True,
    )
    # k-first: FLA's default [B, H, K, V] state and log-space gate / post-sigmoid beta, made here.
    kfirst = dict(
        g=-torch.exp(i["A_log"]) * F.softplus(i["a"].float() + i["dt_bias"]),
        beta=torch.sigmoid(i["b"].float()),
        scale=i["scale"],
        initial_state=i["state"].transpose(-1, -2).contiguous(),
        output_final_state=True,
    )
    return {
        "fla_kernel_vfirst": (lambda: fla(i["q"], i["k"], i["v"], **vfirst), lambda r: r),
        "fla_kernel_kfirst": (
            lambda: fla(i["q"], i["k"], i["v"], **kfirst),
            lambda r: (r[0], r[1].transpose(-1, -2)),
        ),
    }


def close(out: torch.Tensor, state: torch.Tensor, ref_out: torch.Tensor, ref_state: torch.Tensor) -> bool:
    return bool(
        torch.allclose(out.float(), ref_out.float(), atol=1e-2, rtol=1e-2)
        and torch.allclose(state, ref_state, atol=1e-2, rtol=1e-2)
    )


def measure(batches: tuple[int, ...], settings: TimingSettings, copy_bw: float) -> list[dict]:
    ref = load_reference(load_dataset().definitions[DEF])
    fns = {s: build_fn(s) for s in SOLS}
    rows = []
    for batch in batches:
        inputs = make_inputs(batch, batch)
        ref_out, ref_state = ref(*inputs.values())
        nbytes = state_bytes(batch)
        row: dict[str, Any] = {"batch": batch, "bytes": nbytes}

        def record(name: str, call: Callable[[], Any], ok: bool) -> None:
            t = time_call(call, torch.device("cuda"), settings)
            row[name] = {
                "ok": ok,
                "kernel_ms": t.latency_ms,
                "call_ms": t.call_latency_ms,
                "spread": t.spread,
                "method": t.method,
                "kernels": t.kernels_per_call,
                "bw_frac": nbytes / (t.latency_ms * 1e-3) / 1e9 / copy_bw,
            }

        for name, fn in fns.items():
            out = torch.full((batch, 1, 8, 128), float("nan"), dtype=torch.bfloat16, device="cuda")
            new_state = torch.full((batch, 8, 128, 128), float("nan"), device="cuda")
            fn(*inputs.values(), out, new_state)
            torch.cuda.synchronize()
            ok = close(out, new_state, ref_out, ref_state)
            record(name, lambda fn=fn, out=out, new_state=new_state: fn(*inputs.values(), out, new_state), ok)
        for name, (call, to_ours) in fla_kernel_calls(inputs).items():
            out, new_state = to_ours(call())
            torch.cuda.synchronize()
            record(name, call, close(out, new_state, ref_out, ref_state))
        rows.append(row)
        print(json.dumps(row)[:600], flush=True)
        torch.cuda.empty_cache()
    return rows


def report(rows: list[dict], copy_bw: float, elapsed: float) -> str:
    ours, lib, base = SOLS
    table = []
    for r in rows:
        best = min(FLA_SETUPS, key=lambda s: r[s]["kernel_ms"])
        ratio = r[best]["kernel_ms"] / r[ours]["kernel_ms"]
        table.append(
            [
                r["batch"],
                f"{r[ours]['kernel_ms'] * 1e3:.2f}",
                f"{r['fla_kernel_vfirst']['kernel_ms'] * 1e3:.2f}",
                f"{r['fla_kernel_kfirst']['kernel_ms'] * 1e3:.2f}",
                f"**{ratio:.2f}x**",
                f"{r[ours]['bw_frac'] * 100:.0f}",
                f"{r[best]['bw_frac'] * 100:.0f}",
                f"{r[lib]['kernel_ms'] * 1e3:.1f}",
                f"{r[base]['kernel_ms'] * 1e3:.1f}",
                f"{r[lib]['kernel_ms'] / r[ours]['kernel_ms']:.1f}x",
                f"{r[ours]['call_ms'] * 1e3:.1f}",
                f"{r[lib]['call_ms'] * 1e3:.1f}",
                f"{r[ours]['kernels']:.0f} / {r['fla_kernel_vfirst']['kernels']:.0f} / {r[lib]['kernels']:.0f}",
                "yes" if all(r[s]["ok"] for s in (*SOLS, *FLA_SETUPS)) else "NO",
            ]
        )
    return "\n".join(
        [
            "# Gated DeltaNet decode on the GPU: our Triton kernel vs FLA's kernel (and the Solutions)",
            "",
            f"Command: `{command_line()}`",
            "",
            f"Environment: {environment_line()}",
            "",
            f"Measured device-to-device copy bandwidth: {copy_bw:.0f} GB/s (read + write). Kernel time: "
            "CUPTI via torch.profiler (the project's timer), cold L2, first kernel start to last kernel end "
            "of one call, median of 3 trials x 50 calls, every column timed in this one process on the same "
            "inputs. BW% = (state read + written + q/k/v/gates/output bytes) / kernel time / copy "
            f"bandwidth. Whole script: {elapsed:.0f} s.",
            "",
            "What each ratio compares:",
            "- **FLA kernel / ours** is **kernel against kernel**: FLA's `fused_recurrent_gated_delta_rule` "
            "called directly, its arguments made before timing, against our Triton kernel. FLA v-first: our "
            "inputs unchanged (`state_v_first=True`, `use_gate_in_kernel=True`, "
            "`use_beta_sigmoid_in_kernel=True`, q/k heads grouped in its kernel): the same work as ours. "
            "FLA k-first: its default [B, H, K, V] state, transposed beforehand, with the gate and beta "
            "precomputed. The ratio takes the faster FLA set-up at each batch; above 1 means ours is faster.",
            "- **FLA wrapper / ours** is **Solution against Solution**: the `gdn_decode_fla` Solution "
            "(transposes and gate math around FLA's kernel, on every call) against our Solution. Most of "
            "the wrapper's time is its own preparation, not FLA's kernel.",
            "",
            md_table(
                [
                    "batch",
                    "ours µs",
                    "FLA kernel v-first µs",
                    "FLA kernel k-first µs",
                    "FLA kernel / ours (kernel vs kernel)",
                    "ours BW%",
                    "FLA kernel BW%",
                    "FLA wrapper Solution µs",
                    "PyTorch Solution µs",
                    "FLA wrapper / ours (Solution vs Solution)",
                    "ours call µs",
                    "FLA wrapper call µs",
                    "kernels per call (ours / FLA kernel / FLA wrapper)",
                    "all correct",
                ],
                table,
            ),
            "",
        ]
    )


SWEEP_VARIANTS = {
    "serial": dict(parallel=False),
    "parallel": dict(parallel=True),
    "parallel+evict": dict(parallel=True, evict=True),
}
FLA_ROW = (0, 0, "FLA kernel v-first")


WALK_VARIANTS = {f"parallel x{n}": dict(parallel=True, tiles=n) for n in (1, 2, 4, 8)}
WALK_BATCHES = (32, 64, 128, 256, 512, 1024)

# --sweep-order: the store order and the grid's shape at the bandwidth-bound batches, where FLA's
# kernel with the same row tile and warps ran about 1% faster than ours (gdn_decode_sweep.md).
ORDER_VARIANTS = {
    "parallel": dict(parallel=True),
    "serial": dict(parallel=False),
    "parallel+out first": dict(parallel=True, out_first=True),
    "serial+out first+flat": dict(parallel=False, out_first=True, flat=True),
}
ORDER_BATCHES = (16, 32, 64, 128, 256, 512, 1024)


def sweep_tiles(batch: int) -> tuple[int, ...]:
    """Row tiles worth timing at a batch (narrow tiles for one short wave, wide for many)."""
    return (1, 2, 4, 8) if batch <= 8 else (2, 4, 8, 16) if batch <= 32 else (8, 16, 32)


def sweep(batches: tuple[int, ...], settings: TimingSettings, copy_bw: float,
          variants: dict[str, dict] = SWEEP_VARIANTS, tiles_for: Callable[[int], tuple[int, ...]] | None = None,
          warps_list: tuple[int, ...] = (1, 2, 4), rounds: int = 1) -> tuple[list[dict], str]:
    """Our kernel's launch options at each batch, and FLA's kernel (v-first) beside them, by the
    same CUPTI timer, ``rounds`` times over in the same order (median over rounds). A variant
    whose tiles do not fit in V is skipped."""
    decode = build_fn(SOLS[0]).__globals__["decode"]
    ref = load_reference(load_dataset().definitions[DEF])
    results = []
    for batch in batches:
        inputs = make_inputs(batch, batch)
        ref_out, ref_state = ref(*inputs.values())
        out = torch.empty((batch, 1, 8, 128), dtype=torch.bfloat16, device="cuda")
        new_state = torch.empty((batch, 8, 128, 128), device="cuda")
        calls: dict[tuple, tuple[Callable[[], Any], Callable[[Any], tuple]]] = {}
        for block_v in (tiles_for or sweep_tiles)(batch):
            for warps in warps_list:
                for vname, opts in variants.items():
                    if block_v * opts.get("tiles", 1) > 128:
                        continue

                    def call(block_v=block_v, warps=warps, opts=opts):
                        decode(*inputs.values(), out, new_state, block_v, warps, **opts)
                        return out, new_state

                    calls[(block_v, warps, vname)] = (call, lambda r: r)
        calls[FLA_ROW] = fla_kernel_calls(inputs)["fla_kernel_vfirst"]
        ok = {}
        for config, (call, to_ours) in calls.items():
            out.fill_(float("nan"))
            new_state.fill_(float("nan"))
            ok[config] = close(*to_ours(call()), ref_out, ref_state)
        # Rounds: every configuration once per round, in the same order, so drift over the
        # batch's run touches all of them alike; the kernel time is the median over rounds.
        per_round: dict[tuple, list] = {config: [] for config in calls}
        for _ in range(rounds):
            for config, (call, _to_ours) in calls.items():
                per_round[config].append(time_call(call, torch.device("cuda"), settings))
        for config, timings in per_round.items():
            times = [t.latency_ms for t in timings]
            mid = statistics.median(times)
            # One round: the timer's own spread over its trials; several: the spread over rounds.
            spread = timings[0].spread if rounds == 1 else (max(times) - min(times)) / mid
            results.append(
                {
                    "batch": batch,
                    "block_v": config[0],
                    "warps": config[1],
                    "variant": config[2],
                    "ok": ok[config],
                    "kernel_ms": mid,
                    "spread": spread,
                }
            )
            print(json.dumps(results[-1]), flush=True)
        torch.cuda.empty_cache()
    return results, sweep_report(results, batches, settings, copy_bw, rounds)


def sweep_report(
    results: list[dict], batches: tuple[int, ...], settings: TimingSettings, copy_bw: float, rounds: int = 1
) -> str:
    by = {(r["batch"], r["block_v"], r["warps"], r["variant"]): r for r in results}
    ours = [r for r in results if r["variant"] != FLA_ROW[2]]
    best = {b: min((r for r in ours if r["batch"] == b), key=lambda r: r["kernel_ms"]) for b in batches}
    table = []
    for c in sorted({(r["block_v"], r["warps"], r["variant"]) for r in results}):
        cells = []
        for b in batches:
            r = by.get((b, *c))
            if r is None:
                cells.append("-")
                continue
            text = f"{r['kernel_ms'] * 1e3:.2f}" + ("" if r["ok"] else " WRONG")
            cells.append(f"**{text}**" if r is best[b] else text)
        table.append(["-", "-", *c[2:], *cells] if c == FLA_ROW else [*c, *cells])
    return "\n".join(
        [
            "# GDN decode: our Triton kernel's launch options, kernel time per batch",
            "",
            f"Command: `{command_line()}`",
            "",
            f"Environment: {environment_line()}",
            "",
            f"Kernel time in µs: CUPTI (the project's timer), cold L2, median of {settings.trials} trials x "
            f"{settings.iters} calls"
            + (f", then the median of {rounds} rounds (each round times every row once, in order)" if rounds > 1 else "")
            + ", all in one process; bold: our fastest at that batch; the first row is "
            f"FLA's kernel called directly (v-first set-up, as in `gdn_decode.md`). Copy bandwidth "
            f"{copy_bw:.0f} GB/s. serial: S' = g*S, u = S'.k, S_new = S' + d*k, out = S_new.q (two "
            "reductions in a row); parallel: S.k and S.q reduced side by side from the loaded tile, "
            "out = g*(S.q) + d*(k.q); evict: evict_first on the state load and store; xN: a program "
            "walks N row tiles of BLOCK_V rows, the next tile's state load issued before the current "
            "tile's update; out first: the output rows stored before the new state rows; flat: a 1-D "
            "grid (row tiles of one slice adjacent).",
            "",
            md_table(["BLOCK_V", "warps", "variant", *[f"batch {b}" for b in batches]], table),
            "",
        ]
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--results", default="benchmarks/results/gdn_decode.md")
    ap.add_argument("--json", default=None)
    ap.add_argument("--sweep", default=None, help="write the launch-option sweep here instead")
    ap.add_argument("--sweep-walk", default=None,
                    help="write the tile-walking sweep (batch 32-1024) here instead")
    ap.add_argument("--sweep-order", default=None,
                    help="write the store-order and grid-shape sweep (batch 16-1024, five interleaved rounds) here")
    args = ap.parse_args()
    copy_bw = copy_bandwidth_gbs()
    t0 = time.time()
    if args.sweep or args.sweep_walk or args.sweep_order:
        if args.sweep_order:
            results, text = sweep(ORDER_BATCHES, TimingSettings(3, 30, 1), copy_bw, ORDER_VARIANTS,
                                  tiles_for=lambda batch: (8, 16), warps_list=(1, 2), rounds=5)
        elif args.sweep_walk:
            results, text = sweep(WALK_BATCHES, TimingSettings(3, 30, 3), copy_bw, WALK_VARIANTS)
        else:
            results, text = sweep(BATCHES, TimingSettings(3, 30, 3), copy_bw)
        if args.json:
            Path(args.json).write_text(json.dumps({"copy_bw_gbs": copy_bw, "results": results}, indent=1))
        write_results(args.sweep or args.sweep_walk or args.sweep_order, text)
        return
    rows = measure(BATCHES, TimingSettings(10, 50, 3), copy_bw)
    if args.json:
        Path(args.json).write_text(json.dumps({"copy_bw_gbs": copy_bw, "rows": rows}, indent=1))
    write_results(args.results, report(rows, copy_bw, time.time() - t0))


if __name__ == "__main__":
    main()
