"""Absorbed MLA paged decode: launch wrapper of the split-KV Triton kernels in kernel.py.

The chunk size comes from tensor shapes only (batch size, len(kv_indices)), never from kv_indptr values:
no host<->device copy or synchronization, so the call can be captured in a CUDA graph. See
plan_chunks for the policy. One launch: chunk programs, then merge programs (see kernel.py).

Pitfalls handled: P03 (log2 units throughout, lse base 2), P05/P06 (page axis squeezed by
offset arithmetic; indptr counts pages), P07 (sm_scale used as given, 1/sqrt(192)),
P14 (empty sequences: output 0, lse -inf), P15 (64-bit row offsets), P16 (sibling kernel.py).
Not safe to run concurrently on two streams: the partial and counter scratch is shared per device.
A kv_indptr that is not non-decreasing inside kv_indices (0 <= kv_indptr[b] <= kv_indptr[b + 1] <=
len(kv_indices); the definition requires only kv_indptr[-1] == len(kv_indices), which the engine
checks) gets NaN in every output and lse: the kernel checks it on the device (a host check would
need a synchronization), reads nothing past kv_indices and leaves its counters at zero.
"""

import math
import os

import torch
from kernel import LOG2E, PROBE_FIELDS, mla_decode_kernel

PROBE_WIDTH = PROBE_FIELDS.value  # int64 fields per program in a probe buffer (kernel.py)

# The Triton CPU interpreter cannot multiply bf16 tiles; it gets fp32 operands instead.
UPCAST = os.environ.get("TRITON_INTERPRET") == "1"
_SM_COUNT = {}
_BUFFERS = {}


_TENSOR = torch.Tensor


class FastLaunch:
    """Launch a Triton kernel through its compiled handle, skipping the per-call argument binder.

    Triton's `kernel[grid](...)` re-derives the specialization of every argument on each call,
    which costs host time on every call (benchmarks/results/host_path.md). The compiled kernel
    returned by the first launch is kept per specialization key (tensor dtype and 16-byte
    alignment; int == 1, % 16 == 0 and 32-bit range; the constexprs in signature order; the
    launch options) and later calls go straight to its launcher. Every constexpr of the kernel
    must be passed. Any failure, or the CPU interpreter, falls back to the normal launch for good.
    """

    def __init__(self, jit_fn):
        self.jit_fn = jit_fn
        self.names = list(getattr(jit_fn, "arg_names", []))
        self.compiled = {}
        self.enabled = not UPCAST and bool(self.names)

    def __call__(self, grid, args, constexprs, **options):
        if not self.enabled:
            return self.jit_fn[grid](*args, **constexprs, **options)
        consts = tuple([constexprs[n] for n in self.names[len(args):]])
        key = [len(grid), consts, *options.items()]
        for a in args:  # inline and by exact class first: isinstance on torch.Tensor is slow
            cls = a.__class__
            if cls is _TENSOR or (cls is not int and cls is not float and isinstance(a, _TENSOR)):
                key += (a.dtype, not a.data_ptr() & 15)
            elif cls is int or cls is bool:
                key += (cls, a == 1, not a & 15, -2147483648 <= a < 2147483648)
            else:
                key.append(cls)
        key = tuple(key)
        kernel = self.compiled.get(key)
        if kernel is None:
            kernel = self.jit_fn[grid](*args, **constexprs, **options)
            if hasattr(kernel, "run") and hasattr(kernel, "function"):
                self.compiled[key] = kernel
            return kernel
        if not self.launch_compiled(kernel, grid, args, consts):
            return self.jit_fn[grid](*args, **constexprs, **options)
        return kernel

    def launch_compiled(self, kernel, grid, args, consts) -> bool:
        """Launch a kernel compiled by an earlier call through its own launcher (runtime args, then
        constexprs in signature order). False, and the fast path off for good, if this Triton's
        launcher takes something else (a TypeError or AttributeError); any other error (an argument
        it refuses, such as a CPU tensor) is the caller's and propagates."""
        g = (*grid, 1, 1)
        try:
            kernel.run(g[0], g[1], g[2], _raw_stream(), kernel.function, kernel.packed_metadata, None, None, None,
                       *args, *consts)
        except (TypeError, AttributeError):  # an API this Triton does not have: use the slow path
            self.enabled = False
            return False
        return True


