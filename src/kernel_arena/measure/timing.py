"""Time one call of a kernel: kernel time and host-inclusive call latency.

GPU kernel time: each timed iteration launches a one-thread marker kernel with a unique name,
flushes the L2 (``bitwise_not_`` over ``flush_bytes``: twice the card's L2, at least 64 MiB;
``benchmarks/results/l2_flush.md`` shows it times kernels like a 256 MiB flush at 40% of the
cost, and that a write-only ``fill_`` flush, though cheaper, slows the kernels after it), then
makes the call; a last marker closes the sequence. CUPTI activity records (through
``torch.profiler``) give, between two markers, the span from the first kernel's start to the
last kernel's end after the flush. Host↔device memcpys are left out of the span (host-driven
transfers, e.g. a library's plan upload); device memsets and device-to-device copies count.
Call latency: host wall time of the call until the device is idle (flush, synchronize, start
clock, call, synchronize, stop clock). When the profile is unavailable or cannot be split into
calls, the call latency is the kernel time too (method ``host_sync (CUPTI unavailable: why)``):
an upper bound that, unlike CUDA events on the current stream, covers work on every stream.
CPU: wall clock only, labelled ``wall_clock_cpu``.

Each number is the median over ``trials`` of per-trial medians over ``iters`` iterations, after
``warmup`` calls; ``spread`` is (max − min) / median of the trial medians.

Counts are fixed, or sized by a time budget (the habit of ``triton.testing.do_bench``): with
``budget_ms`` set, warm-up calls (each timed on the host, L2 flush and synchronization included)
run until ``warmup`` calls or a quarter of the budget; their median sizes ``iters`` so that each
timing loop (call latency, kernel time) spends about ``budget_ms``, clamped to
``[min_iters, iters]``. ``warmup`` and ``iters`` are then maxima; the counts used are recorded.
"""

from __future__ import annotations

import statistics
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from kernel_arena.measure.phases import PhaseClock

MIN_FLUSH_BYTES = 64 * 1024 * 1024
MARKER_NAME = "kernel_arena_call_marker"
_HOST_COPIES = ("Memcpy HtoD", "Memcpy DtoH", "Memcpy HtoH")


WARMUP_SHARE = 0.25
"""Share of the budget the warm-up calls may spend (at least one warm-up call is made)."""


@dataclass
class TimingSettings:
    """How many calls to make: fixed counts, or maxima under a time budget per timing loop."""

    warmup: int = 10
    iters: int = 50
    trials: int = 3
    budget_ms: float | None = None
    """Time each timing loop may spend; ``None``: exactly ``warmup`` and ``iters``."""
    min_iters: int = 1
    """Fewest iterations per trial under a budget."""

    def key(self) -> str:
        """Stable string for cache keys."""
        base = f"w{self.warmup}i{self.iters}t{self.trials}"
        return base if self.budget_ms is None else f"{base}b{self.budget_ms:g}m{self.min_iters}"

    def plan_iters(self, estimate_ms: float) -> int:
        """Iterations per trial for calls of about ``estimate_ms`` (flush and sync included)."""
        if self.budget_ms is None:
            return self.iters
        if estimate_ms <= 0:
            return self.iters
        fit = int(self.budget_ms / (self.trials * estimate_ms))
        return max(min(self.min_iters, self.iters), min(self.iters, fit))

    def describe(self) -> str:
        """For people: ``"1 timed call, no warm-up"``, ``"2 warm-up + 3x5 timed calls"``, or, under
        a budget, ``"up to 2 warm-up + 3x5 timed calls, 100 ms a loop"``."""
        calls = "1 timed call" if self.trials * self.iters == 1 else f"{self.trials}x{self.iters} timed calls"
        text = f"{calls}, no warm-up" if self.warmup == 0 else f"{self.warmup} warm-up + {calls}"
        return text if self.budget_ms is None else f"up to {text}, {self.budget_ms:g} ms a loop"

    def to_json_dict(self) -> dict[str, Any]:
        """Plain form (trace extras, run manifests)."""
        out: dict[str, Any] = {"warmup": self.warmup, "iters": self.iters, "trials": self.trials}
        if self.budget_ms is not None:
            out.update(budget_ms=self.budget_ms, min_iters=self.min_iters)
        return out


