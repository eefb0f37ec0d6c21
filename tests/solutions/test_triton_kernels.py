"""The embedded Triton kernels on CPU through the Triton interpreter: every edge case, forced chunk
sizes (the CPU workloads are too short to exercise the merges otherwise) and forced GDN row tiles
(on CPU the GDN Solution itself takes one program per (sequence, head), the GPU's narrow tiles
are covered here)."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from kernel_arena.dataset import builtin_dataset_path
from kernel_arena.measure.reference import load_reference

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


def _gqa_inputs(lengths, seed, kv_heads=8):
    """Inputs of the definition's layout (4 q heads per kv head, head dim 128); ``kv_heads`` 8 as
    in the definition, or fewer where a case is about chunks and sequences, not heads: the
    interpreter runs one program per (chunk, kv head), and every kv head's programs do the same
    work on their own slices (the reference takes any head count)."""
    gen = torch.Generator().manual_seed(seed)
    pool = sum(lengths) + 7
    q = torch.randn(len(lengths), 4 * kv_heads, 128, generator=gen).bfloat16()
    k = torch.randn(pool, 1, kv_heads, 128, generator=gen).bfloat16()
    v = torch.randn(pool, 1, kv_heads, 128, generator=gen).bfloat16()
    indptr, indices = _table(lengths, pool, gen)
    return q, k, v, indptr, indices


def _mla_inputs(lengths, seed, spare):
    """Inputs of the MLA definition's layout (16 heads, 512 + 64 dims) over a pool of
    ``sum(lengths) + spare`` pages."""
    gen = torch.Generator().manual_seed(seed)
    pool = sum(lengths) + spare
    n = len(lengths)
    qn = torch.randn(n, 16, 512, generator=gen).bfloat16()
    qp = torch.randn(n, 16, 64, generator=gen).bfloat16()
    ckv = torch.randn(pool, 1, 512, generator=gen).bfloat16()
    kpe = torch.randn(pool, 1, 64, generator=gen).bfloat16()
    indptr, indices = _table(lengths, pool, gen)
    return qn, qp, ckv, kpe, indptr, indices


# chunk 1 makes every token its own chunk (maximal merges); 1000 puts the batch in one chunk.
# Chunks of 1 and 3 tokens (up to 1040 programs a call with 8 kv heads) run with 2 kv heads,
# which keep the head indexing of K/V, partials, counters and outputs apart from kv head 0;
# chunks of 16, 40 and 1000 tokens run with the definition's 8.
@pytest.mark.parametrize("chunk", [pytest.param(1, marks=pytest.mark.slow), 3, 16, 40, 1000])
@pytest.mark.parametrize("lengths", [[0, 1, 70, 3], [130], [0, 0], [2, 0, 9], [0, 5, 0, 0, 7, 0]])
def test_gqa_triton_matches_reference(builtin, chunk, lengths):
    mod = _load(GQA)
    q, k, v, indptr, indices = _gqa_inputs(lengths, sum(lengths) + chunk, kv_heads=2 if chunk <= 3 else 8)
    ref = load_reference(builtin.definitions["gqa_paged_decode_h32_kv8_d128_ps1"])
    expected = ref(q, k, v, indptr, indices, 128**-0.5)
    for _ in range(2):  # the second call finds the arrival counters reset by the first
        out = torch.full(q.shape, float("nan")).bfloat16()
        lse = torch.full(q.shape[:2], float("nan"))
        mod.decode(q, k, v, indptr, indices, 128**-0.5, out, lse, chunk)
        _check(out, lse, *expected)


@pytest.mark.parametrize(
    ("first", "length", "spare", "chunk", "block_n"),
    [(0, 70, 0, 16, 16), (45, 30, 12, 16, 16), (5, 70, 9, 32, 32), (20, 0, 7, 16, 16), (3, 9, 50, 64, 32),
     (40, 30, 10, 64, 16)],
)
def test_gqa_single_sequence_reads_only_its_indptr_range(builtin, first, length, spare, chunk, block_n):
    """One sequence (the kernel's SINGLE path: chunks cut kv_indices by position, indptr only masks
    tokens): indptr may start past 0 and kv_indices run past its end, so whole tiles before the
    sequence, tiles past it, an empty sequence and merges of partial chunks all occur."""
    mod = _load(GQA)
    gen = torch.Generator().manual_seed(first * 31 + length)
    pool = first + length + spare + 5
    q = torch.randn(1, 8, 128, generator=gen).bfloat16()
    k = torch.randn(pool, 1, 2, 128, generator=gen).bfloat16()
    v = torch.randn(pool, 1, 2, 128, generator=gen).bfloat16()
    indices = torch.randperm(pool, generator=gen)[: first + length + spare].to(torch.int32)
    indptr = torch.tensor([first, first + length], dtype=torch.int32)
    ref = load_reference(builtin.definitions["gqa_paged_decode_h32_kv8_d128_ps1"])
    # The reference takes indptr from 0 to len(kv_indices): give it the same sequence that way.
    expected = ref(q, k, v, torch.tensor([0, length], dtype=torch.int32), indices[first:first + length],
                   128**-0.5)
    for _ in range(2):  # the second call finds the arrival counters reset by the first
        out = torch.full(q.shape, float("nan")).bfloat16()
        lse = torch.full(q.shape[:2], float("nan"))
        mod.decode(q, k, v, indptr, indices, 128**-0.5, out, lse, chunk, block_n)
        _check(out, lse, *expected)


def test_gqa_triton_batch_wider_than_one_indptr_block(builtin):
    """300 sequences: the chunk's sequence range is counted over two 256-wide indptr blocks (a
    matter of sequences, not heads: 2 kv heads)."""
    lengths = [(i * 7) % 4 for i in range(300)]
    mod = _load(GQA)
    q, k, v, indptr, indices = _gqa_inputs(lengths, 11, kv_heads=2)
    out = torch.full(q.shape, float("nan")).bfloat16()
    lse = torch.full(q.shape[:2], float("nan"))
    mod.decode(q, k, v, indptr, indices, 128**-0.5, out, lse, 64)
    ref = load_reference(builtin.definitions["gqa_paged_decode_h32_kv8_d128_ps1"])
    _check(out, lse, *ref(q, k, v, indptr, indices, 128**-0.5))


def test_gqa_chunk_plan_uses_shapes_only():
    mod = _load(GQA)
    assert mod.plan_chunks(4096, 1, 8, 132) == (256, 16)  # one wave of 128 programs
    assert mod.plan_chunks(32768, 1, 8, 132) == (1024, 32)  # one wave, two programs per SM
    assert mod.plan_chunks(131072, 64, 8, 132) == (2048, 64)
    assert mod.plan_chunks(74001, 8, 8, 132) == (512, 145)  # 2048 would leave a 3rd wave mostly idle
    assert mod.plan_chunks(32768, 256, 8, 132) == (512, 64)  # at most 4 average sequences a chunk
    assert mod.plan_chunks(256, 16, 8, 132) == (16, 16)  # tiny sequences: one a chunk
    assert mod.plan_chunks(128, 1, 8, 132) == (64, 2)  # never below 64 tokens unless sequences are
    assert mod.plan_chunks(0, 4, 8, 132)[1] == 1  # one chunk still writes the empty sequences
    assert mod.plan_chunks(6040, 32, 8, 132) == (256, 24)  # a skewed batch of short sequences
    assert mod.tile_for(2048) == (128, 4, 2) and mod.tile_for(128) == (64, 4, 3)
    assert mod.prefetch_for(256) == 128 and mod.prefetch_for(1024) == 0


def test_gqa_batches_take_about_one_chunk_program_per_sm():
    """Two or more sequences: every (sequence, chunk) segment is its own program, and the chunk
    gives about one chunk program per SM, between 64 and 512 tokens; 32-token tiles up to
    256-token chunks, five stages (the K/V tile double-buffered)."""
    mod = _load(GQA)
    assert mod.plan_call(1172, 16, 8, 132) == (128, 32, 4, 5, 0)  # production batch 16: 71 tokens a program
    assert mod.plan_call(942, 16, 8, 132) == (64, 32, 4, 5, 0)
    assert mod.plan_call(3417, 16, 8, 132) == (256, 32, 4, 5, 0)
    assert mod.plan_call(5724, 16, 8, 132) == (512, 64, 4, 5, 0)
    assert mod.plan_call(58008, 64, 8, 132) == (512, 64, 4, 5, 0)  # at most 512
    assert mod.plan_call(256, 16, 8, 132) == (64, 32, 4, 5, 0)  # at least 64 tokens
    assert mod.plan_call(0, 4, 8, 132)[0] == 64


def test_gqa_single_sequences_keep_their_own_plans():
    """One sequence: up to 128 tokens stay whole (five stages from 33 tokens), 129-256 tokens in
    32-token chunks, 257-512 in 64-token chunks on five stages, 513-2048 tokens 128-token chunks
    on five stages, longer ones take plan_chunks (fewer slots to merge)."""
    mod = _load(GQA)
    assert mod.plan_call(10, 1, 8, 132) == (16, 32, 4, 3, 0)  # one chunk: no merge
    assert mod.plan_call(32, 1, 8, 132) == (32, 32, 4, 3, 0)
    assert mod.plan_call(37, 1, 8, 132) == (64, 32, 4, 5, 0)
    assert mod.plan_call(64, 1, 8, 132) == (64, 32, 4, 5, 0)
    assert mod.plan_call(83, 1, 8, 132) == (128, 32, 4, 5, 0)
    assert mod.plan_call(166, 1, 8, 132) == (32, 32, 4, 3, 0)
    assert mod.plan_call(256, 1, 8, 132) == (32, 32, 4, 3, 0)
    assert mod.plan_call(276, 1, 8, 132) == (64, 32, 4, 5, 0)
    assert mod.plan_call(460, 1, 8, 132) == (64, 32, 4, 5, 0)
    assert mod.plan_call(644, 1, 8, 132) == (128, 32, 4, 5, 0)
    assert mod.plan_call(2048, 1, 8, 132) == (128, 32, 4, 5, 0)
    assert mod.plan_call(2674, 1, 8, 132)[0] >= 128 and mod.plan_call(2674, 1, 8, 132)[3] != 5
    assert mod.plan_call(32768, 1, 8, 132) == (1024, 128, 4, 2, 0)


@pytest.mark.parametrize("chunk", [1, 5, 32, 1000])
@pytest.mark.parametrize("lengths", [[0, 1, 40], [75], [0, 0]])
def test_mla_triton_matches_reference(builtin, chunk, lengths):
    mod = _load(MLA)
    qn, qp, ckv, kpe, indptr, indices = _mla_inputs(lengths, 3 + sum(lengths) + chunk, 5)
    scale = 1 / math.sqrt(192)
    ref = load_reference(builtin.definitions["mla_paged_decode_h16_ckv512_kpe64_ps1"])
    expected = ref(qn, qp, ckv, kpe, indptr, indices, scale)
    for _ in range(2):  # the second call finds the counters reset by the first
        out = torch.full((len(lengths), 16, 512), float("nan")).bfloat16()
        lse = torch.full((len(lengths), 16), float("nan"))
        mod.decode(qn, qp, ckv, kpe, indptr, indices, scale, out, lse, chunk)
        _check(out, lse, *expected)


@pytest.mark.parametrize(("merge_heads", "merge_block_d", "merge_slots"),
                         [(4, 128, None), (16, 128, None), (1, 512, None), (4, 256, None), (1, 512, 1), (1, 512, 32)])
def test_mla_triton_large_batch_merge_layouts(builtin, merge_heads, merge_block_d, merge_slots):
    """Merge programs taking 4 or all 16 heads of a sequence (the default takes 1 head), and 256 or
    all 512 output columns (the default takes 128); one-head ones loading 1 or 32 partial slots at
    a time (the default 16; these sequences have up to 2 slots, so with 1 the merge rescales
    across its loads)."""
    lengths = [(i * 5) % 4 for i in range(40)]
    mod = _load(MLA)
    qn, qp, ckv, kpe, indptr, indices = _mla_inputs(lengths, 17, 5)
    out = torch.full((40, 16, 512), float("nan")).bfloat16()
    lse = torch.full((40, 16), float("nan"))
    scale = 1 / math.sqrt(192)
    mod.decode(qn, qp, ckv, kpe, indptr, indices, scale, out, lse, 2, merge_heads=merge_heads,
               merge_block_d=merge_block_d, merge_slots=merge_slots)
    if merge_slots == 1:
        with pytest.raises(ValueError, match="merge_slots must be a power of two"):
            mod.decode(qn, qp, ckv, kpe, indptr, indices, scale, out, lse, 2, merge_heads=1, merge_slots=3)
    ref = load_reference(builtin.definitions["mla_paged_decode_h16_ckv512_kpe64_ps1"])
    _check(out, lse, *ref(qn, qp, ckv, kpe, indptr, indices, scale))


@pytest.mark.parametrize("merge_last", [2, 3])
def test_mla_triton_last_arrival_merges_short_splits(builtin, merge_last):
    """Sequences of up to merge_last slots are merged by their last chunk program; longer ones by
    the merge programs the grid holds for them (found by rank over indptr). Chunk 4 over these
    lengths gives sequences of 0, 1, 2, 3 and 9 slots, so both paths and the rank search run."""
    lengths = [0, 3, 6, 9, 33, 1, 0, 5, 2]
    mod = _load(MLA)
    qn, qp, ckv, kpe, indptr, indices = _mla_inputs(lengths, 23 + merge_last, 7)
    n = len(lengths)
    scale = 1 / math.sqrt(192)
    ref = load_reference(builtin.definitions["mla_paged_decode_h16_ckv512_kpe64_ps1"])
    expected = ref(qn, qp, ckv, kpe, indptr, indices, scale)
    for _ in range(2):  # the second call finds the counters reset by the first
        out = torch.full((n, 16, 512), float("nan")).bfloat16()
        lse = torch.full((n, 16), float("nan"))
        mod.decode(qn, qp, ckv, kpe, indptr, indices, scale, out, lse, 4, merge_heads=16, merge_last=merge_last)
        _check(out, lse, *expected)


def test_mla_run_default_plan_merges_both_ways(builtin, monkeypatch):
    """run()'s own plan on a skewed batch (chunk 32 on a 16-SM device): the 300-token sequence
    spans 10 slots (merge programs), the 40-token one 2 (merged by its last chunk)."""
    lengths = [300, 3, 0, 40, 1]
    mod = _load(MLA)
    monkeypatch.setattr(mod, "_sm_count", lambda device: 16)
    assert mod.plan_chunks(sum(lengths), len(lengths), 16)[0] == 32
    qn, qp, ckv, kpe, indptr, indices = _mla_inputs(lengths, 31, 9)
    n = len(lengths)
    scale = 1 / math.sqrt(192)
    ref = load_reference(builtin.definitions["mla_paged_decode_h16_ckv512_kpe64_ps1"])
    out = torch.full((n, 16, 512), float("nan")).bfloat16()
    lse = torch.full((n, 16), float("nan"))
    mod.run(qn, qp, ckv, kpe, indptr, indices, scale, out, lse)
    _check(out, lse, *ref(qn, qp, ckv, kpe, indptr, indices, scale))


def _mla_counters_are_zero(mod):
    """Every per-sequence arrival and merge counter of the (CPU) scratch is back at 0."""
    return all(int(torch.count_nonzero(counts)) == 0 for _, _, counts in mod._BUFFERS.values())


# Two programs per slot, each accumulating half of the 512 output columns (D_SPLIT = 2):
# (lengths, chunk, merge_last, merge_heads). Slot counts are in the comments.
MLA_SPLIT_CASES = {
    "one_slot": ([20], 32, 8, None),  # one sequence, one slot: both halves write out directly
    "one_slot_each": ([5, 9, 1], 1000, 8, None),  # the batch in one chunk, no merges
    "last_arrival": ([13], 4, 8, None),  # 4 slots, merged by the last of its 8 programs to arrive
    "merge_programs": ([3, 5, 25], 4, 2, 16),  # 1, 2 (last arrival) and 7 slots (merge programs)
    "merge_programs_one_head": ([25, 2], 4, 2, None),  # 7 slots over 64 one-head merge programs
    "merge_last_0": ([0, 9, 17], 4, 0, 16),  # 3 and 5 slots, both through merge programs
    "empty_inside": ([4, 0, 11, 0], 5, 3, 16),  # empty sequences among 1 and 3 slots (last arrival)
    "skewed": ([40, 1, 2, 0, 3, 1], 8, 2, 16),  # 5 slots (merge programs) among one-slot sequences
    "long_segments": ([150, 7, 300], 256, 8, None),  # 1, 1 and 2 slots of several 32- and 64-token tiles
}


# The other work layouts of a slot, each against the default one (D_SPLIT 1, heads as the dot rows).
MLA_LAYOUTS = {
    "column_split": dict(d_split=2),  # two programs a slot, 256 output columns each
}


@pytest.mark.parametrize("layout", list(MLA_LAYOUTS))
@pytest.mark.parametrize("case", list(MLA_SPLIT_CASES))
def test_mla_triton_work_layouts_match_reference(builtin, case, layout):
    """d_split = 2: each half of a slot writes its own columns (directly, as partials, merged by
    the last arrival or by merge programs that wait for both halves of every slot). Twice in a row with the same scratch
    (the counters are reset by the first call), and the values of the default layout (d_split = 2
    gives bit-equal ones: both halves compute the same scores, so the same lse)."""
    lengths, chunk, merge_last, merge_heads = MLA_SPLIT_CASES[case]
    mod = _load(MLA)
    qn, qp, ckv, kpe, indptr, indices = _mla_inputs(lengths, 41 + sum(lengths) + chunk, 6)
    n = len(lengths)
    scale = 1 / math.sqrt(192)
    ref = load_reference(builtin.definitions["mla_paged_decode_h16_ckv512_kpe64_ps1"])
    expected = ref(qn, qp, ckv, kpe, indptr, indices, scale)
    results = []
    for options in (MLA_LAYOUTS[layout], MLA_LAYOUTS[layout], {}):  # the second call finds the counters reset
        out = torch.full((n, 16, 512), float("nan")).bfloat16()
        lse = torch.full((n, 16), float("nan"))
        mod.decode(qn, qp, ckv, kpe, indptr, indices, scale, out, lse, chunk, merge_heads=merge_heads,
                   merge_last=merge_last, **options)
        _check(out, lse, *expected)
        assert _mla_counters_are_zero(mod)
        results.append((out, lse))
    if layout == "column_split":
        assert torch.equal(results[0][0], results[2][0])
        assert torch.equal(results[0][1], results[2][1])


def test_mla_output_column_split_launch():
    """d_split doubles the segment programs (the merge programs follow them), passes D_SPLIT with
    every other constexpr of the kernel (the prepared launch takes them in signature order), and
    takes only 1 or 2."""
    mod = _load(MLA)
    qn, qp, ckv, kpe, indptr, indices = _mla_inputs([25, 2, 0], 5, 3)
    out, lse = torch.empty(3, 16, 512).bfloat16(), torch.empty(3, 16)
    common = (qn, qp, ckv, kpe, indptr, indices, 0.1, out, lse, 4)
    one = mod._launch_args(*common, merge_heads=16, merge_last=2)
    two = mod._launch_args(*common, merge_heads=16, merge_last=2, d_split=2)
    num_chunks, batch = 7, 3  # 27 tokens in chunks of 4
    merges = mod.merge_sequences(batch, num_chunks, 2) * 4  # 4 merge programs a sequence
    assert one[0] == ((num_chunks + batch) + merges,)
    assert two[0] == (2 * (num_chunks + batch) + merges,)
    assert one[2]["D_SPLIT"] == 1 and two[2]["D_SPLIT"] == 2
    assert set(two[2]) == set(mod._DECODE.names[len(two[1]):])
    with pytest.raises(ValueError, match="d_split"):
        mod._launch_args(*common, d_split=4)


def _probe_cases():
    """(module, decode's arguments, counters' index in the launch arguments) per kernel."""
    gqa = _load(GQA)
    q, k, v, indptr, indices = _gqa_inputs([25, 2, 0], 5)
    gqa_call = (q, k, v, indptr, indices, 0.1, torch.empty(3, 32, 128).bfloat16(), torch.empty(3, 32), 4, 32, 4, 3, 0)
    mla = _load(MLA)
    qn, qp, ckv, kpe, indptr, indices = _mla_inputs([25, 2, 0], 5, 3)
    mla_call = (qn, qp, ckv, kpe, indptr, indices, 0.1, torch.empty(3, 16, 512).bfloat16(), torch.empty(3, 16), 4)
    return {"gqa": (gqa, gqa_call, 7), "mla": (mla, mla_call, 8)}


@pytest.mark.parametrize("op", ["gqa", "mla"])
def test_probe_is_a_gpu_option(monkeypatch, op):
    """The probe's timers are PTX: off, the kernel gets PROBE=False and the counters as a stand-in
    pointer it never writes; asked for under the interpreter, or with a buffer that is not int64,
    not on the GPU or too short, decode refuses before launching anything."""
    mod, common, counters = _probe_cases()[op]
    grid, args, consts, _ = mod._launch_args(*common)  # decode's own defaults
    assert consts["PROBE"] is False and args[-1] is args[counters]  # the counters stand in for the probe
    programs = grid[0] * (grid[1] if len(grid) > 1 else 1)
    fits = torch.zeros(programs * mod.PROBE_WIDTH, dtype=torch.int64)
    with pytest.raises(ValueError, match="probe"):  # the interpreter (these tests' environment)
        mod.decode(*common, probe=fits)
    monkeypatch.setattr(mod, "UPCAST", False)  # as on a GPU: each case below fails on its own count
    with pytest.raises(ValueError, match="int64 CUDA tensor"):
        mod.decode(*common, probe=fits)  # on the CPU
    monkeypatch.setattr(torch.Tensor, "is_cuda", property(lambda t: True))
    with pytest.raises(ValueError, match="int64 CUDA tensor"):
        mod.decode(*common, probe=fits.int())
    with pytest.raises(ValueError, match=f"{programs} programs need"):
        mod.decode(*common, probe=fits[:-1])
    assert mod._launch_args(*common, probe=fits)[2]["PROBE"] is True  # and a fitting one is taken


def test_mla_large_batches_take_512_token_chunks_from_320_tokens_an_sm():
    """Batches of 32-64 sequences (the measured range): 256-token chunks up to 320 tokens an SM,
    512 from there on; smaller batches never above 128, larger ones 256."""
    mod = _load(MLA)
    assert mod.plan_chunks(37329, 64, 132) == (256, 146)
    assert mod.plan_chunks(42239, 64, 132)[0] == 256
    assert mod.plan_chunks(42240, 64, 132)[0] == 512
    assert mod.plan_chunks(74419, 64, 132) == (512, 146)
    assert mod.plan_chunks(74419, 16, 132)[0] == 128
    assert mod.plan_chunks(131072, 256, 132) == (256, 512)


def test_mla_grid_holds_merge_programs_only_for_sequences_that_can_span_more_slots():
    mod = _load(MLA)
    assert mod.merge_sequences(64, 132, 0) == 64  # every sequence may need merge programs
    assert mod.merge_sequences(64, 132, 8) == 16  # at most 131 // 8 sequences cross 8 boundaries
    assert mod.merge_sequences(16, 4, 8) == 0  # no sequence can span 9 slots of 4 chunks
    assert mod.merge_sequences(3, 1000, 2) == 3


def test_mla_merge_layout_follows_batch_and_average_length():
    mod = _load(MLA)
    assert mod.merge_heads_for(9152, 16, 16) == 1  # few sequences: spread each merge widely
    assert mod.merge_heads_for(6040, 32, 16) == 1
    assert mod.merge_heads_for(131072, 64, 16) == 1
    assert mod.merge_heads_for(65536, 128, 16) == 16  # big batch
    # One-head merge programs take the whole latent (16 a sequence); all-head ones 128 columns.
    assert mod.merge_block_d_for(1) == 512 and mod.merge_block_d_for(16) == 128
    qn, qp, ckv, kpe, indptr, indices = _mla_inputs([40, 3, 9], 5, 3)
    out, lse = torch.empty(3, 16, 512).bfloat16(), torch.empty(3, 16)
    launch = mod._launch_args(qn, qp, ckv, kpe, indptr, indices, 0.1, out, lse, 4, merge_heads=1, merge_last=2)
    assert launch[2]["BLOCK_D"] == 512 and launch[0] == ((13 + 3) + mod.merge_sequences(3, 13, 2) * 16,)


def test_mla_chunk_plan_uses_shapes_only():
    mod = _load(MLA)
    assert mod.plan_chunks(4096, 1, 132) == (32, 128)  # about one chunk program per SM, at least 32
    assert mod.plan_chunks(131072, 256, 132) == (256, 512)  # at most 256 from 32 sequences
    assert mod.plan_chunks(32768, 256, 132) == (256, 128)
    assert mod.plan_chunks(20397, 16, 132) == (128, 160)  # at most 128 below 32 sequences
    assert mod.plan_chunks(1172, 16, 132) == (32, 37)
    assert mod.plan_chunks(24645, 64, 132) == (256, 97)  # a production batch of 64
    assert mod.plan_chunks(55877, 64, 132) == (512, 110)  # 320+ tokens an SM
    assert mod.plan_chunks(30, 1, 132) == (32, 1)  # a short sequence stays whole
    assert mod.plan_chunks(43, 1, 132) == (64, 1)
    assert mod.plan_chunks(148, 1, 132) == (32, 5)
    assert mod.plan_chunks(256, 16, 132) == (16, 16)  # tiny sequences: one a chunk
    assert mod.plan_chunks(0, 0, 132)[1] == 1


def test_gqa_plan_cache_stays_bounded_as_the_token_count_changes(builtin):
    """Serving changes len(kv_indices) every step: the per-shape plan cache must not grow forever."""
    mod = _load(GQA)
    mod._MAX_PLANS = 2
    ref = load_reference(builtin.definitions["gqa_paged_decode_h32_kv8_d128_ps1"])
    for n in (3, 4, 5):
        q, k, v, indptr, indices = _gqa_inputs([n], n)
        out = torch.full((1, 32, 128), float("nan")).bfloat16()
        lse = torch.full((1, 32), float("nan"))
        mod.run(q, k, v, indptr, indices, 128**-0.5, out, lse)
        _check(out, lse, *ref(q, k, v, indptr, indices, 128**-0.5))
        assert len(mod._PLANS) <= 2


@pytest.mark.parametrize(
    ("block_v", "batch", "with_state", "scale", "parallel", "evict", "tiles", "order"),
    [
        (2, 1, True, 0.088, True, False, 1, {}),
        (16, 2, True, 0.0, True, False, 1, {}),
        (8, 2, False, 0.0, True, False, 1, {}),
        (32, 2, True, 0.088, False, True, 1, {}),
        (128, 3, True, 0.0, True, False, 1, {}),
        (128, 2, False, 0.088, False, False, 1, {}),
        (16, 2, True, 0.088, True, False, 4, {}),
        (32, 1, True, 0.0, False, True, 2, {}),
        (16, 2, False, 0.0, True, False, 8, {}),
        (32, 2, True, 0.088, False, False, 1, {"out_first": True}),
        (32, 3, True, 0.0, True, False, 1, {"flat": True}),
        (16, 2, True, 0.0, False, False, 2, {"out_first": True, "flat": True}),
    ],
)
def test_gdn_triton_matches_reference(builtin, block_v, batch, with_state, scale, parallel, evict, tiles, order):
    """Row tiles of 2 and 16 (what a GPU takes for small and larger batches), 8 and 32 (other
    swept tiles), 128 (what the Solution takes on CPU), both reduction orders and the eviction hint (the sweep's
    variants), programs that walk 2-8 tiles with the next load ahead, the output stored before the
    state and a 1-D grid, with and without an input state, an explicit and the default scale."""
    mod = _load(GDN)
    gen = torch.Generator().manual_seed(batch * 131 + block_v)
    q = torch.randn(batch, 1, 4, 128, generator=gen).bfloat16()
    k = (torch.randn(batch, 1, 4, 128, generator=gen) * 0.1).bfloat16()
    v = torch.randn(batch, 1, 8, 128, generator=gen).bfloat16()
    state = torch.randn(batch, 8, 128, 128, generator=gen) if with_state else None
    A_log, dt_bias = torch.randn(8, generator=gen), torch.randn(8, generator=gen)
    a = torch.randn(batch, 1, 8, generator=gen).bfloat16()
    b = torch.randn(batch, 1, 8, generator=gen).bfloat16()
    ref = load_reference(builtin.definitions["gdn_decode_qk4_v8_d128_k_last"])
    exp_out, exp_state = ref(q, k, v, state, A_log, a, dt_bias, b, scale)
    out = torch.full((batch, 1, 8, 128), float("nan")).bfloat16()
    new_state = torch.full((batch, 8, 128, 128), float("nan"))
    pristine = None if state is None else state.clone()
    mod.decode(q, k, v, state, A_log, a, dt_bias, b, scale, out, new_state, block_v, 1, parallel, evict, tiles,
               **order)
    torch.testing.assert_close(out.float(), exp_out.float(), atol=1e-2, rtol=1e-2)
    torch.testing.assert_close(new_state, exp_state, atol=1e-4, rtol=1e-4)
    assert state is None or torch.equal(state, pristine), "the input state is only read"


def test_gdn_triton_launch_shape_by_device_and_batch():
    """The interpreter runs programs one after another: on CPU, whole V slices; on a GPU, 2-row
    tiles on one warp up to batch 8, 16-row tiles on one warp up to batch 32, 8-row tiles on one
    warp with the output stored first up to batch 512, 16-row tiles on two warps beyond."""
    mod = _load(GDN)
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert mod._launch(1, 8, 128, cpu) == (128, 4, False)
    assert mod._launch(64, 8, 128, cpu) == (128, 4, False)
    assert [mod._launch(b, 8, 128, cuda) for b in (1, 8, 9, 32, 33, 64, 512, 513, 1024)] == [
        (2, 1, False),
        (2, 1, False),
        (16, 1, False),
        (16, 1, False),
        (8, 1, True),
        (8, 1, True),
        (8, 1, True),
        (16, 2, False),
        (16, 2, False),
    ]


def test_mla_sequences_of_up_to_three_slots_merge_by_their_last_arrival():
    """run()'s last-arrival bound is 3 (tune_attention_partials.md: 4 beat 8 on all 48 production
    batches; tune_attention_mergelast.md: 3 beat 4 and 6 in every bucket, 2 lost 4% at batch 64):
    the grid holds merge programs for at most (num_chunks - 1) // 3 sequences, 16 a sequence."""
    mod = _load(MLA)
    assert mod.MERGE_LAST == 3
    assert mod.merge_sequences(64, 146, mod.MERGE_LAST) == 48
    assert mod.merge_sequences(64, 3, mod.MERGE_LAST) == 0 and mod.merge_sequences(2, 146, mod.MERGE_LAST) == 2


