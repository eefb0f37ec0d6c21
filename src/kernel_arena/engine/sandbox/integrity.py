"""What a Solution did to its own process: replaced timer functions, threads left running.

``IntegrityWatch`` is created in the sandbox before any Solution code is imported. It keeps the
original objects of the clock, synchronization and profiler functions the timing loops rely on,
and of the harness's own timing and reply code, and after every call reports each one that is no
longer the original (A05). It also names Python threads the Solution started during a call that
are still running after the call returned (A08: work finishing after the timer stopped).

This is a tripwire in an untrusted process, not a proof: a Solution that patches native memory
or restores a patch before each check is out of its reach; the judge's re-check of timed
outputs and its plausibility flags are the layers behind it.
"""

from __future__ import annotations

import builtins
import statistics
import threading
import time
from types import ModuleType
from typing import Any

from kernel_arena.engine.sandbox.protocol import Integrity

_TIME_NAMES = (
    "perf_counter",
    "perf_counter_ns",
    "monotonic",
    "monotonic_ns",
    "time",
    "time_ns",
    "process_time",
)
_BUILTIN_NAMES = ("min", "max", "sorted", "sum", "len", "isinstance", "range")


def _harness_modules() -> list[ModuleType]:
    from kernel_arena.engine.sandbox import protocol, serve, shared
    from kernel_arena.measure import phases, timing

    return [timing, phases, serve, protocol, shared]


class IntegrityWatch:
    """The originals, taken before the Solution is imported, and checks against them."""

    def __init__(self) -> None:
        import torch

        self._torch = torch
        watched: list[tuple[str, Any, str]] = [(f"time.{n}", time, n) for n in _TIME_NAMES]
        watched += [(f"builtins.{n}", builtins, n) for n in _BUILTIN_NAMES]
        watched += [("statistics.median", statistics, "median"), ("statistics.mean", statistics, "mean")]
        watched += [("threading.enumerate", threading, "enumerate")]
        cuda = torch.cuda
        watched += [
            (f"torch.cuda.{n}", cuda, n)
            for n in ("synchronize", "Event", "Stream", "current_stream", "stream", "set_device")
        ]
        watched += [
            (f"torch.cuda.Event.{n}", cuda.Event, n) for n in ("record", "elapsed_time", "synchronize")
        ]
        watched += [
            ("torch.profiler.profile", torch.profiler, "profile"),
            ("torch.no_grad", torch, "no_grad"),
        ]
        watched += [(f"torch.Tensor.{n}", torch.Tensor, n) for n in ("copy_", "as_subclass", "is_contiguous")]
        for module in _harness_modules():
            for name, value in list(vars(module).items()):
                if getattr(value, "__module__", None) != module.__name__:
                    continue
                if isinstance(value, type):
                    for attr, member in list(vars(value).items()):
                        if callable(member) and not attr.startswith("__"):
                            watched.append((f"{module.__name__}.{name}.{attr}", value, attr))
                elif callable(value):
                    watched.append((f"{module.__name__}.{name}", module, name))
        self._originals = [(label, owner, attr, _raw(owner, attr)) for label, owner, attr in watched]
        self._synchronize = cuda.synchronize
        self._enumerate = threading.enumerate

    def replaced(self) -> list[str]:
        """Dotted names of watched functions that are no longer the originals."""
        return [
            label for label, owner, attr, original in self._originals if _raw(owner, attr) is not original
        ]

    def threads(self) -> set[int]:
        """Idents of the Python threads alive now."""
        return {t.ident for t in self._enumerate() if t.ident is not None}

    def check(self, before: set[int]) -> Integrity:
        """Replaced functions, and threads started since ``before`` still running right now.

        No grace: a thread that is still working when the call returns is work the timer missed."""
        late = [t for t in self._enumerate() if t.ident not in before and t.is_alive()]
        left = [f"{t.name} (daemon={t.daemon})"[:200] for t in late]
        return Integrity(replaced=self.replaced()[:64], threads_left=left[:64])

    def synchronize(self, device: Any) -> None:
        """The original device-wide synchronization."""
        self._synchronize(device)


def _raw(owner: Any, attr: str) -> Any:
    """The attribute as stored (``vars`` first, so bound methods compare by identity)."""
    try:
        return vars(owner)[attr]
    except (KeyError, TypeError):
        return getattr(owner, attr, None)
