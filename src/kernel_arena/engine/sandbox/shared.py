"""Tensors the judge lends to a sandbox: shared memory on CPU, CUDA IPC on a GPU.

The judge allocates every tensor a sandbox touches (inputs, timing variants, output buffers) and
sends a ``TensorRef`` for each; the sandbox maps the same memory, so outputs are written straight
into the judge's buffers and nothing but small JSON messages ever travels back.

Lent tensors are carved out of *chunks* that belong to one sandbox (one Solution) and hold
nothing else:

- CPU: a chunk is a file in a private folder (``/dev/shm`` when present), mapped with
  ``MAP_SHARED`` on both sides.
- CUDA: a chunk is one allocation from the judge's private memory pool. CUDA IPC maps the whole
  driver allocation (the caching allocator's segment) that a tensor lives in, not only the tensor:
  a tensor allocated from the default pool can share its segment with the judge's reference
  outputs or pristine inputs, which the sandbox could then read and write by pointer arithmetic.
  The private pool's segments only ever hold chunks.

A new chunk is zero-filled, so memory that held another Solution's outputs is never shown to the
next one. The sandbox maps each chunk once (``ChunkMaps``) and keeps the mapping while its
Solution is judged; after the first workload, lending costs a copy and no IPC export or import.

``TensorRef`` travels judge → sandbox only (that channel is trusted by the sandbox); nothing in
this module parses data coming from a sandbox.
"""

from __future__ import annotations

import base64
import contextlib
import importlib
import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from kernel_arena.files import naming_file
from kernel_arena.measure.dtypes import dtype_name, torch_dtype

CHUNK_BYTES = 64 << 20
"""Smallest chunk; a tensor larger than this gets a chunk of its own size."""
ALIGN = 256
"""Byte alignment of every lent tensor inside its chunk (what CUDA kernels expect of a base)."""

_ARENA_IDS = itertools.count()


@dataclass(frozen=True)
class TensorRef:
    """How a sandbox finds one lent tensor: ``offset`` bytes into chunk ``chunk``."""

    kind: str
    """``file`` (CPU shared memory) or ``cuda_ipc``."""
    dtype: str
    shape: tuple[int, ...]
    chunk: str
    """Identifies the chunk within the run (the sandbox maps each chunk once)."""
    location: str
    """The chunk's file path (``file``) or the base64 of torch's CUDA IPC reduction (``cuda_ipc``)."""
    offset: int = 0
    nbytes: int = 0


def _shm_root() -> str | None:
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


def _nbytes(shape: tuple[int, ...], dtype: torch.dtype) -> int:
    numel = 1
    for n in shape:
        numel *= int(n)
    return numel * torch.empty((), dtype=dtype).element_size()


@dataclass
class _Chunk:
    name: str
    memory: torch.Tensor
    """uint8, the whole chunk."""
    location: str
    used: int = 0


class _PrivatePool:
    """The judge's CUDA memory pool for lent chunks (one per device and process)."""

    _pools: dict[str, Any] = {}

    @classmethod
    @contextlib.contextmanager
    def allocating(cls, device: torch.device) -> Iterator[None]:
        make = getattr(torch.cuda, "MemPool", None)
        use = getattr(torch.cuda, "use_mem_pool", None)
        if make is None or use is None:
            raise RuntimeError(
                "lending GPU tensors to a sandbox needs torch.cuda.MemPool (torch >= 2.6): without a "
                "private pool a sandbox could map the judge's own memory"
            )
        key = str(device)
        if key not in cls._pools:
            cls._pools[key] = make()
        with use(cls._pools[key], device):
            yield


