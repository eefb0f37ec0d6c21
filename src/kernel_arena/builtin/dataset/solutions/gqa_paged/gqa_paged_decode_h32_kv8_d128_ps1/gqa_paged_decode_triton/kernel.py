"""Split-KV paged GQA decode (Triton), base-2 online softmax.

Kernel 1, grid (batch, kv_heads, splits): program (b, g, s) takes the s-th of `splits` equal
chunks of sequence b's pages and computes, for the GROUP query heads that share kv head g,
a partial softmax over those tokens: running max m (log2 units), running sum l and the
unnormalized accumulator acc = sum_t 2^(x_t - m) v_t, where x_t = sm_scale * log2(e) * q.k_t.
The GROUP heads are padded to 16 rows so the q.k and p.v products run on tensor cores (tl.dot).
Page indices are loaded from kv_indices and turned into 64-bit row offsets, so pools larger
than 2^31 elements are safe.
With one split the program writes the final output and lse directly; otherwise it writes
acc / l and lse = m + log2(l) for its split, and kernel 2, grid (batch, q_heads), merges them:
    M = max_s lse_s,  w_s = 2^(lse_s - M),  out = sum_s w_s o_s / sum_s w_s,  lse = M + log2(sum w).
An empty split has lse = -inf and weight 0; an empty sequence gives out 0 and lse -inf.
"""

import triton
import triton.language as tl

LOG2E = 1.4426950408889634


@triton.jit
def gqa_decode_split_kernel(
    q_ptr, k_ptr, v_ptr, indptr_ptr, indices_ptr, part_o_ptr, part_lse_ptr, out_ptr, lse_ptr,
    qk_scale,
    NUM_KV_HEADS: tl.constexpr, GROUP: tl.constexpr, HEAD_DIM: tl.constexpr,
    NUM_SPLITS: tl.constexpr, BLOCK_H: tl.constexpr, BLOCK_N: tl.constexpr,
    UPCAST: tl.constexpr,
):
    b = tl.program_id(0)
    g = tl.program_id(1)
    s = tl.program_id(2)
    num_qo_heads = NUM_KV_HEADS * GROUP

    seq_start = tl.load(indptr_ptr + b).to(tl.int64)
    seq_len = tl.load(indptr_ptr + b + 1).to(tl.int64) - seq_start
    chunk = (seq_len + NUM_SPLITS - 1) // NUM_SPLITS
    lo = s * chunk
    hi = tl.minimum(lo + chunk, seq_len)

    offs_h = tl.arange(0, BLOCK_H)
    offs_d = tl.arange(0, HEAD_DIM)
    head_mask = offs_h < GROUP
    q_rows = b.to(tl.int64) * num_qo_heads + g * GROUP + offs_h  # q heads g*GROUP .. +GROUP-1
    q = tl.load(q_ptr + q_rows[:, None] * HEAD_DIM + offs_d[None, :], mask=head_mask[:, None], other=0.0)
    if UPCAST:  # the CPU interpreter has no bf16 dot; GPUs keep bf16 tensor-core operands
        q = q.to(tl.float32)

    m = tl.full((BLOCK_H,), float("-inf"), dtype=tl.float32)
    l = tl.zeros((BLOCK_H,), dtype=tl.float32)
    acc = tl.zeros((BLOCK_H, HEAD_DIM), dtype=tl.float32)
    for start in range(lo, hi, BLOCK_N):
        offs_n = start + tl.arange(0, BLOCK_N)
        tok_mask = offs_n < hi
        page = tl.load(indices_ptr + seq_start + offs_n, mask=tok_mask, other=0).to(tl.int64)
        # NHD cache, page_size 1: row of (page, kv head g) starts at (page * H_kv + g) * D.
        row = (page * NUM_KV_HEADS + g) * HEAD_DIM
        kv_off = row[:, None] + offs_d[None, :]
        k = tl.load(k_ptr + kv_off, mask=tok_mask[:, None], other=0.0)
        v = tl.load(v_ptr + kv_off, mask=tok_mask[:, None], other=0.0)
        if UPCAST:
            k = k.to(tl.float32)
            v = v.to(tl.float32)
        x = tl.dot(q, tl.trans(k)) * qk_scale  # [BLOCK_H, BLOCK_N], log2 units
        x = tl.where(tok_mask[None, :], x, float("-inf"))
        m_new = tl.maximum(m, tl.max(x, axis=1))
        alpha = tl.exp2(m - m_new)
        p = tl.exp2(x - m_new[:, None])
        l = l * alpha + tl.sum(p, axis=1)
        acc = acc * alpha[:, None] + tl.dot(p.to(v.dtype), v)
        m = m_new

    nonempty = l > 0
    o = tl.where(nonempty[:, None], acc / tl.where(nonempty, l, 1.0)[:, None], 0.0)
    lse = tl.where(nonempty, m + tl.log2(tl.where(nonempty, l, 1.0)), float("-inf"))
    out_rows = b.to(tl.int64) * num_qo_heads + g * GROUP + offs_h
    if NUM_SPLITS == 1:
        tl.store(out_ptr + out_rows[:, None] * HEAD_DIM + offs_d[None, :],
                 o.to(out_ptr.dtype.element_ty), mask=head_mask[:, None])
        tl.store(lse_ptr + out_rows, lse, mask=head_mask)
    else:
        part_rows = out_rows * NUM_SPLITS + s
        tl.store(part_o_ptr + part_rows[:, None] * HEAD_DIM + offs_d[None, :], o, mask=head_mask[:, None])
        tl.store(part_lse_ptr + part_rows, lse, mask=head_mask)


