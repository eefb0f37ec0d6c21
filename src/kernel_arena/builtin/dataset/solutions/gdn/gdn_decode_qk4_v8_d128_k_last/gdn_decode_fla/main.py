"""Gated DeltaNet decode through flash-linear-attention's fused_recurrent_gated_delta_rule.

Pitfalls handled:
- P08: FLA takes the gate in log space: g = -exp(A_log) * softplus(a + dt_bias), dt_bias
  included; it applies exp itself.
- P11: beta = sigmoid(b) is computed here once and passed as beta; FLA's
  use_qk_l2norm_in_kernel stays False because the definition does not normalize q/k.
- P10: q/k have 4 heads and v has 8; value head h uses q/k head h // 2, so q/k are expanded
  with repeat_interleave (contiguous groups), not repeat.
- P09: the definition's state is k-last [B, H, V, K]; FLA's initial_state/final_state are
  [B, H, K, V], so the state is transposed on the way in and new_state transposed back.
- P13: the input state is not modified; the result goes into new_state.
These conversions are separate kernels around FLA's; the fused Triton solution avoids them.
"""

import math

import torch
import torch.nn.functional as F
from fla.ops.gated_delta_rule import fused_recurrent_gated_delta_rule


def run(q, k, v, state, A_log, a, dt_bias, b, scale, output, new_state):
    num_q_heads, head_k = q.shape[2], q.shape[3]
    ratio = v.shape[2] // num_q_heads
    if scale is None or float(scale) == 0.0:
        scale = 1.0 / math.sqrt(head_k)
    q_e = q.repeat_interleave(ratio, dim=2)
    k_e = k.repeat_interleave(ratio, dim=2)
    g = -torch.exp(A_log.float()) * F.softplus(a.float() + dt_bias.float())  # [B, 1, Hv]
    beta = torch.sigmoid(b.float())
    init = None if state is None else state.transpose(-1, -2).contiguous()
    out, final = fused_recurrent_gated_delta_rule(
        q_e, k_e, v, g=g, beta=beta, scale=float(scale), initial_state=init,
        output_final_state=True, use_qk_l2norm_in_kernel=False,
    )
    output.copy_(out)
    new_state.copy_(final.transpose(-1, -2))
