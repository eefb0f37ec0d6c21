"""Where the harness spends its time inside one evaluation: a per-phase wall clock.

The worker wraps each step of an evaluation (input draws, reference, the correctness call,
comparison, the timing loops) in ``clock.phase(name)``; the totals travel back in the reply and
land in the trace as ``performance.timing.harness_ms``, so ``benchmarks/engine_overhead.py`` (and
a user asking "why is this run slow?") can see the breakdown. On CUDA the device is synchronized
at the end of each phase, so asynchronous work is charged to the phase that queued it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import torch


class PhaseClock:
    """Accumulated wall milliseconds per named phase."""

    def __init__(self, device: torch.device | None = None) -> None:
        self.device = device
        self.totals: dict[str, float] = {}

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Charge the wall time of the block (device work included) to ``name``."""
        start = time.perf_counter()
        try:
            yield
        finally:
            if self.device is not None and self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
            self.add(name, (time.perf_counter() - start) * 1e3)

    def add(self, name: str, ms: float) -> None:
        """Add ``ms`` to phase ``name``."""
        self.totals[name] = self.totals.get(name, 0.0) + ms

    def rounded(self) -> dict[str, float]:
        """Totals rounded to 0.01 ms, in the order phases first ran."""
        return {k: round(v, 2) for k, v in self.totals.items()}
