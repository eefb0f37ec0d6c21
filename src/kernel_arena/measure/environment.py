"""Devices and the environment record: which device a run uses, whether a solution targets it,
and the hardware/library versions written into every trace."""

from __future__ import annotations

import importlib.metadata
import platform
from pathlib import Path

import torch


def default_device() -> str:
    """``cuda:0`` when a GPU is visible, else ``cpu``."""
    return "cuda:0" if torch.cuda.is_available() else "cpu"


def expand_devices(device: str | None) -> list[str]:
    """``None`` → default; ``all`` → every visible GPU (or cpu); otherwise as given.

    ValueError for an unknown device, and for a GPU this process cannot use (torch built
    without CUDA, no GPU visible, an index beyond the visible GPUs).
    """
    if device is None:
        return [default_device()]
    if device == "all":
        n = torch.cuda.device_count()
        return [f"cuda:{i}" for i in range(n)] if n else ["cpu"]
    given = device
    if device == "cuda":
        device = "cuda:0"
    if device == "cpu":
        return [device]
    index = device.removeprefix("cuda:")
    if not device.startswith("cuda:") or not index.isdigit():
        raise ValueError(f"unknown device {device!r}: use cpu, cuda, cuda:N or all")
    if not torch.cuda.is_available():
        why = "this torch is built without CUDA" if torch.version.cuda is None else "no CUDA GPU is visible"
        raise ValueError(
            f"device {given!r} cannot be used: {why} (torch {torch.__version__}); use --device cpu"
        )
    count = torch.cuda.device_count()
    if int(index) >= count:
        raise ValueError(
            f"device {device!r} does not exist: {count} CUDA GPU(s) visible (cuda:0..cuda:{count - 1})"
        )
    return [device]


def hardware_name(device: str) -> str:
    """Human-readable device name."""
    if device.startswith("cuda"):
        return torch.cuda.get_device_name(torch.device(device))
    proc = platform.processor() or platform.machine()
    return f"CPU ({proc})"


def targets_device(target_hardware: list[str], device: str, hardware: str | None = None) -> bool:
    """Does a solution's ``target_hardware`` include this device?"""
    kind = "cpu" if device == "cpu" else "cuda"
    for target in target_hardware:
        t = target.lower()
        if t == "cpu":
            if kind == "cpu":
                return True
            continue
        if kind == "cpu":
            continue
        if t in ("cuda", "gpu", "nvidia", "all") or hardware is None:
            return True
        words = [w for w in t.replace("_", " ").replace("nvidia", "").split() if w]
        if all(w in hardware.lower() for w in words):
            return True
    return False


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def library_versions(device: str) -> dict[str, str]:
    """torch, triton, CUDA, driver, python and kernel-arena versions."""
    libs = {"torch": torch.__version__, "python": platform.python_version()}
    for dist in ("triton", "kernel-arena"):
        version = _version(dist)
        if version:
            libs[dist] = version
    if device.startswith("cuda"):
        if torch.version.cuda:
            libs["cuda"] = str(torch.version.cuda)
        driver = nvidia_driver_version()
        if driver:
            libs["driver"] = driver
    return libs


def nvidia_driver_version() -> str | None:
    """The NVIDIA kernel driver version, read from /proc (no subprocess)."""
    path = Path("/proc/driver/nvidia/version")
    try:
        text = path.read_text()
    except OSError:
        return None
    for token in text.split():
        parts = token.split(".")
        if len(parts) >= 2 and all(p.isdigit() for p in parts):
            return token
    return None
