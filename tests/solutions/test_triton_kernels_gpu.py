"""The embedded Triton attention kernels compiled for a real GPU (skipped without one).

The one-launch GQA kernel merges split partials in whichever program arrives last, through an
atomic counter; only real parallel execution can expose a missing fence or a counter left
non-zero, so each case is called many times and checked every time. Both kernels must also
replay correctly from a CUDA graph (no host synchronization in the call).
"""

from __future__ import annotations

import math
import os

import pytest
import torch

from kernel_arena.measure.reference import load_reference

pytestmark = [
    pytest.mark.gpu,
    # Triton reads the switch once; flipping it inside one pytest process breaks it.
    pytest.mark.skipif(
        os.environ.get("TRITON_INTERPRET", "1") == "1", reason="run with TRITON_INTERPRET=0 (compiled Triton)"
    ),
]


@pytest.fixture
def compiled():
    """The solutions' main modules, compiled by Triton."""
    from solutions.test_triton_kernels import GDN, GQA, MLA, _load

    return {"gqa": _load(GQA), "mla": _load(MLA), "gdn": _load(GDN)}


def _mixed_table(gen, batch, max_len, pool):
    lengths = torch.randint(0, max_len, (batch,), generator=gen)
    lengths[::7] = 0  # empty sequences among the others
    lengths[1] = max_len * 4  # one long sequence spanning many chunks
    indptr = torch.zeros(batch + 1, dtype=torch.int32)
    indptr[1:] = lengths.cumsum(0)
    indices = torch.randperm(pool, generator=gen)[: int(indptr[-1])].to(torch.int32)
    return indptr.cuda(), indices.cuda()


def _gqa_inputs(gen, batch, max_len, pool):
    """A mixed page table, then q, K and V, drawn in that order from gen (on the GPU)."""
    indptr, indices = _mixed_table(gen, batch, max_len, pool)
    q = torch.randn(batch, 32, 128, generator=gen).bfloat16().cuda()
    k = torch.randn(pool, 1, 8, 128, generator=gen).bfloat16().cuda()
    v = torch.randn(pool, 1, 8, 128, generator=gen).bfloat16().cuda()
    return q, k, v, indptr, indices


def _check(out, lse, ref_out, ref_lse):
    torch.testing.assert_close(out.float(), ref_out.float(), atol=1e-2, rtol=1e-2)
    assert torch.equal(torch.isneginf(lse), torch.isneginf(ref_lse))
    finite = torch.isfinite(ref_lse)
    torch.testing.assert_close(lse[finite], ref_lse[finite], atol=1e-3, rtol=1e-3)


@pytest.mark.parametrize(("chunk", "prefetch"), [(16, 0), (64, 128), (512, 0), (512, 256)])
def test_gqa_merge_by_last_arrival_is_race_free(builtin, compiled, chunk, prefetch):
    gen = torch.Generator().manual_seed(chunk)
    q, k, v, indptr, indices = _gqa_inputs(gen, 37, 700, 40_000)
    ref = load_reference(builtin.definitions["gqa_paged_decode_h32_kv8_d128_ps1"])
    expected = ref(q, k, v, indptr, indices, 128**-0.5)
    for _ in range(30):
        out = torch.full_like(expected[0], float("nan"))
        lse = torch.full_like(expected[1], float("nan"))
        compiled["gqa"].decode(q, k, v, indptr, indices, 128**-0.5, out, lse, chunk, prefetch=prefetch)
        _check(out, lse, *expected)
    # Calls after the first went through the cached compiled kernel (the thin launcher).
    assert compiled["gqa"]._DECODE.enabled and compiled["gqa"]._DECODE.compiled