@dataclass
class Timing:
    """Measured times in milliseconds."""

    latency_ms: float
    """Kernel time (GPU) or wall time (CPU): median of trial medians."""
    call_latency_ms: float
    """Host-inclusive wall time per call until the device is idle."""
    method: str
    """``cupti``, ``host_sync (CUPTI unavailable: ...)`` or ``wall_clock_cpu``."""
    spread: float
    """(max − min) / median of the per-trial medians of ``latency_ms``."""
    trial_medians_ms: list[float] = field(default_factory=list)
    kernels_per_call: float | None = None
    warmup: int = 0
    """Warm-up calls made."""
    iters: int = 0
    """Iterations per trial used (each timing loop)."""

    def to_json_dict(self) -> dict[str, Any]:
        """Plain dict (for caches and trace extras)."""
        return {
            "latency_ms": self.latency_ms,
            "call_latency_ms": self.call_latency_ms,
            "method": self.method,
            "spread": self.spread,
            "trial_medians_ms": self.trial_medians_ms,
            "kernels_per_call": self.kernels_per_call,
            "warmup": self.warmup,
            "iters": self.iters,
        }

    @classmethod
    def from_json_dict(cls, obj: dict[str, Any]) -> Timing:
        """Inverse of ``to_json_dict``."""
        return cls(**obj)


def _summarize(trials: list[list[float]]) -> tuple[float, float, list[float]]:
    medians = [statistics.median(t) for t in trials if t]
    if not medians:
        return 0.0, 0.0, []
    med = statistics.median(medians)
    spread = (max(medians) - min(medians)) / med if med > 0 else 0.0
    return med, spread, medians


def flush_bytes(device: torch.device) -> int:
    """Size of the L2 flush buffer: twice the L2 of ``device``, at least ``MIN_FLUSH_BYTES``."""
    l2 = int(getattr(torch.cuda.get_device_properties(device), "L2_cache_size", 0) or 0)
    return max(2 * l2, MIN_FLUSH_BYTES)


_FLUSH_BUFFERS: dict[tuple[str, int], torch.Tensor] = {}


def make_flush(
    device: torch.device, nbytes: int | None = None, mode: str = "bitwise_not"
) -> Callable[[], None]:
    """A function that evicts the L2 by rewriting ``nbytes`` of device memory (buffer kept per size).

    ``mode`` ``bitwise_not`` reads and writes (the default); ``fill`` writes only (kept for the
    comparison in ``benchmarks/l2_flush.py``).
    """
    nbytes = nbytes or flush_bytes(device)
    key = (str(device), nbytes)
    if key not in _FLUSH_BUFFERS:
        _FLUSH_BUFFERS[key] = torch.empty(nbytes, dtype=torch.uint8, device=device)
    buf = _FLUSH_BUFFERS[key]
    if mode == "bitwise_not":
        return lambda: buf.bitwise_not_()
    if mode != "fill":
        raise ValueError(f"unknown flush mode {mode!r} (fill or bitwise_not)")
    state = [0]

    def flush() -> None:
        state[0] = (state[0] + 1) & 0xFF
        buf.fill_(state[0])

    return flush


def time_call(
    fn: Callable[[], Any],
    device: torch.device,
    settings: TimingSettings,
    clock: PhaseClock | None = None,
    flush: Callable[[], None] | None = None,
    on_plan: Callable[[int, int], None] | None = None,
    on_done: Callable[[], None] | None = None,
) -> Timing:
    """Time ``fn`` (which performs one full call) on ``device``.

    ``clock`` receives the wall time of each timing loop; ``flush`` replaces the default L2 flush;
    ``on_plan(warmup, iters)`` is told the counts after the warm-up, before the first timed call;
    ``on_done()`` is called once the last timed call has finished (device synchronized), before
    the profile is read; it must not raise.
    """
    clock = clock or PhaseClock()
    cuda = device.type == "cuda"
    if cuda:
        flush = flush or make_flush(device)

    def one_call() -> None:
        if flush is not None:
            flush()
        fn()

    def sync() -> None:
        if cuda:
            torch.cuda.synchronize(device)

    with clock.phase("warmup"):
        warmup, estimate = _warm_up(one_call, sync, settings)
    iters = settings.plan_iters(estimate)
    if on_plan is not None:
        on_plan(warmup, iters)
    planned = TimingSettings(warmup, iters, settings.trials)
    done = on_done or (lambda: None)
    if not cuda:
        timing = _time_cpu(fn, planned, clock)
        done()
    else:
        assert flush is not None
        timing = _time_cuda(fn, device, planned, clock, flush, done)
    timing.warmup, timing.iters = warmup, iters
    return timing


