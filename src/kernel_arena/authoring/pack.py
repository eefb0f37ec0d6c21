"""``kernel-arena pack`` / ``unpack``, and the Solution argument of ``check``.

The folder format itself (``solution.json`` + real source files, folder ↔ inline Solution) is
data-layer code in ``kernel_arena.dataset.solution_folder``; this module is the command-level
part: which argument forms are accepted and how a failure reads as one line naming the file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from kernel_arena.dataset.solution_folder import (
    SOLUTION_FILE,
    SolutionFolderError,
    is_solution_folder,
    pack_solution,
    read_solution_folder_json,
    unpack_solution,
)
from kernel_arena.schema import Solution


class PackError(ValueError):
    """A pack, unpack or read that failed; the message is one line naming the file."""


def pack_folder_json(folder: Path) -> str:
    """The inline Solution JSON text (indented, newline-terminated) of an authoring folder."""
    try:
        solution = pack_solution(folder)
    except (SolutionFolderError, OSError) as exc:
        raise PackError(str(exc)) from None
    except ValidationError as exc:
        raise PackError(f"{folder / SOLUTION_FILE}: {exc.errors(include_url=False)[0]['msg']}") from None
    return solution.to_json(indent=2) + "\n"


def unpack_json_file(solution_file: Path, folder: Path, force: bool = False) -> Solution:
    """Write the inline Solution JSON file ``solution_file`` out as the authoring folder ``folder``."""
    try:
        solution = Solution.model_validate_json(solution_file.read_text(encoding="utf-8"))
        unpack_solution(solution, folder, overwrite=force)
    except (SolutionFolderError, OSError) as exc:
        raise PackError(str(exc)) from None
    except ValidationError as exc:
        raise PackError(f"{solution_file}: {exc.errors(include_url=False)[0]['msg']}") from None
    return solution


def read_solution_arg(arg: str) -> tuple[dict[str, Any], str]:
    """The (not yet validated) Solution JSON object named by a command argument, and its file.

    ``arg`` is an authoring folder or an inline Solution JSON file.
    """
    path = Path(arg)
    try:
        if is_solution_folder(path):
            return read_solution_folder_json(path), str(path / SOLUTION_FILE)
        if path.is_file():
            return json.loads(path.read_text(encoding="utf-8")), str(path)
    except (SolutionFolderError, json.JSONDecodeError, OSError) as exc:
        raise PackError(str(exc)) from None
    raise PackError(f"{arg}: not an authoring folder (with solution.json) or a Solution JSON file")
