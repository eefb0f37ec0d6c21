"""Paged GQA decode in one Triton launch: flat token chunks, base-2 online softmax.

Work split. The batch's T = len(kv_indices) tokens, laid end to end in kv_indices order, are cut
into chunks of `chunk` tokens; program (g, c) takes chunk c for kv head g (the head varies
fastest in launch order, so the 8 programs reading the same token rows run side by side). A
chunk may hold the tail of one sequence, several short ones and the head of the next, so a
skewed batch (one long sequence among short ones) still spreads evenly over the GPU; the host
needs only T, never kv_indptr's values.

Rows. The program takes its sequences SEQS at a time (a round). The tensor-core tile has
SEQS x GROUP rows, one per (sequence, query head of kv head g), so one round serves SEQS short
sequences with the same K/V tiles, and the rows a lone sequence would leave as padding (GROUP = 4
of the 16 an MMA needs) carry its neighbours instead. A token only scores against the rows of its
own sequence: x[row, t] = -inf unless start(row) <= t < end(row).

Per (sequence b, chunk c) segment each row keeps the running max m (log2 units), sum l and
accumulator acc = sum_t 2^(x_t - m) v_t, with x_t = sm_scale * log2(e) * q.k_t. Sequence b spans
n_b = (end_b - 1) // chunk - start_b // chunk + 1 chunks. If n_b = 1 the program writes output and
lse directly. Otherwise it writes acc / l and lse = m + log2 l to partial slot c + b (slots of
different sequences never collide); only a chunk's first and last sequence can be split. After
its rounds the program bumps the arrival counter of each split (b, g); the program that arrives
last merges the n_b slots,
    M = max lse_s,  w_s = 2^(lse_s - M),  out = sum w_s o_s / sum w_s,  lse = M + log2 sum w_s,
and resets the counter to 0 for the next call. Empty sequences (n_b = 0) are written as out 0,
lse -inf by the chunk that owns their start position (the last chunk for trailing ones).
Page indices become 64-bit row offsets, so pools larger than 2^31 elements are safe.
"""

import triton
import triton.language as tl

LOG2E = 1.4426950408889634


