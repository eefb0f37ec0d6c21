"""The authoring-folder form of a Solution, and its conversion to and from the inline form.

An authoring folder holds ``solution.json`` (a Solution whose ``sources`` list only paths, or
omits ``sources`` to mean every file in the folder) beside real source files. ``pack_solution``
embeds the files into an inline Solution; ``unpack_solution`` writes them out. Source bytes
round-trip exactly. Paths that would leave the folder (absolute, ``..``, symlinks pointing
outside) are refused. This is data-layer format: the ``pack``/``unpack`` commands
(``authoring/pack.py``) and the dataset loader both build on it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kernel_arena.files import atomic_write_bytes, atomic_write_json
from kernel_arena.schema import Solution

SOLUTION_FILE = "solution.json"
_SKIP_DIRS = {"__pycache__", ".git", ".pytest_cache", ".ruff_cache", ".mypy_cache"}


class SolutionFolderError(ValueError):
    """An authoring folder that cannot be read; the message names the file."""


def is_solution_folder(path: Path) -> bool:
    """True when ``path`` is a folder with a ``solution.json``."""
    return Path(path).is_dir() and (Path(path) / SOLUTION_FILE).is_file()


def _discover_sources(folder: Path) -> list[str]:
    found = []
    for file in sorted(folder.rglob("*")):
        rel = file.relative_to(folder)
        if any(part in _SKIP_DIRS or part.startswith(".") for part in rel.parts):
            continue
        if file.is_file() and rel.as_posix() != SOLUTION_FILE and file.suffix != ".pyc":
            found.append(rel.as_posix())
    return found


def _read_inside(folder: Path, rel: str) -> str:
    target = folder / rel
    resolved_root = folder.resolve()
    try:
        resolved = target.resolve(strict=True)
    except FileNotFoundError:
        raise SolutionFolderError(
            f"{folder / SOLUTION_FILE}: sources lists {rel!r}, but {target} does not exist"
        ) from None
    if resolved_root not in resolved.parents:
        raise SolutionFolderError(
            f"{target}: source {rel!r} resolves to {resolved}, outside the solution folder"
        )
    try:
        return resolved.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise SolutionFolderError(f"{target}: source file is not UTF-8 text") from None


def read_solution_folder_json(folder: Path) -> dict[str, Any]:
    """The inline Solution JSON object of an authoring folder (not yet validated)."""
    folder = Path(folder)
    meta_path = folder / SOLUTION_FILE
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise SolutionFolderError(f"{meta_path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    if not isinstance(meta, dict):
        raise SolutionFolderError(f"{meta_path}: expected a JSON object")
    listed = meta.get("sources")
    if listed is None:
        paths = _discover_sources(folder)
    elif isinstance(listed, list):
        paths = []
        for i, entry in enumerate(listed):
            path = entry.get("path") if isinstance(entry, dict) else entry
            if not isinstance(path, str) or not path:
                raise SolutionFolderError(f"{meta_path}: sources[{i}]: expected a file path")
            paths.append(path)
    else:
        raise SolutionFolderError(f"{meta_path}: sources: expected a list of paths")
    sources = []
    for rel in paths:
        if rel.startswith("/") or ".." in rel.replace("\\", "/").split("/"):
            raise SolutionFolderError(f"{meta_path}: source path {rel!r} leaves the folder")
        sources.append({"path": rel, "content": _read_inside(folder, rel)})
    packed = dict(meta)
    packed["sources"] = sources
    return packed


def pack_solution(folder: Path) -> Solution:
    """Read an authoring folder into a validated Solution."""
    return Solution.model_validate(read_solution_folder_json(folder))


def unpack_solution(solution: Solution, folder: Path, overwrite: bool = False) -> Path:
    """Write a Solution out as an authoring folder; returns the folder."""
    folder = Path(folder)
    if folder.exists() and any(folder.iterdir()) and not overwrite:
        raise SolutionFolderError(f"{folder}: folder exists and is not empty (use --force)")
    meta = solution.to_json_dict()
    meta["sources"] = [{"path": s.path} for s in solution.sources]
    for src in solution.sources:
        atomic_write_bytes(folder / src.path, src.content.encode("utf-8"))
    atomic_write_json(folder / SOLUTION_FILE, meta)
    return folder
