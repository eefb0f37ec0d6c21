"""The Dataset model: an indexed dataset folder, its lookups and its atomic saves.

Owns ``Dataset`` (definitions, workloads, solutions and traces by name, with the file each came
from, how far each trace file was read and the problems found while loading), ``TraceFileMark``
and ``DatasetError`` (a dataset that cannot be used at all). Loading lives in ``load.py``,
validation in ``validate.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from kernel_arena.files import atomic_write_json, write_jsonl
from kernel_arena.problems import Problem
from kernel_arena.schema import Definition, SafetensorsInput, Solution, Trace, Workload

BUILTIN = "builtin"
"""The name that stands for the embedded default dataset (``--dataset builtin``, run manifests)."""


@dataclass(frozen=True)
class TraceFileMark:
    """How much of a trace file has been read: the file's inode, the bytes read (complete lines;
    a torn last line is left for later) and the lines they hold."""

    inode: int
    offset: int
    lines: int


class DatasetError(Exception):
    """A dataset that cannot be used at all (missing folder, bad manifest, unknown name)."""


@dataclass
class Dataset:
    """An indexed dataset. ``root`` holds the blobs; ``trace_root`` receives traces."""

    root: Path
    trace_root: Path
    definitions: dict[str, Definition] = field(default_factory=dict)
    workloads: dict[str, list[Workload]] = field(default_factory=dict)
    solutions: dict[str, Solution] = field(default_factory=dict)
    traces: list[Trace] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    files: dict[tuple[str, str], Path] = field(default_factory=dict)
    """(kind, name) → file it came from; kind is definition, solution or workloads."""
    source: str | None = None
    """For a run view: the dataset the run came from (``builtin`` or a path)."""
    trace_marks: dict[Path, TraceFileMark] = field(default_factory=dict)
    """Trace file → how much of it ``traces`` holds (lets a viewer read only what was appended)."""

    # --------------------------------------------------------------------- lookups
    def definition(self, name: str) -> Definition:
        """The definition called ``name``; DatasetError listing the known names if absent."""
        try:
            return self.definitions[name]
        except KeyError:
            known = ", ".join(sorted(self.definitions)) or "none"
            raise DatasetError(
                f"no definition named {name!r}{self.load_failure(name, 'definitions')} (known: {known})"
            ) from None

    def solution(self, name: str) -> Solution:
        """The solution called ``name``."""
        try:
            return self.solutions[name]
        except KeyError:
            known = ", ".join(sorted(self.solutions)) or "none"
            raise DatasetError(
                f"no solution named {name!r}{self.load_failure(name, 'solutions')} (known: {known})"
            ) from None

    def load_failure(self, name: str, folder: str = "") -> str:
        """``: <file>:<line> did not load (<why>)`` when a file named like ``name`` (under
        ``folder``: definitions or solutions) failed to load, else empty: appended to "no
        definition named X" so that a typo in X's file is named, not hidden."""
        for problem in self.problems:
            path = Path(problem.file)
            stem = path.parent.name if path.name == "solution.json" else path.stem
            if stem == name and (not folder or folder in path.parts) and problem.severity == "error":
                where = problem.file + (f":{problem.line}" if problem.line is not None else "")
                field = f"{problem.field}: " if problem.field else ""
                return f": {where} did not load ({field}{problem.message})"
        return ""

    def solutions_for(self, definition: str) -> list[Solution]:
        """Solutions of a definition, sorted by name."""
        return sorted(
            (s for s in self.solutions.values() if s.definition == definition),
            key=lambda s: s.name,
        )

    def workloads_for(self, definition: str) -> list[Workload]:
        """Workloads of a definition, in file order."""
        return list(self.workloads.get(definition, []))

    def blob_path(self, spec: SafetensorsInput) -> Path:
        """Absolute path of a safetensors input (paths are relative to the dataset root)."""
        return self.root / spec.relative_path

    # ----------------------------------------------------------------------- saving
    def save_definition(self, definition: Definition, root: Path | None = None) -> Path:
        """Write a definition to ``definitions/<op_type>/<name>.json`` atomically."""
        path = (root or self.root) / "definitions" / definition.op_type / f"{definition.name}.json"
        atomic_write_json(path, definition.to_json_dict())
        self.definitions[definition.name] = definition
        return path

    def save_workloads(self, definition: str, workloads: list[Workload], root: Path | None = None) -> Path:
        """Replace the workload file of ``definition`` atomically."""
        op_type = self.definition(definition).op_type
        path = (root or self.root) / "workloads" / op_type / f"{definition}.jsonl"
        lines = [
            {"definition": definition, "workload": w.to_json_dict(), "solution": None, "evaluation": None}
            for w in workloads
        ]
        write_jsonl(path, lines)
        self.workloads[definition] = list(workloads)
        return path
