"""Where the time of one MLA (or GQA) decode call goes: a per-program timeline from inside the kernel.

    python benchmarks/mla_timeline.py --results benchmarks/results/mla_timeline.md
    python benchmarks/mla_timeline.py --op gqa --results benchmarks/results/gqa_timeline.md

The Triton MLA kernel takes an optional probe buffer (``decode(..., probe=...)``, kernel.py
``PROBE``): each program writes the GPU's global nanosecond timer at its start and end, its SM's
cycle counter at start, after its tile loop (segment programs) or its wait (merge programs) and at
end, its SM and its role. This script runs run()'s own plan (chunk, merge heads, stages) with the
probe on the production-shaped MLA batches of ``decode_batches.py`` (cold L2 before every call),
and reports per batch, as medians over the calls (the GQA kernel, ``--op gqa``, has the same probe;
it has no merge programs: a sequence's last-arriving program merges each kv head):

- the kernel's span by CUPTI without the probe, and the probed span (first start to last end);
- segment programs: how many had work, when the last one started, the time from its start to
  the end of its tile loop (median and longest: the indptr scan, the q load and the tiles), the
  time after the loop (partial or output store, the arrival, and for the last arrival of a
  sequence the merge of its partials), and when the last one ended;
- merge programs: how many waited for a sequence and merged it (from start to the end of the
  wait, which includes finding their sequence; then the merge), how many found nothing, when the
  last one ended;
- the critical program (the one that ended last): its role, start, loop and tail.

Cycle counts are turned into µs by the SM clock measured from the same programs (cycles over
nanoseconds of the programs longer than 2 µs). Needs a GPU.

``--programs FILE.json`` also keeps each batch's median call program by program (role, SM,
start, loop end, end, tokens; the programs that had work) and adds a table that fits each segment
program's loop time to its tiles, for programs alone on their SM and programs sharing one;
``--report-programs FILE.json`` prints that table again from the file, without a GPU.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import build_fn, command_line, environment_line, md_table, write_results  # noqa: E402
from decode_batches import decode_batches  # noqa: E402
from production_bench import production_inputs  # noqa: E402

from kernel_arena.measure.timing import TimingSettings, time_call  # noqa: E402

SOLUTIONS = {"mla": "mla_paged_decode_triton", "gqa": "gqa_paged_decode_triton"}
ROLES = {0: "none", 1: "direct", 2: "partial", 3: "partial+merged", 4: "merge"}
FLUSH_BYTES = 256 << 20  # larger than the H100's and H200's 50 MB L2


def _median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def run_plan(op: str, mod: Any, inputs: dict) -> tuple[tuple, dict, int]:
    """run()'s own plan for these inputs: (decode's positional plan, its keyword plan, chunk)."""
    q = inputs["q_nope" if op == "mla" else "q"]
    total, batch = inputs["kv_indices"].numel(), q.shape[0]
    sm = mod._sm_count(q.device)
    if op == "gqa":
        plan = mod.plan_call(total, batch, inputs["k_cache"].shape[2], sm)
        return tuple(plan), {}, plan[0]
    chunk = mod.plan_chunks(total, batch, sm)[0]
    return (chunk,), dict(num_stages=mod.NUM_STAGES, merge_heads=mod.merge_heads_for(total, batch, q.shape[1]),
                          merge_last=mod.MERGE_LAST), chunk


def probe_call(op: str, mod: Any, inputs: dict, flush: torch.Tensor, calls: int) -> tuple[list[dict], int, list]:
    """``calls`` probed launches of run()'s plan, each after an L2 flush: the per-call summaries,
    the chunk, and the per-program rows of the call with the median span (see program_rows)."""
    q = inputs["q_nope" if op == "mla" else "q"]
    batch, num_heads = q.shape[0], q.shape[1]
    out = torch.empty_like(q)
    lse = torch.empty(batch, num_heads, dtype=torch.float32, device=q.device)
    args = list(inputs.values())  # definition order, sm_scale last
    plan, kw, chunk = run_plan(op, mod, inputs)
    grid = mod._launch_args(*args, out, lse, *plan, **kw)[0]
    programs = grid[0] * (grid[1] if len(grid) > 1 else 1)
    # Segment programs come first: MLA's (num_chunks + batch) then its merge programs; every GQA
    # program is a segment program (one per slot and kv head).
    total = inputs["kv_indices"].numel()
    segments = max(1, -(-total // chunk)) + batch if op == "mla" else programs
    probe = torch.zeros(programs * mod.PROBE_WIDTH, dtype=torch.int64, device=q.device)
    summaries, raw = [], []
    for i in range(calls + 2):  # two warm-up calls (compile, first touch)
        flush.zero_()
        probe.zero_()
        mod.decode(*args, out, lse, *plan, probe=probe, **kw)
        torch.cuda.synchronize()
        if i >= 2:
            p = probe.view(programs, mod.PROBE_WIDTH).cpu().numpy()
            summaries.append(summarize(p, segments))
            raw.append(p)
    middle = sorted(range(len(raw)), key=lambda k: summaries[k]["span_us"])[len(raw) // 2]
    tokens = (segment_tokens(inputs["kv_indptr"].cpu().numpy(), chunk, segments) if op == "mla"
              else [None] * segments)
    return summaries, chunk, program_rows(raw[middle], tokens)


def segment_tokens(indptr: np.ndarray, chunk: int, slots: int) -> list[int]:
    """Tokens of each MLA segment program's slot (kernel.py's work split, on the host): slot i
    belongs to the last non-empty sequence b with start_b // chunk + b <= i, in chunk c = i - b."""
    starts, ends = indptr[:-1].astype(np.int64), indptr[1:].astype(np.int64)
    first = np.where(ends > starts, starts // chunk + np.arange(len(starts)), np.iinfo(np.int64).max)
    tokens = []
    for i in range(slots):
        owners = np.nonzero(first <= i)[0]
        if not len(owners):
            tokens.append(0)
            continue
        b = int(owners[-1])
        c = i - b
        tokens.append(max(0, int(min(ends[b], (c + 1) * chunk) - max(starts[b], c * chunk))))
    return tokens


def sm_ghz(gt0: np.ndarray, gt1: np.ndarray, c0: np.ndarray, c1: np.ndarray) -> float:
    """The SM clock in GHz: SM cycles over global-timer nanoseconds, median over the programs that
    ran longer than 2 µs (1.7 if none did)."""
    long_ = (gt1 - gt0) > 2_000
    return float(np.median((c1 - c0)[long_] / (gt1 - gt0)[long_])) if long_.any() else 1.7


def program_rows(p: np.ndarray, tokens: list) -> list[list]:
    """One call's programs as [index, role, SM, start µs, loop or wait end µs, end µs, tokens]
    (times from the first program's start; tokens for MLA segment programs, else None)."""
    gt0, gt1, c0, cmid, c1, sm, role = (p[:, i] for i in range(7))
    begin = gt0.min()
    ghz = sm_ghz(gt0, gt1, c0, c1)
    rows = []
    for k in range(len(p)):
        start = (gt0[k] - begin) * 1e-3
        mid = start + (cmid[k] - c0[k]) / ghz * 1e-3 if cmid[k] else None
        rows.append([k, ROLES.get(int(role[k]), "?"), int(sm[k]), round(float(start), 3),
                     None if mid is None else round(float(mid), 3), round(float((gt1[k] - begin) * 1e-3), 3),
                     tokens[k] if k < len(tokens) else None])
    return rows


def summarize(p: np.ndarray, segments: int) -> dict:
    """One call's probe (programs x fields) as times in µs from the first program's start."""
    gt0, gt1, c0, cmid, c1, _sm, role = (p[:, i] for i in range(7))
    begin = gt0.min()
    ghz = sm_ghz(gt0, gt1, c0, c1)
    us = 1e-3

    def cyc(x: np.ndarray) -> np.ndarray:
        return x / ghz * us

    seg = np.arange(len(p)) < segments
    live = seg & (role > 0)
    merge = ~seg & (role == 4)
    idle_merge = ~seg & (role == 0)
    last = int(np.argmax(gt1))
    loop = cyc(cmid - c0)
    tail = cyc(c1 - cmid)
    merged = live & (role == 3)
    return {
        "span_us": float((gt1.max() - begin) * us),
        "sm_ghz": ghz,
        "segments_live": int(live.sum()),
        "segments_idle": int((seg & (role == 0)).sum()),
        "last_segment_start_us": float((gt0[live].max() - begin) * us) if live.any() else 0.0,
        "loop_median_us": float(np.median(loop[live])) if live.any() else 0.0,
        "loop_max_us": float(loop[live].max()) if live.any() else 0.0,
        "tail_median_us": float(np.median(tail[live & ~merged])) if (live & ~merged).any() else 0.0,
        "tail_merged_median_us": float(np.median(tail[merged])) if merged.any() else 0.0,
        "merged_by_last_arrival": int(merged.sum()),
        "last_segment_end_us": float((gt1[seg].max() - begin) * us),
        "merge_programs": int(merge.sum()),
        "merge_idle": int(idle_merge.sum()),
        "merge_wait_median_us": float(np.median(cyc(cmid - c0)[merge])) if merge.any() else 0.0,
        "merge_work_median_us": float(np.median(tail[merge])) if merge.any() else 0.0,
        "last_merge_end_us": float((gt1[merge].max() - begin) * us) if merge.any() else 0.0,
        "last_idle_merge_end_us": float((gt1[idle_merge].max() - begin) * us) if idle_merge.any() else 0.0,
        "critical": {
            "program": last,
            "role": ROLES.get(int(role[last]), "?"),
            "start_us": float((gt0[last] - begin) * us),
            "loop_us": float(loop[last]) if role[last] in (1, 2, 3) else 0.0,
            "wait_us": float(cyc(cmid - c0)[last]) if role[last] == 4 else 0.0,
            "end_us": float((gt1[last] - begin) * us),
        },
    }


def measure(op: str, buckets: tuple[str, ...], calls: int, programs: dict | None = None) -> list[dict]:
    """Per batch of the buckets: the medians of ``calls`` probed calls (one row each); with a
    ``programs`` dict, also each batch's median call program by program (program_rows)."""
    fn = build_fn(SOLUTIONS[op])
    mod = SimpleNamespace(**fn.__globals__)  # the Solution's main.py: its plan functions and decode
    flush = torch.empty(FLUSH_BYTES // 4, dtype=torch.int32, device="cuda")
    rows = []
    for b in decode_batches(op):
        if b.bucket not in buckets:
            continue
        inputs = production_inputs(op, b, seed=7)
        q = inputs["q_nope" if op == "mla" else "q"]
        out = torch.empty_like(q)
        lse = torch.empty(q.shape[0], q.shape[1], dtype=torch.float32, device=q.device)
        plain = time_call(lambda: fn(*inputs.values(), out, lse), torch.device("cuda"), TimingSettings(5, 30, 3))
        calls_, chunk, per_program = probe_call(op, mod, inputs, flush, calls)
        if programs is not None:
            programs[b.name] = {"chunk": chunk, "sm_count": mod._sm_count(q.device),
                                "fields": ["program", "role", "sm", "start_us", "loop_end_us", "end_us", "tokens"],
                                "programs": [r for r in per_program if r[1] != "none"]}  # those with work
        med = {k: _median([c[k] for c in calls_]) for k in calls_[0] if k != "critical"}
        crit = calls_[len(calls_) // 2]["critical"]
        roles = [c["critical"]["role"] for c in calls_]
        row = {"case": b.name, "batch": b.batch, "tokens": int(b.indices.size), "chunk": chunk,
               "merge_last": getattr(mod, "MERGE_LAST", 0),
               "kernel_us": plain.latency_ms * 1e3, "timer": plain.method, **med,
               "critical_role": max(set(roles), key=roles.count), "critical_example": crit}
        rows.append(row)
        print(json.dumps(row)[:400], flush=True)
    return rows


def report(rows: list[dict], calls: int, wall: float, op: str = "mla") -> str:
    merge_last = rows[0].get("merge_last") if rows else None  # run()'s last-arrival bound (MLA MERGE_LAST)
    table = [
        [r["case"], r["tokens"], r["chunk"], f"{r['kernel_us']:.1f}", f"{r['span_us']:.1f}",
         f"{r['segments_live']:.0f} / {r['segments_idle']:.0f}", f"{r['last_segment_start_us']:.1f}",
         f"{r['loop_median_us']:.1f} / {r['loop_max_us']:.1f}",
         f"{r['tail_median_us']:.1f} / {r['tail_merged_median_us']:.1f} ({r['merged_by_last_arrival']:.0f})",
         f"{r['last_segment_end_us']:.1f}",
         f"{r['merge_programs']:.0f} / {r['merge_idle']:.0f}",
         f"{r['merge_wait_median_us']:.1f} / {r['merge_work_median_us']:.1f}",
         f"{r['last_merge_end_us']:.1f}", f"{r['last_idle_merge_end_us']:.1f}", r["critical_role"]]
        for r in rows
    ]
    head = ["case", "KV tokens", "chunk", "kernel µs (CUPTI, no probe)", "probed span µs",
            "segment programs with work / without", "last segment start µs",
            "start to tile loop end µs median / max",
            "after loop µs: partial or output / last arrival's merge (count)", "last segment end µs",
            "merge programs working / idle", "merge start to wait end / work µs", "last merge end µs",
            "last idle merge end µs",
            "program ending last"]
    return "\n".join([
        f"# {op.upper()} decode: where one call's time goes (per-program timeline from inside the kernel)",
        "",
        f"Command: `{command_line()}`",
        "",
        f"Environment: {environment_line()}",
        "",
        "run()'s own plan with the kernel's probe on (`decode(..., probe=...)`, kernel.py `PROBE`): every "
        "program writes the global ns timer at start and end and its SM's cycle counter at start, after the "
        "tile loop (or a merge program's wait) and at end: a segment program's first span covers its indptr "
        "scan, q load and tiles, a merge program's its search for its sequence and its wait. Times are from "
        "the first program's start; every "
        f"column is the median over {calls} calls, each after a 256 MiB L2 flush. `kernel µs` is the same "
        "batch without the probe, by the project's CUPTI timer (cold L2, median of 3 x 30). "
        + ("Segment programs are one per (sequence, chunk) slot; `after loop` is the output or partial store "
           + (f"plus the arrival (and, for a sequence's last arrival, the merge of its 2-{merge_last} partials); "
              f"merge programs serve sequences of more than {merge_last} slots. " if merge_last else
              "plus the arrival; merge programs serve every split sequence. ") if op == "mla" else
           "Programs are one per (sequence, chunk) slot and kv head; `after loop` is the output or partial "
           "store plus the arrival (and, for the last arrival of a sequence's kv head, the merge of all its "
           "partials); there are no merge programs. ")
        + f"Whole script: {wall:.0f} s.",
        "",
        md_table(head, table),
        "",
    ])


def programs_report(programs: dict) -> str:
    """The per-program view of --programs as a table: per batch, the segment programs alone on their
    SM against those sharing one (a line fitted to loop time over tiles), the longest program, how
    unevenly the tokens fall on the SMs, and when the segment programs and the whole call end."""
    table = []
    for case, v in programs.items():
        rows = [r for r in v["programs"] if r[6] is not None and r[1] != "none"]
        if not rows:
            continue
        by_sm: dict[int, list] = {}
        for r in rows:
            by_sm.setdefault(r[2], []).append(r)
        fits = []
        for alone in (True, False):
            rs = [r for group in by_sm.values() if (len(group) == 1) == alone for r in group]
            tiles = np.array([-(-r[6] // 32) for r in rs], dtype=float)
            if len(rs) < 5 or len(set(tiles)) < 2:
                fits.append("-")
                continue
            slope, icept = np.polyfit(tiles, [r[4] - r[3] for r in rs], 1)
            fits.append(f"{icept:.1f} + {slope:.2f}")
        one = [r[4] - r[3] for g in by_sm.values() if len(g) == 1 for r in g if r[6] <= 32]
        longest = max(rows, key=lambda r: (r[6], r[4] - r[3]))
        loads = [sum(r[6] for r in g) for g in by_sm.values()]
        table.append([case, v["chunk"], len(rows), sum(len(g) > 1 for g in by_sm.values()),
                      f"{_median(one):.1f}" if one else "-", *fits,
                      f"{-(-longest[6] // 32)} / {longest[4] - longest[3]:.1f}",
                      f"{max(loads)} / {sum(loads) / v['sm_count']:.0f}",
                      f"{max(r[5] for r in rows):.1f}", f"{max(r[5] for r in v['programs']):.1f}"])
    head = ["case", "chunk", "segment programs", "SMs running two", "one-tile program alone µs",
            "loop µs alone: a + b x tiles", "loop µs sharing an SM: a + b x tiles",
            "longest program: tiles / loop µs", "tokens on the busiest SM / mean", "last segment end µs",
            "last program end µs"]
    return "\n".join([
        "## Program by program (the median-span call of each batch)",
        "",
        "Each segment program's loop time (start to tile-loop end) against its 32-token tiles, fitted by "
        "least squares separately for programs alone on their SM and programs sharing one; the tokens "
        "each SM's segment programs covered; times from the first program's start.",
        "",
        md_table(head, table),
        "",
    ])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--op", choices=sorted(SOLUTIONS), default="mla", help="which kernel (default mla)")
    ap.add_argument("--results", default=None, help="default benchmarks/results/<op>_timeline.md")
    ap.add_argument("--json", default=None)
    ap.add_argument("--buckets", default="b16,b64", help="comma-separated buckets of decode_batches.py (b1,b16,b64)")
    ap.add_argument("--calls", type=int, default=20, help="probed calls per batch (default 20)")
    ap.add_argument("--programs", default=None, metavar="JSON",
                    help="also write each batch's median call program by program (role, SM, times, tokens; the "
                         "programs that had work) and add "
                         "their table to the results")
    ap.add_argument("--report-programs", default=None, metavar="JSON",
                    help="no GPU: print the program-by-program table of a JSON written by --programs")
    args = ap.parse_args()
    if args.report_programs:
        print(programs_report(json.loads(Path(args.report_programs).read_text())))
        return
    if not torch.cuda.is_available():
        sys.exit("mla_timeline.py needs a CUDA GPU (the probe reads PTX timers)")
    t0 = time.time()
    programs: dict | None = {} if args.programs else None
    rows = measure(args.op, tuple(args.buckets.split(",")), args.calls, programs)
    if args.programs:
        Path(args.programs).write_text(json.dumps(programs))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    results = args.results or f"benchmarks/results/{args.op}_timeline.md"
    text = report(rows, args.calls, time.time() - t0, args.op)
    write_results(results, text + ("\n" + programs_report(programs) if programs else ""))


if __name__ == "__main__":
    main()