def _warm_up(one_call: Callable[[], None], sync: Callable[[], None], s: TimingSettings) -> tuple[int, float]:
    """Make the warm-up calls: (how many, median host time of one in ms; 0 without a budget)."""
    if s.budget_ms is None:
        for _ in range(s.warmup):
            one_call()
        sync()
        return s.warmup, 0.0
    limit = WARMUP_SHARE * s.budget_ms
    times: list[float] = []
    # The first call may compile or initialize lazily: it does not count against the warm-up's
    # share, and a second call (when ``warmup`` allows) gives the estimate.
    while not times or (len(times) < max(s.warmup, 1) and (len(times) < 2 or sum(times[1:]) < limit)):
        sync()
        t0 = time.perf_counter()
        one_call()
        sync()
        times.append((time.perf_counter() - t0) * 1e3)
    # The first call may pay for lazy initialization: leave it out of the estimate when possible.
    return len(times), statistics.median(times[1:] if len(times) > 1 else times)


def _time_cpu(fn: Callable[[], Any], s: TimingSettings, clock: PhaseClock) -> Timing:
    trials = []
    with clock.phase("timed_calls"):
        for _ in range(s.trials):
            samples = []
            for _ in range(s.iters):
                t0 = time.perf_counter()
                fn()
                samples.append((time.perf_counter() - t0) * 1e3)
            trials.append(samples)
    med, spread, medians = _summarize(trials)
    return Timing(med, med, "wall_clock_cpu", spread, medians)


def _time_cuda(
    fn: Callable[[], Any],
    device: torch.device,
    s: TimingSettings,
    clock: PhaseClock,
    flush: Callable[[], None],
    done: Callable[[], None],
) -> Timing:
    # Host-inclusive call latency.
    call_trials = []
    with clock.phase("call_latency_loop"):
        for _ in range(s.trials):
            samples = []
            for _ in range(s.iters):
                flush()
                torch.cuda.synchronize(device)
                t0 = time.perf_counter()
                fn()
                torch.cuda.synchronize(device)
                samples.append((time.perf_counter() - t0) * 1e3)
            call_trials.append(samples)
    call_med, _, _ = _summarize(call_trials)

    kernel_trials: list[list[float]] = []
    kernels_counts: list[int] = []
    method = "cupti"
    try:
        # One profiler session for all trials: starting and stopping the profiler costs tens of
        # milliseconds each time, which would dominate the harness overhead per workload.
        samples, kernels_counts = _cupti_trial(fn, flush, device, s.iters * s.trials, clock, done)
        kernel_trials = [samples[i * s.iters : (i + 1) * s.iters] for i in range(s.trials)]
    except _NoCupti as exc:
        # No usable profile: the kernel time is the call's host time between device-wide
        # synchronizations (an upper bound that still covers every stream). CUDA events would
        # see only the current stream, so a Solution that spoils its profile (side-stream work
        # overlapping the next call's flush) would get its side-stream work timed for free.
        method = f"host_sync (CUPTI unavailable: {exc})"
        kernel_trials = call_trials
        kernels_counts = []
        done()
    med, spread, medians = _summarize(kernel_trials)
    kpc = statistics.mean(kernels_counts) if kernels_counts else None
    return Timing(med, call_med, method, spread, medians, kpc)


class _NoCupti(Exception):
    pass


_MARKER: Any = None
FLUSH_KERNEL = "bitwise_not"
"""A substring of the flush kernel's name (the first activity after each marker)."""


