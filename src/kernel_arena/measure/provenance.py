"""Content hashes that say *what* ran: a Definition, a Solution, a Workload (with its blobs).

They key the reference cache and resume, and every trace records them (``provenance``), so an
edited Solution or Workload is evaluated again and a name cannot stand for other content.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

from kernel_arena.schema import Definition, SafetensorsInput, Solution, Workload

_BLOB_HASHES: dict[tuple[str, int, int], str] = {}
_LOCK = threading.Lock()


def content_hash(obj: Any) -> str:
    """sha256 of the canonical JSON of ``obj`` (key order independent)."""
    blob = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()


def definition_hash(definition: Definition) -> str:
    """Content hash of a Definition (16 hex digits)."""
    return content_hash(definition.to_json_dict())[:16]


def solution_hash(solution: Solution) -> str:
    """Content hash of a Solution: name, spec and every source (16 hex digits)."""
    return content_hash(solution.to_json_dict())[:16]


def file_hash(path: Path) -> str:
    """sha256 of a file's bytes, remembered per (path, size, mtime) within the process."""
    try:
        st = os.stat(path)
    except OSError:
        return "missing"
    key = (str(path), st.st_size, st.st_mtime_ns)
    with _LOCK:
        if key in _BLOB_HASHES:
            return _BLOB_HASHES[key]
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    value = digest.hexdigest()
    with _LOCK:
        _BLOB_HASHES[key] = value
    return value


def workload_hash(workload: Workload, dataset_root: Path, synthesize_missing: bool = False) -> str:
    """Content hash of a Workload: axes, input specs, the bytes of its blobs, and whether missing
    page tables are synthesized (16 hex digits)."""
    blobs = {}
    for name, spec in sorted(workload.inputs.items()):
        if isinstance(spec, SafetensorsInput):
            blobs[name] = file_hash(Path(dataset_root) / spec.relative_path)
    return content_hash(
        {"workload": workload.to_json_dict(), "blobs": blobs, "synthesize_missing": synthesize_missing}
    )[:16]
