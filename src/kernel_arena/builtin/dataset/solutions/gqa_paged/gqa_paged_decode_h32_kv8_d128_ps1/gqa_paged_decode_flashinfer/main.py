"""GQA paged decode through flashinfer's BatchDecodeWithPagedKVCacheWrapper.

Pitfalls handled (see the pitfall catalogue):
- P05: the cache is passed as the (k_cache, v_cache) tuple in NHD layout, page axis kept.
- P06: kv_indptr/kv_indices are already in pages; flashinfer also wants last_page_len, which
  is 1 for every non-empty sequence at page size 1 (0 pages and length 1 still means 0 tokens).
  Index tensors stay int32 as flashinfer expects.
- P03: flashinfer's lse is already base 2, so it is written through unchanged.
- P18: the 128 MiB workspace and the wrapper are created once per process and device, not per
  call. plan() still runs every call (the page table can change between calls), which costs
  host time that the call latency shows.
- P14: flashinfer leaves a finite lse for a sequence with no tokens; the definition wants
  -inf there and output 0, so empty rows are fixed up after the call (two tiny masked fills).
- P01: output and lse are passed as out=/lse= so the library writes our buffers in place.
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
        _WRAPPERS[key] = flashinfer.BatchDecodeWithPagedKVCacheWrapper(workspace, kv_layout="NHD")
    return _WRAPPERS[key]


def run(q, k_cache, v_cache, kv_indptr, kv_indices, sm_scale, output, lse):
    batch, num_qo_heads, head_dim = q.shape
    num_kv_heads = k_cache.shape[2]
    last_page_len = _ones(batch, q.device)
    wrapper = _wrapper(q.device)
    wrapper.plan(
        kv_indptr, kv_indices, last_page_len,
        num_qo_heads, num_kv_heads, head_dim, 1,
        pos_encoding_mode="NONE", q_data_type=q.dtype, kv_data_type=k_cache.dtype,
        sm_scale=float(sm_scale),
    )
    wrapper.run(q, (k_cache, v_cache), out=output, lse=lse, return_lse=True)
    _fix_empty(kv_indptr, output, lse)
