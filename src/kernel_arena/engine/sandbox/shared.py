"""Tensors the judge lends to a sandbox: shared memory on CPU, CUDA IPC on a GPU.

The judge allocates every tensor a sandbox touches (inputs, timing variants, output buffers) and
sends a ``TensorRef`` for each; the sandbox maps the same memory, so outputs are written straight
into the judge's buffers and nothing but small JSON messages ever travels back.

- CPU: each tensor is its own file in a private folder (``/dev/shm`` when present), mapped with
  ``MAP_SHARED`` on both sides (``torch.from_file(..., shared=True)``).
- CUDA: the tensor's allocation is exported with torch's CUDA IPC reduction; each lent tensor is a
  separate storage, so one input's storage never reveals another's values.

``TensorRef`` travels judge → sandbox only (that channel is trusted by the sandbox); nothing in
this module parses data coming from a sandbox.
"""

from __future__ import annotations

import base64
import importlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from kernel_arena.measure.dtypes import dtype_name, torch_dtype


@dataclass(frozen=True)
class TensorRef:
    """How a sandbox finds one lent tensor."""

    kind: str
    """``file`` (CPU shared memory) or ``cuda_ipc``."""
    dtype: str
    shape: tuple[int, ...]
    location: str
    """The file path (``file``) or the base64 of torch's CUDA IPC reduction (``cuda_ipc``)."""


def _shm_root() -> str | None:
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


class SharedArena:
    """Judge side: lends tensors to one sandbox; ``close`` frees the CPU files."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self._dir: Path | None = None
        self._count = 0
        self._kept: list[torch.Tensor] = []

    def _folder(self) -> Path:
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="kernel-arena-shared-", dir=_shm_root()))
        return self._dir

    def empty(self, shape: tuple[int, ...], dtype: torch.dtype) -> tuple[torch.Tensor, TensorRef]:
        """A new lent tensor (contents undefined) and its reference."""
        if self.device.type == "cuda":
            tensor = torch.empty(shape, dtype=dtype, device=self.device)
            return tensor, self._export_cuda(tensor)
        numel = 1
        for n in shape:
            numel *= int(n)
        nbytes = max(numel * torch.empty((), dtype=dtype).element_size(), 1)
        self._count += 1
        path = self._folder() / f"t{self._count}"
        with open(path, "wb") as handle:
            handle.truncate(nbytes)
        tensor = _map_file(str(path), nbytes, dtype, shape)
        self._kept.append(tensor)
        return tensor, TensorRef("file", dtype_name(dtype), tuple(int(n) for n in shape), str(path))

    def lend(self, value: torch.Tensor) -> tuple[torch.Tensor, TensorRef]:
        """A lent copy of ``value`` (contiguous) and its reference."""
        tensor, ref = self.empty(tuple(value.shape), value.dtype)
        tensor.copy_(value)
        return tensor, ref

    def _export_cuda(self, tensor: torch.Tensor) -> TensorRef:
        """torch's CUDA IPC reduction, with the device index the sandbox sees: a sandbox owns one
        GPU (``CUDA_VISIBLE_DEVICES``), so the judge's ``cuda:N`` is the sandbox's device 0."""
        import inspect
        import pickle

        reductions = importlib.import_module("torch.multiprocessing.reductions")
        self._kept.append(tensor)
        rebuild, args = reductions.reduce_tensor(tensor)
        args = list(args)
        names = list(inspect.signature(rebuild).parameters)
        if "storage_device" in names:
            args[names.index("storage_device")] = 0
        blob = pickle.dumps((rebuild, tuple(args)))
        return TensorRef(
            "cuda_ipc",
            dtype_name(tensor.dtype),
            tuple(int(n) for n in tensor.shape),
            base64.b64encode(blob).decode("ascii"),
        )

    def close(self) -> None:
        """Drop the judge's references and delete the CPU files (a sandbox mapping stays valid)."""
        self._kept.clear()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None


def _map_file(path: str, nbytes: int, dtype: torch.dtype, shape: tuple[int, ...]) -> torch.Tensor:
    raw = torch.from_file(path, shared=True, size=nbytes, dtype=torch.uint8)
    numel = 1
    for n in shape:
        numel *= int(n)
    width = torch.empty((), dtype=dtype).element_size()
    return raw[: numel * width].view(dtype).view(shape)


def open_tensor(ref: TensorRef) -> torch.Tensor:
    """Sandbox side: the tensor a ``TensorRef`` names."""
    dtype = torch_dtype(ref.dtype)
    if ref.kind == "file":
        numel = 1
        for n in ref.shape:
            numel *= int(n)
        nbytes = max(numel * torch.empty((), dtype=dtype).element_size(), 1)
        return _map_file(ref.location, nbytes, dtype, ref.shape)
    if ref.kind == "cuda_ipc":
        import pickle

        importlib.import_module("torch.multiprocessing")  # registers the rebuild functions

        rebuild, args = pickle.loads(base64.b64decode(ref.location))  # noqa: S301 - written by the judge
        tensor = rebuild(*args)
        if not isinstance(tensor, torch.Tensor):
            raise TypeError("a cuda_ipc reference did not hold a tensor")
        return tensor
    raise ValueError(f"unknown tensor reference kind {ref.kind!r}")


def open_value(value: Any) -> Any:
    """Sandbox side: a TensorRef becomes its tensor; scalars and None pass through."""
    return open_tensor(value) if isinstance(value, TensorRef) else value
