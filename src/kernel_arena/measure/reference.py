"""The definition's reference ``run`` and an on-disk cache of its outputs and timings.

Cache entries are keyed by (definition content hash, workload uuid, draw, device kind, torch
version): a second run, or a second solution, reads them instead of recomputing. Entries are
safetensors files written atomically, so a killed run never leaves a half-written entry.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from kernel_arena.files import atomic_write_bytes, atomic_write_json
from kernel_arena.schema import Definition


def definition_hash(definition: Definition) -> str:
    """Stable content hash of a definition (key order independent)."""
    blob = json.dumps(definition.to_json_dict(), sort_keys=True).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()[:16]


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


class ReferenceCache:
    """Reference outputs (and reference timings) per (definition, workload, draw, device)."""

    def __init__(self, root: Path | None) -> None:
        self.root = Path(root) if root is not None else None
        self.hits = 0
        self.misses = 0

    def _stem(self, definition: Definition, uuid: str, draw: int, device_kind: str) -> Path | None:
        if self.root is None:
            return None
        tv = torch.__version__.split("+")[0]
        key = f"{definition_hash(definition)}_{uuid}_{draw}_{device_kind}_torch{tv}"
        return self.root / definition.name / key

    def get_outputs(
        self, definition: Definition, uuid: str, draw: int, device: torch.device
    ) -> dict[str, torch.Tensor] | None:
        """Cached outputs on ``device``, or None."""
        stem = self._stem(definition, uuid, draw, device.type)
        if stem is None:
            return None
        path = stem.with_suffix(".safetensors")
        if not path.is_file():
            self.misses += 1
            return None
        from safetensors.torch import load

        try:
            tensors = load(path.read_bytes())
        except Exception:  # noqa: BLE001 - a damaged entry is a miss, recomputed and replaced
            self.misses += 1
            return None
        if set(tensors) != set(definition.outputs):
            self.misses += 1
            return None
        self.hits += 1
        return {k: tensors[k].to(device) for k in definition.outputs}

    def put_outputs(
        self,
        definition: Definition,
        uuid: str,
        draw: int,
        device: torch.device,
        outputs: dict[str, torch.Tensor],
    ) -> None:
        """Store outputs atomically."""
        stem = self._stem(definition, uuid, draw, device.type)
        if stem is None:
            return
        from safetensors.torch import save

        data = save({k: v.detach().contiguous().cpu() for k, v in outputs.items()})
        atomic_write_bytes(stem.with_suffix(".safetensors"), data)

    def get_timing(
        self, definition: Definition, uuid: str, device_name: str, settings: str
    ) -> dict[str, Any] | None:
        """Cached reference timing for this device and timing settings, or None."""
        path = self._timing_path(definition, uuid, device_name, settings)
        if path is None or not path.is_file():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return None

    def put_timing(
        self,
        definition: Definition,
        uuid: str,
        device_name: str,
        settings: str,
        timing: dict[str, Any],
    ) -> None:
        """Store a reference timing."""
        path = self._timing_path(definition, uuid, device_name, settings)
        if path is not None:
            atomic_write_json(path, timing)

    def _timing_path(self, definition: Definition, uuid: str, device_name: str, settings: str) -> Path | None:
        if self.root is None:
            return None
        tag = hashlib.sha256(f"{device_name}|{settings}".encode()).hexdigest()[:12]
        return self.root / definition.name / f"{definition_hash(definition)}_{uuid}_timing_{tag}.json"
