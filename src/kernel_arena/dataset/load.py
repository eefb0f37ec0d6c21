"""Loading a dataset folder (or a run view) into an indexed ``Dataset``.

Layout::

    definitions/<op_type>/<name>.json
    workloads/<op_type>/<definition>.jsonl      one trace per line, solution/evaluation null
    solutions/**/<name>.json                    inline Solutions, or authoring folders
    traces/<op_type>/<definition>.jsonl
    blob/**.safetensors

Loading is lenient: a bad file becomes a located ``Problem`` on ``Dataset.problems`` and is
skipped, so one broken file never hides the rest. A folder holding a run manifest
(``run_view.py``) loads as its source dataset plus the run's own files and traces.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from kernel_arena.dataset.model import BUILTIN, Dataset, DatasetError, TraceFileMark
from kernel_arena.dataset.run_view import RUN_MANIFEST, read_run_manifest
from kernel_arena.dataset.solution_folder import (
    SOLUTION_FILE,
    SolutionFolderError,
    is_solution_folder,
    read_solution_folder_json,
)
from kernel_arena.problems import Problem, problems_from_validation_error
from kernel_arena.schema import Definition, Solution, Trace


def builtin_dataset_path() -> Path:
    """Folder of the embedded default dataset (package data)."""
    return Path(__file__).resolve().parent.parent / "builtin" / "dataset"


def resolve_dataset_path(path: str | Path | None) -> Path:
    """``None``/``builtin`` → the embedded dataset; anything else as given."""
    if path is None or str(path) == BUILTIN:
        return builtin_dataset_path()
    return Path(path)


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    # Tens of thousands of freshly validated models (no reference cycles among them) make the
    # cyclic collector rescan a growing heap: pausing it while loading cuts load time ~4x
    # (benchmarks/results/report_scale.md).
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def load_dataset(path: str | Path | None = None) -> Dataset:
    """Load a dataset (or a run view) leniently: bad files become ``problems``."""
    with _gc_paused():
        return _load_dataset(path, ())


def _load_dataset(path: str | Path | None, chain: tuple[Path, ...]) -> Dataset:
    root = resolve_dataset_path(path)
    if not root.is_dir():
        raise DatasetError(f"dataset folder {root} does not exist")
    if root.resolve() in chain:
        cycle = " -> ".join(str(p) for p in (*chain, root.resolve()))
        raise DatasetError(f"run-view manifests form a cycle: {cycle}")
    manifest = root / RUN_MANIFEST
    if manifest.is_file():
        source = read_run_manifest(manifest)
        base = _load_dataset(source, (*chain, root.resolve()))
        view = Dataset(root=base.root, trace_root=root, source=source)
        view.definitions = dict(base.definitions)
        view.workloads = {k: list(v) for k, v in base.workloads.items()}
        view.solutions = dict(base.solutions)
        view.files = dict(base.files)
        view.problems = list(base.problems)
        # A run folder may add its own definitions/solutions on top of the source.
        _load_into(view, root, source_names=set(base.solutions))
        return view
    dataset = Dataset(root=root, trace_root=root)
    _load_into(dataset, root, source_names=set())
    return dataset


def relative_name(root: Path, file: Path) -> str:
    """``file`` relative to the dataset root when it lies inside it, else as given."""
    try:
        return str(file.relative_to(root))
    except ValueError:
        return str(file)


def _load_json(file: Path, root: Path, problems: list[Problem]) -> Any:
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        problems.append(Problem(relative_name(root, file), f"invalid JSON: {exc.msg}", line=exc.lineno))
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(relative_name(root, file), f"cannot read: {exc}"))
    return None


def _load_into(ds: Dataset, root: Path, source_names: set[str]) -> None:
    problems = ds.problems
    for file in sorted((root / "definitions").rglob("*.json")):
        obj = _load_json(file, root, problems)
        if obj is None:
            continue
        try:
            definition = Definition.model_validate(obj)
        except ValidationError as exc:
            problems.extend(problems_from_validation_error(exc, relative_name(root, file)))
            continue
        _register(ds, "definition", definition.name, definition, file, root, set())

    for file in sorted((root / "workloads").rglob("*.jsonl")):
        traces, found, _ = read_trace_file(file, root)
        problems.extend(found)
        for trace in traces:
            if not trace.is_workload:
                problems.append(
                    Problem(
                        relative_name(root, file),
                        "a workload line must have solution and evaluation null",
                        "solution",
                    )
                )
                continue
            ds.workloads.setdefault(trace.definition, []).append(trace.workload)
            ds.files.setdefault(("workloads", trace.definition), file)

    _load_solutions(ds, root, source_names)

    for file in sorted((root / "traces").rglob("*.jsonl")):
        traces, found, ds.trace_marks[file] = read_trace_file(file, root)
        problems.extend(found)
        ds.traces.extend(t for t in traces if not t.is_workload)


def _load_solutions(ds: Dataset, root: Path, source_names: set[str]) -> None:
    problems = ds.problems
    sol_root = root / "solutions"
    if not sol_root.is_dir():
        return
    folders = sorted({p.parent for p in sol_root.rglob(SOLUTION_FILE) if is_solution_folder(p.parent)})
    candidates: list[tuple[Path, Any]] = []
    for folder in folders:
        try:
            candidates.append((folder / SOLUTION_FILE, read_solution_folder_json(folder)))
        except SolutionFolderError as exc:
            problems.append(Problem(relative_name(root, folder / SOLUTION_FILE), str(exc)))
        except OSError as exc:
            problems.append(Problem(relative_name(root, folder / SOLUTION_FILE), f"cannot read: {exc}"))
    for file in sorted(sol_root.rglob("*.json")):
        if any(folder in file.parents or file.parent == folder for folder in folders):
            continue
        obj = _load_json(file, root, problems)
        if obj is not None:
            candidates.append((file, obj))
    for file, obj in candidates:
        try:
            solution = Solution.model_validate(obj)
        except ValidationError as exc:
            problems.extend(problems_from_validation_error(exc, relative_name(root, file)))
            continue
        _register(ds, "solution", solution.name, solution, file, root, source_names)


def _register(
    ds: Dataset, kind: str, name: str, obj: Any, file: Path, root: Path, overridable: set[str]
) -> None:
    """Index a definition or solution; a name seen in another file is a problem, not a replace
    (except names from a run view's source dataset, which the run folder may override)."""
    index: dict[str, Any] = ds.definitions if kind == "definition" else ds.solutions
    if name in index and name not in overridable:
        other = ds.files.get((kind, name))
        where = relative_name(root, other) if other else "the source dataset"
        ds.problems.append(
            Problem(
                relative_name(root, file),
                f"duplicate {kind} name {name!r} (also in {where})",
                "name",
            )
        )
        return
    index[name] = obj
    ds.files[(kind, name)] = file


def read_trace_file(
    file: Path, root: Path, since: TraceFileMark | None = None
) -> tuple[list[Trace], list[Problem], TraceFileMark]:
    """Traces of a JSONL file (all, or only the lines after ``since``), the problems of its bad
    lines, and the new mark. An unterminated last line that does not parse is a torn write: it
    is reported (as a warning) and not consumed, so the next read retries it once completed.
    The caller checks that ``since`` still describes the file (same inode, not shorter)."""
    problems: list[Problem] = []
    start = since.offset if since is not None else 0
    first_line = since.lines if since is not None else 0
    try:
        with open(file, "rb") as handle:
            inode = os.fstat(handle.fileno()).st_ino
            handle.seek(start)
            data = handle.read()
    except OSError as exc:
        problems.append(Problem(relative_name(root, file), f"cannot read: {exc}"))
        return [], problems, since or TraceFileMark(0, 0, 0)
    result = []
    lines = data.split(b"\n")
    consumed, count = len(data), len(lines) - 1
    for i, raw in enumerate(lines):
        lineno = first_line + i + 1
        if not raw.strip():
            continue
        try:
            # Fast path: pydantic-core parses and validates the JSON in one pass.
            result.append(Trace.model_validate_json(raw))
            continue
        except ValidationError:
            pass
        # Slow path, only for bad lines: a precise message (JSON error, torn line, or field).
        torn = i == len(lines) - 1
        try:
            obj = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            what = "torn last line (an interrupted write)" if torn else "invalid JSON"
            problems.append(
                Problem(
                    relative_name(root, file),
                    f"{what}: {exc}",
                    line=lineno,
                    severity="warning" if torn else "error",
                )
            )
            if torn:
                consumed = len(data) - len(raw)
            continue
        try:
            result.append(Trace.model_validate(obj))
        except ValidationError as exc:
            problems.extend(problems_from_validation_error(exc, relative_name(root, file), lineno))
    if lines[-1] and consumed == len(data):
        count += 1
    return result, problems, TraceFileMark(inode, start + consumed, first_line + count)