def _raw_stream() -> int:
    """The current CUDA stream's handle (what Triton's own launcher asks torch for; 8x cheaper
    than torch.cuda.current_stream().cuda_stream, benchmarks/results/host_path.md)."""
    return torch._C._cuda_getCurrentRawStream(torch.cuda.current_device())


def _sm_count(device) -> int:
    if device.type != "cuda":
        return 8
    key = device.index if device.index is not None else torch.cuda.current_device()
    if key not in _SM_COUNT:
        _SM_COUNT[key] = torch.cuda.get_device_properties(key).multi_processor_count
    return _SM_COUNT[key]


def _pow2_at_least(x: float) -> int:
    return 1 << max(0, math.ceil(math.log2(max(x, 1))))


# Policy from the production-shaped sweep of the segment split (benchmarks/results/
# tune_attention_segments.md, H100): about one chunk program per SM, power-of-two chunks of
# 32..128 tokens (256 from 32 sequences; 64 when the average sequence is 33-64 tokens long, so
# that it stays whole), BLOCK_N 32, 4 warps. Sequences of up to MERGE_LAST = 3 slots are merged
# by their last-arriving chunk program, longer ones by 16 merge programs in parallel: with the
# merge programs 512 columns wide, 4 beat 8 on all 48 production batches (geo-mean 1.144x ->
# 1.173x flashinfer run(), batch 64 1.02x -> 1.07x; tune_attention_partials.md), and 3 beat 4
# and 6 in every bucket (1.169x -> 1.180x); 2 was 0.2% ahead overall but 4% behind at batch 64
# (tune_attention_mergelast.md). One program merging up to 8 x 32 KB in a row had been on the
# critical path of most batch-64 batches (mla_timeline_merge_last8.md). Five stages: Triton 3.6
# gives the K/V tile a second shared-memory buffer only from five stages on (the page-index load
# takes the first ones); with two to four, tile i+1 is requested after tile i is consumed and
# waited for at once; seven give a third buffer (130 KB, one program an SM) and lost
# (decode_kernels.md).
MERGE_LAST = 3
NUM_STAGES = 5
# From 320 tokens an SM (42k on 132 SMs), batches of 32-64 sequences take 512-token chunks: the
# batch-64 production batches of 44-74k tokens ran 3-13% faster with them on an H100 and tied or
# ran 11-14% faster on an H200, while below 42k they lost up to 17% on the H200
# (tune_attention_split.md, tune_attention_rows.md).
BIG_CHUNK_TOKENS_PER_SM = 320


