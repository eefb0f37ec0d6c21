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

os.environ["TRITON_INTERPRET"] = "1"
pytest.importorskip("triton")

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


# chunk 1 makes every token its own chunk (maximal merges); 1000 puts the batch in one chunk.
@pytest.mark.parametrize("chunk", [1, 3, 16, 40, 1000])
@pytest.mark.parametrize("lengths", [[0, 1, 70, 3], [130], [0, 0], [2, 0, 9], [0, 5, 0, 0, 7, 0]])
def test_gqa_triton_matches_reference(builtin, chunk, lengths):
    mod = _load(GQA)
    q, k, v, indptr, indices = _gqa_inputs(lengths, sum(lengths) + chunk)
    ref = load_reference(builtin.definitions["gqa_paged_decode_h32_kv8_d128_ps1"])
    expected = ref(q, k, v, indptr, indices, 128**-0.5)
    for _ in range(2):  # the second call finds the arrival counters reset by the first
        out = torch.full((len(lengths), 32, 128), float("nan")).bfloat16()
        lse = torch.full((len(lengths), 32), float("nan"))
        mod.decode(q, k, v, indptr, indices, 128**-0.5, out, lse, chunk)
        _check(out, lse, *expected)


def test_gqa_triton_batch_wider_than_one_indptr_block(builtin):
    """300 sequences: the chunk's sequence range is counted over two 256-wide indptr blocks."""
    lengths = [(i * 7) % 4 for i in range(300)]
    mod = _load(GQA)
    q, k, v, indptr, indices = _gqa_inputs(lengths, 11)
    out = torch.full((300, 32, 128), float("nan")).bfloat16()
    lse = torch.full((300, 32), float("nan"))
    mod.decode(q, k, v, indptr, indices, 128**-0.5, out, lse, 64)
    ref = load_reference(builtin.definitions["gqa_paged_decode_h32_kv8_d128_ps1"])
    _check(out, lse, *ref(q, k, v, indptr, indices, 128**-0.5))


def test_gqa_chunk_plan_uses_shapes_only():
    mod = _load(GQA)
    assert mod.plan_chunks(4096, 8, 132) == (64, 64)  # short batch: the minimum chunk
    assert mod.plan_chunks(32768, 8, 132) == (512, 64)  # ~4 programs per SM over 8 kv heads
    assert mod.plan_chunks(524288, 8, 132) == (1024, 512)  # long batch: the maximum chunk
    assert mod.plan_chunks(40, 8, 132) == (64, 1)
    assert mod.plan_chunks(0, 8, 132) == (64, 1)  # one chunk still writes the empty sequences


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
    out = torch.full((len(lengths), 16, 512), float("nan")).bfloat16()
    lse = torch.full((len(lengths), 16), float("nan"))
    scale = 1 / math.sqrt(192)
    mod.decode(qn, qp, ckv, kpe, indptr, indices, scale, out, lse, chunk)
    ref = load_reference(builtin.definitions["mla_paged_decode_h16_ckv512_kpe64_ps1"])
    _check(out, lse, *ref(qn, qp, ckv, kpe, indptr, indices, scale))


def test_mla_chunk_plan_uses_shapes_only():
    mod = _load(MLA)
    assert mod.plan_chunks(4096, 132) == (64, 64)
    assert mod.plan_chunks(131072, 132) == (512, 256)
    assert mod.plan_chunks(0, 132) == (64, 1)


@pytest.mark.parametrize(
    ("batch", "with_state", "scale", "gate"),
    [
        (1, True, 0.088, 0.0),
        (2, False, 0.0, 0.0),
        (3, True, None, 0.0),
        (2, True, 0.088, 30.0),  # a + dt_bias huge: softplus linear branch, decay ~ 0
        (2, True, 0.088, -30.0),  # a + dt_bias very negative: decay ~ 1
        (20, True, 0.088, 0.0),  # wider row tiles
    ],
)
def test_gdn_triton_matches_reference(builtin, batch, with_state, scale, gate):
    mod = _load(GDN)
    gen = torch.Generator().manual_seed(batch * 11 + int(gate))
    q = torch.randn(batch, 1, 4, 128, generator=gen).bfloat16()
    k = (torch.randn(batch, 1, 4, 128, generator=gen) * 0.1).bfloat16()
    v = torch.randn(batch, 1, 8, 128, generator=gen).bfloat16()
    state = torch.randn(batch, 8, 128, 128, generator=gen) if with_state else None
    A_log, dt_bias = torch.randn(8, generator=gen), torch.randn(8, generator=gen)
    a = (torch.randn(batch, 1, 8, generator=gen) + gate).bfloat16()
    b = (torch.randn(batch, 1, 8, generator=gen) * 4).bfloat16()
    out = torch.full((batch, 1, 8, 128), float("nan")).bfloat16()
    new_state = torch.full((batch, 8, 128, 128), float("nan"))
    before = None if state is None else state.clone()
    mod.run(q, k, v, state, A_log, a, dt_bias, b, scale, out, new_state)
    ref_out, ref_state = load_reference(builtin.definitions["gdn_decode_qk4_v8_d128_k_last"])(
        q, k, v, state, A_log, a, dt_bias, b, scale
    )
    torch.testing.assert_close(new_state, ref_state, atol=1e-3, rtol=1e-3)
    torch.testing.assert_close(out.float(), ref_out.float(), atol=2e-2, rtol=1e-2)
    if state is not None:
        assert torch.equal(state, before), "the input state must not be modified"
