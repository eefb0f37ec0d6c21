"""GQA paged decode: launch wrapper of the split-KV Triton kernels in kernel.py.

The split count comes from tensor shapes only (batch size and total pages in the batch), never
from the values of kv_indptr, so the call has no host<->device copy or synchronization and can
be captured in a CUDA graph. See num_splits for the policy. Both launches go through a thin
launcher (FastLaunch) that reuses Triton's compiled kernel, so the merge kernel follows the split
kernel after a few microseconds of host time rather than ~20.

Pitfalls handled: P03 (the kernel works in log2 units, lse is base 2), P04 (kv head g serves
q heads 4g..4g+3), P05 (NHD cache with the page axis), P06 (indptr counts pages; int32 indices
widened to 64-bit offsets in-kernel, P15), P14 (empty sequences: output 0, lse -inf),
P16 (kernel.py is a sibling module).
"""

import math
import os

import torch
from kernel import LOG2E, gqa_decode_split_kernel, merge_splits_kernel

# The Triton CPU interpreter cannot multiply bf16 tiles; it gets fp32 operands instead.
UPCAST = os.environ.get("TRITON_INTERPRET") == "1"
_SM_COUNT = {}
_BUFFERS = {}


class FastLaunch:
    """Launch a Triton kernel through its compiled handle, skipping the per-call argument binder.

    Triton's `kernel[grid](...)` re-derives the specialization of every argument on each call
    (~15-25 us of host time on an H100 box, which shows up as call latency and as idle GPU time
    between two launches). The compiled kernel returned by the first launch is kept per
    specialization key (tensor dtype and 16-byte alignment, int == 1 / % 16 / 32-bit range, the
    constexprs) and later calls go straight to its launcher. Any failure, or the CPU interpreter,
    falls back to the normal launch for good.
    """

    def __init__(self, jit_fn):
        self.jit_fn = jit_fn
        self.names = list(getattr(jit_fn, "arg_names", []))
        self.compiled = {}
        self.enabled = not UPCAST and bool(self.names)

    def __call__(self, grid, args, constexprs, **options):
        if not self.enabled:
            return self.jit_fn[grid](*args, **constexprs, **options)
        key = (grid.__len__(), *map(_spec, args), *constexprs.items(), *options.items())
        kernel = self.compiled.get(key)
        if kernel is None:
            kernel = self.jit_fn[grid](*args, **constexprs, **options)
            if hasattr(kernel, "run") and hasattr(kernel, "function"):
                self.compiled[key] = kernel
            return kernel
        try:
            values = [*args, *(constexprs[n] for n in self.names[len(args):])]
            stream = torch.cuda.current_stream().cuda_stream
            g = (*grid, 1, 1)
            kernel.run(g[0], g[1], g[2], stream, kernel.function, kernel.packed_metadata, None, None, None,
                       *values)
        except Exception:  # noqa: BLE001 - an API this Triton does not have: use the slow path
            self.enabled = False
            return self.jit_fn[grid](*args, **constexprs, **options)
        return kernel


def _spec(a):
    """What Triton specializes an argument on."""
    if isinstance(a, torch.Tensor):
        return (a.dtype, a.data_ptr() % 16 == 0)
    if isinstance(a, bool):
        return ("b", a)
    if isinstance(a, int):
        return ("i", a == 1, a % 16 == 0, -(2**31) <= a < 2**31)
    return (type(a).__name__,)


def _sm_count(device) -> int:
    if device.type != "cuda":
        return 8
    key = device.index if device.index is not None else torch.cuda.current_device()
    if key not in _SM_COUNT:
        _SM_COUNT[key] = torch.cuda.get_device_properties(key).multi_processor_count
    return _SM_COUNT[key]



def _sm_count(device) -> int:
    if device.type != "cuda":
        return 8
    key = device.index if device.index is not None else torch.cuda.current_device()
    if key not in _SM_COUNT:
        _SM_COUNT[key] = torch.cuda.get_device_properties(key).multi_processor_count
    return _SM_COUNT[key]


# Defaults from benchmarks/results/tune_attention.md (H100): BLOCK_N 128, 4 warps, 2 stages,
# one split per 1024 tokens of the average sequence beyond the two-wave fill.
def num_splits(batch: int, num_kv_heads: int, total_tokens: int, sm_count: int,
               tokens_per_split: int = 1024) -> int:
    """Splits per sequence from shapes only (no sync on kv_indptr's values).

    Enough splits to fill ~2 waves of SMs, and at least one split per `tokens_per_split` tokens of
    the *average* sequence, so that in a skewed batch the long sequences are still spread over many
    programs (splits of short sequences are empty and exit at once). Capped at 128.
    """
    if batch == 0 or total_tokens == 0:
        return 1
    fill = -(-2 * sm_count // (batch * num_kv_heads))
    by_len = -(-total_tokens // (batch * tokens_per_split))
    cap = max(1, total_tokens // (batch * 32))  # never below ~32 tokens per split on average
    return int(max(1, min(max(fill, by_len), cap, 128)))


def _partials(device, rows: int, splits: int, head_dim: int):
    # Scratch for split partials, grown on demand and reused: no allocation per call.
    key = (str(device), head_dim)
    need = rows * splits
    buf = _BUFFERS.get(key)
    if buf is None or buf[1].numel() < need:
        buf = (torch.empty(need * head_dim, dtype=torch.float32, device=device),
               torch.empty(need, dtype=torch.float32, device=device))
        _BUFFERS[key] = buf
    return buf


_SPLIT = FastLaunch(gqa_decode_split_kernel)
_MERGE = FastLaunch(merge_splits_kernel)


def run(q, k_cache, v_cache, kv_indptr, kv_indices, sm_scale, output, lse):
    splits = num_splits(q.shape[0], k_cache.shape[2], kv_indices.numel(), _sm_count(q.device))
    decode(q, k_cache, v_cache, kv_indptr, kv_indices, sm_scale, output, lse, splits)


def decode(q, k_cache, v_cache, kv_indptr, kv_indices, sm_scale, output, lse, splits,
           block_n=128, num_warps=4, num_stages=2):
    """The two launches for a given split count and tile config (exposed for tests and tuning)."""
    batch, num_qo_heads, head_dim = q.shape
    num_kv_heads = k_cache.shape[2]
    part_o, part_lse = _partials(q.device, batch * num_qo_heads, splits, head_dim)
    _SPLIT(
        (batch, num_kv_heads, splits),
        (q, k_cache, v_cache, kv_indptr, kv_indices, part_o, part_lse, output, lse, float(sm_scale) * LOG2E),
        dict(NUM_KV_HEADS=num_kv_heads, GROUP=num_qo_heads // num_kv_heads, HEAD_DIM=head_dim,
             NUM_SPLITS=splits, BLOCK_H=16, BLOCK_N=block_n, UPCAST=UPCAST),
        num_warps=num_warps, num_stages=num_stages,
    )
    if splits > 1:
        _MERGE(
            (batch * num_qo_heads, 1),
            (part_o, part_lse, output, lse),
            dict(NUM_SPLITS=splits, HEAD_DIM=head_dim, BLOCK_S=next_pow2(splits), CHUNK_S=16, BLOCK_D=head_dim),
            num_warps=2,
        )


def next_pow2(n: int) -> int:
    """Smallest power of two >= max(n, 2)."""
    return 1 << max(1, math.ceil(math.log2(max(n, 2))))