_MALFORMED_SCRIPT = r'''
import json, math, sys, torch
sys.path.insert(0, sys.argv[1])
from test_triton_kernels import GQA, MLA, _check, _gqa_inputs, _load, _mla_inputs
from kernel_arena.dataset import load_dataset
from kernel_arena.measure.reference import load_reference

op = sys.argv[2]
ds = load_dataset()
results = {}
bad_tables = {3: ([0, 40, 70, 184], [0, 50, 20, 120], [-5, 40, 70, 120]), 1: ([0, 184], [30, 20], [-1, 120])}
for lengths in ([40, 30, 50], [120]):
    n = len(lengths)
    if op == "gqa":
        mod = _load(GQA)
        inputs = _gqa_inputs(lengths, 5)
        ref = load_reference(ds.definitions["gqa_paged_decode_h32_kv8_d128_ps1"])
        shape, scale, calls = (n, 32, 128), 128 ** -0.5, [lambda *a: mod.run(*a)]
    else:
        mod = _load(MLA)
        inputs = _mla_inputs(lengths, 5, 10)
        ref = load_reference(ds.definitions["mla_paged_decode_h16_ckv512_kpe64_ps1"])
        shape, scale = (n, 16, 512), 1 / math.sqrt(192)
        calls = [lambda *a: mod.run(*a), lambda *a: mod.decode(*a, 32, merge_last=0),
                 lambda *a: mod.decode(*a, 32, merge_last=3, d_split=2)]
    *head, indptr, indices = inputs
    for k, call in enumerate(calls):
        for bad in bad_tables[n]:
            out, lse = torch.zeros(shape).bfloat16(), torch.zeros(shape[:2])
            call(*head, torch.tensor(bad, dtype=torch.int32), indices, scale, out, lse)
            results[f"{lengths} {k} {bad}"] = bool(out.float().isnan().all() and lse.isnan().all())
        out, lse = torch.zeros(shape).bfloat16(), torch.zeros(shape[:2])
        call(*head, indptr, indices, scale, out, lse)  # counters left at zero: a good call is right
        _check(out, lse, *ref(*head, indptr, indices, scale))
print(json.dumps(results))
'''


@pytest.mark.parametrize("op", ["gqa", "mla"])
def test_malformed_indptr_gives_nan_and_leaves_the_next_call_right(op):
    """kv_indptr outside the definition's constraint (past the end of kv_indices, decreasing, or
    negative) on one batch of three sequences and one single sequence (MLA also with merge
    programs for every split sequence, and with two programs a slot): every output and lse is
    NaN, and a correct call after it gets the reference's result (nothing read past kv_indices, no
    counter left behind). Run in a subprocess: a kernel that waited forever for a slot no program
    owns (the MLA merge programs did) fails the test instead of hanging it."""
    proc = subprocess.run([sys.executable, "-c", _MALFORMED_SCRIPT, str(Path(__file__).parent), op],
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, "TRITON_INTERPRET": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(results) == (6 if op == "gqa" else 18) and all(results.values()), results