def plan_chunks(total_tokens: int, batch: int, sm_count: int) -> tuple[int, int]:
    """(chunk, num_chunks) from shapes only (len(kv_indices) and the batch size).

    The grid has no head axis (all 16 heads share a program), and every (sequence, chunk) segment
    is a program of its own. At least one chunk.
    """
    avg = total_tokens / max(batch, 1)
    lo = _pow2_at_least(avg) if avg <= 64 else 32  # a sequence of up to 64 tokens is never split
    hi = max(lo, 256 if batch >= 32 else 128)
    if 32 <= batch <= 64 and total_tokens >= BIG_CHUNK_TOKENS_PER_SM * sm_count:
        hi = 512  # fewer partials to write and merge once every SM has 320+ tokens (measured range)
    chunk = min(max(_pow2_at_least(total_tokens / sm_count), lo), hi)
    return chunk, max(1, -(-total_tokens // chunk))


def _scratch(device, slots: int, batch: int, num_heads: int, head_dim: int):
    """Partials (slots x heads) and zeroed counters (2 per sequence), grown on demand and reused."""
    key = (device.type, device.index)
    have = _BUFFERS.get(key)
    if have is None or have[1].numel() < slots * num_heads:
        counts = have[2] if have is not None else torch.zeros(0, dtype=torch.int32, device=device)
        have = (torch.empty(slots * num_heads * head_dim, dtype=torch.float32, device=device),
                torch.empty(slots * num_heads, dtype=torch.float32, device=device), counts)
    if have[2].numel() < 2 * batch:
        have = (have[0], have[1], torch.zeros(2 * batch, dtype=torch.int32, device=device))
    _BUFFERS[key] = have
    return have


_DECODE = FastLaunch(mla_decode_kernel)


def merge_heads_for(total_tokens: int, batch: int, num_heads: int) -> int:
    """Heads per merge program (merge programs serve only sequences of more than MERGE_LAST
    slots). Up to 64 sequences: 1 (16 merge programs a sequence with merge_block_d_for's 512
    columns, for the many slots of a few long sequences; best or tied on every production batch
    swept). Otherwise all heads (4 a sequence of 128 columns each).
    Evidence: benchmarks/results/decode_kernels.md, tune_attention_merge.md."""
    return 1 if batch <= 64 else num_heads


def merge_block_d_for(merge_heads: int) -> int:
    """Output columns per merge program: the whole 512-wide latent for one-head merge programs.
    A merge program's time is a chain of dependent loads (indptr, its counter, 16 slots at a
    time), not its bytes, and merge programs queue for the SMs' slots behind the segment
    programs, so four times fewer of them end the kernel sooner: on every production batch,
    geo-mean 1.09x -> 1.15x flashinfer run() (batch 64: 0.96x -> 1.03x; tune_attention_mergewide.md;
    the timelines before and after: mla_timeline_before.md, mla_timeline.md). All-head merge
    programs keep 128 columns (a [4, 16, 512] fp32 slot tile would not fit in registers)."""
    return 512 if merge_heads == 1 else 128


class _Bound:
    """One call shape's launch, prepared once: grid, scratch tensors, shape-derived int arguments
    (batch, chunk, num_chunks, total), constexprs, and the compiled kernel per dtypes of the eight
    caller tensors. Only taken when all eight are 16-byte aligned CUDA tensors (what that kernel
    was compiled for); anything else goes through decode and the thin launcher's full
    specialization key. The launch gets device addresses, not tensors (see _addresses)."""

    __slots__ = ("grid", "scratch", "ints", "consts", "kernels", "_keep")

    def __init__(self, grid, scratch, ints, consts):
        self.grid = grid
        self.scratch = _addresses(scratch)
        self.ints = _addresses(ints)  # batch, chunk, num_chunks, total, and the probe stand-in (the counters)
        self.consts = consts
        self.kernels = {}
        self._keep = (scratch, ints)  # the scratch tensors live as long as their addresses are used


_TENSOR_ARGS = ("q_nope", "q_pe", "ckv_cache", "kpe_cache", "kv_indptr", "kv_indices", "output", "lse")


def _refuse_host_tensor(tensors: tuple, names: tuple) -> None:
    """The prepared launch hands the kernel addresses, so a tensor off the GPU must be refused
    here (Triton's own pointer check never sees it): raise naming the first such argument."""
    for name, t in zip(names, tensors):
        if not t.is_cuda:
            raise ValueError(f"{name} is on {t.device}, not on a CUDA device: this call was prepared for "
                             "CUDA tensors (every tensor argument must be on the GPU)")


def _addresses(values: tuple) -> tuple:
    """Tensors as their device addresses, other values as they are. Triton's launcher takes an int
    for a pointer argument as it is; for a tensor it calls data_ptr() and asks the driver
    (cuPointerGetAttribute) whether the address is a device one, a driver call per tensor per
    launch. The prepared launch makes those checks itself, once per call: data_ptr() for the
    alignment key, is_cuda for the device."""
    return tuple(v.data_ptr() if isinstance(v, torch.Tensor) else v for v in values)


# Plans and prepared launches by shape. In serving, len(kv_indices) changes every step, so the
# caches are bounded.
_PLANS = {}
_BOUND = {}
_MAX_PLANS = 4096


def run(q_nope, q_pe, ckv_cache, kpe_cache, kv_indptr, kv_indices, sm_scale, output, lse):
    shape = (kv_indices.numel(), q_nope.shape[0], q_nope.shape[1], q_nope.device)
    a, b, c, d, e, f, g, h = (q_nope.data_ptr(), q_pe.data_ptr(), ckv_cache.data_ptr(), kpe_cache.data_ptr(),
                              kv_indptr.data_ptr(), kv_indices.data_ptr(), output.data_ptr(), lse.data_ptr())
    aligned = not (a | b | c | d | e | f | g | h) & 15
    dtypes = (q_nope.dtype, q_pe.dtype, ckv_cache.dtype, kpe_cache.dtype, kv_indptr.dtype, kv_indices.dtype,
              output.dtype, lse.dtype)
    bound = _BOUND.get(shape)
    kernel = bound.kernels.get(dtypes) if bound is not None and aligned and _DECODE.enabled else None
    if kernel is not None:  # the prepared launch
        if not (q_nope.is_cuda and q_pe.is_cuda and ckv_cache.is_cuda and kpe_cache.is_cuda and kv_indptr.is_cuda
                and kv_indices.is_cuda and output.is_cuda and lse.is_cuda):
            _refuse_host_tensor((q_nope, q_pe, ckv_cache, kpe_cache, kv_indptr, kv_indices, output, lse), _TENSOR_ARGS)
        args = (a, b, c, d, e, f, *bound.scratch, g, h, float(sm_scale) * LOG2E, *bound.ints)
        if _DECODE.launch_compiled(kernel, bound.grid, args, bound.consts):
            return
    plan = _PLANS.get(shape)
    if plan is None:  # the plan depends on shapes only: compute it once per shape
        if len(_PLANS) >= _MAX_PLANS:
            _PLANS.clear()
        total, batch, num_heads = shape[:3]
        merge_heads = merge_heads_for(total, batch, num_heads)
        plan = _PLANS[shape] = (plan_chunks(total, batch, _sm_count(q_nope.device))[0], merge_heads,
                                merge_block_d_for(merge_heads))
    grid, args, constexprs, options = _launch_args(
        q_nope, q_pe, ckv_cache, kpe_cache, kv_indptr, kv_indices, sm_scale, output, lse, plan[0],
        num_stages=NUM_STAGES, merge_heads=plan[1], merge_last=MERGE_LAST, merge_block_d=plan[2])
    kernel = _DECODE(grid, args, constexprs, **options)
    if _DECODE.enabled and aligned and hasattr(kernel, "run") and hasattr(kernel, "function"):
        if bound is None:
            if len(_BOUND) >= _MAX_PLANS:
                _BOUND.clear()
            consts = tuple([constexprs[n] for n in _DECODE.names[len(args):]])
            bound = _BOUND[shape] = _Bound(grid, args[6:9], args[12:], consts)
        bound.kernels[dtypes] = kernel


def merge_sequences(batch: int, num_chunks: int, merge_last: int) -> int:
    """Sequences the grid holds merge programs for. With merge_last = K > 0 only sequences of more
    than K slots use merge programs; each crosses at least K of the num_chunks - 1 chunk
    boundaries and no boundary twice, so there are at most (num_chunks - 1) // K of them."""
    return batch if merge_last <= 0 else min(batch, (num_chunks - 1) // merge_last)


def decode(q_nope, q_pe, ckv_cache, kpe_cache, kv_indptr, kv_indices, sm_scale, output, lse, chunk,
           block_n=32, num_warps=4, num_stages=NUM_STAGES, prefetch=0, merge_heads=None, merge_last=0, d_split=1,
           probe=None, merge_block_d=None, merge_slots=None):
    """The launch for a given chunk size, tile config, L2 prefetch distance in tokens (0 for none;
    the CPU interpreter never prefetches), merge_last (sequences of up to
    that many slots are merged by their last-arriving chunk program; 0: merge programs merge
    every split sequence) and d_split (1: one program per segment; 2: two, each accumulating
    half of the output columns). probe: an int64 CUDA tensor of at least grid x PROBE_FIELDS
    elements, or None; when given, every program writes its timestamps, SM and role there
    (kernel.py, PROBE; needs a GPU).
    merge_block_d: output columns per merge program (128, 256 or 512; None: merge_block_d_for).
    merge_slots: partial slots a merge program loads at once (a power of two; None: 16 for one-head
    merge programs, 4 for merge programs of several heads).
    Exposed for tests, tuning and the timeline benchmark."""
    grid, args, constexprs, options = _launch_args(
        q_nope, q_pe, ckv_cache, kpe_cache, kv_indptr, kv_indices, sm_scale, output, lse, chunk, block_n,
        num_warps, num_stages, prefetch, merge_heads, merge_last, d_split, probe, merge_block_d, merge_slots)
    return _DECODE(grid, args, constexprs, **options)


def _launch_args(q_nope, q_pe, ckv_cache, kpe_cache, kv_indptr, kv_indices, sm_scale, output, lse, chunk,
                 block_n=32, num_warps=4, num_stages=NUM_STAGES, prefetch=0, merge_heads=None, merge_last=0,
                 d_split=1, probe=None, merge_block_d=None, merge_slots=None):
    """(grid, runtime args, constexprs, launch options) of one launch."""
    if d_split not in (1, 2):
        raise ValueError(f"d_split must be 1 or 2, not {d_split!r}")
    if probe is not None and (UPCAST or probe.dtype != torch.int64 or not probe.is_cuda):
        raise ValueError("probe: an int64 CUDA tensor, on a GPU (the timers are PTX)")
    batch, num_heads, d_ckv = q_nope.shape
    d_kpe = q_pe.shape[-1]
    total = kv_indices.numel()
    num_chunks = max(1, -(-total // chunk))
    part_o, part_lse, counts = _scratch(q_nope.device, num_chunks + batch, batch, num_heads, d_ckv)
    # Merge programs per sequence: (16 / merge_heads) x (512 / merge_block_d); see merge_heads_for.
    if merge_heads is None:
        merge_heads = merge_heads_for(total, batch, num_heads)
    if merge_block_d is None:
        merge_block_d = merge_block_d_for(merge_heads)
    if merge_block_d not in (128, 256, 512):
        raise ValueError(f"merge_block_d must be 128, 256 or 512, not {merge_block_d!r}")
    if merge_slots is None:
        merge_slots = 16 if merge_heads == 1 else 4
    if merge_slots not in (1, 2, 4, 8, 16, 32, 64):
        raise ValueError(f"merge_slots must be a power of two from 1 to 64, not {merge_slots!r}")
    merge_seqs = merge_sequences(batch, num_chunks, merge_last)
    grid = (num_chunks + batch) * d_split + merge_seqs * (num_heads // merge_heads) * (d_ckv // merge_block_d)
    if probe is not None and probe.numel() < grid * PROBE_WIDTH:
        raise ValueError(f"probe: {grid} programs need {grid * PROBE_WIDTH} elements, not {probe.numel()}")
    return (  # d_split segment programs per slot (adjacent), then the merge programs
        (grid,),
        (q_nope, q_pe, ckv_cache, kpe_cache, kv_indptr, kv_indices, part_o, part_lse, counts, output, lse,
         float(sm_scale) * LOG2E, batch, chunk, num_chunks, total, counts if probe is None else probe),
        dict(NUM_HEADS=num_heads, D_CKV=d_ckv, D_KPE=d_kpe, BLOCK_N=block_n, BLOCK_B=256, BLOCK_D=merge_block_d,
             MERGE_HEADS=merge_heads, CHUNK_S=merge_slots,
             PREFETCH=0 if UPCAST else prefetch, UPCAST=UPCAST, MERGE_LAST=merge_last, D_SPLIT=d_split,
             PROBE=probe is not None),
        dict(num_warps=num_warps, num_stages=num_stages),
    )
