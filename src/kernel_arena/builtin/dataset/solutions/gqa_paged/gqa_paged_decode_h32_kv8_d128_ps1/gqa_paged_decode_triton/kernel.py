"""Paged GQA decode in one Triton launch: flat token chunks cut into segments, base-2 online softmax.

Work split. The batch's T = len(kv_indices) tokens, laid end to end in kv_indices order, are cut
into chunks of `chunk` tokens, and each chunk again at sequence boundaries: a segment is the part
of one sequence b inside one chunk c, and it owns slot c + b (slots of different sequences never
collide). Program (i, g) takes the segment of slot i for kv head g, if any (it finds b by one
vectorized pass over indptr: the last non-empty sequence whose first slot start_b // chunk + b is
at most i), and serves the GROUP query heads of that kv head (padded to 16 rows so q.k and p.v
run on tensor cores). A skewed batch (one long sequence among short ones) spreads evenly over the
GPU, short sequences run side by side, and the host needs only T and the batch size, never
kv_indptr's values. The grid has num_chunks + batch rows of programs (at most that many slots
exist; the rest exit at once).

Per (sequence b, chunk c) segment the program computes the running max m (log2 units), sum l
and accumulator acc = sum_t 2^(x_t - m) v_t, with x_t = sm_scale * log2(e) * q.k_t. Sequence b
spans n_b = (end_b - 1) // chunk - start_b // chunk + 1 chunks. If n_b = 1 the program writes
output and lse directly. Otherwise it writes acc / l and lse = m + log2 l to its partial slot,
then bumps the arrival counter of (b, g); the program that arrives last merges the n_b slots,
    M = max lse_s,  w_s = 2^(lse_s - M),  out = sum w_s o_s / sum w_s,  lse = M + log2 sum w_s,
and resets the counter to 0 for the next call. Empty sequences (n_b = 0) are written as out 0,
lse -inf by program (b, g). A malformed indptr (not 0 <= indptr[b] <= indptr[b + 1] <= T for
every b) gives no program a slot: program (b, g) writes NaN for sequence b (_find_segment).
Page indices become 64-bit row offsets, so pools larger than 2^31 elements are safe.

One sequence (SINGLE, batch == 1). Program i takes positions [i * chunk, (i + 1) * chunk) of
kv_indices (capped at len(kv_indices)) and counts only the tokens inside [indptr[0], indptr[1]):
the same segments as above, but the loop bounds need no indptr value, so the first page indices
are requested together with indptr instead of one round trip after it. A tile with no token of
the sequence leaves the softmax state unchanged.

L2 prefetch (PREFETCH > 0 tokens). One program per SM cannot keep enough gathered 256-byte rows
in flight to stream at full bandwidth, and a short chunk is all dependent round trips (indptr,
then indices, then K/V). So the program first asks for the K/V rows of its first PREFETCH tokens
to be brought into L2 (prefetch.global.L2: no registers, no shared memory, no waiting), before
it reads q, and each K/V tile then requests the rows PREFETCH tokens further on. The
tile loads that follow mostly hit L2. Prefetching changes no result; it needs a GPU (inline PTX),
so the CPU interpreter runs with PREFETCH = 0.

Probe (PROBE; off by default, GPU only). With a probe buffer (int64, PROBE_FIELDS a program;
program (i, g) at row i * NUM_KV_HEADS + g) each program writes the global ns timer at its start
and end, its SM's cycle counter at start, after its tile loop and at end, its SM and its role
(PROBE_DIRECT, _PARTIAL, _MERGED; 0 for none), as the MLA kernel's probe does;
benchmarks/mla_timeline.py --op gqa reads it. Off, the kernel's code is unchanged (the pointer is
the counters, never written).
"""

import triton
import triton.language as tl

LOG2E = 1.4426950408889634


