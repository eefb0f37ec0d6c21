"""Absorbed MLA paged decode (Triton): flat token chunks cut into segments, base-2 online softmax.

Work split. The batch's T = len(kv_indices) tokens, laid end to end in kv_indices order, are cut
into chunks of `chunk` tokens, and each chunk again at sequence boundaries: a segment is the part
of one sequence b inside one chunk c, and it owns slot c + b (slots of one sequence are
consecutive; slots of different sequences never collide). Program i takes the segment of slot i,
if any: it finds b by one vectorized pass over indptr (the last non-empty sequence whose first
slot start_b // chunk + b is at most i). So a skewed batch spreads evenly over the GPU (the long
sequence's chunks), short sequences run side by side instead of one after another, and the host
needs only T and the batch size, never kv_indptr's values. The grid holds num_chunks + batch
segment programs (at most that many slots exist; the rest exit at once), D_SPLIT times that with
the output-column split below. All 16 heads share each
latent row, so the heads are the M dimension of the tensor-core dots:
    x = (q_nope @ ckv^T + q_pe @ kpe^T) * sm_scale * log2(e)     [16, BLOCK_N]
    acc = acc * 2^(m_old - m_new) + 2^(x - m_new) @ ckv            [16, 512]
Each ckv row (1 KiB) and kpe row (128 B) is loaded once and used for both dots. Row offsets are
64-bit (page * 512 can exceed 2^31 for million-page pools).

Latent slices. The 512-wide latent is handled as eight 64-wide column slices: eight ckv tiles
[BLOCK_N, 64], eight q tiles and eight [16, 64] accumulators. With 16 heads the q.k dot has one
16 x 8 output tile per warp, so as a single dot over 576 dimensions it is one chain of 36
dependent mma.sync instructions per tile, and the SM waits on it (Nsight Compute: 10.5 warp
cycles per issued instruction, DRAM at 36%). Nine 64-deep dots summed pairwise are chains of 8
(Triton folds `dot + dot` into one accumulator, so the pairs are chains of two dots). The p.v
work is the same, split over the eight accumulators. It took the production set from 0.96x to
1.08x flashinfer's kernel (benchmarks/results/decode_kernels.md).

Sequence b spans n_b = (end_b - 1) // chunk - start_b // chunk + 1 slots. With n_b = 1 the
program writes output and lse directly; otherwise partials (acc / l and lse = m + log2 l) go to
its slot and the program bumps the arrival counter of b. One launch does everything: the grid is
the segment programs followed by merge programs for (b, head group, d-block). A merge program
waits until b's counter reaches n_b * D_SPLIT (every program of every slot of b), then merges its
slice of the n_b slots:
    M = max lse_s, w_s = 2^(lse_s - M), out = sum w_s o_s / sum w_s, lse = M + log2 sum w_s,
and the last of b's merge programs resets both of b's counters for the next call. The wait cannot
deadlock as long as blocks are dispatched in index order (every segment program is then running
or done before any merge program waits) - the forward-progress assumption of single-pass GPU
scans. Empty sequences (n_b = 0) are written as out 0, lse -inf by segment program b. A malformed
indptr (not 0 <= indptr[b] <= indptr[b + 1] <= T for every b) gives no program a slot and no merge
program a sequence: segment program b writes NaN for sequence b (_find_segment).

Merge by the last arrival (MERGE_LAST = K > 0). Merge programs that find nothing to merge still
cost a dispatch each (1024 of them added 14 us to a 7 us call, tune_attention_merge.md), so with
K > 0 a sequence of 2..K slots is merged by whichever of its n_b * D_SPLIT segment programs arrives
last (it reads the partials of all n_b slots, 16 heads, 512 columns, and resets b's counter), and
merge programs serve only sequences of more than K slots.
Such a sequence crosses at least K of the num_chunks - 1 chunk boundaries, and no boundary is
crossed twice, so there are at most (num_chunks - 1) // K of them: the grid holds
min(batch, (num_chunks - 1) // K) sequences' worth of merge programs, and merge program group r
finds the r-th long sequence by counting over indptr.

L2 prefetch (PREFETCH > 0 tokens). Each tile requests the ckv/kpe rows of the tile PREFETCH
tokens further on to be brought into L2 (prefetch.global.L2: no registers, no shared memory, no
waiting), so more bytes are in flight than the program's own pipelined loads hold (one tile: a
third K/V buffer would cost a program its second place on the SM). The page indices of those rows
are loaded one iteration earlier (the first before the q load): the request would otherwise wait
for them, since Triton pipelines only the loads that feed the dots. No result changes; it
needs a GPU (inline PTX), so the CPU interpreter runs with PREFETCH = 0. With D_SPLIT = 2 only
half 0 prefetches: both halves read the same rows, so a second request would only repeat the first.

Output-column split (D_SPLIT = 2; 1, the default, is the kernel described above). A segment
program holds the whole [16, 512] fp32 accumulator, which with the q slices and K/V tiles makes it
register-heavy, so few programs fit on an SM and few loads are in flight per SM. With D_SPLIT = 2
slot i has two programs, 2i and 2i + 1 (adjacent, so the second one's row reads tend to find the
rows in L2), and half h accumulates p.v only for output columns [256 h, 256 h + 256): four of the
eight slices, half the accumulator, so fewer registers per program. (Shared memory caps programs
per SM too: the K/V tile buffers grow with num_stages, and the split does not shrink them.) Both
halves still load whole ckv rows and compute the full scores (the softmax needs q.k over all 576
dimensions), so each ckv row is read from L2 twice and from DRAM about once. A program loads its
own four slices as slices 0-3 and the others as 4-7, so both halves sum the same slice dots in the
same pairs and get the same scores, m and l: half 0 alone writes lse (direct, partial or empty).
Each half writes its own columns of out or of its slot's partial; b's arrival counter counts both
halves, so the last-arrival merge and the merge programs' wait use n_b * D_SPLIT, and the reset
rules are unchanged. The merge programs follow all (num_chunks + batch) * D_SPLIT segment programs
in the grid.

Tokens as rows (removed). A layout with the K/V tokens as the rows of both dots (Hopper wgmma on
64-token tiles) measured 15-35% slower at batch 64 with Triton 3.6, whose pipeliner issued the
next tile's copies after the current tile's dots (benchmarks/results/decode_kernels.md).

Probe (PROBE; off by default, GPU only). With a probe buffer (int64, PROBE_FIELDS a program) each
program writes the global ns timer at its start and end, its SM's cycle counter at start, after
the tile loop (segment programs) or the wait (merge programs) and at end, its SM and its role
(PROBE_DIRECT, _PARTIAL, _MERGED, _MERGE; 0 for none). benchmarks/mla_timeline.py reads it as a
timeline. Off, the kernel's code is unchanged (the pointer is the counters, never written).
"""