@pytest.mark.parametrize(("chunk", "prefetch"), [(32, 0), (256, 0), (256, 64)])
def test_mla_chunked_kernel_matches_reference(builtin, compiled, chunk, prefetch):
    gen = torch.Generator().manual_seed(chunk)
    qn, qp, ckv, kpe, indptr, indices = _mla_inputs(gen, 21, 500, 20_000)
    scale = 1 / math.sqrt(192)
    ref = load_reference(builtin.definitions["mla_paged_decode_h16_ckv512_kpe64_ps1"])
    expected = ref(qn, qp, ckv, kpe, indptr, indices, scale)
    for _ in range(10):
        out = torch.full_like(expected[0], float("nan"))
        lse = torch.full_like(expected[1], float("nan"))
        compiled["mla"].decode(qn, qp, ckv, kpe, indptr, indices, scale, out, lse, chunk, prefetch=prefetch)
        _check(out, lse, *expected)
    # A smaller batch next: the counters it finds must all have been reset to zero.
    sub = indptr[:6]
    expected = ref(qn[:5], qp[:5], ckv, kpe, sub, indices[: int(sub[-1])], scale)
    out, lse = torch.full_like(expected[0], float("nan")), torch.full_like(expected[1], float("nan"))
    compiled["mla"].decode(
        qn[:5], qp[:5], ckv, kpe, sub, indices[: int(sub[-1])], scale, out, lse, chunk, prefetch=prefetch
    )
    _check(out, lse, *expected)


MLA_LAYOUTS = {"column_split": dict(d_split=2),
               "narrow_merge": dict(merge_block_d=128), "half_merge": dict(merge_block_d=256),
               "merge_slots_4": dict(merge_slots=4), "merge_slots_32": dict(merge_slots=32)}


@pytest.mark.parametrize("layout", list(MLA_LAYOUTS))
@pytest.mark.parametrize(("chunk", "merge_last", "prefetch"), [(32, 8, 0), (32, 0, 0), (256, 8, 64)])
def test_mla_work_layouts_are_race_free(builtin, compiled, chunk, merge_last, prefetch, layout):
    """d_split = 2: a sequence is merged (by its last arrival or by merge programs) only after both
    halves of each of its slots arrived; narrow_merge and half_merge: one-head merge programs of
    128 or 256 output columns (64 or 32 a sequence; run() takes all 512, which every other test
    here runs); merge_slots_4 and _32: merge programs loading 4 or 32 partial slots at a time
    (run(): 16). The counters are reset for the next call; only real parallel execution can expose
    a count that is off."""
    gen = torch.Generator().manual_seed(chunk + merge_last)
    qn, qp, ckv, kpe, indptr, indices = _mla_inputs(gen, 21, 500, 20_000)
    scale = 1 / math.sqrt(192)
    ref = load_reference(builtin.definitions["mla_paged_decode_h16_ckv512_kpe64_ps1"])
    expected = ref(qn, qp, ckv, kpe, indptr, indices, scale)
    kw = dict(prefetch=prefetch, merge_last=merge_last, **MLA_LAYOUTS[layout])
    for _ in range(10):
        out = torch.full_like(expected[0], float("nan"))
        lse = torch.full_like(expected[1], float("nan"))
        compiled["mla"].decode(qn, qp, ckv, kpe, indptr, indices, scale, out, lse, chunk, **kw)
        _check(out, lse, *expected)
    sub = indptr[:6]  # a smaller batch next: it must find every counter reset
    expected = ref(qn[:5], qp[:5], ckv, kpe, sub, indices[: int(sub[-1])], scale)
    out, lse = torch.full_like(expected[0], float("nan")), torch.full_like(expected[1], float("nan"))
    compiled["mla"].decode(qn[:5], qp[:5], ckv, kpe, sub, indices[: int(sub[-1])], scale, out, lse, chunk, **kw)
    _check(out, lse, *expected)


