"""Split-KV absorbed MLA paged decode (Triton), base-2 online softmax.

Kernel 1, grid (batch, splits): program (b, s) takes the s-th chunk of sequence b's pages.
All 16 heads share each latent row, so the heads are the M dimension of the tensor-core dots:
    x = (q_nope @ ckv^T + q_pe @ kpe^T) * sm_scale * log2(e)     [16, BLOCK_N]
    acc = acc * 2^(m_old - m_new) + 2^(x - m_new) @ ckv            [16, 512]
Each ckv row (1 KiB) and kpe row (128 B) is loaded once per split and used for both dots.
Row offsets are 64-bit (page * 512 can exceed 2^31 for million-page pools).
With one split the program writes output and lse directly; otherwise partials (acc / l and
lse = m + log2 l) go to scratch and kernel 2 merges them per (batch, head):
    M = max lse_s, w_s = 2^(lse_s - M), out = sum w_s o_s / sum w_s, lse = M + log2 sum w_s.
Empty splits weigh 0; an empty sequence gives out 0 and lse -inf.
"""

import triton
import triton.language as tl

LOG2E = 1.4426950408889634


@triton.jit
def mla_decode_split_kernel(
    qn_ptr, qp_ptr, ckv_ptr, kpe_ptr, indptr_ptr, indices_ptr, part_o_ptr, part_lse_ptr,
    out_ptr, lse_ptr, qk_scale,
    NUM_HEADS: tl.constexpr, D_CKV: tl.constexpr, D_KPE: tl.constexpr, NUM_SPLITS: tl.constexpr,
    BLOCK_N: tl.constexpr, UPCAST: tl.constexpr,
):
    b = tl.program_id(0)
    s = tl.program_id(1)
    seq_start = tl.load(indptr_ptr + b).to(tl.int64)
    seq_len = tl.load(indptr_ptr + b + 1).to(tl.int64) - seq_start
    chunk = (seq_len + NUM_SPLITS - 1) // NUM_SPLITS
    lo = s * chunk
    hi = tl.minimum(lo + chunk, seq_len)

    offs_h = tl.arange(0, NUM_HEADS)
    offs_c = tl.arange(0, D_CKV)
    offs_p = tl.arange(0, D_KPE)
    rows = b.to(tl.int64) * NUM_HEADS + offs_h
    qn = tl.load(qn_ptr + rows[:, None] * D_CKV + offs_c[None, :])
    qp = tl.load(qp_ptr + rows[:, None] * D_KPE + offs_p[None, :])
    if UPCAST:  # the CPU interpreter has no bf16 dot; GPUs keep bf16 tensor-core operands
        qn = qn.to(tl.float32)
        qp = qp.to(tl.float32)

    m = tl.full((NUM_HEADS,), float("-inf"), dtype=tl.float32)
    l = tl.zeros((NUM_HEADS,), dtype=tl.float32)
    acc = tl.zeros((NUM_HEADS, D_CKV), dtype=tl.float32)
    for start in range(lo, hi, BLOCK_N):
        offs_n = start + tl.arange(0, BLOCK_N)
        tok_mask = offs_n < hi
        page = tl.load(indices_ptr + seq_start + offs_n, mask=tok_mask, other=0).to(tl.int64)
        ckv = tl.load(ckv_ptr + page[:, None] * D_CKV + offs_c[None, :], mask=tok_mask[:, None], other=0.0)
        kpe = tl.load(kpe_ptr + page[:, None] * D_KPE + offs_p[None, :], mask=tok_mask[:, None], other=0.0)
        if UPCAST:
            ckv = ckv.to(tl.float32)
            kpe = kpe.to(tl.float32)
        x = (tl.dot(qn, tl.trans(ckv)) + tl.dot(qp, tl.trans(kpe))) * qk_scale
        x = tl.where(tok_mask[None, :], x, float("-inf"))
        m_new = tl.maximum(m, tl.max(x, axis=1))
        alpha = tl.exp2(m - m_new)
        p = tl.exp2(x - m_new[:, None])
        l = l * alpha + tl.sum(p, axis=1)
        acc = acc * alpha[:, None] + tl.dot(p.to(ckv.dtype), ckv)
        m = m_new

    nonempty = l > 0
    o = tl.where(nonempty[:, None], acc / tl.where(nonempty, l, 1.0)[:, None], 0.0)
    lse = tl.where(nonempty, m + tl.log2(tl.where(nonempty, l, 1.0)), float("-inf"))
    if NUM_SPLITS == 1:
        tl.store(out_ptr + rows[:, None] * D_CKV + offs_c[None, :], o.to(out_ptr.dtype.element_ty))
        tl.store(lse_ptr + rows, lse)
    else:
        part = rows * NUM_SPLITS + s
        tl.store(part_o_ptr + part[:, None] * D_CKV + offs_c[None, :], o)
        tl.store(part_lse_ptr + part, lse)


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