import triton
import triton.language as tl

LOG2E = 1.4426950408889634


@triton.jit
def mla_decode_kernel(
    qn_ptr, qp_ptr, ckv_ptr, kpe_ptr, indptr_ptr, indices_ptr, part_o_ptr, part_lse_ptr, count_ptr,
    out_ptr, lse_ptr, qk_scale, batch, chunk, num_chunks, total, probe_ptr,
    NUM_HEADS: tl.constexpr, D_CKV: tl.constexpr, D_KPE: tl.constexpr,
    BLOCK_N: tl.constexpr, BLOCK_B: tl.constexpr, BLOCK_D: tl.constexpr, MERGE_HEADS: tl.constexpr,
    CHUNK_S: tl.constexpr, PREFETCH: tl.constexpr, UPCAST: tl.constexpr, MERGE_LAST: tl.constexpr,
    D_SPLIT: tl.constexpr, PROBE: tl.constexpr = False,
):
    tl.static_assert((D_SPLIT == 1) or (D_SPLIT == 2), "D_SPLIT: 1 (whole rows) or 2 (two column halves)")
    pid = tl.program_id(0)
    probe_row = probe_ptr + tl.cast(pid, tl.int64) * PROBE_FIELDS  # only written with PROBE
    if PROBE:
        tl.store(probe_row + 0, _globaltimer(pid))
        tl.store(probe_row + 2, _clock64(pid))
    if pid < (num_chunks + batch) * D_SPLIT:
        if D_SPLIT == 1:
            _segment_program(qn_ptr, qp_ptr, ckv_ptr, kpe_ptr, indptr_ptr, indices_ptr, part_o_ptr, part_lse_ptr,
                             count_ptr, out_ptr, lse_ptr, qk_scale, batch, chunk, total, pid, 0, probe_row,
                             NUM_HEADS, D_CKV, D_KPE, BLOCK_N, BLOCK_B, PREFETCH, UPCAST, MERGE_LAST, D_SPLIT, PROBE)
        else:  # the halves of slot i are programs 2i and 2i + 1 (adjacent: the second's rows are in L2)
            _segment_program(qn_ptr, qp_ptr, ckv_ptr, kpe_ptr, indptr_ptr, indices_ptr, part_o_ptr, part_lse_ptr,
                             count_ptr, out_ptr, lse_ptr, qk_scale, batch, chunk, total, pid // D_SPLIT, pid % D_SPLIT,
                             probe_row, NUM_HEADS, D_CKV, D_KPE, BLOCK_N, BLOCK_B, PREFETCH, UPCAST, MERGE_LAST,
                             D_SPLIT, PROBE)
    else:
        _merge_program(part_o_ptr, part_lse_ptr, indptr_ptr, count_ptr, out_ptr, lse_ptr, batch, chunk, total,
                       pid - num_chunks * D_SPLIT - batch * D_SPLIT, probe_row, NUM_HEADS, D_CKV, BLOCK_D, MERGE_HEADS,
                       CHUNK_S, BLOCK_B, MERGE_LAST, D_SPLIT, PROBE)
    if PROBE:
        tl.debug_barrier()  # every thread's work of this program is done
        tl.store(probe_row + 1, _globaltimer(pid))
        tl.store(probe_row + 4, _clock64(pid))
        tl.store(probe_row + 5, _smid(pid))