class SharedArena:
    """Judge side: lends tensors to one sandbox (one Solution); ``reset`` reuses the chunks for the
    next workload, ``close`` frees them."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self._id = f"{os.getpid()}-{next(_ARENA_IDS)}"
        self._dir: Path | None = None
        self._chunks: list[_Chunk] = []
        self._made = 0

    def _folder(self) -> Path:
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="kernel-arena-shared-", dir=_shm_root()))
        return self._dir

    def reset(self) -> None:
        """Forget every lent tensor (the memory is handed out again, the sandbox's maps stay valid)."""
        for chunk in self._chunks:
            chunk.used = 0

    def empty(self, shape: tuple[int, ...], dtype: torch.dtype) -> tuple[torch.Tensor, TensorRef]:
        """A new lent tensor (contents undefined) and its reference."""
        shape = tuple(int(n) for n in shape)
        nbytes = _nbytes(shape, dtype)
        size = max(-(-nbytes // ALIGN) * ALIGN, ALIGN)
        chunk = next((c for c in self._chunks if c.memory.numel() - c.used >= size), None)
        if chunk is None:
            # Chunks this workload has not used are given back before a bigger one is made, so
            # lent memory stays near one workload's worth (the sandbox drops its maps of them
            # with its next request: ``ChunkMaps.retain``).
            self._chunks = [c for c in self._chunks if c.used > 0]
            chunk = self._new_chunk(max(size, CHUNK_BYTES))
        offset = chunk.used
        chunk.used += size
        tensor = chunk.memory[offset : offset + nbytes].view(dtype).view(shape)
        kind = "cuda_ipc" if self.device.type == "cuda" else "file"
        return tensor, TensorRef(kind, dtype_name(dtype), shape, chunk.name, chunk.location, offset, nbytes)

    def lend(self, value: torch.Tensor) -> tuple[torch.Tensor, TensorRef]:
        """A lent copy of ``value`` (contiguous) and its reference."""
        tensor, ref = self.empty(tuple(value.shape), value.dtype)
        tensor.copy_(value)
        return tensor, ref

    def _new_chunk(self, nbytes: int) -> _Chunk:
        self._made += 1
        name = f"{self._id}-{self._made}"
        if self.device.type == "cuda":
            with _PrivatePool.allocating(self.device):
                memory = torch.zeros(nbytes, dtype=torch.uint8, device=self.device)
            location = _export_cuda(memory)
        else:
            path = self._folder() / f"chunk{self._made}"
            try:
                with open(path, "wb") as handle:
                    handle.truncate(nbytes)  # a sparse file: zeros, and no memory until touched
            except OSError as exc:  # a full /dev/shm or file-size limit: say which file
                raise naming_file(exc, path) from exc
            memory = torch.from_file(str(path), shared=True, size=nbytes, dtype=torch.uint8)
            location = str(path)
        chunk = _Chunk(name, memory, location)
        self._chunks.append(chunk)
        return chunk

    def close(self) -> None:
        """Drop the judge's chunks and delete the CPU files (a sandbox mapping stays valid)."""
        self._chunks.clear()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None


def _export_cuda(tensor: torch.Tensor) -> str:
    """torch's CUDA IPC reduction, with the device index the sandbox sees: a sandbox owns one GPU
    (``CUDA_VISIBLE_DEVICES``), so the judge's ``cuda:N`` is the sandbox's device 0."""
    import inspect
    import pickle

    reductions = importlib.import_module("torch.multiprocessing.reductions")
    rebuild, args = reductions.reduce_tensor(tensor)
    args = list(args)
    names = list(inspect.signature(rebuild).parameters)
    if "storage_device" in names:
        args[names.index("storage_device")] = 0
    return base64.b64encode(pickle.dumps((rebuild, tuple(args)))).decode("ascii")


class ChunkMaps:
    """Sandbox side: maps each chunk once and cuts lent tensors out of it."""

    def __init__(self) -> None:
        self._maps: dict[str, torch.Tensor] = {}

    def _chunk(self, ref: TensorRef) -> torch.Tensor:
        memory = self._maps.get(ref.chunk)
        if memory is not None:
            return memory
        if ref.kind == "file":
            size = os.path.getsize(ref.location)
            memory = torch.from_file(ref.location, shared=True, size=size, dtype=torch.uint8)
        elif ref.kind == "cuda_ipc":
            import pickle

            importlib.import_module("torch.multiprocessing")  # registers the rebuild functions
            rebuild, args = pickle.loads(base64.b64decode(ref.location))  # noqa: S301 - written by the judge
            memory = rebuild(*args)
            if not isinstance(memory, torch.Tensor):
                raise TypeError("a cuda_ipc reference did not hold a tensor")
        else:
            raise ValueError(f"unknown tensor reference kind {ref.kind!r}")
        self._maps[ref.chunk] = memory
        return memory

    def open(self, ref: TensorRef) -> torch.Tensor:
        """The tensor a ``TensorRef`` names."""
        dtype = torch_dtype(ref.dtype)
        memory = self._chunk(ref)
        return memory[ref.offset : ref.offset + ref.nbytes].view(dtype).view(ref.shape)

    def open_value(self, value: Any) -> Any:
        """A TensorRef becomes its tensor; scalars and None pass through."""
        return self.open(value) if isinstance(value, TensorRef) else value

    def retain(self, values: list[Any]) -> None:
        """Drop the maps of chunks none of ``values`` (one request's references) lies in: the judge
        has given those back, and a map would keep their memory alive."""
        live = {v.chunk for v in values if isinstance(v, TensorRef)}
        for name in [n for n in self._maps if n not in live]:
            del self._maps[name]