@triton.jit
def gqa_decode_kernel(
    q_ptr, k_ptr, v_ptr, indptr_ptr, indices_ptr, part_o_ptr, part_lse_ptr, count_ptr, out_ptr, lse_ptr,
    qk_scale, batch, chunk, total, probe_ptr,
    NUM_KV_HEADS: tl.constexpr, GROUP: tl.constexpr, HEAD_DIM: tl.constexpr,
    BLOCK_H: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_B: tl.constexpr, MERGE_S: tl.constexpr,
    PREFETCH: tl.constexpr, UPCAST: tl.constexpr, SINGLE: tl.constexpr = False, PROBE: tl.constexpr = False,
):
    i = tl.program_id(0)
    g = tl.program_id(1)
    probe_row = probe_ptr + (tl.cast(i, tl.int64) * NUM_KV_HEADS + g) * PROBE_FIELDS  # only written with PROBE
    if PROBE:
        tl.store(probe_row + 0, _globaltimer(i))
        tl.store(probe_row + 2, _clock64(i))
    num_qo_heads = NUM_KV_HEADS * GROUP
    offs_h = tl.arange(0, BLOCK_H)
    offs_d = tl.arange(0, HEAD_DIM)
    head_mask = offs_h < GROUP
    if SINGLE:  # one sequence: chunk i spans positions i*chunk.. of kv_indices, whatever indptr says
        start = tl.load(indptr_ptr).to(tl.int64)
        end = tl.load(indptr_ptr + 1).to(tl.int64)
        malformed = _bad_span(start, end, total).to(tl.int32)
        start = tl.where(malformed > 0, 0, start)  # then no chunk has work
        end = tl.where(malformed > 0, 0, end)
        b = tl.zeros((), dtype=tl.int32)
        empty = ((i == 0) & (end == start)).to(tl.int32)
        c = i
    else:
        b, start, end, empty, malformed = _find_segment(indptr_ptr, batch, chunk, total, i, BLOCK_B)
        c = i - b  # the chunk of slot i within sequence b, if b reaches that far
    if (empty > 0) | ((malformed > 0) & (i < batch)):
        # Program (i, g) also writes sequence i's heads of kv head g if it is empty (out 0, lse
        # -inf) or indptr is malformed (NaN: no result exists).
        rows = tl.cast(i, tl.int64) * num_qo_heads + g * GROUP + offs_h
        fill = tl.where(malformed > 0, float("nan"), 0.0)
        tl.store(out_ptr + rows[:, None] * HEAD_DIM + offs_d[None, :],
                 tl.full((BLOCK_H, HEAD_DIM), fill, dtype=tl.float32).to(out_ptr.dtype.element_ty),
                 mask=head_mask[:, None])
        tl.store(lse_ptr + rows, tl.full((BLOCK_H,), tl.where(malformed > 0, float("nan"), float("-inf")),
                                         dtype=tl.float32), mask=head_mask)
    b64 = tl.cast(b, tl.int64)
    rows = b64 * num_qo_heads + g * GROUP + offs_h  # q heads g*GROUP .. +GROUP-1
    if SINGLE:
        # No wait on indptr before the first page indices are asked for: the chunk's bounds come
        # from i, chunk and len(kv_indices) alone, and indptr only masks tokens (those outside
        # [start, end) count for nothing). So the indptr and page-index loads are in flight
        # together, one round trip fewer before the first K/V tile.
        lo = c.to(tl.int64) * chunk
        hi = tl.minimum(lo + chunk, total)
        if PREFETCH > 0:
            _prefetch_kv(k_ptr, v_ptr, indices_ptr, lo + tl.arange(0, PREFETCH), hi, g, NUM_KV_HEADS, HEAD_DIM)
        m, l, acc = _attend(q_ptr, k_ptr, v_ptr, indices_ptr, rows, head_mask, lo, hi, start, end, g, qk_scale,
                            NUM_KV_HEADS, HEAD_DIM, BLOCK_H, BLOCK_N, PREFETCH, UPCAST)
        if PROBE:
            tl.store(probe_row + 3, _clock64(i))
        if (lo < end) & (lo + chunk > start):
            _finish(m, l, acc, part_o_ptr, part_lse_ptr, count_ptr, out_ptr, lse_ptr, i, g, b, start, end, chunk,
                    rows, probe_row, NUM_KV_HEADS, GROUP, HEAD_DIM, BLOCK_H, MERGE_S, PROBE)
    elif (b >= 0) & (c.to(tl.int64) * chunk < end):
        seg_lo = tl.maximum(start, c.to(tl.int64) * chunk)
        seg_hi = tl.minimum(end, (c.to(tl.int64) + 1) * chunk)
        if PREFETCH > 0:  # the segment's first rows, while q is on its way
            _prefetch_kv(k_ptr, v_ptr, indices_ptr, seg_lo + tl.arange(0, PREFETCH), seg_hi, g, NUM_KV_HEADS,
                         HEAD_DIM)
        m, l, acc = _attend(q_ptr, k_ptr, v_ptr, indices_ptr, rows, head_mask, seg_lo, seg_hi, seg_lo, seg_hi, g,
                            qk_scale, NUM_KV_HEADS, HEAD_DIM, BLOCK_H, BLOCK_N, PREFETCH, UPCAST)
        if PROBE:
            tl.store(probe_row + 3, _clock64(i))
        _finish(m, l, acc, part_o_ptr, part_lse_ptr, count_ptr, out_ptr, lse_ptr, i, g, b, start, end, chunk,
                rows, probe_row, NUM_KV_HEADS, GROUP, HEAD_DIM, BLOCK_H, MERGE_S, PROBE)
    if PROBE:
        tl.debug_barrier()  # every thread's work of this program is done
        tl.store(probe_row + 1, _globaltimer(i))
        tl.store(probe_row + 4, _clock64(i))
        tl.store(probe_row + 5, _smid(i))