def test_mla_probe_records_every_program_and_changes_no_result(builtin, compiled):
    """decode(probe=...) (the timeline benchmark's view): every program writes ordered timestamps
    and its SM; the programs with a segment are exactly the (sequence, chunk) segments; merge
    programs work only for sequences of more than MERGE_LAST slots; the result is the reference's."""
    mod = compiled["mla"]
    gen = torch.Generator().manual_seed(11)
    qn, qp, ckv, kpe, indptr, indices = _mla_inputs(gen, 21, 500, 20_000)
    scale = 1 / math.sqrt(192)
    expected = load_reference(builtin.definitions["mla_paged_decode_h16_ckv512_kpe64_ps1"])(
        qn, qp, ckv, kpe, indptr, indices, scale)
    chunk, merge_last = 32, mod.MERGE_LAST
    grid = mod._launch_args(qn, qp, ckv, kpe, indptr, indices, scale, expected[0], expected[1], chunk,
                            merge_last=merge_last)[0][0]
    probe = torch.zeros(grid * mod.PROBE_WIDTH, dtype=torch.int64, device="cuda")
    out, lse = torch.full_like(expected[0], float("nan")), torch.full_like(expected[1], float("nan"))
    mod.decode(qn, qp, ckv, kpe, indptr, indices, scale, out, lse, chunk, merge_last=merge_last, probe=probe)
    _check(out, lse, *expected)
    p = probe.view(grid, mod.PROBE_WIDTH).cpu()
    gt0, gt1, c0, cmid, c1, sm, role = (p[:, i] for i in range(7))
    assert bool((gt0 > 0).all() and (gt1 >= gt0).all() and (c1 >= c0).all())
    assert int(sm.max()) < torch.cuda.get_device_properties(0).multi_processor_count
    ends = indptr.cpu().long()
    slots = [((e - 1) // chunk - s // chunk + 1) if e > s else 0 for s, e in zip(ends[:-1].tolist(), ends[1:].tolist())]
    segments = -(-indices.numel() // chunk) + len(slots)
    seg_roles = role[:segments]
    assert int((seg_roles > 0).sum()) == sum(slots)  # one program per (sequence, chunk) segment
    assert int((seg_roles == 1).sum()) == sum(n == 1 for n in slots)  # one-slot sequences: direct
    assert int((seg_roles == 3).sum()) == sum(1 < n <= merge_last for n in slots)  # one last arrival each
    live = seg_roles > 0
    assert bool((cmid[:segments][live] >= c0[:segments][live]).all() and (c1[:segments][live] >= cmid[:segments][live]).all())
    working = int((role[segments:] == 4).sum())
    heads = mod.merge_heads_for(indices.numel(), 21, 16)
    assert working == sum(n > merge_last for n in slots) * (16 // heads) * (512 // mod.merge_block_d_for(heads))
    # Off again, the same call still gives the reference's result (no probe state left behind).
    out.fill_(float("nan"))
    mod.decode(qn, qp, ckv, kpe, indptr, indices, scale, out, lse, chunk, merge_last=merge_last)
    _check(out, lse, *expected)


def test_gqa_probe_records_every_program_and_changes_no_result(builtin, compiled):
    """decode(probe=...) on the GQA kernel: program (i, g) writes row i * 8 + g; the programs with
    a segment are the (sequence, chunk) segments times the 8 kv heads, one last arrival per split
    (sequence, kv head); the result is the reference's."""
    mod = compiled["gqa"]
    gen = torch.Generator().manual_seed(12)
    q, k, v, indptr, indices = _gqa_inputs(gen, 19, 400, 20_000)
    expected = load_reference(builtin.definitions["gqa_paged_decode_h32_kv8_d128_ps1"])(q, k, v, indptr, indices,
                                                                                        128**-0.5)
    chunk = 64
    grid = mod._launch_args(q, k, v, indptr, indices, 128**-0.5, expected[0], expected[1], chunk, 32, 4, 5, 0)[0]
    probe = torch.zeros(grid[0] * grid[1] * mod.PROBE_WIDTH, dtype=torch.int64, device="cuda")
    out, lse = torch.full_like(expected[0], float("nan")), torch.full_like(expected[1], float("nan"))
    mod.decode(q, k, v, indptr, indices, 128**-0.5, out, lse, chunk, 32, 4, 5, 0, probe=probe)
    _check(out, lse, *expected)
    p = probe.view(grid[0] * grid[1], mod.PROBE_WIDTH).cpu()
    gt0, gt1, c0, cmid, c1, sm, role = (p[:, i] for i in range(7))
    assert bool((gt0 > 0).all() and (gt1 >= gt0).all() and (c1 >= c0).all())
    ends = indptr.cpu().long()
    slots = [((e - 1) // chunk - s // chunk + 1) if e > s else 0 for s, e in zip(ends[:-1].tolist(), ends[1:].tolist())]
    assert int((role > 0).sum()) == 8 * sum(slots)  # every (segment, kv head)
    assert int((role == 1).sum()) == 8 * sum(n == 1 for n in slots)
    assert int((role == 3).sum()) == 8 * sum(n > 1 for n in slots)  # one last arrival per (sequence, kv head)
    live = role > 0
    assert bool((cmid[live] >= c0[live]).all() and (c1[live] >= cmid[live]).all())


def test_gqa_and_mla_replay_from_a_cuda_graph(builtin, compiled):
    gen = torch.Generator().manual_seed(5)
    q, k, v, indptr, indices = _gqa_inputs(gen, 16, 900, 30_000)
    out = torch.empty(16, 32, 128, dtype=torch.bfloat16, device="cuda")
    lse = torch.empty(16, 32, device="cuda")
    args = (q, k, v, indptr, indices, 128**-0.5, out, lse)
    compiled["gqa"].run(*args)  # compile and allocate scratch outside the capture
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        compiled["gqa"].run(*args)
    ref = load_reference(builtin.definitions["gqa_paged_decode_h32_kv8_d128_ps1"])
    for _ in range(3):
        q.normal_()
        out.fill_(float("nan"))
        graph.replay()
        torch.cuda.synchronize()
        _check(out, lse, *ref(q, k, v, indptr, indices, 128**-0.5))

    qn = torch.randn(16, 16, 512, generator=gen).bfloat16().cuda()
    qp = torch.randn(16, 16, 64, generator=gen).bfloat16().cuda()
    ckv = torch.randn(30_000, 1, 512, generator=gen).bfloat16().cuda()
    kpe = torch.randn(30_000, 1, 64, generator=gen).bfloat16().cuda()
    mout = torch.empty(16, 16, 512, dtype=torch.bfloat16, device="cuda")
    mlse = torch.empty(16, 16, device="cuda")
    margs = (qn, qp, ckv, kpe, indptr, indices, 1 / math.sqrt(192), mout, mlse)
    compiled["mla"].run(*margs)
    torch.cuda.synchronize()
    mgraph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(mgraph):
        compiled["mla"].run(*margs)
    mref = load_reference(builtin.definitions["mla_paged_decode_h16_ckv512_kpe64_ps1"])
    qn.normal_()
    mout.fill_(float("nan"))
    mgraph.replay()
    torch.cuda.synchronize()
    _check(mout, mlse, *mref(*margs[:7]))


def _mla_inputs(gen, batch, max_len, pool):
    """A mixed page table, then q_nope, q_pe, ckv and kpe, drawn in that order from gen (on the GPU)."""
    indptr, indices = _mixed_table(gen, batch, max_len, pool)
    qn = torch.randn(batch, 16, 512, generator=gen).bfloat16().cuda()
    qp = torch.randn(batch, 16, 64, generator=gen).bfloat16().cuda()
    ckv = torch.randn(pool, 1, 512, generator=gen).bfloat16().cuda()
    kpe = torch.randn(pool, 1, 64, generator=gen).bfloat16().cuda()
    return qn, qp, ckv, kpe, indptr, indices


@pytest.mark.parametrize(("op", "definition", "scale"), [
    ("gqa", "gqa_paged_decode_h32_kv8_d128_ps1", 128**-0.5),
    ("mla", "mla_paged_decode_h16_ckv512_kpe64_ps1", 192**-0.5),
])
def test_run_repeated_calls_take_the_prepared_launch_and_stay_correct(builtin, compiled, op, definition, scale):
    gen = torch.Generator().manual_seed(9)
    inputs = (_gqa_inputs if op == "gqa" else _mla_inputs)(gen, 24, 300, 20_000)
    ref = load_reference(builtin.definitions[definition])
    mod = compiled[op]
    for s in (scale, 0.05, scale):
        expected = ref(*inputs, s)
        out = torch.full_like(expected[0], float("nan"))
        lse = torch.full_like(expected[1], float("nan"))
        mod.run(*inputs, s, out, lse)
        _check(out, lse, *expected)
    assert any(b.kernels for b in mod._BOUND.values())  # calls after the first were prepared launches
    # The prepared launch hands Triton device addresses (ints), not tensors: no driver pointer
    # query per tensor per call.
    assert all(isinstance(x, int) for b in mod._BOUND.values() for x in (*b.scratch, *b.ints))
    # So run() checks the device itself: a CPU tensor in the call is refused by Triton's own
    # pointer check on the full path, and never reaches the kernel as a host address (which would
    # fault the device).
    with pytest.raises(ValueError, match="lse is on cpu"):
        mod.run(*inputs, scale, out, lse.cpu())
    torch.cuda.synchronize()
    assert mod._DECODE.enabled  # the caller's error does not turn the fast path off
    # A misaligned output takes the full path and is still right.
    wide = torch.empty(out.numel() + 1, dtype=out.dtype, device="cuda")
    odd = wide[1:].view_as(out).fill_(float("nan"))
    mod.run(*inputs, scale, odd, lse)
    _check(odd, lse, *ref(*inputs, scale))


@pytest.mark.parametrize(("first", "length", "chunk", "prefetch"), [(0, 3000, 128, 0), (37, 1500, 32, 128),
                                                                 (0, 9, 16, 0), (500, 5000, 512, 0)])
def test_gqa_single_sequence_path_is_race_free(builtin, compiled, first, length, chunk, prefetch):
    """One sequence (the SINGLE path: chunks cut by position, indptr only masks), its slots merged
    by the last arrival, 30 calls each checked; indptr may start past 0."""
    gen = torch.Generator().manual_seed(length + chunk)
    pool = first + length + 4000
    q = torch.randn(1, 32, 128, generator=gen).bfloat16().cuda()
    k = torch.randn(pool, 1, 8, 128, generator=gen).bfloat16().cuda()
    v = torch.randn(pool, 1, 8, 128, generator=gen).bfloat16().cuda()
    indices = torch.randperm(pool, generator=gen)[: first + length].to(torch.int32).cuda()
    ref = load_reference(builtin.definitions["gqa_paged_decode_h32_kv8_d128_ps1"])
    expected = ref(q, k, v, torch.tensor([0, length], dtype=torch.int32).cuda(), indices[first:], 128**-0.5)
    indptr = torch.tensor([first, first + length], dtype=torch.int32).cuda()
    for _ in range(30):
        out = torch.full_like(expected[0], float("nan"))
        lse = torch.full_like(expected[1], float("nan"))
        compiled["gqa"].decode(q, k, v, indptr, indices, 128**-0.5, out, lse, chunk, 32, 4, 5, prefetch)
        _check(out, lse, *expected)


def _gdn_inputs(batch, seed):
    """q, k, v, state, A_log, a, dt_bias, b of the GDN definition on the GPU, drawn from seed."""
    gen = torch.Generator().manual_seed(seed)
    q = torch.randn(batch, 1, 4, 128, generator=gen).bfloat16().cuda()
    k = (torch.randn(batch, 1, 4, 128, generator=gen) * 0.1).bfloat16().cuda()
    v = torch.randn(batch, 1, 8, 128, generator=gen).bfloat16().cuda()
    state = torch.randn(batch, 8, 128, 128, generator=gen).cuda()
    A_log, dt_bias = torch.randn(8, generator=gen).cuda(), torch.randn(8, generator=gen).cuda()
    a = torch.randn(batch, 1, 8, generator=gen).bfloat16().cuda()
    b = torch.randn(batch, 1, 8, generator=gen).bfloat16().cuda()
    return q, k, v, state, A_log, a, dt_bias, b


@pytest.mark.parametrize(("block_v", "warps", "tiles"), [(16, 1, 2), (16, 2, 4), (8, 1, 8), (32, 4, 4)])
def test_gdn_tile_walk_matches_reference(builtin, compiled, block_v, warps, tiles):
    """Programs that walk several row tiles (the next tile's load issued ahead), compiled."""
    q, k, v, state, A_log, a, dt_bias, b = _gdn_inputs(64, tiles)
    ref = load_reference(builtin.definitions["gdn_decode_qk4_v8_d128_k_last"])
    exp_out, exp_state = ref(q, k, v, state, A_log, a, dt_bias, b, 0.0)
    out = torch.full_like(exp_out, float("nan"))
    new_state = torch.full_like(exp_state, float("nan"))
    compiled["gdn"].decode(q, k, v, state, A_log, a, dt_bias, b, 0.0, out, new_state, block_v, warps, tiles=tiles)
    torch.testing.assert_close(out.float(), exp_out.float(), atol=1e-2, rtol=1e-2)
    torch.testing.assert_close(new_state, exp_state, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("batch", [1, 2, 4, 8, 16, 32, 64, 256, 600])
def test_gdn_run_matches_reference_at_every_launch_shape(builtin, compiled, batch):
    """``run`` picks the row tile and warps from the batch: each batch here takes one of the
    shapes the GPU path can choose, compiled, with and without an input state."""
    q, k, v, state, A_log, a, dt_bias, b = _gdn_inputs(batch, batch)
    ref = load_reference(builtin.definitions["gdn_decode_qk4_v8_d128_k_last"])
    for initial in (state, None):
        exp_out, exp_state = ref(q, k, v, initial, A_log, a, dt_bias, b, 0.0)
        out = torch.full_like(exp_out, float("nan"))
        new_state = torch.full_like(exp_state, float("nan"))
        compiled["gdn"].run(q, k, v, initial, A_log, a, dt_bias, b, 0.0, out, new_state)
        torch.testing.assert_close(out.float(), exp_out.float(), atol=1e-2, rtol=1e-2)
        torch.testing.assert_close(new_state, exp_state, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("op", ["gqa", "mla"])
@pytest.mark.parametrize("batch", [1, 21])
def test_malformed_indptr_gives_nan_and_leaves_the_next_call_right(builtin, compiled, op, batch):
    """kv_indptr past the end of kv_indices, or decreasing, through run() (MLA also with merge
    programs for every split sequence): NaN everywhere, the call returns (the MLA merge programs
    used to wait for slots no program owned), and the next correct call is right."""
    gen = torch.Generator().manual_seed(batch)
    if op == "gqa":
        *head, indptr, indices = _gqa_inputs(gen, max(batch, 2), 500, 20_000)
        scale, name = 128**-0.5, "gqa_paged_decode_h32_kv8_d128_ps1"
        calls = [compiled["gqa"].run]
    else:
        *head, indptr, indices = _mla_inputs(gen, max(batch, 2), 500, 20_000)
        scale, name = 1 / math.sqrt(192), "mla_paged_decode_h16_ckv512_kpe64_ps1"
        calls = [compiled["mla"].run, lambda *a: compiled["mla"].decode(*a, 64, merge_last=0)]
    if batch == 1:  # the table's long second sequence alone (GQA's one-sequence path)
        head = [t[1:2] for t in head[:1 if op == "gqa" else 2]] + head[1 if op == "gqa" else 2:]
        indices = indices[int(indptr[1]):int(indptr[2])].contiguous()
        indptr = torch.tensor([0, indices.numel()], dtype=torch.int32, device=indices.device)
    expected = load_reference(builtin.definitions[name])(*head, indptr, indices, scale)
    over = indptr.clone()
    over[-1] += 1000
    down = indptr.clone()
    down[0] = int(indptr[-1]) + 5  # the first sequence ends before it starts
    for call in calls:
        for bad in (over, down):
            out, lse = torch.zeros_like(expected[0]), torch.zeros_like(expected[1])
            call(*head, bad, indices, scale, out, lse)
            torch.cuda.synchronize()
            assert out.float().isnan().all() and lse.isnan().all()
        out = torch.full_like(expected[0], float("nan"))
        lse = torch.full_like(expected[1], float("nan"))
        call(*head, indptr, indices, scale, out, lse)
        _check(out, lse, *expected)
