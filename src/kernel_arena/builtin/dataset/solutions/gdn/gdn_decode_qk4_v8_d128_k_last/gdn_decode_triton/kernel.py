"""Fused Gated DeltaNet decode step (Triton).

One program owns BLOCK_V rows of one (sequence, value head) state slice. The stored state is
k-last, so a row S[v, :] (all K) is contiguous: the program streams BLOCK_V x K fp32 in, updates
it, and streams it out — every state byte is read once and written once, the minimum.
Per row v (all math in fp32):
    g     = exp(-exp(A_log[h]) * softplus(a + dt_bias[h]))   decay          (log-space gate)
    beta  = sigmoid(b)
    u     = g * (S[v, :] . k)                                prediction of v[v]
    d     = beta * (v[v] - u)
    S_new = g * S[v, :] + d * k                              delta rule
    out   = scale * (g * (S[v, :] . q) + d * (k . q))        = scale * (S_new . q)
Both row reductions (S . k and S . q) read the loaded tile directly, so they run side by side
as soon as the state arrives; the gates (scalars) and k . q are ready before it does. A small
batch is one short wave, latency-bound: the state load is issued first, and only one reduction
separates it from the output and the new state.
Rows are independent, so splitting V across programs needs no communication. With TILES > 1
a program walks TILES row tiles and loads the next tile before it updates the current one.
"""

import triton
import triton.language as tl


@triton.jit
def _update(s, q, k, v, g, beta, scale, PARALLEL: tl.constexpr):
    """One tile's delta-rule step: (S_new rows, out rows) from the loaded state rows ``s``."""
    if PARALLEL:
        u = tl.sum(s * k[None, :], axis=1) * g  # [BLOCK_V]
        sq = tl.sum(s * q[None, :], axis=1) * g
        d = beta * (v - u)
        s = s * g + d[:, None] * k[None, :]
        out = (sq + d * tl.sum(k * q)) * scale
    else:
        s = s * g
        u = tl.sum(s * k[None, :], axis=1)
        s = s + (beta * (v - u))[:, None] * k[None, :]
        out = tl.sum(s * q[None, :], axis=1) * scale
    return s, out


@triton.jit
def gdn_decode_kernel(
    q_ptr, k_ptr, v_ptr, state_ptr, a_log_ptr, a_ptr, dt_bias_ptr, b_ptr, out_ptr, new_state_ptr,
    scale,
    NUM_Q_HEADS: tl.constexpr, NUM_V_HEADS: tl.constexpr, K: tl.constexpr, V: tl.constexpr,
    BLOCK_V: tl.constexpr, HAS_STATE: tl.constexpr, PARALLEL: tl.constexpr, EVICT: tl.constexpr,
    TILES: tl.constexpr = 1, OUT_FIRST: tl.constexpr = False, FLAT: tl.constexpr = False,
):
    if FLAT:  # a 1-D grid, the row tiles of one slice adjacent
        pid_v = tl.program_id(0) % (V // (BLOCK_V * TILES))
        pid_bh = tl.program_id(0) // (V // (BLOCK_V * TILES))
    else:
        pid_v = tl.program_id(0)
        pid_bh = tl.program_id(1)
    batch = pid_bh // NUM_V_HEADS
    head = pid_bh % NUM_V_HEADS
    bh = batch * NUM_V_HEADS + head
    offs_k = tl.arange(0, K)
    row0 = pid_v * (BLOCK_V * TILES)
    # The slice's base offset in 64 bits (batch * 8 * 128 * 128 overflows int32 past batch
    # 16384); offsets inside one V x K slice stay 32-bit (fewer per-element instructions).
    slice_off = bh.to(tl.int64) * (V * K)
    tile = (row0 + tl.arange(0, BLOCK_V))[:, None] * K + offs_k[None, :]
    policy: tl.constexpr = "evict_first" if EVICT else ""
    if HAS_STATE:  # the long-latency load first
        s = tl.load(state_ptr + slice_off + tile, eviction_policy=policy)

    # GVA: value head h reads q/k head h // (Hv / Hq) (contiguous groups).
    qk_head = head // (NUM_V_HEADS // NUM_Q_HEADS)
    qk_row = (batch * NUM_Q_HEADS + qk_head).to(tl.int64) * K
    q = tl.load(q_ptr + qk_row + offs_k).to(tl.float32)
    k = tl.load(k_ptr + qk_row + offs_k).to(tl.float32)

    # Gates, per (sequence, head): softplus with torch's threshold of 20.
    x = tl.load(a_ptr + bh).to(tl.float32) + tl.load(dt_bias_ptr + head).to(tl.float32)
    softplus = tl.where(x > 20.0, x, tl.log(1.0 + tl.exp(tl.minimum(x, 20.0))))
    g = tl.exp(-tl.exp(tl.load(a_log_ptr + head).to(tl.float32)) * softplus)
    beta = tl.sigmoid(tl.load(b_ptr + bh).to(tl.float32))

    # TILES > 1: the program walks TILES row tiles, the next tile's state load issued before
    # the current tile's math and stores (two tiles in flight, fewer programs).
    for t in tl.static_range(TILES):
        offs_v = row0 + t * BLOCK_V + tl.arange(0, BLOCK_V)
        if HAS_STATE and t + 1 < TILES:
            s_next = tl.load(state_ptr + slice_off + tile + (t + 1) * BLOCK_V * K, eviction_policy=policy)
        v = tl.load(v_ptr + bh.to(tl.int64) * V + offs_v).to(tl.float32)
        if HAS_STATE:
            s_new, out = _update(s, q, k, v, g, beta, scale, PARALLEL)
        else:  # S = 0: S_new = d k^T with d = beta v
            d = beta * v
            s_new = d[:, None] * k[None, :]
            out = d * tl.sum(k * q) * scale
        if OUT_FIRST:  # the output rows before the state rows
            tl.store(out_ptr + bh.to(tl.int64) * V + offs_v, out.to(out_ptr.dtype.element_ty))
        tl.store(new_state_ptr + slice_off + tile + t * BLOCK_V * K, s_new, eviction_policy=policy)
        if not OUT_FIRST:
            tl.store(out_ptr + bh.to(tl.int64) * V + offs_v, out.to(out_ptr.dtype.element_ty))
        if HAS_STATE and t + 1 < TILES:
            s = s_next
