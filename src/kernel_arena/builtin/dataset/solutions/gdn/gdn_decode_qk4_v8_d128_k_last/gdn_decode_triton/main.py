"""Gated DeltaNet decode: launch wrapper of the fused Triton kernel in kernel.py.

The grid is (V / BLOCK_V, batch * num_v_heads). BLOCK_V, the warps per program and the store
order are chosen from the batch alone (no host sync), from sweeps on an H100 (`benchmarks/
gdn_decode.py --sweep` and `--sweep-order`, results in `benchmarks/results/gdn_decode_sweep.md`
and `gdn_decode_order.md`):
- up to 64 (sequence, head) slices (batch <= 8 with 8 value heads): one short wave, latency-
  bound: 2-row tiles on one warp, the most programs, each with the shortest chain (a warp-local
  reduction over K, no shared-memory exchange between warps);
- up to 256 slices (batch <= 32): 16-row tiles on one warp;
- up to 4096 slices (batch <= 512), bandwidth-bound (every state byte read once, written once):
  8-row tiles on one warp, the output rows stored before the new state rows (1-4% faster than
  state first at batch 64-512 in two interleaved sweeps, and ahead of FLA's kernel);
- more: 16-row tiles on two warps.
On CPU, where the Triton interpreter runs the programs one after another, a program takes the
whole V slice of one (sequence, value head): the fewest programs, so the fewest interpreted steps
(64x fewer than 2-row tiles at batch 1). A missing state is a compile-time flag, not a zeros
tensor, so nothing is read for it. Scale 0 or None means 1/sqrt(head_size).

Pitfalls handled: P08 (gate built in log space from A_log, a and dt_bias inside the kernel),
P09 (state read and written k-last directly), P10 (GVA mapping h // 2), P11 (sigmoid applied
once), P13 (the input state is only read), P16 (kernel.py is a sibling module).
"""

import math

import torch
from kernel import gdn_decode_kernel


def _launch(batch: int, num_v_heads: int, v_dim: int, device: torch.device) -> tuple[int, int, bool]:
    """(BLOCK_V, num_warps, output stored first) for a batch."""
    if device.type != "cuda":  # the interpreter: one program per (sequence, value head)
        return v_dim, 4, False
    slices = batch * num_v_heads
    if slices <= 64:
        return 2, 1, False
    if slices <= 256:
        return 16, 1, False
    if slices <= 4096:
        return 8, 1, True
    return 16, 2, False


def run(q, k, v, state, A_log, a, dt_bias, b, scale, output, new_state):
    block_v, num_warps, out_first = _launch(q.shape[0], v.shape[2], v.shape[3], q.device)
    decode(q, k, v, state, A_log, a, dt_bias, b, scale, output, new_state, block_v, num_warps,
           out_first=out_first)


def decode(q, k, v, state, A_log, a, dt_bias, b, scale, output, new_state, block_v, num_warps=2,
           parallel=True, evict=False, tiles=1, out_first=False, flat=False):
    """One launch with BLOCK_V = ``block_v`` (a power of two dividing V) on ``num_warps`` warps.
    ``parallel`` False reduces S'.k then S_new.q one after the other; ``evict`` marks the state
    load and store evict-first; ``tiles`` row tiles a program (block_v * tiles divides V), the
    next one's load issued before the current one's update; ``out_first`` stores the output rows
    before the new state rows; ``flat`` launches a 1-D grid. All kept for the launch-option sweep
    and for tests."""
    batch, _, num_q_heads, head_k = q.shape
    num_v_heads, head_v = v.shape[2], v.shape[3]
    if scale is None or float(scale) == 0.0:
        scale = 1.0 / math.sqrt(head_k)
    grid = (head_v // (block_v * tiles), batch * num_v_heads)
    if flat:
        grid = (grid[0] * grid[1],)
    has_state = state is not None
    gdn_decode_kernel[grid](
        q, k, v, state if has_state else new_state, A_log, a, dt_bias, b, output, new_state,
        float(scale),
        NUM_Q_HEADS=num_q_heads, NUM_V_HEADS=num_v_heads, K=head_k, V=head_v,
        BLOCK_V=block_v, HAS_STATE=has_state, PARALLEL=parallel, EVICT=evict, TILES=tiles,
        OUT_FIRST=out_first, FLAT=flat,
        num_warps=num_warps,
    )
    return None


__all__ = ["run", "torch"]
