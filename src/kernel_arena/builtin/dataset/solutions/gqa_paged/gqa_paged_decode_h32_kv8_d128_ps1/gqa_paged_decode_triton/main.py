"""GQA paged decode: launch wrapper of the one-launch Triton kernel in kernel.py.

The chunk size comes from tensor shapes only (batch size and len(kv_indices)), never from the
values of kv_indptr, so the call has no host<->device copy or synchronization and can be captured
in a CUDA graph. See plan_chunks for the policy.

Pitfalls handled: P03 (the kernel works in log2 units, lse is base 2), P04 (kv head g serves
q heads 4g..4g+3), P05 (NHD cache with the page axis), P06 (indptr counts pages; int32 indices
widened to 64-bit offsets in-kernel, P15), P14 (empty sequences: output 0, lse -inf),
P16 (kernel.py is a sibling module).
Not safe to run concurrently on two streams: the partial and counter scratch is shared per device.
A kv_indptr that is not non-decreasing inside kv_indices (0 <= kv_indptr[b] <= kv_indptr[b + 1] <=
len(kv_indices); the definition requires only kv_indptr[-1] == len(kv_indices), which the engine
checks) gets NaN in every output and lse: the kernel checks it on the device (a host check would
need a synchronization), reads nothing past kv_indices and leaves its counters at zero.
"""

import math
import os

import torch
from kernel import LOG2E, PROBE_FIELDS, gqa_decode_kernel

PROBE_WIDTH = PROBE_FIELDS.value  # int64 fields per program in a probe buffer (kernel.py)

# The Triton CPU interpreter cannot multiply bf16 tiles; it gets fp32 operands instead.
UPCAST = os.environ.get("TRITON_INTERPRET") == "1"
_SM_COUNT = {}
_SCRATCH = {}


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


# Policy and tiles fitted to benchmarks/results/tune_attention.md (H100; uniform and skewed batches):
# the chosen chunk is within ~4% (geo-mean) of the best swept chunk. Time ~ waves x (chunk + a
# fixed cost of ~100 tokens), with two programs per SM for the 128-token tile (chunks >= 256)
# and one for the 64-token tile with three stages.
CHUNK_CANDIDATES = (16, 32, 64, 128, 256, 512, 1024, 2048)