# The probe's fields per program (int64): globaltimer (ns) at start and at end, clock64 (SM cycles)
# at start, after the tile loop or a merge program's wait, and at end, the SM, and what the program
# did (PROBE_* below; 0: nothing).
PROBE_FIELDS = tl.constexpr(8)
PROBE_DIRECT = tl.constexpr(1)  # a segment program that wrote out and lse of a one-slot sequence
PROBE_PARTIAL = tl.constexpr(2)  # a segment program that wrote a partial and arrived
PROBE_MERGED = tl.constexpr(3)  # ... and, as the last arrival, merged its sequence
PROBE_MERGE = tl.constexpr(4)  # a merge program that waited for and merged its slice


@triton.jit
def _globaltimer(x):
    """The GPU's global nanosecond timer; ``x`` (any int32 scalar) only gives the asm an operand."""
    return tl.inline_asm_elementwise("mov.u64 $0, %globaltimer;", "=l,r", [x], dtype=tl.int64, is_pure=False, pack=1)


@triton.jit
def _clock64(x):
    """This SM's cycle counter."""
    return tl.inline_asm_elementwise("mov.u64 $0, %clock64;", "=l,r", [x], dtype=tl.int64, is_pure=False, pack=1)


@triton.jit
def _smid(x):
    """The SM this program runs on."""
    return tl.inline_asm_elementwise("{ .reg .u32 s; mov.u32 s, %smid; cvt.u64.u32 $0, s; }", "=l,r", [x],
                                     dtype=tl.int64, is_pure=False, pack=1)


@triton.jit
def _bad_span(start, end, total):
    """True where [start, end) is not a span of kv_indices positions (0 <= start <= end <= total):
    a malformed indptr entry (scalars or vectors)."""
    return (start < 0) | (end < start) | (end > total)


