"""Absorbed MLA paged decode in plain PyTorch (baseline).

All 16 heads of a sequence share each latent row: logits = sm_scale * (q_nope . ckv + q_pe .
kpe), softmax over the sequence's tokens, output = softmax-weighted ckv rows (the values are the
latent rows themselves).

Layout conversions, and why:
- ckv_cache [num_pages, 1, 512] and kpe_cache [num_pages, 1, 64]: the page axis is squeezed and
  rows gathered by page index into padded [batch, max_len, dim] blocks (P05, P06).
- sm_scale is used exactly as given (1/sqrt(192) for DeepSeek, the pre-absorption head dim), not
  recomputed from the 576-wide absorbed dims (P07).
- LSE converted from natural log to base 2 (P03); empty sequences give 0 / -inf (P14).
"""

import math

import torch


def run(q_nope, q_pe, ckv_cache, kpe_cache, kv_indptr, kv_indices, sm_scale, output, lse):
    batch = q_nope.shape[0]
    lengths = (kv_indptr[1:] - kv_indptr[:-1]).long()
    max_len = int(lengths.max()) if batch else 0
    if max_len == 0:
        output.zero_()
        lse.fill_(-math.inf)
        return
    pos = torch.arange(max_len, device=q_nope.device)
    valid = pos[None, :] < lengths[:, None]
    slot = (kv_indptr[:-1].long()[:, None] + pos[None, :]).clamp(max=max(kv_indices.numel() - 1, 0))
    pages = torch.where(valid, kv_indices.long()[slot], 0)
    ckv = ckv_cache[:, 0][pages].float()  # [B, L, 512]
    kpe = kpe_cache[:, 0][pages].float()  # [B, L, 64]
    logits = torch.einsum("bhd,bld->bhl", q_nope.float(), ckv)
    logits += torch.einsum("bhd,bld->bhl", q_pe.float(), kpe)
    logits = (logits * float(sm_scale)).masked_fill(~valid[:, None, :], -math.inf)
    lse_nat = torch.logsumexp(logits, dim=-1)
    probs = torch.exp(logits - lse_nat[..., None]).nan_to_num(0.0)
    output.copy_(torch.einsum("bhl,bld->bhd", probs, ckv))
    lse.copy_(lse_nat / math.log(2.0))
