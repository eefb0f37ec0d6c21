"""Absorbed MLA paged decode: launch wrapper of the split-KV Triton kernels in kernel.py.

The split count comes from tensor shapes only (batch size, total pages), never from kv_indptr's
values: no host<->device copy or synchronization, so the call can be captured in a CUDA graph.
See num_splits for the policy.

Pitfalls handled: P03 (log2 units throughout, lse base 2), P05/P06 (page axis squeezed by
offset arithmetic; indptr counts pages), P07 (sm_scale used as given, 1/sqrt(192)),
P14 (empty sequences: output 0, lse -inf), P15 (64-bit row offsets), P16 (sibling kernel.py).
"""

import math
import os

import torch
from kernel import LOG2E, merge_splits_kernel, mla_decode_split_kernel

# The Triton CPU interpreter cannot multiply bf16 tiles; it gets fp32 operands instead.
UPCAST = os.environ.get("TRITON_INTERPRET") == "1"
_SM_COUNT = {}
_BUFFERS = {}


def _sm_count(device) -> int:
    if device.type != "cuda":
        return 8
    key = device.index if device.index is not None else torch.cuda.current_device()
    if key not in _SM_COUNT:
        _SM_COUNT[key] = torch.cuda.get_device_properties(key).multi_processor_count
    return _SM_COUNT[key]


# Defaults from benchmarks/results/tune_attention.md (H100): BLOCK_N 64, 4 warps, 2 stages.
def num_splits(batch: int, total_tokens: int, sm_count: int, tokens_per_split: int = 256) -> int:
    """Splits per sequence from shapes only (no sync on kv_indptr's values).

    The grid has no head axis (all 16 heads share a program), so filling ~2 waves of SMs needs
    2 * SMs / batch splits; in skewed batches at least one split per `tokens_per_split` tokens of
    the average sequence. Never below ~32 tokens per split on average; capped at 256.
    """
    if batch == 0 or total_tokens == 0:
        return 1
    fill = -(-2 * sm_count // batch)
    by_len = -(-total_tokens // (batch * tokens_per_split))
    cap = max(1, total_tokens // (batch * 32))
    return int(max(1, min(max(fill, by_len), cap, 256)))


def _partials(device, rows: int, splits: int, head_dim: int):
    key = (str(device), head_dim)
    need = rows * splits
    buf = _BUFFERS.get(key)
    if buf is None or buf[1].numel() < need:
        buf = (torch.empty(need * head_dim, dtype=torch.float32, device=device),
               torch.empty(need, dtype=torch.float32, device=device))
        _BUFFERS[key] = buf
    return buf


def next_pow2(n: int) -> int:
    """Smallest power of two >= max(n, 2)."""
    return 1 << max(1, math.ceil(math.log2(max(n, 2))))


def run(q_nope, q_pe, ckv_cache, kpe_cache, kv_indptr, kv_indices, sm_scale, output, lse):
    splits = num_splits(q_nope.shape[0], kv_indices.numel(), _sm_count(q_nope.device))
    decode(q_nope, q_pe, ckv_cache, kpe_cache, kv_indptr, kv_indices, sm_scale, output, lse, splits)


def decode(q_nope, q_pe, ckv_cache, kpe_cache, kv_indptr, kv_indices, sm_scale, output, lse, splits,
           block_n=64, num_warps=4, num_stages=2):
    """The two launches for a given split count and tile config (exposed for tests and tuning)."""
    batch, num_heads, d_ckv = q_nope.shape
    d_kpe = q_pe.shape[-1]
    part_o, part_lse = _partials(q_nope.device, batch * num_heads, splits, d_ckv)
    mla_decode_split_kernel[(batch, splits)](
        q_nope, q_pe, ckv_cache, kpe_cache, kv_indptr, kv_indices, part_o, part_lse, output, lse,
        float(sm_scale) * LOG2E,
        NUM_HEADS=num_heads, D_CKV=d_ckv, D_KPE=d_kpe, NUM_SPLITS=splits, BLOCK_N=block_n,
        UPCAST=UPCAST, num_warps=num_warps, num_stages=num_stages,
    )
    if splits > 1:
        merge_splits_kernel[(batch * num_heads, d_ckv // 128)](
            part_o, part_lse, output, lse,
            NUM_SPLITS=splits, HEAD_DIM=d_ckv, BLOCK_S=next_pow2(splits), CHUNK_S=16, BLOCK_D=128,
            num_warps=4,
        )