@triton.jit
def _find_segment(indptr_ptr, batch, chunk, total, i, BLOCK_B: tl.constexpr):
    """(b, start_b, end_b, empty, malformed) with b the non-empty sequence whose slots c + b include
    slot i: the last one with first slot start_b // chunk + b <= i (first slots rise strictly with
    b), or b = -1; empty > 0 if sequence i exists and is empty. One vector load of indptr answers
    both, so no program waits on a scalar load before it. malformed > 0 if indptr is not a
    non-decreasing run of positions inside kv_indices (0 <= indptr[b] <= indptr[b + 1] <= total):
    then b = -1 for every program (no slot has work, nothing waits) and each sequence is written
    as NaN, where slots computed from such values could point past the grid or read past
    kv_indices. The check rides on the empty count's reduction (bit 0: empty, the rest: malformed)."""
    b = -1
    start = tl.zeros((), dtype=tl.int64)
    end = tl.zeros((), dtype=tl.int64)
    flags = tl.zeros((), dtype=tl.int32)
    for b0 in range(0, batch, BLOCK_B):
        offs_b = b0 + tl.arange(0, BLOCK_B)
        in_batch = offs_b < batch
        st = tl.load(indptr_ptr + offs_b, mask=in_batch, other=0).to(tl.int64)
        en = tl.load(indptr_ptr + offs_b + 1, mask=in_batch, other=0).to(tl.int64)
        bad = in_batch & _bad_span(st, en, total)
        flags += tl.sum((in_batch & (offs_b == i) & (en == st)).to(tl.int32) + 2 * bad.to(tl.int32))
        hit = tl.max(tl.where(in_batch & (en > st) & (st // chunk + offs_b <= i), offs_b, -1))
        if hit >= 0:
            b = hit
            start = tl.sum(tl.where(offs_b == hit, st, 0))
            end = tl.sum(tl.where(offs_b == hit, en, 0))
    malformed = flags >> 1
    if malformed > 0:
        b = -1
    return b, start, end, flags & 1, malformed


@triton.jit
def _segment_span(b, start, end, chunk, i):
    """(live, seg_lo, seg_hi): slot i's tokens [seg_lo, seg_hi) of sequence b = [start, end), its
    chunk c = i - b; live is false if there is no such sequence or b does not reach chunk c."""
    c = (i - b).to(tl.int64)
    return (b >= 0) & (c * chunk < end), tl.maximum(start, c * chunk), tl.minimum(end, (c + 1) * chunk)


@triton.jit
def _slot_count(start, end, chunk):
    """Slots of a sequence [start, end): the chunks it reaches into, 0 if it is empty (scalars or
    vectors of sequences)."""
    return tl.where(end > start, (end - 1) // chunk - start // chunk + 1, 0)


@triton.jit
def _segment_program(
    qn_ptr, qp_ptr, ckv_ptr, kpe_ptr, indptr_ptr, indices_ptr, part_o_ptr, part_lse_ptr, count_ptr,
    out_ptr, lse_ptr, qk_scale, batch, chunk, total, i, half, probe_row,
    NUM_HEADS: tl.constexpr, D_CKV: tl.constexpr, D_KPE: tl.constexpr,
    BLOCK_N: tl.constexpr, BLOCK_B: tl.constexpr, PREFETCH: tl.constexpr, UPCAST: tl.constexpr,
    MERGE_LAST: tl.constexpr, D_SPLIT: tl.constexpr, PROBE: tl.constexpr,
):
    # Slot i, output columns [col0, col0 + OWN): all of them (D_SPLIT = 1, half = 0) or one half.
    W: tl.constexpr = D_CKV // 8  # the latent in eight slices (see the module docstring)
    OWN: tl.constexpr = D_CKV // D_SPLIT
    col0 = half * OWN
    offs_h = tl.arange(0, NUM_HEADS)
    offs_c = col0 + tl.arange(0, OWN)
    offs_p = tl.arange(0, D_KPE)
    offs_w = tl.arange(0, W)
    # Slices 0-3 start at column col0 (this program's own columns with D_SPLIT = 2), slices 4-7 at
    # col0 + other (the other half's: other = 256 for half 0, -256 for half 1; with D_SPLIT = 1 the
    # next four). The q.k sum is ((own) + (other)) for one half, ((other) + (own)) for the other: equal.
    own_w = col0 + offs_w
    other = D_CKV // 2 - 2 * col0
    b, start, end, empty, malformed = _find_segment(indptr_ptr, batch, chunk, total, i, BLOCK_B)
    if (empty > 0) | ((malformed > 0) & (i < batch)):
        # Program i also writes sequence i if it is empty (out 0, lse -inf) or indptr is malformed
        # (NaN: no result exists); each half its own columns.
        rows = tl.cast(i, tl.int64) * NUM_HEADS + offs_h
        fill = tl.where(malformed > 0, float("nan"), 0.0)
        tl.store(out_ptr + rows[:, None] * D_CKV + offs_c[None, :],
                 tl.full((NUM_HEADS, OWN), fill, dtype=tl.float32).to(out_ptr.dtype.element_ty))
        if half == 0:
            tl.store(lse_ptr + rows, tl.full((NUM_HEADS,), tl.where(malformed > 0, float("nan"), float("-inf")),
                                             dtype=tl.float32))
    live, seg_lo, seg_hi = _segment_span(b, start, end, chunk, i)
    if live:
        b64 = tl.cast(b, tl.int64)
        # L2 prefetch: the page indices of the tile PREFETCH tokens ahead are loaded one iteration
        # before their rows are requested, so the request never waits on that load.
        if PREFETCH > 0:
            ahead = seg_lo + PREFETCH + tl.arange(0, BLOCK_N)
            ahead_pages = tl.load(indices_ptr + ahead, mask=ahead < seg_hi, other=-1)
        rows = b64 * NUM_HEADS + offs_h
        every_head = rows[:, None] >= 0
        qp = _load(qp_ptr + rows[:, None] * D_KPE + offs_p[None, :], every_head, UPCAST)
        q0, q1, q2, q3, q4, q5, q6, q7 = _load_slices(qn_ptr + rows[:, None] * D_CKV + own_w[None, :], other,
                                                      every_head, W, UPCAST)
        m = tl.full((NUM_HEADS,), float("-inf"), dtype=tl.float32)
        l = tl.zeros((NUM_HEADS,), dtype=tl.float32)
        a0 = tl.zeros((NUM_HEADS, W), dtype=tl.float32)
        a1 = tl.zeros((NUM_HEADS, W), dtype=tl.float32)
        a2 = tl.zeros((NUM_HEADS, W), dtype=tl.float32)
        a3 = tl.zeros((NUM_HEADS, W), dtype=tl.float32)
        a4 = tl.zeros((NUM_HEADS, W), dtype=tl.float32)
        a5 = tl.zeros((NUM_HEADS, W), dtype=tl.float32)
        a6 = tl.zeros((NUM_HEADS, W), dtype=tl.float32)
        a7 = tl.zeros((NUM_HEADS, W), dtype=tl.float32)
        for pos in range(seg_lo, seg_hi, BLOCK_N):
            offs_n = pos + tl.arange(0, BLOCK_N)
            if PREFETCH > 0:  # keep PREFETCH tokens of this segment requested ahead of the loads
                if half == 0:
                    _prefetch_rows(ckv_ptr, kpe_ptr, ahead_pages, D_CKV, D_KPE)
                ahead = offs_n + (BLOCK_N + PREFETCH)
                ahead_pages = tl.load(indices_ptr + ahead, mask=ahead < seg_hi, other=-1)
            tok_mask = offs_n < seg_hi
            page = tl.load(indices_ptr + offs_n, mask=tok_mask, other=0).to(tl.int64)
            kpe = _load(kpe_ptr + page[:, None] * D_KPE + offs_p[None, :], tok_mask[:, None], UPCAST)
            c0, c1, c2, c3, c4, c5, c6, c7 = _load_slices(ckv_ptr + page[:, None] * D_CKV + own_w[None, :], other,
                                                          tok_mask[:, None], W, UPCAST)
            # q.k as nine independent 64-deep dots summed pairwise (Triton folds each pair into one
            # accumulator chain): mma chains of 8, not one chain of 36.
            x = (((tl.dot(q0, tl.trans(c0)) + tl.dot(q1, tl.trans(c1)))
                  + (tl.dot(q2, tl.trans(c2)) + tl.dot(q3, tl.trans(c3))))
                 + ((tl.dot(q4, tl.trans(c4)) + tl.dot(q5, tl.trans(c5)))
                    + (tl.dot(q6, tl.trans(c6)) + tl.dot(q7, tl.trans(c7))))
                 + tl.dot(qp, tl.trans(kpe))) * qk_scale
            x = tl.where(tok_mask[None, :], x, float("-inf"))
            m_new = tl.maximum(m, tl.max(x, axis=1))
            alpha = tl.exp2(m - m_new)
            p = tl.exp2(x - m_new[:, None])
            l = l * alpha + tl.sum(p, axis=1)
            p = p.to(c0.dtype)
            a0 = a0 * alpha[:, None] + tl.dot(p, c0)
            a1 = a1 * alpha[:, None] + tl.dot(p, c1)
            a2 = a2 * alpha[:, None] + tl.dot(p, c2)
            a3 = a3 * alpha[:, None] + tl.dot(p, c3)
            if D_SPLIT == 1:  # with two halves, slices 4-7 are the other program's columns
                a4 = a4 * alpha[:, None] + tl.dot(p, c4)
                a5 = a5 * alpha[:, None] + tl.dot(p, c5)
                a6 = a6 * alpha[:, None] + tl.dot(p, c6)
                a7 = a7 * alpha[:, None] + tl.dot(p, c7)
            m = m_new

        if PROBE:
            tl.store(probe_row + 3, _clock64(i))
        nonempty = l > 0
        inv = (1.0 / tl.where(nonempty, l, 1.0))[:, None]  # l = 0 only if every score was -inf: acc is 0
        lse = tl.where(nonempty, m + tl.log2(tl.where(nonempty, l, 1.0)), float("-inf"))
        n_slots = _slot_count(start, end, chunk)
        # Both halves hold the same m and l (the same scores): half 0 writes lse and part_lse.
        if n_slots <= 1:
            _store_row(out_ptr + rows[:, None] * D_CKV + own_w[None, :], lse_ptr + rows, other, inv, lse, half,
                       a0, a1, a2, a3, a4, a5, a6, a7, W, D_SPLIT)
            if PROBE:
                tl.store(probe_row + 6, PROBE_DIRECT)
        else:
            part = tl.cast(i, tl.int64) * NUM_HEADS + offs_h
            _store_row(part_o_ptr + part[:, None] * D_CKV + own_w[None, :], part_lse_ptr + part, other, inv, lse,
                       half, a0, a1, a2, a3, a4, a5, a6, a7, W, D_SPLIT)
            _arrive(part_o_ptr, part_lse_ptr, count_ptr, out_ptr, lse_ptr, b, start // chunk + b64, n_slots,
                    probe_row, NUM_HEADS, D_CKV, MERGE_LAST, D_SPLIT, PROBE)


@triton.jit
def _arrive(part_o_ptr, part_lse_ptr, count_ptr, out_ptr, lse_ptr, b, first_slot, n_slots, probe_row,
            NUM_HEADS: tl.constexpr, D_CKV: tl.constexpr, MERGE_LAST: tl.constexpr, D_SPLIT: tl.constexpr,
            PROBE: tl.constexpr = False):
    """After a program's partial stores: bump sequence b's arrival counter (b's n_slots segments
    arrive D_SPLIT times each); the last arrival of a sequence of up to MERGE_LAST slots merges it."""
    tl.debug_barrier()  # every thread's partial stores precede the release below
    if n_slots <= MERGE_LAST:  # the last of b's segment programs to arrive merges b
        arrived = tl.atomic_add(count_ptr + b, 1, sem="acq_rel", scope="gpu")
        if arrived == n_slots * D_SPLIT - 1:
            _merge_all_heads(part_o_ptr, part_lse_ptr, out_ptr, lse_ptr, first_slot, n_slots,
                             b.to(tl.int64), NUM_HEADS, D_CKV)
            tl.atomic_xchg(count_ptr + b, 0, sem="relaxed", scope="gpu")
            if PROBE:
                tl.store(probe_row + 6, PROBE_MERGED)
        elif PROBE:
            tl.store(probe_row + 6, PROBE_PARTIAL)
    else:
        tl.atomic_add(count_ptr + b, 1, sem="release", scope="gpu")
        if PROBE:
            tl.store(probe_row + 6, PROBE_PARTIAL)


@triton.jit
def _load(ptrs, mask, UPCAST: tl.constexpr):
    """A masked tile load (0 where masked), in fp32 for the CPU interpreter (it has no bf16 dot);
    GPUs keep bf16 tensor-core operands."""
    t = tl.load(ptrs, mask=mask, other=0.0)
    if UPCAST:
        t = t.to(tl.float32)
    return t


@triton.jit
def _load_slices(ptrs, other, mask, W: tl.constexpr, UPCAST: tl.constexpr):
    """Eight W-wide column slices of a row tile: four from the pointers ptrs on, four from
    ptrs + other on (other = 4 W: the row's slices in order; see the column split in the module
    docstring)."""
    return (_load(ptrs, mask, UPCAST), _load(ptrs + W, mask, UPCAST), _load(ptrs + 2 * W, mask, UPCAST),
            _load(ptrs + 3 * W, mask, UPCAST), _load(ptrs + other, mask, UPCAST),
            _load(ptrs + (other + W), mask, UPCAST), _load(ptrs + (other + 2 * W), mask, UPCAST),
            _load(ptrs + (other + 3 * W), mask, UPCAST))


@triton.jit
def _store_row(o_ptrs, lse_ptrs, other, inv, lse, half, a0, a1, a2, a3, a4, a5, a6, a7, W: tl.constexpr,
               D_SPLIT: tl.constexpr):
    """A program's rows of acc / l (the output or a partial, by the pointers' type): its own four
    slices at o_ptrs, with D_SPLIT = 1 the other four at o_ptrs + other; lse from half 0 only."""
    _store_slices(o_ptrs, 0, W, a0 * inv, a1 * inv, a2 * inv, a3 * inv)
    if D_SPLIT == 1:
        _store_slices(o_ptrs, other, W, a4 * inv, a5 * inv, a6 * inv, a7 * inv)
    if half == 0:
        tl.store(lse_ptrs, lse)


@triton.jit
def _store_slices(ptrs, first, W: tl.constexpr, o0, o1, o2, o3):
    """Store four W-wide column slices, the first at ptrs + first, in ptrs' element type."""
    ty = ptrs.dtype.element_ty
    tl.store(ptrs + first, o0.to(ty))
    tl.store(ptrs + (first + W), o1.to(ty))
    tl.store(ptrs + (first + 2 * W), o2.to(ty))
    tl.store(ptrs + (first + 3 * W), o3.to(ty))


@triton.jit
def _merge_all_heads(part_o_ptr, part_lse_ptr, out_ptr, lse_ptr, first_slot, n_slots, b64,
                     NUM_HEADS: tl.constexpr, D_CKV: tl.constexpr):
    """Merge sequence b's n_slots partials (all heads, one slot at a time) into out and lse. (A
    pipelined slot loop was slower on the production batches, and Triton turns its .cg loads into
    L1-caching cp.async copies: benchmarks/results/decode_kernels.md.)"""
    offs_h = tl.arange(0, NUM_HEADS)
    offs_c = tl.arange(0, D_CKV)
    top = tl.full((NUM_HEADS,), float("-inf"), dtype=tl.float32)
    wsum = tl.zeros((NUM_HEADS,), dtype=tl.float32)
    o = tl.zeros((NUM_HEADS, D_CKV), dtype=tl.float32)
    for s in range(0, n_slots):
        rows = (first_slot + s) * NUM_HEADS + offs_h
        # .cg: read through to L2, where the other programs' partials are (never a stale L1 line).
        lse_s = tl.load(part_lse_ptr + rows, cache_modifier=".cg")
        o_s = tl.load(part_o_ptr + rows[:, None] * D_CKV + offs_c[None, :], cache_modifier=".cg")
        new_top = tl.maximum(top, lse_s)
        shift = tl.where(new_top > float("-inf"), new_top, 0.0)
        alpha = tl.where(top > float("-inf"), tl.exp2(top - shift), 0.0)
        w = tl.where(lse_s > float("-inf"), tl.exp2(lse_s - shift), 0.0)
        wsum = wsum * alpha + w
        o = o * alpha[:, None] + w[:, None] * o_s
        top = new_top
    finite = wsum > 0
    out_rows = b64 * NUM_HEADS + offs_h
    o = tl.where(finite[:, None], o / tl.where(finite, wsum, 1.0)[:, None], 0.0)
    tl.store(out_ptr + out_rows[:, None] * D_CKV + offs_c[None, :], o.to(out_ptr.dtype.element_ty))
    tl.store(lse_ptr + out_rows, tl.where(finite, top + tl.log2(tl.where(finite, wsum, 1.0)), float("-inf")))


@triton.jit
def _prefetch_rows(ckv_ptr, kpe_ptr, pages, D_CKV: tl.constexpr, D_KPE: tl.constexpr):
    """Ask for the 128-byte lines of the ckv and kpe rows of ``pages`` in L2 (-1, past the
    segment's end: page 0, whose lines are harmless to fetch)."""
    page = tl.maximum(pages, 0).to(tl.int64)
    lines = tl.arange(0, D_CKV // 64) * 64  # 64 bf16 elements = one 128-byte line
    tl.inline_asm_elementwise(
        "prefetch.global.L2 [$1]; mov.u32 $0, 0;", "=r,l",
        [ckv_ptr + (page * D_CKV)[:, None] + lines[None, :]], dtype=tl.int32, is_pure=False, pack=1,
    )
    tl.inline_asm_elementwise(
        "prefetch.global.L2 [$1]; mov.u32 $0, 0;", "=r,l",
        [kpe_ptr + page * D_KPE], dtype=tl.int32, is_pure=False, pack=1,
    )


@triton.jit
def _merge_program(
    part_o_ptr, part_lse_ptr, indptr_ptr, count_ptr, out_ptr, lse_ptr, batch, chunk, num_tokens, m, probe_row,
    NUM_HEADS: tl.constexpr, HEAD_DIM: tl.constexpr, BLOCK_D: tl.constexpr, MERGE_HEADS: tl.constexpr,
    CHUNK_S: tl.constexpr, BLOCK_B: tl.constexpr, MERGE_LAST: tl.constexpr, D_SPLIT: tl.constexpr,
    PROBE: tl.constexpr,
):
    # Merge program m serves (sequence b, MERGE_HEADS heads from h0, a BLOCK_D slice of the output).
    d_blocks: tl.constexpr = HEAD_DIM // BLOCK_D
    per_seq: tl.constexpr = (NUM_HEADS // MERGE_HEADS) * d_blocks
    b = m // per_seq
    # Group r serves the r-th sequence of more than MERGE_LAST slots (every sequence's group with
    # MERGE_LAST = 0), if any and if indptr is well formed (else no slot arrives: nothing to wait for).
    b = _nth_long_sequence(indptr_ptr, batch, chunk, num_tokens, b, BLOCK_B, MERGE_LAST)
    h0 = ((m // d_blocks) % (NUM_HEADS // MERGE_HEADS)) * MERGE_HEADS
    pid_d = m % d_blocks
    start = tl.load(indptr_ptr + tl.maximum(b, 0)).to(tl.int64)
    end = tl.load(indptr_ptr + tl.maximum(b, 0) + 1).to(tl.int64)
    n_slots = tl.where(b >= 0, _slot_count(start, end, chunk), 0)
    if n_slots > tl.maximum(MERGE_LAST, 1):  # otherwise a chunk program wrote this sequence
        arrived = tl.atomic_add(count_ptr + b, 0, sem="acquire", scope="gpu")
        while arrived < n_slots * D_SPLIT:  # every half of every slot of b
            arrived = tl.atomic_add(count_ptr + b, 0, sem="acquire", scope="gpu")
        if PROBE:
            tl.store(probe_row + 3, _clock64(m))
            tl.store(probe_row + 6, PROBE_MERGE)
        first_slot = start // chunk + b
        offs_h = h0 + tl.arange(0, MERGE_HEADS)
        offs_d = pid_d * BLOCK_D + tl.arange(0, BLOCK_D)
        offs_s = tl.arange(0, CHUNK_S)
        top = tl.full((MERGE_HEADS,), float("-inf"), dtype=tl.float32)
        total = tl.zeros((MERGE_HEADS,), dtype=tl.float32)
        o = tl.zeros((MERGE_HEADS, BLOCK_D), dtype=tl.float32)
        for s0 in range(0, n_slots, CHUNK_S):
            s_mask = (s0 + offs_s) < n_slots
            rows = (first_slot + s0 + offs_s)[:, None] * NUM_HEADS + offs_h[None, :]  # [CHUNK_S, heads]
            # .cg: read through to L2, where the chunk programs' partials are (no stale L1 line).
            lse_s = tl.load(part_lse_ptr + rows, mask=s_mask[:, None], other=float("-inf"), cache_modifier=".cg")
            o_s = tl.load(part_o_ptr + rows[:, :, None] * HEAD_DIM + offs_d[None, None, :],
                          mask=s_mask[:, None, None], other=0.0, cache_modifier=".cg")
            new_top = tl.maximum(top, tl.max(lse_s, axis=0))
            shift = tl.where(new_top > float("-inf"), new_top, 0.0)
            alpha = tl.where(top > float("-inf"), tl.exp2(top - shift), 0.0)
            w = tl.where(lse_s > float("-inf"), tl.exp2(lse_s - shift[None, :]), 0.0)
            total = total * alpha + tl.sum(w, axis=0)
            o = o * alpha[:, None] + tl.sum(w[:, :, None] * o_s, axis=0)
            top = new_top
        finite = total > 0
        out_rows = b.to(tl.int64) * NUM_HEADS + offs_h
        o = tl.where(finite[:, None], o / tl.where(finite, total, 1.0)[:, None], 0.0)
        tl.store(out_ptr + out_rows[:, None] * HEAD_DIM + offs_d[None, :], o.to(out_ptr.dtype.element_ty))
        if pid_d == 0:
            tl.store(lse_ptr + out_rows, tl.where(finite, top + tl.log2(tl.where(finite, total, 1.0)), float("-inf")))
        done = tl.atomic_add(count_ptr + batch + b, 1, sem="acq_rel", scope="gpu")
        if done == per_seq - 1:  # every merge program of b is past its wait: reset for the next call
            tl.atomic_xchg(count_ptr + b, 0, sem="relaxed", scope="gpu")
            tl.atomic_xchg(count_ptr + batch + b, 0, sem="relaxed", scope="gpu")


@triton.jit
def _nth_long_sequence(indptr_ptr, batch, chunk, total, r, BLOCK_B: tl.constexpr, MERGE_LAST: tl.constexpr):
    """Index of the r-th (from 0) sequence spanning more than MERGE_LAST chunks (with MERGE_LAST =
    0: sequence r, whatever its span), or -1; -1 also if indptr is malformed (_find_segment). The
    malformed count rides on the long count's reduction (bits 32 and up); the rank scan stays 32-bit."""
    found = -1
    seen = 0  # long sequences before this block
    malformed = tl.zeros((), dtype=tl.int64)
    for b0 in range(0, batch, BLOCK_B):
        offs_b = b0 + tl.arange(0, BLOCK_B)
        in_batch = offs_b < batch
        st = tl.load(indptr_ptr + offs_b, mask=in_batch, other=0).to(tl.int64)
        en = tl.load(indptr_ptr + offs_b + 1, mask=in_batch, other=0).to(tl.int64)
        bad = in_batch & _bad_span(st, en, total)
        if MERGE_LAST > 0:
            is_long = (in_batch & (_slot_count(st, en, chunk) > MERGE_LAST)).to(tl.int32)
        else:
            is_long = in_batch.to(tl.int32)
        rank = seen + tl.cumsum(is_long, 0)
        found = tl.maximum(found, tl.max(tl.where((is_long > 0) & (rank == r + 1), offs_b, -1)))
        counts = tl.sum(is_long.to(tl.int64) + (bad.to(tl.int64) << 32))  # one reduction for both counts
        seen += (counts & 0xFFFFFFFF).to(tl.int32)
        malformed += counts >> 32
    return tl.where(malformed > 0, -1, found)