# The probe's fields per program (int64), as in the MLA kernel: globaltimer (ns) at start and at
# end, clock64 (SM cycles) at start, after the tile loop and at end, the SM, and the role.
PROBE_FIELDS = tl.constexpr(8)
PROBE_DIRECT = tl.constexpr(1)  # wrote out and lse of a one-slot sequence
PROBE_PARTIAL = tl.constexpr(2)  # wrote a partial and arrived
PROBE_MERGED = tl.constexpr(3)  # ... and, as the last arrival, merged its sequence's kv head


@triton.jit
def _globaltimer(x):
    """The GPU's global nanosecond timer; ``x`` (any int32 scalar) only gives the asm an operand."""
    return tl.inline_asm_elementwise("mov.u64 $0, %globaltimer;", "=l,r", [x], dtype=tl.int64, is_pure=False, pack=1)


@triton.jit
def _clock64(x):
    """This SM's cycle counter."""
    return tl.inline_asm_elementwise("mov.u64 $0, %clock64;", "=l,r", [x], dtype=tl.int64, is_pure=False, pack=1)


@triton.jit
def _smid(x):
    """The SM this program runs on."""
    return tl.inline_asm_elementwise("{ .reg .u32 s; mov.u32 s, %smid; cvt.u64.u32 $0, s; }", "=l,r", [x],
                                     dtype=tl.int64, is_pure=False, pack=1)


@triton.jit
def _attend(q_ptr, k_ptr, v_ptr, indices_ptr, rows, head_mask, lo, hi, start, end, g, qk_scale,
            NUM_KV_HEADS: tl.constexpr, HEAD_DIM: tl.constexpr, BLOCK_H: tl.constexpr, BLOCK_N: tl.constexpr,
            PREFETCH: tl.constexpr, UPCAST: tl.constexpr):
    """(m, l, acc) of the q heads ``rows`` over kv_indices positions lo..hi-1, counting only those
    in [start, end). A tile with no such token leaves m, l and acc as they were."""
    offs_d = tl.arange(0, HEAD_DIM)
    q = tl.load(q_ptr + rows[:, None] * HEAD_DIM + offs_d[None, :], mask=head_mask[:, None], other=0.0)
    if UPCAST:  # the CPU interpreter has no bf16 dot; GPUs keep bf16 tensor-core operands
        q = q.to(tl.float32)
    m = tl.full((BLOCK_H,), float("-inf"), dtype=tl.float32)
    l = tl.zeros((BLOCK_H,), dtype=tl.float32)
    acc = tl.zeros((BLOCK_H, HEAD_DIM), dtype=tl.float32)
    for pos in range(lo, hi, BLOCK_N):
        offs_n = pos + tl.arange(0, BLOCK_N)
        if PREFETCH > 0:  # keep PREFETCH tokens of this chunk requested ahead of the loads
            _prefetch_kv(k_ptr, v_ptr, indices_ptr, offs_n + PREFETCH, hi, g, NUM_KV_HEADS, HEAD_DIM)
        in_range = offs_n < hi
        tok_mask = in_range & (offs_n >= start) & (offs_n < end)
        page = tl.load(indices_ptr + offs_n, mask=in_range, other=0).to(tl.int64)
        # NHD cache, page_size 1: row of (page, kv head g) starts at (page * H_kv + g) * D.
        kv_off = ((page * NUM_KV_HEADS + g) * HEAD_DIM)[:, None] + offs_d[None, :]
        k = tl.load(k_ptr + kv_off, mask=tok_mask[:, None], other=0.0)
        v = tl.load(v_ptr + kv_off, mask=tok_mask[:, None], other=0.0)
        if UPCAST:
            k = k.to(tl.float32)
            v = v.to(tl.float32)
        x = tl.dot(q, tl.trans(k)) * qk_scale  # [BLOCK_H, BLOCK_N], log2 units
        x = tl.where(tok_mask[None, :], x, float("-inf"))
        m_new = tl.maximum(m, tl.max(x, axis=1))
        shift = tl.where(m_new > float("-inf"), m_new, 0.0)  # no token yet: nothing to rescale
        alpha = tl.exp2(m - shift)
        p = tl.exp2(x - shift[:, None])
        l = l * alpha + tl.sum(p, axis=1)
        acc = acc * alpha[:, None] + tl.dot(p.to(v.dtype), v)
        m = m_new
    return m, l, acc


