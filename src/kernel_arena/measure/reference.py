"""The definition's reference ``run`` and an on-disk cache of its outputs and timings.

Cache entries are keyed by (definition content hash, workload key — uuid and content hash —,
draw, device kind, torch version, inputs scheme): a second run, or a second solution, reads them
instead of recomputing. Entries are safetensors files written atomically, so a killed run never leaves a
half-written entry. Only the judge reads and writes the cache. Within a run it remembers the
digest of every entry it wrote or read, so an entry changed behind its back (by a Solution that
writes the file system, A11) is recomputed, not believed. The cache is an optimization only: when
its folder cannot be written (disk full, no permission, a file in the way), entries stay in this
process's memory for the rest of the run and ``write_errors`` says why, once.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from kernel_arena.files import atomic_write_bytes
from kernel_arena.measure.inputs import INPUTS_SCHEME
from kernel_arena.measure.provenance import definition_hash
from kernel_arena.schema import Definition


def load_reference(definition: Definition) -> Callable[..., Any]:
    """Compile the reference source and return its ``run``."""
    namespace: dict[str, Any] = {"__name__": f"kernel_arena_reference_{definition.name}"}
    code = compile(definition.reference, f"<reference {definition.name}>", "exec")
    exec(code, namespace)
    return namespace["run"]


def as_output_tuple(result: Any, names: list[str]) -> tuple[Any, ...]:
    """Normalize a value-returning call's result to a tuple in output order."""
    if isinstance(result, dict):
        return tuple(result.get(n) for n in names)
    if isinstance(result, (tuple, list)):
        return tuple(result)
    return (result,)


DISK_ENTRY_MAX_BYTES = 64 << 20
"""Reference outputs larger than this (one draw) are kept in memory only, never written."""
DISK_MAX_BYTES = 4 << 30
"""Size cap of the on-disk cache: the oldest entries are deleted past it."""
MEMORY_MAX_BYTES = 1 << 30
"""Size cap of the in-memory cache of outputs too big for the disk (least recently used evicted)."""


