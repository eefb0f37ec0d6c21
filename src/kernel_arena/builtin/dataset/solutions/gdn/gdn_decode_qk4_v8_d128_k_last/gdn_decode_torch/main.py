"""Gated DeltaNet decode step in plain PyTorch, on the k-last state (baseline).

With the stored state S[b, h] as a [V, K] matrix (k-last) and q/k/v one token per sequence:
  g    = exp(-exp(A_log) * softplus(a + dt_bias))     decay, per (b, h)     (P08: log space)
  beta = sigmoid(b)                                    update gate           (P11: once)
  S'   = g * S
  u    = S' k                                          the current prediction of v
  S_new = S' + (beta * (v - u)) kᵀ                     delta-rule update
  out  = scale * S_new q
Value head h uses q/k head h // 2 (GVA, P10: repeat_interleave, not repeat). Working in the
[V, K] orientation means no transpose is needed to read or write the k-last layout (P09).
A missing state is zeros; scale 0 means 1/sqrt(head_size). The input state is never modified
(P13): the result goes to new_state.
"""

import math

import torch
import torch.nn.functional as F


def run(q, k, v, state, A_log, a, dt_bias, b, scale, output, new_state):
    batch, _, num_q_heads, head_k = q.shape
    num_v_heads = v.shape[2]
    ratio = num_v_heads // num_q_heads
    if scale is None or float(scale) == 0.0:
        scale = 1.0 / math.sqrt(head_k)
    qf = q[:, 0].float().repeat_interleave(ratio, dim=1)  # [B, Hv, K]
    kf = k[:, 0].float().repeat_interleave(ratio, dim=1)
    vf = v[:, 0].float()  # [B, Hv, V]
    g = torch.exp(-torch.exp(A_log.float()) * F.softplus(a[:, 0].float() + dt_bias.float()))
    beta = torch.sigmoid(b[:, 0].float())
    if state is None:
        s = torch.zeros(batch, num_v_heads, v.shape[3], head_k, device=q.device)
    else:
        s = state.float() * g[..., None, None]
    if state is not None:
        u = torch.einsum("bhvk,bhk->bhv", s, kf)
    else:
        u = torch.zeros_like(vf)
    s = s + (beta[..., None] * (vf - u))[..., :, None] * kf[..., None, :]
    out = float(scale) * torch.einsum("bhvk,bhk->bhv", s, qf)
    output.copy_(out[:, None])
    new_state.copy_(s)