def _marker(device: torch.device) -> Callable[[], None]:
    """A launcher of the one-thread marker kernel whose name separates the timed calls.

    After the first (ordinary) launch the compiled kernel is launched directly: Triton's per-call
    argument binding costs ~20 µs of host time, and the marker runs once per timed call.
    """
    global _MARKER
    if _MARKER is None:
        try:
            from kernel_arena.measure.marker import kernel_arena_call_marker
        except ImportError as exc:
            raise _NoCupti("triton is needed for the call-marker kernel") from exc
        _MARKER = kernel_arena_call_marker
    buf = torch.zeros(1, dtype=torch.int32, device=device)
    kernel = _MARKER
    compiled = kernel[(1,)](buf)
    direct = hasattr(compiled, "run") and hasattr(compiled, "function")

    def launch() -> None:
        nonlocal direct
        if direct:
            try:
                stream = torch.cuda.current_stream(device).cuda_stream
                meta = compiled.packed_metadata
                compiled.run(1, 1, 1, stream, compiled.function, meta, None, None, None, buf)
                return
            except Exception:  # noqa: BLE001 - a Triton without this launcher API
                direct = False
        kernel[(1,)](buf)

    return launch


def call_activities(events: list[tuple[str, int, int]]) -> list[list[tuple[str, int, int]]]:
    """The device activities of each profiled call, in start order.

    The profiled sequence is ``marker, flush, call`` per iteration and a closing marker; between
    two markers the first activity is the flush (checked by name) and the rest is the call.
    Host<->device copies are left out.
    """
    calls: list[list[tuple[str, int, int]]] = []
    inside: list[tuple[str, int, int]] | None = None
    for name, start, end in sorted(events, key=lambda e: e[1]):
        if MARKER_NAME in name:
            if inside is not None:
                if not inside or FLUSH_KERNEL not in inside[0][0]:
                    raise _NoCupti("the profile does not show the L2 flush after a call marker")
                calls.append(inside[1:])
            inside = []
        elif inside is not None and not name.startswith(_HOST_COPIES):
            inside.append((name, start, end))
    return calls


def split_calls(events: list[tuple[str, int, int]], iters: int) -> tuple[list[float], list[int]]:
    """Per call: (last end - first start) in ms of its activities, and how many there were."""
    calls = call_activities(events)
    if len(calls) != iters:
        raise _NoCupti(f"could not split the profile into {iters} calls (got {len(calls)})")
    samples = [(max(e for _, _, e in c) - min(s for _, s, _ in c)) / 1e6 if c else 0.0 for c in calls]
    return samples, [len(c) for c in calls]


def _cupti_trial(
    fn: Callable[[], Any],
    flush: Callable[[], None],
    device: torch.device,
    iters: int,
    clock: PhaseClock,
    done: Callable[[], None],
) -> tuple[list[float], list[int]]:
    """One profiler session over ``iters`` calls: per-call kernel spans and kernel counts.
    ``done`` runs once the last call finished, before the profiler is stopped (stopping and
    reading the profile take longer than the loop on small calls); if the profile then turns out
    unusable, the caller falls back to host timing and calls ``done`` again."""
    from torch.profiler import ProfilerActivity, profile

    mark = _marker(device)  # compiles (and launches once) before profiling
    torch.cuda.synchronize(device)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the profiler's notes would land in every trace log
            with clock.phase("profiler_start"):
                prof = profile(activities=[ProfilerActivity.CUDA])
                prof.start()
            try:
                with clock.phase("profiled_loop"):
                    for _ in range(iters):
                        mark()
                        flush()
                        fn()
                    mark()
                torch.cuda.synchronize(device)
                done()
            finally:
                with clock.phase("profiler_stop"):
                    prof.stop()
        with clock.phase("profile_parse"):
            events = _gpu_events(prof)
    except Exception as exc:  # noqa: BLE001 - any profiler failure falls back to host timing
        raise _NoCupti(str(exc)) from exc
    if not events:
        raise _NoCupti("the profiler recorded no GPU activity")
    return split_calls(events, iters)


def _gpu_events(prof: Any) -> list[tuple[str, int, int]]:
    out = []
    try:
        from torch.autograd import DeviceType

        cuda = DeviceType.CUDA
        raw = prof.profiler.kineto_results.events()
        for e in raw:
            if e.device_type() != cuda:  # an enum compare: str() per event cost ms per call
                continue
            start = e.start_ns()
            out.append((e.name(), start, start + e.duration_ns()))
        return out
    except (AttributeError, ImportError):
        pass
    for e in prof.events():
        if str(e.device_type).endswith("CUDA"):
            out.append((e.name, int(e.time_range.start * 1000), int(e.time_range.end * 1000)))
    return out
