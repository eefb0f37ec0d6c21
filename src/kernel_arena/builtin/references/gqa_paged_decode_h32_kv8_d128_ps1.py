"""Reference for gqa_paged_decode_h32_kv8_d128_ps1 (embedded verbatim in the definition JSON).

Vectorized over all tokens of all sequences at once (no per-sequence loop): logits for every
(token, q head) in fp32, a segmented softmax by sequence (scatter max, index_add sum), and the
weighted V rows added per sequence. Tokens are processed in fixed-size chunks only to bound
the temporary memory. LSE is base 2. An empty sequence gives output 0 and lse -inf.
"""

import math

import torch

_CHUNK = 16384


def run(q, k_cache, v_cache, kv_indptr, kv_indices, sm_scale):
    batch_size, num_qo_heads, head_dim = q.shape
    _, page_size, num_kv_heads, _ = k_cache.shape
    group = num_qo_heads // num_kv_heads
    device = q.device
    # page_size is 1: page p holds exactly one token, so a page index is a token index.
    k_rows = k_cache.reshape(-1, num_kv_heads, head_dim)
    v_rows = v_cache.reshape(-1, num_kv_heads, head_dim)
    indptr = kv_indptr.to(device=device, dtype=torch.int64)
    indices = kv_indices.to(device=device, dtype=torch.int64)
    num_tokens = int(indices.numel())
    lengths = indptr[1:] - indptr[:-1]
    seq = torch.repeat_interleave(torch.arange(batch_size, device=device), lengths)
    # q head h reads kv head h // group: view q as [batch, kv_head, group, dim].
    qf = q.float().view(batch_size, num_kv_heads, group, head_dim)

    logits = torch.empty(num_tokens, num_kv_heads, group, dtype=torch.float32, device=device)
    for start in range(0, num_tokens, _CHUNK):
        sl = slice(start, start + _CHUNK)
        k = k_rows[indices[sl]].float()  # [c, kv_heads, dim]
        logits[sl] = torch.einsum("chd,chgd->chg", k, qf[seq[sl]]) * float(sm_scale)
    logits = logits.view(num_tokens, num_qo_heads)

    seg = seq[:, None].expand(num_tokens, num_qo_heads)
    neg_inf = torch.full((batch_size, num_qo_heads), -math.inf, device=device)
    row_max = neg_inf.scatter_reduce(0, seg, logits, reduce="amax", include_self=True)
    p = torch.exp(logits - row_max[seq])
    denom = torch.zeros(batch_size, num_qo_heads, device=device).index_add_(0, seq, p)

    acc = torch.zeros(batch_size, num_kv_heads, group, head_dim, device=device)
    p = p.view(num_tokens, num_kv_heads, group)
    for start in range(0, num_tokens, _CHUNK):
        sl = slice(start, start + _CHUNK)
        v = v_rows[indices[sl]].float()  # [c, kv_heads, dim]
        acc.index_add_(0, seq[sl], p[sl, :, :, None] * v[:, :, None, :])
    acc = acc.view(batch_size, num_qo_heads, head_dim)

    nonempty = denom > 0
    output = torch.where(nonempty[..., None], acc / denom.clamp_min(1e-30)[..., None], 0.0)
    lse = torch.where(nonempty, (row_max + torch.log(denom)) / math.log(2.0), -math.inf)
    return output.to(torch.bfloat16), lse
