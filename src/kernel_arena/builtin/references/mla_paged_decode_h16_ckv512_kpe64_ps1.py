"""Reference for mla_paged_decode_h16_ckv512_kpe64_ps1 (embedded verbatim in the definition JSON).

Absorbed MLA decode: every head of a sequence attends to the same latent rows. Vectorized over
all tokens (chunked only to bound memory): logit = sm_scale * (q_nope . ckv + q_pe . kpe) in
fp32, segmented softmax per sequence, output = softmax-weighted ckv rows. LSE is base 2; an
empty sequence gives output 0 and lse -inf.
"""

import math

import torch

_CHUNK = 8192


def run(q_nope, q_pe, ckv_cache, kpe_cache, kv_indptr, kv_indices, sm_scale):
    batch_size, num_heads, dim_ckv = q_nope.shape
    device = q_nope.device
    ckv_rows = ckv_cache.reshape(-1, dim_ckv)  # page_size 1: page index == token index
    kpe_rows = kpe_cache.reshape(-1, kpe_cache.shape[-1])
    indptr = kv_indptr.to(device=device, dtype=torch.int64)
    indices = kv_indices.to(device=device, dtype=torch.int64)
    num_tokens = int(indices.numel())
    lengths = indptr[1:] - indptr[:-1]
    seq = torch.repeat_interleave(torch.arange(batch_size, device=device), lengths)
    qn = q_nope.float()
    qp = q_pe.float()

    logits = torch.empty(num_tokens, num_heads, dtype=torch.float32, device=device)
    for start in range(0, num_tokens, _CHUNK):
        sl = slice(start, start + _CHUNK)
        idx, s = indices[sl], seq[sl]
        ckv = ckv_rows[idx].float()
        kpe = kpe_rows[idx].float()
        logits[sl] = (
            torch.einsum("cd,chd->ch", ckv, qn[s]) + torch.einsum("cd,chd->ch", kpe, qp[s])
        ) * float(sm_scale)

    seg = seq[:, None].expand(num_tokens, num_heads)
    neg_inf = torch.full((batch_size, num_heads), -math.inf, device=device)
    row_max = neg_inf.scatter_reduce(0, seg, logits, reduce="amax", include_self=True)
    p = torch.exp(logits - row_max[seq])
    denom = torch.zeros(batch_size, num_heads, device=device).index_add_(0, seq, p)

    acc = torch.zeros(batch_size, num_heads, dim_ckv, device=device)
    for start in range(0, num_tokens, _CHUNK):
        sl = slice(start, start + _CHUNK)
        ckv = ckv_rows[indices[sl]].float()
        acc.index_add_(0, seq[sl], p[sl, :, None] * ckv[:, None, :])

    nonempty = denom > 0
    output = torch.where(nonempty[..., None], acc / denom.clamp_min(1e-30)[..., None], 0.0)
    lse = torch.where(nonempty, (row_max + torch.log(denom)) / math.log(2.0), -math.inf)
    return output.to(torch.bfloat16), lse
