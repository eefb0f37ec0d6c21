"""Production-shaped GQA and MLA decode batches: the generator, and a FlashInfer-Trace dataset writer.

Serving decode batches are not the uniform sweeps of the embedded GPU workloads: three size
buckets, each sequence's length skewed (a few sequences 10-50x longer than the rest), and the page
indices scattered over a KV pool several times larger than the pages in use:

    bucket  batch  total KV tokens
    b1      1      2 - 3,000
    b16     16     450 - 21,000
    b64     64     10,000 - 75,000

Totals are log-uniform in each range; everything comes from a fixed seed per op, so every caller
(``attention_decode.py --set production``, a throughput benchmark, a dataset folder written here)
sees the same batches. These stay out of the embedded dataset: they are GPU-sized, and its CPU
path must stay small.

Import it (``sys.path`` holding ``benchmarks/``) or run it:

    python benchmarks/decode_batches.py --out production_decode       # writes a dataset folder
    kernel-arena run --dataset production_decode --workload-tag production

The folder holds the two definitions copied from the embedded dataset, one workloads JSONL per
definition (random q and caches; the page table a safetensors blob per workload) and no
solutions: point ``--solution`` at the embedded ones.
"""

from __future__ import annotations

import argparse
import math
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kernel_arena.builtin.generate import DATASET, GQA, MLA, attention_workload_line

# op -> (definition name, op_type, softmax scale, seed)
OPS: dict[str, tuple[str, str, float, int]] = {
    "gqa": (GQA, "gqa_paged", 1 / math.sqrt(128), 16_001),
    "mla": (MLA, "mla_paged", 1 / math.sqrt(192), 16_002),
}
# bucket -> (batch size, min total tokens, max total tokens)
BUCKETS: dict[str, tuple[int, int, int]] = {
    "b1": (1, 2, 3_000),
    "b16": (16, 450, 21_000),
    "b64": (64, 10_000, 75_000),
}
PER_BUCKET = 16
POOL_FACTOR = (2.0, 12.0)  # pool pages / used pages, uniform in this range
MIN_POOL = 4_096


@dataclass(frozen=True)
class DecodeBatch:
    """One decode batch: per-sequence KV lengths and their scattered page indices in a pool."""

    name: str
    bucket: str
    lengths: tuple[int, ...]
    pool: int
    indices: np.ndarray  # int32, len == sum(lengths), distinct, all < pool

    @property
    def batch(self) -> int:
        return len(self.lengths)

    @property
    def total(self) -> int:
        return int(sum(self.lengths))

    @property
    def indptr(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.lengths)]).astype(np.int32)


def skewed_lengths(rng: np.random.Generator, batch: int, total: int) -> list[int]:
    """``batch`` lengths summing to ``total``: lognormal spread, and one sequence in eight (at
    least one) stretched 10-50x over the rest. Every sequence keeps at least one token."""
    if batch == 1:
        return [total]
    weights = rng.lognormal(0.0, 0.5, size=batch)
    long = rng.choice(batch, size=max(1, batch // 8), replace=False)
    weights[long] *= rng.uniform(10.0, 50.0, size=len(long))
    spare = total - batch
    lengths = 1 + np.floor(weights / weights.sum() * spare).astype(np.int64)
    lengths[np.argmax(weights)] += total - int(lengths.sum())  # rounding goes to the longest
    return [int(x) for x in lengths]


def decode_batches(op: str, per_bucket: int = PER_BUCKET) -> list[DecodeBatch]:
    """The production-shaped batches of ``op`` (``gqa`` or ``mla``), bucket by bucket."""
    if op not in OPS:
        raise ValueError(f"unknown op {op!r}: expected one of {sorted(OPS)}")
    rng = np.random.default_rng(OPS[op][3])
    out = []
    for bucket, (batch, lo, hi) in BUCKETS.items():
        for i in range(per_bucket):
            total = int(round(math.exp(rng.uniform(math.log(lo), math.log(hi)))))
            lengths = skewed_lengths(rng, batch, max(total, batch))
            used = sum(lengths)
            pool = max(MIN_POOL, int(used * rng.uniform(*POOL_FACTOR)))
            indices = rng.choice(pool, size=used, replace=False).astype(np.int32)
            out.append(DecodeBatch(f"prod_{bucket}_{i:02d}_t{used}", bucket, tuple(lengths), pool, indices))
    return out


def write_dataset(out: Path, ops: tuple[str, ...] = ("gqa", "mla"), per_bucket: int = PER_BUCKET) -> Path:
    """Write a FlashInfer-Trace dataset folder of the production batches; returns ``out``.

    Definitions are copied from the embedded dataset; workload lines are tagged ``gpu``,
    ``production`` and ``bucket:<b1|b16|b64>``; page tables go to safetensors blobs."""
    import json

    out = Path(out)
    for op in ops:
        definition, op_type, scale, _ = OPS[op]
        src = DATASET / "definitions" / op_type / f"{definition}.json"
        dst = out / "definitions" / op_type / f"{definition}.json"
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
        lines = [
            attention_workload_line(definition, op_type, b.name, ["gpu", "production", f"bucket:{b.bucket}"],
                                    list(b.lengths), b.indices, b.pool, scale, out)
            for b in decode_batches(op, per_bucket)
        ]
        path = out / "workloads" / op_type / f"{definition}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True, help="dataset folder to write (created)")
    ap.add_argument("--ops", default="gqa,mla", help="comma-separated: gqa, mla")
    ap.add_argument("--per-bucket", type=int, default=PER_BUCKET)
    args = ap.parse_args()
    ops = tuple(o for o in args.ops.split(",") if o)
    bad = [o for o in ops if o not in OPS]
    if bad:
        ap.error(f"--ops: unknown op(s) {', '.join(bad)}; expected gqa and/or mla")
    write_dataset(args.out, ops, args.per_bucket)
    for op in ops:
        batches = decode_batches(op, args.per_bucket)
        print(f"{op}: {len(batches)} workloads, {sum(b.total for b in batches)} KV tokens -> {args.out}")


if __name__ == "__main__":
    main()