@triton.jit
def gqa_decode_kernel(
    q_ptr, k_ptr, v_ptr, indptr_ptr, indices_ptr, part_o_ptr, part_lse_ptr, count_ptr, out_ptr, lse_ptr,
    qk_scale, batch, total, chunk, num_chunks,
    NUM_KV_HEADS: tl.constexpr, GROUP: tl.constexpr, HEAD_DIM: tl.constexpr, SEQS: tl.constexpr,
    BLOCK_N: tl.constexpr, BLOCK_B: tl.constexpr, MERGE_S: tl.constexpr, UPCAST: tl.constexpr,
):
    pid = tl.program_id(0)
    g = pid % NUM_KV_HEADS
    c = pid // NUM_KV_HEADS
    num_qo_heads: tl.constexpr = NUM_KV_HEADS * GROUP
    BLOCK_M: tl.constexpr = SEQS * GROUP
    tok_lo = c.to(tl.int64) * chunk
    tok_hi = tl.minimum(tok_lo + chunk, total)

    # Sequences this chunk handles: from the first one ending after tok_lo (or starting at or
    # after it: empty ones) up to the last one starting before tok_hi (all of them for the
    # last chunk). indptr is monotone, so both bounds are counts.
    first = 0
    stop = 0
    for b0 in range(0, batch, BLOCK_B):
        offs_b = b0 + tl.arange(0, BLOCK_B)
        in_batch = offs_b < batch
        st = tl.load(indptr_ptr + offs_b, mask=in_batch, other=0).to(tl.int64)
        en = tl.load(indptr_ptr + offs_b + 1, mask=in_batch, other=0).to(tl.int64)
        first += tl.sum((in_batch & (en <= tok_lo) & (st < tok_lo)).to(tl.int32))
        stop += tl.sum((in_batch & (st < tok_hi)).to(tl.int32))
    if c == num_chunks - 1:
        stop = batch

    offs_m = tl.arange(0, BLOCK_M)
    offs_d = tl.arange(0, HEAD_DIM)
    head_m = g * GROUP + offs_m % GROUP  # query head of each row
    for r0 in range(first, stop, SEQS):
        b_m = r0 + offs_m // GROUP  # sequence of each row
        live = b_m < stop
        st_m = tl.load(indptr_ptr + b_m, mask=live, other=0).to(tl.int64)
        en_m = tl.load(indptr_ptr + b_m + 1, mask=live, other=0).to(tl.int64)
        lo = tl.maximum(tl.min(tl.where(live, st_m, total), axis=0), tok_lo)
        hi = tl.minimum(tl.max(tl.where(live, en_m, 0), axis=0), tok_hi)
        rows = b_m.to(tl.int64) * num_qo_heads + head_m
        q = tl.load(q_ptr + rows[:, None] * HEAD_DIM + offs_d[None, :], mask=live[:, None], other=0.0)
        if UPCAST:  # the CPU interpreter has no bf16 dot; GPUs keep bf16 tensor-core operands
            q = q.to(tl.float32)
        m = tl.full((BLOCK_M,), float("-inf"), dtype=tl.float32)
        l = tl.zeros((BLOCK_M,), dtype=tl.float32)
        acc = tl.zeros((BLOCK_M, HEAD_DIM), dtype=tl.float32)
        for pos in range(lo, hi, BLOCK_N):
            offs_n = pos + tl.arange(0, BLOCK_N)
            tok_mask = offs_n < hi
            page = tl.load(indices_ptr + offs_n, mask=tok_mask, other=0).to(tl.int64)
            # NHD cache, page_size 1: row of (page, kv head g) starts at (page * H_kv + g) * D.
            kv_off = ((page * NUM_KV_HEADS + g) * HEAD_DIM)[:, None] + offs_d[None, :]
            k = tl.load(k_ptr + kv_off, mask=tok_mask[:, None], other=0.0)
            v = tl.load(v_ptr + kv_off, mask=tok_mask[:, None], other=0.0)
            if UPCAST:
                k = k.to(tl.float32)
                v = v.to(tl.float32)
            x = tl.dot(q, tl.trans(k)) * qk_scale  # [BLOCK_M, BLOCK_N], log2 units
            own = (offs_n[None, :] >= st_m[:, None]) & (offs_n[None, :] < en_m[:, None]) & tok_mask[None, :]
            x = tl.where(own, x, float("-inf"))
            m_new = tl.maximum(m, tl.max(x, axis=1))
            shift = tl.where(m_new > float("-inf"), m_new, 0.0)  # rows with no token yet stay at 0
            alpha = tl.exp2(m - shift)
            p = tl.exp2(x - shift[:, None])
            l = l * alpha + tl.sum(p, axis=1)
            acc = acc * alpha[:, None] + tl.dot(p.to(v.dtype), v)
            m = m_new

        nonempty = l > 0
        o = tl.where(nonempty[:, None], acc / tl.where(nonempty, l, 1.0)[:, None], 0.0)
        lse = tl.where(nonempty, m + tl.log2(tl.where(nonempty, l, 1.0)), float("-inf"))
        n_slots = tl.where(en_m > st_m, (en_m - 1) // chunk - st_m // chunk + 1, 0)
        direct = live & (n_slots <= 1)
        tl.store(out_ptr + rows[:, None] * HEAD_DIM + offs_d[None, :], o.to(out_ptr.dtype.element_ty),
                 mask=direct[:, None])
        tl.store(lse_ptr + rows, lse, mask=direct)
        split = live & (n_slots > 1)
        part_rows = (c + b_m.to(tl.int64)) * num_qo_heads + head_m
        tl.store(part_o_ptr + part_rows[:, None] * HEAD_DIM + offs_d[None, :], o, mask=split[:, None])
        tl.store(part_lse_ptr + part_rows, lse, mask=split)

    # Only the chunk's first and last sequences can continue in other chunks.
    if first < stop:
        tl.debug_barrier()  # every thread's partial stores precede the releases below
        _arrive(first, c, g, indptr_ptr, part_o_ptr, part_lse_ptr, count_ptr, out_ptr, lse_ptr, chunk,
                NUM_KV_HEADS, GROUP, HEAD_DIM, MERGE_S)
        if stop - 1 > first:
            _arrive(stop - 1, c, g, indptr_ptr, part_o_ptr, part_lse_ptr, count_ptr, out_ptr, lse_ptr, chunk,
                    NUM_KV_HEADS, GROUP, HEAD_DIM, MERGE_S)


@triton.jit
def _arrive(b, c, g, indptr_ptr, part_o_ptr, part_lse_ptr, count_ptr, out_ptr, lse_ptr, chunk,
            NUM_KV_HEADS: tl.constexpr, GROUP: tl.constexpr, HEAD_DIM: tl.constexpr, MERGE_S: tl.constexpr):
    """If sequence b is split, count this chunk's partial in; the last arrival merges and resets."""
    start = tl.load(indptr_ptr + b).to(tl.int64)
    end = tl.load(indptr_ptr + b + 1).to(tl.int64)
    n_slots = tl.where(end > start, (end - 1) // chunk - start // chunk + 1, 0)
    if n_slots > 1:
        arrived = tl.atomic_add(count_ptr + b * NUM_KV_HEADS + g, 1, sem="acq_rel", scope="gpu")
        if arrived == n_slots - 1:
            num_qo_heads: tl.constexpr = NUM_KV_HEADS * GROUP
            _merge_slots(part_o_ptr, part_lse_ptr, out_ptr, lse_ptr, start // chunk + b, n_slots,
                         g * GROUP, b.to(tl.int64) * num_qo_heads + g * GROUP, num_qo_heads,
                         GROUP, HEAD_DIM, MERGE_S)
            tl.atomic_xchg(count_ptr + b * NUM_KV_HEADS + g, 0, sem="relaxed", scope="gpu")


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