@triton.jit
def _finish(m, l, acc, part_o_ptr, part_lse_ptr, count_ptr, out_ptr, lse_ptr, i, g, b, start, end, chunk, rows,
            probe_row, NUM_KV_HEADS: tl.constexpr, GROUP: tl.constexpr, HEAD_DIM: tl.constexpr,
            BLOCK_H: tl.constexpr, MERGE_S: tl.constexpr, PROBE: tl.constexpr):
    """Write slot i's segment of sequence b: the output directly if b has one slot, else its
    partial, and the last of b's slots to arrive merges them."""
    num_qo_heads = NUM_KV_HEADS * GROUP
    offs_h = tl.arange(0, BLOCK_H)
    offs_d = tl.arange(0, HEAD_DIM)
    head_mask = offs_h < GROUP
    nonempty = l > 0
    o = tl.where(nonempty[:, None], acc / tl.where(nonempty, l, 1.0)[:, None], 0.0)
    lse = tl.where(nonempty, m + tl.log2(tl.where(nonempty, l, 1.0)), float("-inf"))
    n_slots = tl.where(end > start, (end - 1) // chunk - start // chunk + 1, 0)
    if n_slots <= 1:
        tl.store(out_ptr + rows[:, None] * HEAD_DIM + offs_d[None, :],
                 o.to(out_ptr.dtype.element_ty), mask=head_mask[:, None])
        tl.store(lse_ptr + rows, lse, mask=head_mask)
        if PROBE:
            tl.store(probe_row + 6, PROBE_DIRECT)
    else:
        part_rows = tl.cast(i, tl.int64) * num_qo_heads + g * GROUP + offs_h
        tl.store(part_o_ptr + part_rows[:, None] * HEAD_DIM + offs_d[None, :], o, mask=head_mask[:, None])
        tl.store(part_lse_ptr + part_rows, lse, mask=head_mask)
        tl.debug_barrier()  # every thread's partial stores precede the release below
        arrived = tl.atomic_add(count_ptr + b * NUM_KV_HEADS + g, 1, sem="acq_rel", scope="gpu")
        if arrived == n_slots - 1:
            _merge_slots(part_o_ptr, part_lse_ptr, out_ptr, lse_ptr, start // chunk + b, n_slots,
                         g * GROUP, tl.cast(b, tl.int64) * num_qo_heads + g * GROUP, num_qo_heads,
                         GROUP, HEAD_DIM, MERGE_S)
            tl.atomic_xchg(count_ptr + b * NUM_KV_HEADS + g, 0, sem="relaxed", scope="gpu")
            if PROBE:
                tl.store(probe_row + 6, PROBE_MERGED)
        elif PROBE:
            tl.store(probe_row + 6, PROBE_PARTIAL)


@triton.jit
def _bad_span(start, end, total):
    """True where [start, end) is not a span of kv_indices positions (0 <= start <= end <= total):
    a malformed indptr entry (scalars or vectors)."""
    return (start < 0) | (end < start) | (end > total)


@triton.jit
def _find_segment(indptr_ptr, batch, chunk, total, i, BLOCK_B: tl.constexpr):
    """(b, start_b, end_b, empty, malformed) with b the non-empty sequence whose slots c + b include
    slot i: the last one with first slot start_b // chunk + b <= i (first slots rise strictly with
    b), or b = -1; empty > 0 if sequence i exists and is empty. One vector load of indptr answers
    both, so no program waits on a scalar load before it. malformed > 0 if indptr is not a
    non-decreasing run of positions inside kv_indices (0 <= indptr[b] <= indptr[b + 1] <= total):
    then b = -1 for every program (no slot has work, nothing waits) and each sequence is written
    as NaN, where slots computed from such values could point past the grid or read past
    kv_indices. The check rides on the empty count's reduction (bit 0: empty, the rest: malformed)."""
    b = -1
    start = tl.zeros((), dtype=tl.int64)
    end = tl.zeros((), dtype=tl.int64)
    flags = tl.zeros((), dtype=tl.int32)
    for b0 in range(0, batch, BLOCK_B):
        offs_b = b0 + tl.arange(0, BLOCK_B)
        in_batch = offs_b < batch
        st = tl.load(indptr_ptr + offs_b, mask=in_batch, other=0).to(tl.int64)
        en = tl.load(indptr_ptr + offs_b + 1, mask=in_batch, other=0).to(tl.int64)
        bad = in_batch & _bad_span(st, en, total)
        flags += tl.sum((in_batch & (offs_b == i) & (en == st)).to(tl.int32) + 2 * bad.to(tl.int32))
        hit = tl.max(tl.where(in_batch & (en > st) & (st // chunk + offs_b <= i), offs_b, -1))
        if hit >= 0:
            b = hit
            start = tl.sum(tl.where(offs_b == hit, st, 0))
            end = tl.sum(tl.where(offs_b == hit, en, 0))
    malformed = flags >> 1
    if malformed > 0:
        b = -1
    return b, start, end, flags & 1, malformed


@triton.jit
def _prefetch_kv(k_ptr, v_ptr, indices_ptr, offs_t, limit, g, NUM_KV_HEADS: tl.constexpr, HEAD_DIM: tl.constexpr):
    """Ask for the 128-byte lines of kv head g's K and V rows of tokens offs_t (< limit) in L2."""
    page = tl.load(indices_ptr + offs_t, mask=offs_t < limit, other=0).to(tl.int64)  # page 0 past the end
    lines = tl.arange(0, HEAD_DIM // 64) * 64  # 64 bf16 elements = one 128-byte line
    off = ((page * NUM_KV_HEADS + g) * HEAD_DIM)[:, None] + lines[None, :]
    tl.inline_asm_elementwise(
        "prefetch.global.L2 [$1]; prefetch.global.L2 [$2]; mov.u32 $0, 0;", "=r,l,l",
        [k_ptr + off, v_ptr + off], dtype=tl.int32, is_pure=False, pack=1,
    )


@triton.jit
def _merge_slots(part_o_ptr, part_lse_ptr, out_ptr, lse_ptr, first_slot, n_slots, head0, out_row0,
                 num_qo_heads, GROUP: tl.constexpr, HEAD_DIM: tl.constexpr, MERGE_S: tl.constexpr):
    """Merge n_slots partials of GROUP heads (MERGE_S slots per load, online rescaling)."""
    offs_s = tl.arange(0, MERGE_S)
    offs_g = tl.arange(0, GROUP)
    offs_d = tl.arange(0, HEAD_DIM)
    top = tl.full((GROUP,), float("-inf"), dtype=tl.float32)
    total = tl.zeros((GROUP,), dtype=tl.float32)
    o = tl.zeros((GROUP, HEAD_DIM), dtype=tl.float32)
    for s0 in range(0, n_slots, MERGE_S):
        s_mask = (s0 + offs_s) < n_slots
        rows = (first_slot + s0 + offs_s).to(tl.int64)[:, None] * num_qo_heads + head0 + offs_g[None, :]
        # .cg: read through to L2, where the other programs' partials are (never a stale L1 line).
        lse_s = tl.load(part_lse_ptr + rows, mask=s_mask[:, None], other=float("-inf"), cache_modifier=".cg")
        o_s = tl.load(part_o_ptr + rows[:, :, None] * HEAD_DIM + offs_d[None, None, :],
                      mask=s_mask[:, None, None], other=0.0, cache_modifier=".cg")
        new_top = tl.maximum(top, tl.max(lse_s, axis=0))
        finite = new_top > float("-inf")
        shift = tl.where(finite, new_top, 0.0)
        alpha = tl.where(top > float("-inf"), tl.exp2(top - shift), 0.0)
        w = tl.where(lse_s > float("-inf"), tl.exp2(lse_s - shift[None, :]), 0.0)  # [MERGE_S, GROUP]
        total = total * alpha + tl.sum(w, axis=0)
        o = o * alpha[:, None] + tl.sum(w[:, :, None] * o_s, axis=0)
        top = new_top
    finite = total > 0
    out_rows = out_row0 + offs_g
    o = tl.where(finite[:, None], o / tl.where(finite, total, 1.0)[:, None], 0.0)
    tl.store(out_ptr + out_rows[:, None] * HEAD_DIM + offs_d[None, :], o.to(out_ptr.dtype.element_ty))
    tl.store(lse_ptr + out_rows, tl.where(finite, top + tl.log2(tl.where(finite, total, 1.0)), float("-inf")))
