"""Run views: the manifest that marks a run folder as a view of the dataset it came from.

A run's output folder holds ``kernel-arena-run.json`` naming its source dataset (``builtin``
or an absolute path); loading the folder shows that dataset's definitions, workloads and
solutions together with the run's traces. This module owns reading and writing that file.
"""

from __future__ import annotations

import json
from pathlib import Path

from kernel_arena.dataset.model import BUILTIN, DatasetError
from kernel_arena.files import atomic_write_json

RUN_MANIFEST = "kernel-arena-run.json"
"""File name of the manifest inside a run folder."""


def read_run_manifest(path: Path) -> str:
    """The source dataset a manifest names: ``builtin`` or an absolute path."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        source = data["source_dataset"]
        if not isinstance(source, str) or not source:
            raise ValueError
    except (json.JSONDecodeError, KeyError, TypeError, ValueError):
        raise DatasetError(
            f"{path}: expected a JSON object with a non-empty string 'source_dataset'"
        ) from None
    if source != BUILTIN and not Path(source).is_absolute():
        source = str((path.parent / source).resolve())
    return source


def write_run_manifest(out: Path, source: str | Path | None) -> None:
    """Mark ``out`` as a run view of ``source`` (kept as ``builtin`` for the embedded one)."""
    src = BUILTIN if source is None or str(source) == BUILTIN else str(Path(source).resolve())
    manifest = Path(out) / RUN_MANIFEST
    if manifest.exists():
        previous = read_run_manifest(manifest)
        prev_norm = previous if previous == BUILTIN else str(Path(previous).resolve())
        if prev_norm != src:
            raise DatasetError(
                f"{out} already holds a run of dataset {previous}; use another --out for {src}"
            )
        return
    atomic_write_json(manifest, {"source_dataset": src, "format": "kernel-arena-run/1"})