def plan_chunks(total_tokens: int, batch: int, num_kv_heads: int, sm_count: int) -> tuple[int, int]:
    """(chunk, num_chunks) from shapes only (len(kv_indices) and the batch size).

    Among power-of-two chunks no shorter than min(64, average sequence) and no longer than four
    average sequences (a chunk walks its sequences one after the other), take the one with the
    least waves x (chunk + 100); ties go to the shorter chunk. At least one chunk (it writes the
    empty sequences of an all-empty batch).
    """
    avg = max(1, -(-total_tokens // max(batch, 1)))
    lo = max([c for c in CHUNK_CANDIDATES if c <= min(64, avg)], default=CHUNK_CANDIDATES[0])
    hi = max(64, 4 * avg)
    best = None
    for chunk in CHUNK_CANDIDATES:
        if chunk < lo or chunk > hi:
            continue
        programs = max(1, -(-total_tokens // chunk)) * num_kv_heads
        per_sm = 2 if chunk >= 256 else 1
        cost = -(-programs // (per_sm * sm_count)) * (chunk + 100)
        if best is None or cost < best[0]:
            best = (cost, chunk)
    chunk = best[1]
    return chunk, max(1, -(-total_tokens // chunk))


def tile_for(chunk: int) -> tuple[int, int, int]:
    """(BLOCK_N, num_warps, num_stages) for a chunk size."""
    return (128, 4, 2) if chunk >= 256 else (64, 4, 3)


def prefetch_for(chunk: int) -> int:
    """L2 prefetch distance in tokens: 128 for chunks up to 512 (one wave of short programs, where
    it saved 0.4-2 us a call), none for longer chunks (neutral to 2% slower there). Evidence:
    benchmarks/results/tune_attention_prefetch.md."""
    return 128 if chunk <= 512 else 0


def _scratch(device, slots: int, batch: int, num_qo_heads: int, num_kv_heads: int, head_dim: int):
    """Partials (slots x heads) and zeroed arrival counters, grown on demand and reused."""
    key = (device.type, device.index)
    have = _SCRATCH.get(key)
    if have is None or have[0].shape[0] < slots * num_qo_heads * head_dim:
        part_o = torch.empty(slots * num_qo_heads * head_dim, dtype=torch.float32, device=device)
        part_lse = torch.empty(slots * num_qo_heads, dtype=torch.float32, device=device)
        counts = have[2] if have is not None else torch.zeros(0, dtype=torch.int32, device=device)
        have = (part_o, part_lse, counts)
    if have[2].numel() < batch * num_kv_heads:
        have = (have[0], have[1], torch.zeros(batch * num_kv_heads, dtype=torch.int32, device=device))
    _SCRATCH[key] = have
    return have


_DECODE = FastLaunch(gqa_decode_kernel)


def plan_call(total_tokens: int, batch: int, num_kv_heads: int, sm_count: int) -> tuple[int, int, int, int, int]:
    """(chunk, BLOCK_N, num_warps, num_stages, prefetch) for a call, from shapes only.

    Batches of two or more sequences take segment_plan. A single sequence is one segment per
    chunk, as before the segment split, and keeps the plans fitted for it: up to 64 tokens one
    chunk (a merge costs more than a second tile; from 33 tokens on five stages), 65-128 tokens
    one 128-token chunk of 32-token tiles on five stages, 129-256 tokens 32-token chunks of one
    tile each (up to 64 programs, one wave), 257-512 tokens 64-token chunks on five stages,
    513-2048 tokens 128-token chunks of 32-token tiles on five stages, longer ones plan_chunks,
    tile_for and prefetch_for (benchmarks/results/decode_kernels.md, tune_attention_stages.md and,
    for batch 1 with the SINGLE path, tune_attention_single.md). Triton 3.6 double-buffers the
    K/V tile only from five stages on.
    """
    if batch > 1:
        return segment_plan(total_tokens, num_kv_heads, sm_count)
    if total_tokens <= 32:
        return max(16, 1 << max(0, math.ceil(math.log2(max(total_tokens, 1))))), 32, 4, 3, 0
    if total_tokens <= 64:
        return 64, 32, 4, 5, 0
    if total_tokens <= 128:
        return 128, 32, 4, 5, 0
    if total_tokens <= 256:
        return 32, 32, 4, 3, 0
    if total_tokens <= 512:
        return 64, 32, 4, 5, 0
    if total_tokens <= 2048:
        return 128, 32, 4, 5, 0
    chunk, _ = plan_chunks(total_tokens, batch, num_kv_heads, sm_count)
    return (chunk, *tile_for(chunk), prefetch_for(chunk))


def segment_plan(total_tokens: int, num_kv_heads: int, sm_count: int) -> tuple[int, int, int, int, int]:
    """Batches of two or more sequences: the power-of-two chunk that gives about one chunk
    program per SM (len(kv_indices) x kv heads / SMs tokens), at least 64 (one tile) and at most
    512, with 32-token tiles up to 256-token chunks (64-token tiles above), five stages (the
    K/V tile double-buffered) and no L2 prefetch. Every (sequence, chunk) segment is
    a program of its own, so skew no longer serializes short sequences. Fitted on the production
    sweep (benchmarks/results/tune_attention_segments.md): within 6% of the best swept
    configuration on each of the 16 swept batch-16/64 batches."""
    want = total_tokens * num_kv_heads / sm_count
    chunk = min(max(1 << max(0, math.ceil(math.log2(max(want, 1)))), 64), 512)
    return chunk, 32 if chunk <= 256 else 64, 4, 5, 0


# Plans by shape. In serving, len(kv_indices) changes every step, so the caches are bounded.
_PLANS = {}
_BOUND = {}
_MAX_PLANS = 4096


class _Bound:
    """One call shape's launch, prepared once: grid, scratch tensors, shape-derived int arguments
    (batch, chunk, len(kv_indices); then the probe's stand-in, the counters), constexprs, and the
    compiled kernel per dtypes of the seven caller tensors. Only taken when all seven are 16-byte
    aligned CUDA tensors (what that kernel was compiled for); anything else goes through decode
    and the thin launcher's full specialization key. The launch gets device addresses, not
    tensors (see _addresses)."""

    __slots__ = ("grid", "scratch", "ints", "consts", "kernels", "_keep")

    def __init__(self, grid, scratch, ints, consts):
        self.grid = grid
        self.scratch = _addresses(scratch)
        self.ints = _addresses(ints)
        self.consts = consts
        self.kernels = {}
        self._keep = (scratch, ints)  # the scratch tensors live as long as their addresses are used


_TENSOR_ARGS = ("q", "k_cache", "v_cache", "kv_indptr", "kv_indices", "output", "lse")


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


def run(q, k_cache, v_cache, kv_indptr, kv_indices, sm_scale, output, lse):
    shape = (kv_indices.numel(), q.shape[0], k_cache.shape[2], q.device)
    a, b, c, d, e, f, g = (q.data_ptr(), k_cache.data_ptr(), v_cache.data_ptr(), kv_indptr.data_ptr(),
                           kv_indices.data_ptr(), output.data_ptr(), lse.data_ptr())
    aligned = not (a | b | c | d | e | f | g) & 15
    dtypes = (q.dtype, k_cache.dtype, v_cache.dtype, kv_indptr.dtype, kv_indices.dtype, output.dtype, lse.dtype)
    bound = _BOUND.get(shape)
    kernel = bound.kernels.get(dtypes) if bound is not None and aligned and _DECODE.enabled else None
    if kernel is not None:  # the prepared launch
        if not (q.is_cuda and k_cache.is_cuda and v_cache.is_cuda and kv_indptr.is_cuda and kv_indices.is_cuda
                and output.is_cuda and lse.is_cuda):
            _refuse_host_tensor((q, k_cache, v_cache, kv_indptr, kv_indices, output, lse), _TENSOR_ARGS)
        args = (a, b, c, d, e, *bound.scratch, f, g, float(sm_scale) * LOG2E, *bound.ints)
        if _DECODE.launch_compiled(kernel, bound.grid, args, bound.consts):
            return
    plan = _PLANS.get(shape)
    if plan is None:  # the plan depends on shapes only: compute it once per shape
        if len(_PLANS) >= _MAX_PLANS:
            _PLANS.clear()
        plan = _PLANS[shape] = plan_call(*shape[:3], _sm_count(q.device))
    grid, args, constexprs, options = _launch_args(q, k_cache, v_cache, kv_indptr, kv_indices, sm_scale, output,
                                                   lse, *plan)
    kernel = _DECODE(grid, args, constexprs, **options)
    if _DECODE.enabled and aligned and hasattr(kernel, "run") and hasattr(kernel, "function"):
        if bound is None:
            if len(_BOUND) >= _MAX_PLANS:
                _BOUND.clear()
            consts = tuple([constexprs[n] for n in _DECODE.names[len(args):]])
            bound = _BOUND[shape] = _Bound(grid, args[5:8], args[11:], consts)
        bound.kernels[dtypes] = kernel


def decode(q, k_cache, v_cache, kv_indptr, kv_indices, sm_scale, output, lse, chunk,
           block_n=64, num_warps=4, num_stages=3, prefetch=0, single=True, probe=None):
    """One launch for a given chunk size, tile config and L2 prefetch distance in tokens (a power
    of two, or 0 for none; the CPU interpreter never prefetches). ``single`` False runs a batch of
    one sequence through the general segment search (the kernel's SINGLE path off). ``probe``: an
    int64 CUDA tensor of at least (programs) x PROBE_FIELDS elements, or None; when given, every
    program writes its timestamps, SM and role there (kernel.py, PROBE; needs a GPU). Exposed for
    tests, tuning and the timeline benchmark."""
    grid, args, constexprs, options = _launch_args(q, k_cache, v_cache, kv_indptr, kv_indices, sm_scale, output,
                                                   lse, chunk, block_n, num_warps, num_stages, prefetch, single,
                                                   probe)
    return _DECODE(grid, args, constexprs, **options)


def _launch_args(q, k_cache, v_cache, kv_indptr, kv_indices, sm_scale, output, lse, chunk, block_n, num_warps,
                 num_stages, prefetch, single=True, probe=None):
    """(grid, runtime args, constexprs, launch options) of one launch."""
    if probe is not None and (UPCAST or probe.dtype != torch.int64 or not probe.is_cuda):
        raise ValueError("probe: an int64 CUDA tensor, on a GPU (the timers are PTX)")
    batch, num_qo_heads, head_dim = q.shape
    num_kv_heads = k_cache.shape[2]
    total = kv_indices.numel()
    num_chunks = max(1, -(-total // chunk))
    part_o, part_lse, counts = _scratch(q.device, num_chunks + batch, batch, num_qo_heads, num_kv_heads,
                                        head_dim)
    programs = (num_chunks + batch) * num_kv_heads
    if probe is not None and probe.numel() < programs * PROBE_WIDTH:
        raise ValueError(f"probe: {programs} programs need {programs * PROBE_WIDTH} elements, not {probe.numel()}")
    return (
        (num_chunks + batch, num_kv_heads),
        (q, k_cache, v_cache, kv_indptr, kv_indices, part_o, part_lse, counts, output, lse,
         float(sm_scale) * LOG2E, batch, chunk, total, counts if probe is None else probe),
        dict(NUM_KV_HEADS=num_kv_heads, GROUP=num_qo_heads // num_kv_heads, HEAD_DIM=head_dim,
             BLOCK_H=16, BLOCK_N=block_n, BLOCK_B=256, MERGE_S=8, PREFETCH=0 if UPCAST else prefetch,
             UPCAST=UPCAST, SINGLE=single and batch == 1, PROBE=probe is not None),
        dict(num_warps=num_warps, num_stages=num_stages),
    )
