"""Gated DeltaNet decode: launch wrapper of the fused Triton kernel in kernel.py.

The grid is (V / BLOCK_V, batch * num_v_heads). BLOCK_V is chosen from the batch alone (no
host sync): small batches use narrow row tiles so that enough programs exist to cover the SMs
(latency-bound), large batches use wider tiles so each program moves more bytes per launch
overhead (bandwidth-bound). On CPU, where the Triton interpreter runs the programs one after
another, a program takes the whole V slice of one (sequence, value head): the fewest programs, so
the fewest interpreted steps (16x fewer than 8-row tiles at batch 1). A missing state is a compile-time flag, not a zeros tensor, so
nothing is read for it. Scale 0 or None means 1/sqrt(head_size).

Pitfalls handled: P08 (gate built in log space from A_log, a and dt_bias inside the kernel),
P09 (state read and written k-last directly), P10 (GVA mapping h // 2), P11 (sigmoid applied
once), P13 (the input state is only read), P16 (kernel.py is a sibling module).
"""

import math

import torch
from kernel import gdn_decode_kernel


def _block_v(batch: int, num_v_heads: int, v_dim: int, device: torch.device) -> int:
    if device.type != "cuda":  # the interpreter: one program per (sequence, value head)
        return v_dim
    rows = batch * num_v_heads
    if rows <= 32:
        return 8
    if rows <= 128:
        return 16
    return 32


def run(q, k, v, state, A_log, a, dt_bias, b, scale, output, new_state):
    block_v = _block_v(q.shape[0], v.shape[2], v.shape[3], q.device)
    decode(q, k, v, state, A_log, a, dt_bias, b, scale, output, new_state, block_v)


def decode(q, k, v, state, A_log, a, dt_bias, b, scale, output, new_state, block_v, num_warps=None,
           parallel=True, evict=False):
    """One launch with BLOCK_V = ``block_v`` (a power of two dividing V). Exposed for tests."""
    if num_warps is None:
        num_warps = 4 if block_v >= 16 else 2
    batch, _, num_q_heads, head_k = q.shape
    num_v_heads, head_v = v.shape[2], v.shape[3]
    if scale is None or float(scale) == 0.0:
        scale = 1.0 / math.sqrt(head_k)
    grid = (head_v // block_v, batch * num_v_heads)
    has_state = state is not None
    gdn_decode_kernel[grid](
        q, k, v, state if has_state else new_state, A_log, a, dt_bias, b, output, new_state,
        float(scale),
        NUM_Q_HEADS=num_q_heads, NUM_V_HEADS=num_v_heads, K=head_k, V=head_v,
        BLOCK_V=block_v, HAS_STATE=has_state, PARALLEL=parallel, EVICT=evict,
        num_warps=num_warps,
    )
    return None


__all__ = ["run", "torch"]
