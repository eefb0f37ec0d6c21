"""GQA paged decode in plain PyTorch (the baseline every kernel should beat).

What it computes: for each sequence b and query head h, attention of q[b, h] over the tokens
in pages kv_indices[kv_indptr[b]:kv_indptr[b+1]] of the paged cache, with kv head h // 4.

Layout conversions, and why:
- The cache is NHD paged, [num_pages, page_size=1, num_kv_heads, head_dim]. Squeezing the page
  axis gives one row per token, and gathering rows by page index builds a dense padded
  [sequences, max_len, kv_heads, dim] block (P05: the page axis is there even at page_size 1).
- Sequences are padded only within their length class (lengths in (2^(k-1), 2^k] together), so
  padding at most doubles the work: one 20,000-token sequence among 63 short ones would
  otherwise pad all 64 to 20,000 tokens (25x the work and memory on production batches).
- kv_indptr counts pages (= tokens at page_size 1) (P06). Padding positions are masked out.
- GQA: q is viewed as [batch, kv_heads, 4, dim], so q head h meets kv head h // 4 without
  copying K/V (P04: contiguous groups, the same mapping as repeat_interleave).
- LSE: torch's logsumexp is natural log; the definition wants base 2, so it is divided by
  ln 2 (P03). Empty sequences give output 0 and lse -inf (P14).
Outputs are written in place (destination-passing style, P01); inputs are never modified (P13).
"""

import math

import torch


def run(q, k_cache, v_cache, kv_indptr, kv_indices, sm_scale, output, lse):
    lengths = (kv_indptr[1:] - kv_indptr[:-1]).long()
    if q.shape[0] == 0:
        return
    classes = torch.ceil(torch.log2(lengths.clamp(min=1).float())).long()
    keys = torch.unique(classes).tolist()
    for key in keys:
        rows = None if len(keys) == 1 else (classes == key).nonzero().flatten()
        out, lse_2 = _attend(q, k_cache, v_cache, kv_indptr, kv_indices, float(sm_scale), lengths, rows)
        if rows is None:
            output.copy_(out)
            lse.copy_(lse_2)
        else:
            output.index_copy_(0, rows, out.to(output.dtype))
            lse.index_copy_(0, rows, lse_2)


def _attend(q, k_cache, v_cache, kv_indptr, kv_indices, sm_scale, lengths, rows):
    """Padded attention of the sequences ``rows`` (None: all): (output, base-2 LSE) of those rows."""
    starts = kv_indptr[:-1].long()
    if rows is not None:
        q, lengths, starts = q[rows], lengths[rows], starts[rows]
    batch, num_qo_heads, head_dim = q.shape
    num_kv_heads = k_cache.shape[2]
    group = num_qo_heads // num_kv_heads
    max_len = int(lengths.max())
    pos = torch.arange(max_len, device=q.device)
    valid = pos[None, :] < lengths[:, None]  # [B, L]
    slot = (starts[:, None] + pos[None, :]).clamp(max=max(kv_indices.numel() - 1, 0))
    pages = torch.where(valid, kv_indices.long()[slot], 0)
    k = k_cache[:, 0][pages].float()  # [B, L, Hkv, D]
    v = v_cache[:, 0][pages].float()
    qg = q.float().view(batch, num_kv_heads, group, head_dim)
    logits = torch.einsum("bhgd,blhd->bhgl", qg, k) * sm_scale
    logits = logits.masked_fill(~valid[:, None, None, :], -math.inf)
    lse_nat = torch.logsumexp(logits, dim=-1)  # [B, Hkv, G]; -inf for empty rows (and max_len 0)
    probs = torch.exp(logits - lse_nat[..., None]).nan_to_num(0.0)
    out = torch.einsum("bhgl,blhd->bhgd", probs, v)
    out = out.reshape(batch, num_qo_heads, head_dim)
    lse_2 = (lse_nat / math.log(2.0)).reshape(batch, num_qo_heads)
    return out, lse_2
