"""References that loop over the batch in Python, as the public flashinfer-trace definitions do.

The embedded definitions carry vectorized references (one pass over all tokens); the public
dataset's references handle one sequence at a time, which is what makes default runs slow on
large batches. ``run_throughput.py`` puts these into a benchmark dataset to measure the harness
on such references. Each is checked against the embedded reference in ``tests/benchmarks``.
"""

from __future__ import annotations

GQA = '''
import math

import torch


def run(q, k_cache, v_cache, kv_indptr, kv_indices, sm_scale):
    batch_size, num_qo_heads, head_dim = q.shape
    num_kv_heads = k_cache.shape[2]
    group = num_qo_heads // num_kv_heads
    k_rows = k_cache.reshape(-1, num_kv_heads, head_dim)
    v_rows = v_cache.reshape(-1, num_kv_heads, head_dim)
    output = torch.zeros(batch_size, num_qo_heads, head_dim, dtype=torch.bfloat16, device=q.device)
    lse = torch.full((batch_size, num_qo_heads), -math.inf, dtype=torch.float32, device=q.device)
    bounds = kv_indptr.tolist()
    for b in range(batch_size):
        lo, hi = bounds[b], bounds[b + 1]
        if hi <= lo:
            continue
        idx = kv_indices[lo:hi].long()
        k = k_rows[idx].float()
        v = v_rows[idx].float()
        qb = q[b].float().view(num_kv_heads, group, head_dim)
        logits = torch.einsum("thd,hgd->hgt", k, qb) * float(sm_scale)
        m = logits.amax(-1, keepdim=True)
        p = torch.exp(logits - m)
        s = p.sum(-1, keepdim=True)
        output[b] = torch.einsum("hgt,thd->hgd", p / s, v).reshape(num_qo_heads, head_dim).to(torch.bfloat16)
        lse[b] = (m + torch.log(s)).reshape(num_qo_heads) / math.log(2.0)
    return output, lse
'''

MLA = '''
import math

import torch


def run(q_nope, q_pe, ckv_cache, kpe_cache, kv_indptr, kv_indices, sm_scale):
    batch_size, num_heads, dim_ckv = q_nope.shape
    ckv_rows = ckv_cache.reshape(-1, dim_ckv)
    kpe_rows = kpe_cache.reshape(-1, kpe_cache.shape[-1])
    output = torch.zeros(batch_size, num_heads, dim_ckv, dtype=torch.bfloat16, device=q_nope.device)
    lse = torch.full((batch_size, num_heads), -math.inf, dtype=torch.float32, device=q_nope.device)
    bounds = kv_indptr.tolist()
    for b in range(batch_size):
        lo, hi = bounds[b], bounds[b + 1]
        if hi <= lo:
            continue
        idx = kv_indices[lo:hi].long()
        ckv = ckv_rows[idx].float()
        kpe = kpe_rows[idx].float()
        logits = (q_nope[b].float() @ ckv.T + q_pe[b].float() @ kpe.T) * float(sm_scale)
        m = logits.amax(-1, keepdim=True)
        p = torch.exp(logits - m)
        s = p.sum(-1, keepdim=True)
        output[b] = ((p / s) @ ckv).to(torch.bfloat16)
        lse[b] = (m + torch.log(s)).reshape(num_heads) / math.log(2.0)
    return output, lse
'''

GDN = '''
import math

import torch
import torch.nn.functional as F


def run(q, k, v, state, A_log, a, dt_bias, b, scale):
    batch_size, _, num_q_heads, head_k = q.shape
    num_v_heads, head_v = v.shape[2], v.shape[3]
    if scale is None or float(scale) == 0.0:
        scale = 1.0 / math.sqrt(head_k)
    ratio = num_v_heads // num_q_heads
    output = torch.empty(batch_size, 1, num_v_heads, head_v, dtype=torch.bfloat16, device=q.device)
    new_state = torch.empty(batch_size, num_v_heads, head_v, head_k, dtype=torch.float32, device=q.device)
    for i in range(batch_size):
        qf = q[i, 0].float().repeat_interleave(ratio, dim=0)
        kf = k[i, 0].float().repeat_interleave(ratio, dim=0)
        vf = v[i, 0].float()
        g = torch.exp(-torch.exp(A_log.float()) * F.softplus(a[i, 0].float() + dt_bias.float()))
        beta = torch.sigmoid(b[i, 0].float())
        if state is None:
            s = torch.zeros(num_v_heads, head_k, head_v, device=q.device)
        else:
            s = state[i].float().transpose(-1, -2)
        s = g[:, None, None] * s
        u = torch.einsum("hk,hkv->hv", kf, s)
        s = s + kf[:, :, None] * (beta[:, None] * (vf - u))[:, None, :]
        output[i, 0] = (float(scale) * torch.einsum("hk,hkv->hv", qf, s)).to(torch.bfloat16)
        new_state[i] = s.transpose(-1, -2)
    return output, new_state
'''

BY_OP_TYPE = {"gqa_paged": GQA, "mla_paged": MLA, "gdn": GDN}
