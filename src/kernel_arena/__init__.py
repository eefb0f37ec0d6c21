"""Kernel Arena: verify, benchmark and explain GPU kernels against FlashInfer-Trace definitions.

Python API (the CLI is a thin layer over it)::

    import kernel_arena as ka
    ds = ka.load_dataset()                  # the embedded default dataset
    result = ka.run(definitions=["gdn_decode_qk4_v8_d128_k_last"], device="cpu")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from kernel_arena.dataset import Dataset
    from kernel_arena.engine.run import RunResult


def load_dataset(path: Any = None) -> Dataset:
    """Load a dataset folder (default: the embedded one). See ``kernel_arena.dataset``."""
    from kernel_arena.dataset import load_dataset as _load

    return _load(path)


def run(*args: Any, **kwargs: Any) -> RunResult:
    """Evaluate solutions and write traces. See ``kernel_arena.engine.run.run``."""
    from kernel_arena.engine.run import run as _run

    return _run(*args, **kwargs)


__all__ = ["__version__", "load_dataset", "run"]
