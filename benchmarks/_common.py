"""Shared helpers for the GPU benchmark scripts: environment line, size classes, markdown."""

from __future__ import annotations

import math
import platform
import statistics
import sys
from pathlib import Path
from typing import Any

import torch


def environment_line() -> str:
    """GPU, driver, CUDA, torch, triton, python versions, as one markdown line."""
    from kernel_arena.measure.environment import nvidia_driver_version

    parts = []
    if torch.cuda.is_available():
        parts.append(f"GPU {torch.cuda.get_device_name(0)}")
        parts.append(f"driver {nvidia_driver_version() or '?'}")
        parts.append(f"CUDA {torch.version.cuda}")
    else:
        parts.append(f"CPU {platform.processor() or platform.machine()}")
    parts.append(f"torch {torch.__version__}")
    try:
        import triton

        parts.append(f"triton {triton.__version__}")
    except ImportError:
        pass
    for mod, dist in (("flashinfer", "flashinfer-python"), ("fla", "fla-core")):
        try:
            m = __import__(mod)
            parts.append(f"{dist} {getattr(m, '__version__', '?')}")
        except Exception:  # noqa: BLE001
            parts.append(f"{dist} not installed")
    parts.append(f"python {platform.python_version()}")
    return ", ".join(parts)


def command_line() -> str:
    return "python " + " ".join(sys.argv)


def geomean(values: list[float]) -> float | None:
    vals = [v for v in values if v and v > 0]
    return math.exp(statistics.mean(math.log(v) for v in vals)) if vals else None


def fmt_us(ms: float | None) -> str:
    return "-" if ms is None else f"{ms * 1e3:.1f}"


def fmt_x(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}x"


def md_table(header: list[str], rows: list[list[Any]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def empty_outputs(definition: Any, batch: int, device: Any = "cuda") -> list[torch.Tensor]:
    """Uninitialized output tensors of a paged-attention definition for a batch (bf16 or fp32)."""
    axes = {"batch_size": batch, **definition.const_axes}
    return [
        torch.empty(
            definition.shape_of(s, axes),
            device=device,
            dtype=torch.bfloat16 if s.dtype == "bfloat16" else torch.float32,
        )
        for s in definition.outputs.values()
    ]


def build_fn(solution_name: str):
    """Build an embedded solution through the engine's own build step; returns its callable."""
    from kernel_arena.dataset import load_dataset
    from kernel_arena.engine.sandbox.build import build_solution

    return build_solution(load_dataset().solution(solution_name)).fn


def copy_bandwidth_gbs(nbytes: int = 1 << 30) -> float:
    """Measured device-to-device copy bandwidth in GB/s (bytes read + written), median of 20."""
    src = torch.empty(nbytes, dtype=torch.uint8, device="cuda")
    dst = torch.empty_like(src)
    for _ in range(3):
        dst.copy_(src)
    times = []
    for _ in range(20):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        dst.copy_(src)
        b.record()
        torch.cuda.synchronize()
        times.append(a.elapsed_time(b))
    return 2 * nbytes / (statistics.median(times) * 1e-3) / 1e9


def write_results(path: str | Path, text: str) -> None:
    """Write a results markdown file (creating its folder) and echo it."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(text)
    print(text)