@triton.jit
def merge_splits_kernel(
    part_o_ptr, part_lse_ptr, out_ptr, lse_ptr,
    NUM_SPLITS: tl.constexpr, HEAD_DIM: tl.constexpr, BLOCK_S: tl.constexpr, CHUNK_S: tl.constexpr,
    BLOCK_D: tl.constexpr,
):
    # Grid (batch * heads, HEAD_DIM / BLOCK_D): the head dimension is split too, so that small
    # batches with many splits still have enough merge programs to fill the GPU.
    row = tl.program_id(0).to(tl.int64)  # (batch, head) flattened
    pid_d = tl.program_id(1)
    offs_s = tl.arange(0, BLOCK_S)
    offs_d = pid_d * BLOCK_D + tl.arange(0, BLOCK_D)
    lse_s = tl.load(part_lse_ptr + row * NUM_SPLITS + offs_s, mask=offs_s < NUM_SPLITS, other=float("-inf"))
    top = tl.max(lse_s, axis=0)
    finite = top > float("-inf")
    shift = tl.where(finite, top, 0.0)
    total = tl.sum(tl.where(lse_s > float("-inf"), tl.exp2(lse_s - shift), 0.0), axis=0)
    # Weighted sum of the split outputs, CHUNK_S splits at a time (bounded registers).
    o = tl.zeros((BLOCK_D,), dtype=tl.float32)
    for c in range(0, NUM_SPLITS, CHUNK_S):
        offs_c = c + tl.arange(0, CHUNK_S)
        c_mask = offs_c < NUM_SPLITS
        lse_c = tl.load(part_lse_ptr + row * NUM_SPLITS + offs_c, mask=c_mask, other=float("-inf"))
        w = tl.where(lse_c > float("-inf"), tl.exp2(lse_c - shift), 0.0)
        o_c = tl.load(part_o_ptr + (row * NUM_SPLITS + offs_c)[:, None] * HEAD_DIM + offs_d[None, :],
                      mask=c_mask[:, None], other=0.0)
        o += tl.sum(w[:, None] * o_c, axis=0)
    o = tl.where(finite, o / tl.where(finite, total, 1.0), 0.0)
    tl.store(out_ptr + row * HEAD_DIM + offs_d, o.to(out_ptr.dtype.element_ty))
    if pid_d == 0:
        tl.store(lse_ptr + row, tl.where(finite, top + tl.log2(tl.where(finite, total, 1.0)), float("-inf")))
