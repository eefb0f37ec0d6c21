"""The run folder's rules: where it may be, who may write it, and what it keeps besides traces.

- ``--out`` must not be the dataset or lie inside it (a run must never write into its source).
- One run at a time writes a run folder: ``RunFolderLock`` holds ``flock`` on
  ``OUT/.kernel-arena.lock``; a second run is refused with a clear message (exit 2).
- Every Solution that runs is stored as inline JSON under ``OUT/solutions/<op_type>/<definition>/``,
  so ``show``, ``report`` and the viewer can display the code behind every trace.
- Names that become path parts (definition, op type, solution) must match ``SAFE_NAME``.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType

from kernel_arena.dataset import Dataset, DatasetError
from kernel_arena.files import atomic_write_text
from kernel_arena.schema import Solution
from kernel_arena.schema.names import SAFE_NAME_RULE, is_safe_name

LOCK_FILE = ".kernel-arena.lock"


def check_name(kind: str, name: str, where: str = "") -> None:
    """DatasetError unless ``name`` is safe to use as a file or folder name."""
    if not is_safe_name(name):
        raise DatasetError(
            f"{where + ': ' if where else ''}{kind} name {name!r} is not allowed: names become file and "
            f"folder names, so they may hold {SAFE_NAME_RULE}"
        )


def check_out_folder(out: Path, ds: Dataset) -> None:
    """DatasetError when ``out`` is the dataset folder or inside it."""
    target, root = Path(out).resolve(), Path(ds.root).resolve()
    if target == root or root in target.parents:
        raise DatasetError(f"--out {out} is inside the dataset {ds.root}; choose a folder outside it")


class RunFolderLock:
    """Exclusive ``flock`` on the run folder for the duration of a run."""

    def __init__(self, out: Path) -> None:
        self.out = Path(out)
        self._fd: int | None = None

    def __enter__(self) -> RunFolderLock:
        import fcntl

        self.out.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.out / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise DatasetError(
                f"another kernel-arena run is writing into {self.out} (it holds {LOCK_FILE}); "
                "wait for it to finish or choose another --out"
            ) from None
        self._fd = fd
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the lock
            self._fd = None


def save_solution_json(out: Path, op_type: str, solution: Solution) -> Path:
    """Store the Solution that runs (atomically) under ``OUT/solutions/``."""
    check_name("op type", op_type)
    check_name("definition", solution.definition)
    check_name("solution", solution.name)
    path = Path(out) / "solutions" / op_type / solution.definition / f"{solution.name}.json"
    atomic_write_text(path, solution.to_json(indent=2) + "\n")
    return path
