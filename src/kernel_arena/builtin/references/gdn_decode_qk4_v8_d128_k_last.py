"""Reference for gdn_decode_qk4_v8_d128_k_last (embedded verbatim in the definition JSON).

One decode step of Gated DeltaNet, batched over sequences and value heads in fp32. The stored
state is k-last [B, H, V, K]; the math uses S = stateᵀ as a [K, V] matrix:
g = exp(-exp(A_log) * softplus(a + dt_bias)), beta = sigmoid(b), S' = g S, u = k S',
S_new = S' + kᵀ (beta (v - u)), output = scale * q S_new. q/k head = v head // (Hv / Hq).
A missing state means zeros; scale 0 or None means 1/sqrt(head_size).
"""

import math

import torch
import torch.nn.functional as F


def run(q, k, v, state, A_log, a, dt_bias, b, scale):
    batch_size, seq_len, num_q_heads, head_k = q.shape
    num_v_heads, head_v = v.shape[2], v.shape[3]
    if scale is None or float(scale) == 0.0:
        scale = 1.0 / math.sqrt(head_k)
    ratio = num_v_heads // num_q_heads
    qf = q.float()[:, 0].repeat_interleave(ratio, dim=1)  # [B, Hv, K]
    kf = k.float()[:, 0].repeat_interleave(ratio, dim=1)  # [B, Hv, K]
    vf = v.float()[:, 0]  # [B, Hv, V]
    g = torch.exp(-torch.exp(A_log.float()) * F.softplus(a.float()[:, 0] + dt_bias.float()))
    beta = torch.sigmoid(b.float()[:, 0])  # [B, Hv]
    if state is None:
        s = torch.zeros(batch_size, num_v_heads, head_k, head_v, device=q.device)
    else:
        s = state.float().transpose(-1, -2)  # k-last [B,H,V,K] -> [B,H,K,V]
    s = g[..., None, None] * s
    u = torch.einsum("bhk,bhkv->bhv", kf, s)
    s = s + kf[..., :, None] * (beta[..., None] * (vf - u))[..., None, :]
    out = float(scale) * torch.einsum("bhk,bhkv->bhv", qf, s)
    output = out[:, None].to(torch.bfloat16)  # [B, 1, Hv, V]
    new_state = s.transpose(-1, -2).contiguous()  # back to k-last
    return output, new_state
