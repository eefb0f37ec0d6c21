"""Absorbed MLA paged decode in plain PyTorch (baseline).

All 16 heads of a sequence share each latent row: logits = sm_scale * (q_nope . ckv + q_pe .
kpe), softmax over the sequence's tokens, output = softmax-weighted ckv rows (the values are the
latent rows themselves).

Layout conversions, and why:
- ckv_cache [num_pages, 1, 512] and kpe_cache [num_pages, 1, 64]: the page axis is squeezed and
  rows gathered by page index into padded [sequences, max_len, dim] blocks (P05, P06).
- Sequences are padded only within their length class (lengths in (2^(k-1), 2^k] together), so
  padding at most doubles the work instead of padding every sequence to the batch's longest.
- sm_scale is used exactly as given (1/sqrt(192) for DeepSeek, the pre-absorption head dim), not
  recomputed from the 576-wide absorbed dims (P07).
- LSE converted from natural log to base 2 (P03); empty sequences give 0 / -inf (P14).
"""

import math

import torch


def run(q_nope, q_pe, ckv_cache, kpe_cache, kv_indptr, kv_indices, sm_scale, output, lse):
    lengths = (kv_indptr[1:] - kv_indptr[:-1]).long()
    if q_nope.shape[0] == 0:
        return
    classes = torch.ceil(torch.log2(lengths.clamp(min=1).float())).long()
    keys = torch.unique(classes).tolist()
    for key in keys:
        rows = None if len(keys) == 1 else (classes == key).nonzero().flatten()
        out, lse_2 = _attend(q_nope, q_pe, ckv_cache, kpe_cache, kv_indptr, kv_indices, float(sm_scale),
                             lengths, rows)
        if rows is None:
            output.copy_(out)
            lse.copy_(lse_2)
        else:
            output.index_copy_(0, rows, out.to(output.dtype))
            lse.index_copy_(0, rows, lse_2)


def _attend(q_nope, q_pe, ckv_cache, kpe_cache, kv_indptr, kv_indices, sm_scale, lengths, rows):
    """Padded attention of the sequences ``rows`` (None: all): (output, base-2 LSE) of those rows."""
    starts = kv_indptr[:-1].long()
    if rows is not None:
        q_nope, q_pe, lengths, starts = q_nope[rows], q_pe[rows], lengths[rows], starts[rows]
    max_len = int(lengths.max())
    pos = torch.arange(max_len, device=q_nope.device)
    valid = pos[None, :] < lengths[:, None]
    slot = (starts[:, None] + pos[None, :]).clamp(max=max(kv_indices.numel() - 1, 0))
    pages = torch.where(valid, kv_indices.long()[slot], 0)
    ckv = ckv_cache[:, 0][pages].float()  # [B, L, 512]
    kpe = kpe_cache[:, 0][pages].float()  # [B, L, 64]
    logits = torch.einsum("bhd,bld->bhl", q_nope.float(), ckv)
    logits += torch.einsum("bhd,bld->bhl", q_pe.float(), kpe)
    logits = (logits * sm_scale).masked_fill(~valid[:, None, :], -math.inf)
    lse_nat = torch.logsumexp(logits, dim=-1)  # -inf for empty rows (and max_len 0)
    probs = torch.exp(logits - lse_nat[..., None]).nan_to_num(0.0)
    out = torch.einsum("bhl,bld->bhd", probs, ckv)
    return out, lse_nat / math.log(2.0)
