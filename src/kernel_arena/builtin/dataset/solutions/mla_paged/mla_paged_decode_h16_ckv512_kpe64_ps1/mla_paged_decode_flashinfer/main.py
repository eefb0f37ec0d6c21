"""Absorbed MLA paged decode through flashinfer.mla.BatchMLAPagedAttentionWrapper.

Pitfalls handled:
- P05/P06: caches passed as [num_pages, page_size, dim] with page_size 1; qo_indptr is
  arange(batch + 1) (one query token per sequence); kv_len per sequence is derived from
  kv_indptr (pages = tokens at page size 1). Index tensors stay int32.
- P07: sm_scale passed through unchanged (1/sqrt(192)), never recomputed from 512 + 64.
- P03: flashinfer's MLA lse is base 2 already.
- P18: workspace and wrapper are cached per device; plan() runs per call (page tables change).
- P14: flashinfer leaves a finite lse for a sequence with no tokens; empty rows are fixed up
  after the call to output 0 / lse -inf (two tiny masked fills).
- P01: out=/lse= make the library write our output buffers.
"""

import math

import flashinfer
import torch

_WRAPPERS = {}
_ONES = {}


def _ones(n, device):
    # A constant all-ones int32 vector (last_page_len at page size 1), allocated once per
    # device and grown on demand: no fill kernel and no allocation inside the call.
    buf = _ONES.get(str(device))
    if buf is None or buf.numel() < n:
        buf = torch.ones(max(n, 1024), dtype=torch.int32, device=device)
        _ONES[str(device)] = buf
    return buf[:n]


def _fix_empty(kv_indptr, output, lse):
    empty = kv_indptr[1:] == kv_indptr[:-1]
    lse.masked_fill_(empty[:, None], -math.inf)
    output.masked_fill_(empty[:, None, None], 0.0)


def _wrapper(device):
    key = str(device)
    if key not in _WRAPPERS:
        workspace = torch.empty(128 * 1024 * 1024, dtype=torch.uint8, device=device)
        _WRAPPERS[key] = flashinfer.mla.BatchMLAPagedAttentionWrapper(workspace, backend="auto")
    return _WRAPPERS[key]


def run(q_nope, q_pe, ckv_cache, kpe_cache, kv_indptr, kv_indices, sm_scale, output, lse):
    batch, num_heads, head_dim_ckv = q_nope.shape
    head_dim_kpe = q_pe.shape[-1]
    qo_indptr = torch.arange(batch + 1, dtype=torch.int32, device=q_nope.device)
    kv_len = (kv_indptr[1:] - kv_indptr[:-1]).to(torch.int32)
    wrapper = _wrapper(q_nope.device)
    wrapper.plan(
        qo_indptr, kv_indptr, kv_indices, kv_len,
        num_heads, head_dim_ckv, head_dim_kpe, 1, False, float(sm_scale),
        q_nope.dtype, ckv_cache.dtype,
    )
    wrapper.run(q_nope, q_pe, ckv_cache, kpe_cache, out=output, lse=lse, return_lse=True)
    _fix_empty(kv_indptr, output, lse)