class ReferenceCache:
    """Reference outputs (and reference timings) per (definition, workload, draw, device).

    Outputs of up to ``DISK_ENTRY_MAX_BYTES`` go to safetensors files under ``root`` (capped at
    ``DISK_MAX_BYTES``, oldest first out); bigger ones (GDN's state at large batch is 128 MB a
    draw) stay in this process's memory, up to ``MEMORY_MAX_BYTES``, so the Solutions of one run
    still share them."""

    def __init__(self, root: Path | None) -> None:
        self.root = Path(root) if root is not None else None
        self._memory: OrderedDict[Path, dict[str, torch.Tensor]] = OrderedDict()
        self._memory_bytes = 0
        self.hits = 0
        self.misses = 0
        self.tampered: list[str] = []
        """Entries found changed since this process wrote or read them (recomputed)."""
        self._digests: dict[Path, str] = {}
        self.write_errors: list[str] = []
        """The first failed write of this cache (then it stops writing the disk): file and reason."""

    def _stem(self, definition: Definition, workload_key: str, draw: int, device_kind: str) -> Path | None:
        if self.root is None:
            return None
        tv = torch.__version__.split("+")[0]
        key = f"{definition_hash(definition)}_{workload_key}_{draw}_{device_kind}_torch{tv}_in{INPUTS_SCHEME}"
        return self.root / definition.name / key

    def get_outputs(
        self, definition: Definition, workload_key: str, draw: int, device: torch.device
    ) -> dict[str, torch.Tensor] | None:
        """Cached outputs on ``device``, or None."""
        stem = self._stem(definition, workload_key, draw, device.type)
        if stem is None:
            return None
        path = stem.with_suffix(".safetensors")
        kept = self._memory.get(path)
        if kept is not None:
            self._memory.move_to_end(path)
            self.hits += 1
            return {k: v.to(device) for k, v in kept.items()}
        if not path.is_file():
            self.misses += 1
            return None
        from safetensors.torch import load

        try:
            data = path.read_bytes()
        except OSError:
            self.misses += 1
            return None
        digest = hashlib.sha256(data).hexdigest()
        known = self._digests.get(path)
        if known is not None and known != digest:
            self.tampered.append(path.name)
            self.misses += 1
            return None
        try:
            tensors = load(data)
        except Exception:  # noqa: BLE001 - a damaged entry is a miss, recomputed and replaced
            self.misses += 1
            return None
        if set(tensors) != set(definition.outputs):
            self.misses += 1
            return None
        self._digests[path] = digest
        self.hits += 1
        return {k: tensors[k].to(device) for k in definition.outputs}

    def put_outputs(
        self,
        definition: Definition,
        workload_key: str,
        draw: int,
        device: torch.device,
        outputs: dict[str, torch.Tensor],
    ) -> None:
        """Store outputs atomically."""
        stem = self._stem(definition, workload_key, draw, device.type)
        if stem is None:
            return
        from safetensors.torch import save

        host = {k: v.detach().contiguous().cpu() for k, v in outputs.items()}
        path = stem.with_suffix(".safetensors")
        if _nbytes(host) > DISK_ENTRY_MAX_BYTES or self.write_errors:
            self._keep_in_memory(path, host)
            return
        data = save(host)
        if not self._write(path, data):
            self._keep_in_memory(path, host)
            return
        self._enforce_cap()

    def _keep_in_memory(self, path: Path, host: dict[str, torch.Tensor]) -> None:
        """Keep an entry in this process only (least recently used out past ``MEMORY_MAX_BYTES``)."""
        old = self._memory.pop(path, None)
        self._memory_bytes += _nbytes(host) - (0 if old is None else _nbytes(old))
        self._memory[path] = host
        while len(self._memory) > 1 and self._memory_bytes > MEMORY_MAX_BYTES:
            self._memory_bytes -= _nbytes(self._memory.popitem(last=False)[1])

    def _write(self, path: Path, data: bytes) -> bool:
        """Write an entry atomically; False (and the reason in ``write_errors``) if it failed."""
        try:
            atomic_write_bytes(path, data)
        except OSError as exc:
            if not self.write_errors:
                self.write_errors.append(f"{exc.filename or path}: {exc.strerror or exc}")
            return False
        self._digests[path] = hashlib.sha256(data).hexdigest()
        return True

    def _enforce_cap(self) -> None:
        """Delete the oldest cache files while the cache is larger than ``DISK_MAX_BYTES``."""
        if self.root is None or not self.root.is_dir():
            return
        files = []
        for path in self.root.rglob("*"):
            try:
                if path.is_file():
                    st = path.stat()
                    files.append((st.st_mtime, st.st_size, path))
            except OSError:
                continue
        total = sum(size for _, size, _ in files)
        for _, size, path in sorted(files):
            if total <= DISK_MAX_BYTES:
                break
            try:
                path.unlink(missing_ok=True)
            except OSError:
                continue
            self._digests.pop(path, None)
            total -= size

    def get_timing(
        self, definition: Definition, workload_key: str, device_name: str, settings: str
    ) -> dict[str, Any] | None:
        """Cached reference timing for this device and timing settings, or None.

        An entry changed since this process wrote or read it is a miss (recorded in ``tampered``)."""
        path = self._timing_path(definition, workload_key, device_name, settings)
        if path is None or not path.is_file():
            return None
        try:
            data = path.read_bytes()
            obj = json.loads(data)
        except (OSError, json.JSONDecodeError, UnicodeDecodeError):
            return None
        digest = hashlib.sha256(data).hexdigest()
        known = self._digests.get(path)
        if known is not None and known != digest:
            self.tampered.append(path.name)
            return None
        self._digests[path] = digest
        return obj if isinstance(obj, dict) else None

    def put_timing(
        self,
        definition: Definition,
        workload_key: str,
        device_name: str,
        settings: str,
        timing: dict[str, Any],
    ) -> None:
        """Store a reference timing."""
        path = self._timing_path(definition, workload_key, device_name, settings)
        if path is not None and not self.write_errors:
            self._write(path, json.dumps(timing, sort_keys=True).encode("utf-8"))

    def _timing_path(
        self, definition: Definition, workload_key: str, device_name: str, settings: str
    ) -> Path | None:
        if self.root is None:
            return None
        tag = hashlib.sha256(f"{device_name}|{settings}".encode()).hexdigest()[:12]
        return self.root / definition.name / f"{definition_hash(definition)}_{workload_key}_timing_{tag}.json"


def _nbytes(tensors: dict[str, torch.Tensor]) -> int:
    return sum(v.numel() * v.element_size() for v in tensors.values())
