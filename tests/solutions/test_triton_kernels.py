"""The embedded Triton kernels on CPU through the Triton interpreter: every edge case, forced chunk
sizes (the CPU workloads are too short to exercise the merges otherwise)."""

from __future__ import annotations

import importlib.util
import math
import os
import sys

import pytest
import torch

from kernel_arena.bench.reference import load_reference
from kernel_arena.dataset import builtin_dataset_path

os.environ.setdefault("TRITON_INTERPRET", "1")
pytest.importorskip("triton")
pytestmark = pytest.mark.skipif(
    os.environ["TRITON_INTERPRET"] != "1", reason="CPU tensors: runs through the Triton interpreter"
)

SOL = builtin_dataset_path() / "solutions"


def _load(folder):
    """Import a solution's main.py with its sibling kernel.py importable (as the build does)."""
    sys.path.insert(0, str(folder))
    try:
        for name in ("kernel", "main"):
            sys.modules.pop(name, None)
        spec = importlib.util.spec_from_file_location(f"sol_{folder.name}", folder / "main.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(folder))
        for name in ("kernel",):
            sys.modules.pop(name, None)


GQA = SOL / "gqa_paged/gqa_paged_decode_h32_kv8_d128_ps1/gqa_paged_decode_triton"
MLA = SOL / "mla_paged/mla_paged_decode_h16_ckv512_kpe64_ps1/mla_paged_decode_triton"
GDN = SOL / "gdn/gdn_decode_qk4_v8_d128_k_last/gdn_decode_triton"


def _table(lengths, pool, gen):
    indptr = torch.tensor([0, *torch.tensor(lengths).cumsum(0).tolist()], dtype=torch.int32)
    indices = torch.randperm(pool, generator=gen)[: sum(lengths)].to(torch.int32)
    return indptr, indices


def _check(out, lse, ref_out, ref_lse):
    torch.testing.assert_close(out.float(), ref_out.float(), atol=1e-2, rtol=1e-2)
    finite = torch.isfinite(ref_lse)
    assert torch.equal(torch.isneginf(lse), torch.isneginf(ref_lse))
    torch.testing.assert_close(lse[finite], ref_lse[finite], atol=1e-3, rtol=1e-3)


def _gqa_inputs(lengths, seed):
    gen = torch.Generator().manual_seed(seed)
    pool = sum(lengths) + 7
    q = torch.randn(len(lengths), 32, 128, generator=gen).bfloat16()
    k = torch.randn(pool, 1, 8, 128, generator=gen).bfloat16()
    v = torch.randn(pool, 1, 8, 128, generator=gen).bfloat16()
    indptr, indices = _table(lengths, pool, gen)
    return q, k, v, indptr, indices


@pytest.mark.parametrize("splits", [1, 2, 3, 5, 40])
@pytest.mark.parametrize("lengths", [[0, 1, 70, 3], [130], [0, 0], [2, 0, 9]])
def test_gqa_triton_matches_reference(builtin, splits, lengths):
    mod = _load(GQA)
    q, k, v, indptr, indices = _gqa_inputs(lengths, sum(lengths) + splits)
    out = torch.full((len(lengths), 32, 128), float("nan")).bfloat16()
    lse = torch.full((len(lengths), 32), float("nan"))
    mod.decode(q, k, v, indptr, indices, 128**-0.5, out, lse, splits)
    ref = load_reference(builtin.definitions["gqa_paged_decode_h32_kv8_d128_ps1"])
    _check(out, lse, *ref(q, k, v, indptr, indices, 128**-0.5))


def test_gqa_split_count_uses_shapes_only():
    mod = _load(GQA)
    assert mod.num_splits(1, 8, 32768, 132) == 33  # 2 waves of 132 SMs over 8 kv heads
    assert mod.num_splits(64, 8, 64 * 2048, 132) == 2  # one split per 1024 tokens
    assert mod.num_splits(1, 8, 4096, 132) == 33  # 2 waves of 132 SMs over 8 kv heads
    assert mod.num_splits(1, 8, 40, 132) == 1  # too short to split
    assert mod.num_splits(0, 8, 0, 132) == 1


@pytest.mark.parametrize("chunk", [1, 5, 32, 1000])
@pytest.mark.parametrize("lengths", [[0, 1, 40], [75], [0, 0]])
def test_mla_triton_matches_reference(builtin, chunk, lengths):
    mod = _load(MLA)
    gen = torch.Generator().manual_seed(3 + sum(lengths) + chunk)
    pool = sum(lengths) + 5
    qn = torch.randn(len(lengths), 16, 512, generator=gen).bfloat16()
    qp = torch.randn(len(lengths), 16, 64, generator=gen).bfloat16()
    ckv = torch.randn(pool, 1, 512, generator=gen).bfloat16()
    kpe = torch.randn(pool, 1, 64, generator=gen).bfloat16()
    indptr, indices = _table(lengths, pool, gen)
    scale = 1 / math.sqrt(192)
    ref = load_reference(builtin.definitions["mla_paged_decode_h16_ckv512_kpe64_ps1"])
    expected = ref(qn, qp, ckv, kpe, indptr, indices, scale)
    for _ in range(2):  # the second call finds the counters reset by the first
        out = torch.full((len(lengths), 16, 512), float("nan")).bfloat16()
        lse = torch.full((len(lengths), 16), float("nan"))
        mod.decode(qn, qp, ckv, kpe, indptr, indices, scale, out, lse, chunk)
        _check(out, lse, *expected)


def test_mla_triton_large_batch_merges_whole_sequences(builtin):
    """Above 32 sequences each merge program takes all 16 heads of a sequence (the other layout)."""
    lengths = [(i * 5) % 4 for i in range(40)]
    mod = _load(MLA)
    gen = torch.Generator().manual_seed(17)
    pool = sum(lengths) + 5
    qn = torch.randn(40, 16, 512, generator=gen).bfloat16()
    qp = torch.randn(40, 16, 64, generator=gen).bfloat16()
    ckv = torch.randn(pool, 1, 512, generator=gen).bfloat16()
    kpe = torch.randn(pool, 1, 64, generator=gen).bfloat16()
    indptr, indices = _table(lengths, pool, gen)
    out = torch.full((40, 16, 512), float("nan")).bfloat16()
    lse = torch.full((40, 16), float("nan"))
    scale = 1 / math.sqrt(192)
    mod.decode(qn, qp, ckv, kpe, indptr, indices, scale, out, lse, 2)
    ref = load_reference(builtin.definitions["mla_paged_decode_h16_ckv512_kpe64_ps1"])
    _check(out, lse, *ref(qn, qp, ckv, kpe, indptr, indices, scale))


def test_mla_chunk_plan_uses_shapes_only():
    mod = _load(MLA)
    assert mod.plan_chunks(4096, 1, 132) == (64, 64)
    assert mod.plan_chunks(131072, 256, 132) == (512, 256)
    assert mod.plan_chunks(32768, 256, 132) == (256, 128)
    assert mod.plan_chunks(256, 16, 132) == (16, 16)
    assert mod.plan_chunks(0, 0, 132)[1] == 1
