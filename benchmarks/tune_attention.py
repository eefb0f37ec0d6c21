"""Sweep launch configurations of the Triton GQA/MLA decode kernels on the GPU.

    python benchmarks/tune_attention.py --results benchmarks/results/tune_attention.md

For representative shapes (batch 1 short and long, skewed batches, batch 64/256) it times every
combination of BLOCK_N, num_warps, num_stages, chunk size (tokens per program, or a multiple of
run()'s own chunk) and the set's other launch options (for MLA e.g. the output-column split
d_split; CUPTI kernel time, cold L2), drops a configuration whose outputs differ from the
Solution's own run() on the same inputs (listed under "mismatched" in the JSON), and reports the
best configuration per shape next to the current default (``run``, whose plan_chunks picks the
chunk from len(kv_indices)). Evidence for the defaults chosen in the solutions' main.py.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import command_line, copy_bandwidth_gbs, empty_outputs, environment_line, md_table  # noqa: E402
from attention_decode import DEFS, bytes_moved, flashinfer_run_only, sweep_inputs  # noqa: E402

from kernel_arena.dataset import load_dataset  # noqa: E402
from kernel_arena.engine.sandbox.build import build_solution  # noqa: E402
from kernel_arena.measure.inputs import materialize_inputs  # noqa: E402
from kernel_arena.measure.timing import TimingSettings, time_call  # noqa: E402


@dataclass(frozen=True)
class PlanChunk:
    """A chunk relative to run()'s own plan for the shape swept: ``factor`` times its chunk."""

    factor: int = 1


