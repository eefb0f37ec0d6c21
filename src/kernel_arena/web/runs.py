"""The runs the viewer's compare page offers: the folder being viewed (run 0), the run folders
named with ``serve --run``, and the run folders directly inside the viewed folder (serving
``runs/`` offers ``runs/before`` and ``runs/after``). Runs are picked by id, never by a path sent
in a request; each is loaded on first use and kept current like the viewed folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kernel_arena.dataset import RUN_MANIFEST, DatasetError, resolve_dataset_path
from kernel_arena.web.live import LiveDataset


@dataclass
class Run:
    """One run folder (or dataset) the viewer can show or compare."""

    label: str
    live: LiveDataset


def find_runs(served: str | Path | None, extra: Sequence[str | Path] = ()) -> list[Run]:
    """Run 0 is ``served``; then ``extra`` (each must be a folder); then the run folders inside
    ``served``. A folder reached twice is listed once."""
    runs = [Run("embedded dataset" if served is None else str(served), LiveDataset(served))]
    seen = {resolve_dataset_path(served).resolve()}
    for path in extra:
        if not Path(path).is_dir():
            raise DatasetError(f"run folder {path} does not exist")
    inside: list[Path] = []
    if served is not None and Path(served).is_dir():
        inside = sorted(p for p in Path(served).iterdir() if (p / RUN_MANIFEST).is_file())
    for path in [*extra, *inside]:
        resolved = Path(path).resolve()
        if resolved not in seen:
            seen.add(resolved)
            runs.append(Run(str(path), LiveDataset(path)))
    return runs