@dataclass(frozen=True)
class FillChunk:
    """A chunk that gives about ``per_sm`` segment programs an SM: the smallest multiple of 32
    tokens (at least 32) with num_chunks + batch <= per_sm x SMs (the grid's segment programs).
    Where the batch alone fills those slots (batch >= per_sm x SMs) no chunk can: then one
    chunk holds every token (num_chunks 1, batch + 1 programs)."""

    per_sm: int = 2

    def tokens(self, total: int, batch: int, sm_count: int) -> int:
        chunks = max(1, self.per_sm * sm_count - batch)
        per_chunk = -(-total // chunks)  # ceil: at most `chunks` chunks
        return max(32, -(-per_chunk // 32) * 32)


CHUNKS = [32, 64, 128, 256, 512, 1024, 2048]
RUN_MLA = {"block_n": [32], "num_warps": [4], "num_stages": [5], "chunk": [PlanChunk(1)], "merge_heads": [1],
           "merge_last": [3], "merge_block_d": [512]}
"""run()'s MLA launch at batch <= 64 as a one-point space, in the key order of the spaces built on it
(overriding a key keeps its place; a new key goes last)."""
# A space is a dict of value lists (every combination) or a list of such dicts with the same keys
# in the same order (the union of their combinations). Chunks are token counts, PlanChunks or
# FillChunks.
SPACES = {
    "main": {
        "gqa": {"block_n": [32, 64, 128], "num_warps": [4, 8], "num_stages": [2, 3], "chunk": CHUNKS},
        "mla": {"block_n": [32, 64], "num_warps": [4, 8], "num_stages": [2, 3], "chunk": CHUNKS},
    },
    # The embedded skewed batches (a few long sequences among short or empty ones).
    "mixed": {
        "gqa": {"block_n": [64, 128], "num_warps": [4], "num_stages": [2, 3], "chunk": [64, *CHUNKS[2:]]},
        "mla": {"block_n": [32, 64], "num_warps": [4], "num_stages": [3], "chunk": [64, *CHUNKS[2:6]]},
    },
    # L2 prefetch distance (tokens requested ahead of the tile loads; 0 = off) on every embedded
    # GPU workload, around the default tiles.
    "prefetch": {
        "gqa": {"block_n": [64, 128], "num_warps": [4], "num_stages": [3], "chunk": [128, 256, 512, 1024],
                "prefetch": [0, 128, 256, 512]},
        "mla": {"block_n": [32], "num_warps": [4], "num_stages": [3], "chunk": [64, 128, 256, 512],
                "prefetch": [0, 64, 128, 256]},
    },
    # Shallow pipelines and small tiles on skewed and short batches, where a program walks several
    # short sequences one after the other.
    "shallow": {
        "gqa": {"block_n": [32, 64], "num_warps": [4], "num_stages": [1, 2, 3], "chunk": [64, 128, 256],
                "prefetch": [0, 128]},
        "mla": {"block_n": [16, 32], "num_warps": [4], "num_stages": [1, 2, 3], "chunk": [64, 128],
                "prefetch": [0]},
    },
    # 32-token tiles on every embedded GPU workload (they won on the skewed batches in "shallow").
    "tile32": {
        "gqa": {"block_n": [32], "num_warps": [4], "num_stages": [2, 3], "chunk": [64, 128, 256, 512, 1024],
                "prefetch": [0, 128]},
        "mla": {"block_n": [16], "num_warps": [4], "num_stages": [2, 3], "chunk": [64, 128, 256],
                "prefetch": [0]},
    },
    # MLA merge layout: heads per merge program (1: 64 programs a sequence, 16: 4 a sequence).
    "merge": {
        "mla": {"block_n": [32], "num_warps": [4], "num_stages": [3], "chunk": [64, 128, 256, 512],
                "merge_heads": [1, 4, 16]},
    },
    # The production-shaped batches of decode_batches.py (a subset: see production_subset), around
    # the current tiles; for MLA also the last-arrival merge (merge_last, 0 = merge programs only).
    "production": {
        "gqa": {"block_n": [32, 64], "num_warps": [4], "num_stages": [3], "chunk": [16, *CHUNKS[:6]],
                "prefetch": [0, 128]},
        "mla": {"block_n": [32], "num_warps": [4], "num_stages": [2, 3], "chunk": CHUNKS[:5],
                "merge_heads": [1, 4], "merge_last": [0, 8]},
    },
    # The segment split (one program per (sequence, chunk) segment) on the production subset:
    # chunk and tile around the segment plans; for MLA also 8 warps and 64-token tiles.
    "segments": {
        "gqa": {"block_n": [32, 64], "num_warps": [4], "num_stages": [3], "chunk": [16, *CHUNKS[:5]]},
        "mla": {"block_n": [32, 64], "num_warps": [4, 8], "num_stages": [3], "chunk": [32, 64, 128, 256],
                "merge_heads": [1], "merge_last": [8]},
    },
    # The MLA latent in eight slices (kernel.py): pipeline depth and chunk on the production subset.
    "slices": {
        "mla": {"block_n": [32], "num_warps": [4], "num_stages": [3, 4, 5], "chunk": [64, 128, 256, 512],
                "merge_heads": [1], "merge_last": [8]},
    },
    # GQA pipeline depth on all 48 production batches: with the page-index load taking the first
    # stages, does the K/V tile get a second buffer only from more stages on (as MLA's did)?
    "stages": {
        "gqa": {"block_n": [32, 64], "num_warps": [4], "num_stages": [3, 5], "chunk": [64, 128, 256, 512]},
    },
    # Every production batch of one sequence: the kernel's SINGLE path (page indices requested
    # with indptr, not after it) on and off, around the single-sequence plans.
    "single": {
        "gqa": {"block_n": [32], "num_warps": [4], "num_stages": [3, 5], "chunk": [16, 32, 64, 128, 256],
                "single": [True, False]},
    },
    # MLA output-column split (D_SPLIT 2: two programs per segment, each accumulating 256 of the
    # 512 output columns) against the whole-row programs, on the batch-16 and batch-64 production
    # batches: run()'s chunk and twice it, 32- and 64-token tiles, run()'s tile of the time (4
    # warps, 5 stages, merge_last 8) and 8 warps for d_split 1, 3 stages for d_split 2 (other registers and shared
    # memory per program). 16 configurations a shape.
    "split": {
        "mla": [
            {"d_split": [1], "block_n": [32, 64], "num_warps": [4, 8], "num_stages": [5],
             "chunk": [PlanChunk(1), PlanChunk(2)], "merge_last": [8]},
            {"d_split": [2], "block_n": [32, 64], "num_warps": [4], "num_stages": [5, 3],
             "chunk": [PlanChunk(1), PlanChunk(2)], "merge_last": [8]},
        ],
    },
    # MLA merge programs on the batch-16 and batch-64 production batches, at run()'s chunk and tile:
    # heads per merge program (1: 64 programs a sequence, 4: 16, 16: 4) and the last-arrival bound
    # (merge_last 8 or 16: sequences of up to that many slots merged by their last segment program;
    # the grid holds (num_chunks - 1) // merge_last sequences' worth of merge programs, most of them
    # idle when few sequences are long).
    "mergemix": {
        "mla": {"block_n": [32], "num_warps": [4], "num_stages": [5], "chunk": [PlanChunk(1)],
                "merge_heads": [1, 4, 16], "merge_last": [8, 16]},
    },
    # MLA merge programs as wide as the latent: 128, 256 or 512 output columns a program (64, 32 or
    # 16 programs a long sequence), at run()'s chunk and tile, on every production batch. A merge
    # program's time is a chain of dependent loads (indptr, its counter, CHUNK_S slots at a time),
    # not its bytes; merge programs queue for the SMs' slots behind the segment programs.
    "mergewide": {
        "mla": {"block_n": [32], "num_warps": [4], "num_stages": [5], "chunk": [PlanChunk(1)],
                "merge_heads": [1], "merge_last": [8], "merge_block_d": [128, 256, 512]},
    },
    # The last-arrival bound around 4 (tune_attention_partials.md: 4 beat 8 on all 48 production
    # batches; run() takes 3 since this sweep) with run()'s 512-column merge programs, on every production batch: sequences
    # of up to merge_last slots are merged by their last segment program (one program reading up to
    # merge_last x 32 KB in a row); longer ones by 16 merge programs in parallel, of which the grid
    # holds (num_chunks - 1) // merge_last sequences' worth.
    "mergelast": {
        "mla": {**RUN_MLA, "merge_last": [2, 3, 4, 6]},
    },
    # Chunks that fill the SMs evenly, on the batch-16 and batch-64 production batches: run()'s
    # power-of-two chunk leaves some SMs one segment program and others two (b64_01: 210 programs
    # on 132 SMs), and a program on an SM shared with another seemed to take about twice as long a
    # tile as one alone (mla_timeline.md), so the full chunks on shared SMs would end last. (The later
    # program-by-program view, mla_timeline_programs.md, shows the same time per tile on a shared SM;
    # sharing adds 1.5-5 us once.) FillChunk(2): the smallest
    # multiple of 32 tokens with at most two programs an SM; FillChunk(1): at most one. More
    # chunks also mean more merge programs ((num_chunks - 1) // merge_last sequences' worth, 16
    # each), so merge_last 3 (run()'s) and 8.
    "fill": {
        "mla": {**RUN_MLA, "chunk": [PlanChunk(1), FillChunk(2), FillChunk(1)], "merge_last": [3, 8]},
    },
    # L2 prefetch with its page indices loaded an iteration ahead (kernel.py, "L2 prefetch"), on the
    # batch-16 and batch-64 production batches: a segment program holds one K/V tile in flight, and
    # each further tile costs it 1.4-2.3 us whether or not it shares its SM (mla_timeline_programs.md),
    # so the longest program sets the loop's end. Also at twice run()'s chunk, which the prefetch
    # could make the better trade (fewer partials and merges).
    "prefetchpipe": {
        "mla": {**RUN_MLA, "chunk": [PlanChunk(1), PlanChunk(2)], "prefetch": [0, 64, 128]},
    },
    # Partial slots a one-head merge program loads at once (run(): 16). A merge program walks its
    # sequence's slots in groups, one dependent load each; the batch-64 sequences of 5-21k tokens
    # have 20-50 slots, and the merge programs of the longest end the call up to 5 us after the
    # last segment program (mla_timeline_programs.md).
    "mergeslots": {
        "mla": {**RUN_MLA, "merge_slots": [8, 16, 32]},
    },
    # 64-token tiles (one program an SM: two 72 KB K/V buffers and q take 166 KB), with 4 or 8
    # warps, at run()'s chunk and at FillChunk(1) (at most one segment program an SM, so none waits
    # for a second wave). A segment program's tile costs the same alone or sharing its SM
    # (mla_timeline_programs.md): a program with twice the bytes in flight and, with 8 warps, the
    # same instructions a warp a tile could halve the longest program; 64-token tiles were swept
    # before only at power-of-two chunks (tune_attention_split.md).
    "wide64": {
        "mla": [
            {**RUN_MLA, "chunk": [PlanChunk(1), FillChunk(1)]},
            {**RUN_MLA, "block_n": [64], "num_warps": [4, 8], "chunk": [PlanChunk(1), FillChunk(1)]},
        ],
    },
    # Single sequences of a few tokens: one short program per kv head, all latency.
    "tiny": {
        "gqa": {"block_n": [16, 32], "num_warps": [1, 2, 4], "num_stages": [1, 3], "chunk": [16, 64]},
    },
    # Small calls, where latency (not bandwidth) decides.
    "small": {
        "gqa": {"block_n": [16, 32, 64], "num_warps": [2, 4], "num_stages": [1, 2, 3], "chunk": CHUNKS[:5]},
        "mla": {"block_n": [16, 32], "num_warps": [4, 8], "num_stages": [1, 2, 3], "chunk": [16, *CHUNKS[:4]]},
    },
}
# Synthetic (batch, KV length) shapes and embedded GPU workloads per set ("*": every workload tagged
# gpu); a set not named in them has none (the production sets sweep decode_batches.py instead).
SHAPES = {
    "main": [(1, 4096), (1, 32768), (16, 512), (64, 2048), (256, 128), (256, 512)],
    "small": [(1, 128), (16, 16), (16, 256), (4, 512), (64, 64)],
    "shallow": [(16, 16), (16, 128)],
    "tiny": [(1, 3), (1, 10), (1, 37), (1, 83)],
    "single": [(1, 3), (1, 10)],
}
SHAPES = {name: SHAPES.get(name, []) for name in SPACES}
EMBEDDED = {
    "main": ("gpu_b8_long_mixed", "gpu_b16_mixed", "gpu_b2_big_pool"),
    "mixed": ("gpu_b8_long_mixed", "gpu_b16_mixed", "gpu_b2_big_pool", "gpu_b32_mixed", "gpu_b64_mixed_edge"),
    "prefetch": ("*",),
    "shallow": ("gpu_b16_mixed", "gpu_b32_mixed", "gpu_b64_mixed_edge", "gpu_b2_big_pool", "gpu_b16_short"),
    "tile32": ("*",),
    "merge": ("*",),
}
EMBEDDED = {name: EMBEDDED.get(name, ()) for name in SPACES}
EVERY_PRODUCTION_BATCH = {"stages": None, "split": ("b16", "b64"), "mergemix": ("b16", "b64"),
                          "mergewide": None, "mergelast": None, "fill": ("b16", "b64"),
                          "prefetchpipe": ("b16", "b64"), "mergeslots": ("b16", "b64"),
                          "wide64": ("b16", "b64"),
                          "single": ("b1",)}
"""Production sets that take every batch of these buckets (None: all of them), not production_subset's
subset."""
PRODUCTION_SETS = ("production", "segments", "slices", *EVERY_PRODUCTION_BATCH)
"""Shape sets that sweep the production-shaped batches of decode_batches.py."""


def outputs_agree(got: list[torch.Tensor], expected: list[torch.Tensor], tol: float = 1e-2) -> bool:
    """Whether a configuration's outputs (output, lse) match ``expected`` (the Solution's own
    run() on the same inputs): values within ``tol`` (absolute and relative, bf16 outputs), and
    non-finite entries (an empty sequence's -inf lse) in the same places with the same values."""
    for g, e in zip(got, expected, strict=True):
        g, e = g.float(), e.float()
        if g.shape != e.shape:
            return False
        finite = torch.isfinite(e)
        if not torch.equal(torch.isfinite(g), finite) or not torch.equal(g[~finite], e[~finite]):
            return False
        if not torch.allclose(g[finite], e[finite], atol=tol, rtol=tol):
            return False
    return True


def production_subset(kind: str, every: bool = False, buckets: tuple[str, ...] | None = None) -> list:
    """Every fourth batch-1 and every other batch-16/64 production batch (20 of 48), or all 48;
    only those of ``buckets`` if given."""
    from decode_batches import decode_batches

    out = []
    for i, b in enumerate(decode_batches(kind)):
        if buckets is not None and b.bucket not in buckets:
            continue
        if every or (b.bucket == "b1" and i % 4 == 0) or (b.bucket != "b1" and i % 2 == 0):
            out.append((b.name, b, 1000 + i))
    return out


def space_names(space: dict | list) -> list[str]:
    """The parameter names of a search space, in order."""
    return list(space[0] if isinstance(space, list) else space)


def configurations(space: dict | list) -> list[dict]:
    """Every configuration of a search space (see SPACES), in order."""
    parts = space if isinstance(space, list) else [space]
    out = []
    for part in parts:
        if list(part) != space_names(space):
            raise ValueError(f"every part of a space has the keys {space_names(space)} in order, not {list(part)}")
        out += [dict(zip(part, values)) for values in itertools.product(*part.values())]
    return out


def plan_chunk(kind: str, module, inputs: dict) -> int:
    """The chunk the Solution's run() plans for ``inputs`` (what a PlanChunk multiplies)."""
    total = inputs["kv_indices"].numel()
    batch = inputs["kv_indptr"].numel() - 1
    sm_count = module._sm_count(inputs["kv_indices"].device)
    if kind == "mla":
        return module.plan_chunks(total, batch, sm_count)[0]
    return module.plan_call(total, batch, inputs["k_cache"].shape[2], sm_count)[0]


def sweep_configurations(kind: str, space: dict | list, module, inputs: dict) -> list[tuple[tuple, int, dict]]:
    """(values in space order, chunk, decode's keyword arguments) of every configuration of
    ``space`` to time on ``inputs``: PlanChunks resolved to tokens, chunks above
    max(16, 2 x the tokens) and repeats dropped. MLA configurations take 128-column merge programs
    unless the space sweeps merge_block_d (run() takes 512 since tune_attention_mergewide.md; the
    spaces before it were measured with 128)."""
    total = inputs["kv_indices"].numel()
    plan = None
    out, seen = [], set()
    for config in configurations(space):
        if isinstance(config["chunk"], PlanChunk):
            plan = plan_chunk(kind, module, inputs) if plan is None else plan
            config["chunk"] = config["chunk"].factor * plan
        elif isinstance(config["chunk"], FillChunk):
            config["chunk"] = config["chunk"].tokens(total, inputs["kv_indptr"].numel() - 1,
                                                     module._sm_count(inputs["kv_indices"].device))
        values = tuple(config.values())
        chunk = config.pop("chunk")
        if kind == "mla":  # the merge programs every MLA space was measured with, unless it sweeps them
            config.setdefault("merge_block_d", 128)
        if chunk > max(16, 2 * total) or values in seen:
            continue
        seen.add(values)
        out.append((values, chunk, config))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--results", default="benchmarks/results/tune_attention.md")
    ap.add_argument("--json", help="also write every timed configuration here")
    ap.add_argument("--shapes", choices=sorted(SHAPES), default="main", help="shape set and search space")
    ap.add_argument("--kinds", default="gqa,mla", help="comma-separated ops to sweep (gqa, mla)")
    args = ap.parse_args()
    everything: dict[str, dict[str, object]] = {}
    mismatched: list[list[object]] = []
    everything["mismatched"] = {"configurations": mismatched}  # filled in as configurations fail
    copy_bw = copy_bandwidth_gbs()
    ds = load_dataset()
    settings = TimingSettings(3, 15, 1)
    lines = [
        "# Tuning sweep of the Triton paged-decode kernels",
        "",
        f"Command: `{command_line()}`",
        "",
        f"Environment: {environment_line()}",
        "",
        f"Copy bandwidth {copy_bw:.0f} GB/s. Kernel time: CUPTI, cold L2, median of 15 calls.",
        "",
    ]
    for kind in args.kinds.split(","):
        if kind not in SPACES[args.shapes]:  # a shape set that sweeps only the other op
            continue
        def_name, sols = DEFS[kind]
        definition = ds.definitions[def_name]
        module = sys.modules[build_solution(ds.solution(sols[0])).fn.__module__]
        shapes = {}
        for w in ds.workloads_for(def_name):
            name = (w.model_extra or {}).get("name")
            wanted = EMBEDDED[args.shapes]
            if name in wanted or ("*" in wanted and "gpu" in ((w.model_extra or {}).get("tags") or [])):
                shapes[name] = materialize_inputs(definition, w, "cuda", 5, ds.root)
        for b, kv in SHAPES[args.shapes]:
            shapes[f"b{b}_kv{kv}"] = sweep_inputs(kind, b, kv, b + kv)
        if args.shapes in PRODUCTION_SETS:  # built one at a time below (pools of up to ~4 GB)
            from production_bench import production_inputs

            every = args.shapes in EVERY_PRODUCTION_BATCH
            for name, batch_spec, seed in production_subset(kind, every, EVERY_PRODUCTION_BATCH.get(args.shapes)):
                shapes[name] = (batch_spec, seed)
        rows = []
        for shape, inputs in shapes.items():
            if isinstance(inputs, tuple):
                inputs = production_inputs(kind, *inputs)
            batch = inputs["kv_indptr"].numel() - 1
            total = inputs["kv_indices"].numel()
            nbytes = bytes_moved(kind, inputs)
            outs = empty_outputs(definition, batch, "cuda")
            default = time_call(lambda: module.run(*inputs.values(), *outs), torch.device("cuda"), settings)
            expected = [o.clone() for o in outs]  # run()'s outputs: every configuration must agree
            try:  # flashinfer's kernels alone, same process, same inputs: the bar to beat
                fi = flashinfer_run_only(kind, inputs)
                fi_ms = time_call(lambda: fi(*inputs.values(), *outs), torch.device("cuda"), settings).latency_ms
            except Exception as exc:  # noqa: BLE001 - flashinfer not installed or unsupported here
                print("flashinfer run() unavailable:", str(exc)[:200], flush=True)
                fi_ms = None
            results = []
            space = SPACES[args.shapes][kind]
            names = "/".join(n if n != "block_n" else "BLOCK_N" for n in space_names(space))
            for values, chunk, config in sweep_configurations(kind, space, module, inputs):
                try:
                    t = time_call(
                        lambda: module.decode(*inputs.values(), *outs, chunk, **config),
                        torch.device("cuda"),
                        settings,
                    )
                except Exception as exc:  # noqa: BLE001 - a config that does not compile
                    print(kind, shape, values, "failed", str(exc)[:200], flush=True)
                    continue
                if not outputs_agree(outs, expected):  # a fast wrong configuration is no candidate
                    print(kind, shape, values, "outputs differ from run()'s", flush=True)
                    mismatched.append([shape, *values])
                    continue
                results.append((t.latency_ms, *values))
            results.sort()
            if not results:  # every configuration's chunk exceeds this batch's tokens
                print(kind, shape, "no configuration applies", flush=True)
                continue
            everything.setdefault(kind, {})[shape] = {
                "default_ms": default.latency_ms,
                "flashinfer_run_ms": fi_ms,
                "space": space_names(space),
                "results": results,
            }
            if args.json:  # after every shape, so a run cut short still leaves what it measured
                Path(args.json).write_text(json.dumps(everything, indent=1))
            best = results[0]
            print(
                kind,
                shape,
                json.dumps({"default_us": default.latency_ms * 1e3, "flashinfer_us": fi_ms and fi_ms * 1e3,
                            "best": best, "top5": results[:5]}),
                flush=True,
            )
            rows.append(
                [
                    shape,
                    batch,
                    total,
                    f"{default.latency_ms * 1e3:.1f}",
                    f"{nbytes / default.latency_ms / 1e6 / copy_bw * 100:.0f}",
                    f"{best[0] * 1e3:.1f}",
                    f"{nbytes / best[0] / 1e6 / copy_bw * 100:.0f}",
                    "-" if fi_ms is None else f"{fi_ms * 1e3:.1f}",
                    " ".join(f"{n}={v}" for n, v in zip(space_names(space), best[1:])),
                    "; ".join(f"{r[0] * 1e3:.1f}: " + "/".join(map(str, r[1:])) for r in results[1:4]),
                ]
            )
        lines += [
            f"## {def_name}",
            "",
            md_table(
                [
                    "shape",
                    "batch",
                    "tokens",
                    "default µs",
                    "default BW%",
                    "best µs",
                    "best BW%",
                    "flashinfer run() µs",
                    "best config",
                    f"next (µs: {names})",
                ],
                rows,
            ),
            "",
        ]
    lines += [
        "The default column is `run` (plan_chunks + the default tile); a best config clearly below it",
        "is evidence for changing the policy in the solution's main.py.",
        "",
    ]
    if args.json:
        Path(args.json).write_text(json.dumps(everything, indent=1))
    Path(args.results).parent.mkdir(parents=True, exist_ok=True)
    Path(args.results).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
