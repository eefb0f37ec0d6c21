"""Dataset: a folder in the FlashInfer-Trace layout — load, index, validate, save.

Layout::

    definitions/<op_type>/<name>.json
    workloads/<op_type>/<definition>.jsonl      one trace per line, solution/evaluation null
    solutions/**/<name>.json                    inline Solutions, or authoring folders
    traces/<op_type>/<definition>.jsonl
    blob/**.safetensors

A run's output folder is a *view*: its ``kernel-arena-run.json`` names the dataset it came
from, whose definitions, workloads and solutions are shown together with the run's traces.

Loading is lenient (bad files become Problems and are skipped); ``validate_dataset`` collects
every problem, never only the first. Writes are atomic.
"""

from __future__ import annotations

import ast
import contextlib
import gc
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from kernel_arena.authoring.pack import (
    SOLUTION_FILE,
    SolutionFolderError,
    is_solution_folder,
    read_solution_folder_json,
)
from kernel_arena.files import atomic_write_json, write_jsonl
from kernel_arena.problems import Problem, problems_from_validation_error
from kernel_arena.schema import (
    Definition,
    SafetensorsInput,
    ScalarInput,
    Solution,
    Trace,
    Workload,
)

RUN_MANIFEST = "kernel-arena-run.json"
BUILTIN = "builtin"


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

    # --------------------------------------------------------------------- lookups
    def definition(self, name: str) -> Definition:
        """The definition called ``name``; DatasetError listing the known names if absent."""
        try:
            return self.definitions[name]
        except KeyError:
            known = ", ".join(sorted(self.definitions)) or "none"
            raise DatasetError(f"no definition named {name!r} (known: {known})") from None

    def solution(self, name: str) -> Solution:
        """The solution called ``name``."""
        try:
            return self.solutions[name]
        except KeyError:
            known = ", ".join(sorted(self.solutions)) or "none"
            raise DatasetError(f"no solution named {name!r} (known: {known})") from None

    def solutions_for(self, definition: str) -> list[Solution]:
        """Solutions of a definition, sorted by name."""
        return sorted(
            (s for s in self.solutions.values() if s.definition == definition),
            key=lambda s: s.name,
        )

    def workloads_for(self, definition: str) -> list[Workload]:
        """Workloads of a definition, in file order."""
        return list(self.workloads.get(definition, []))

    def traces_for(self, definition: str) -> list[Trace]:
        """Evaluation traces of a definition."""
        return [t for t in self.traces if t.definition == definition]

    def blob_path(self, spec: SafetensorsInput) -> Path:
        """Absolute path of a safetensors input (paths are relative to the dataset root)."""
        rel = spec.path[2:] if spec.path.startswith("./") else spec.path
        return self.root / rel

    @property
    def errors(self) -> list[Problem]:
        """Problems of severity ``error``."""
        return [p for p in self.problems if p.severity == "error"]

    # ----------------------------------------------------------------------- saving
    def save_definition(self, definition: Definition, root: Path | None = None) -> Path:
        """Write a definition to ``definitions/<op_type>/<name>.json`` atomically."""
        path = (root or self.root) / "definitions" / definition.op_type / f"{definition.name}.json"
        atomic_write_json(path, definition.to_json_dict())
        self.definitions[definition.name] = definition
        return path

    def save_solution(self, solution: Solution, root: Path | None = None) -> Path:
        """Write an inline solution to ``solutions/<op_type>/<definition>/<name>.json``."""
        op_type = self.definition(solution.definition).op_type
        path = (root or self.root) / "solutions" / op_type / solution.definition / f"{solution.name}.json"
        atomic_write_json(path, solution.to_json_dict())
        self.solutions[solution.name] = solution
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


# ============================================================================ loading
def builtin_dataset_path() -> Path:
    """Folder of the embedded default dataset (package data)."""
    return Path(__file__).resolve().parent / "builtin" / "dataset"


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
        return _load_dataset(path)


def _load_dataset(path: str | Path | None) -> Dataset:
    root = resolve_dataset_path(path)
    if not root.is_dir():
        raise DatasetError(f"dataset folder {root} does not exist")
    manifest = root / RUN_MANIFEST
    if manifest.is_file():
        source = _read_manifest(manifest)
        base = _load_dataset(source)
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


def _read_manifest(path: Path) -> str:
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
        previous = _read_manifest(manifest)
        prev_norm = previous if previous == BUILTIN else str(Path(previous).resolve())
        if prev_norm != src:
            raise DatasetError(
                f"{out} already holds a run of dataset {previous}; use another --out for {src}"
            )
        return
    atomic_write_json(manifest, {"source_dataset": src, "format": "kernel-arena-run/1"})


def _rel(root: Path, file: Path) -> str:
    try:
        return str(file.relative_to(root))
    except ValueError:
        return str(file)


def _load_json(file: Path, root: Path, problems: list[Problem]) -> Any:
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        problems.append(Problem(_rel(root, file), f"invalid JSON: {exc.msg}", line=exc.lineno))
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(_rel(root, file), f"cannot read: {exc}"))
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
            problems.extend(problems_from_validation_error(exc, _rel(root, file)))
            continue
        _register(ds, "definition", definition.name, definition, file, root, set())

    for file in sorted((root / "workloads").rglob("*.jsonl")):
        for trace in _load_trace_lines(file, root, problems):
            if not trace.is_workload:
                problems.append(
                    Problem(
                        _rel(root, file),
                        "a workload line must have solution and evaluation null",
                        "solution",
                    )
                )
                continue
            ds.workloads.setdefault(trace.definition, []).append(trace.workload)
            ds.files.setdefault(("workloads", trace.definition), file)

    _load_solutions(ds, root, source_names)

    for file in sorted((root / "traces").rglob("*.jsonl")):
        for trace in _load_trace_lines(file, root, problems):
            if trace.is_workload:
                continue
            ds.traces.append(trace)


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
            problems.append(Problem(_rel(root, folder / SOLUTION_FILE), str(exc)))
        except OSError as exc:
            problems.append(Problem(_rel(root, folder / SOLUTION_FILE), f"cannot read: {exc}"))
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
            problems.extend(problems_from_validation_error(exc, _rel(root, file)))
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
        where = _rel(root, other) if other else "the source dataset"
        ds.problems.append(
            Problem(
                _rel(root, file),
                f"duplicate {kind} name {name!r} (also in {where})",
                "name",
            )
        )
        return
    index[name] = obj
    ds.files[(kind, name)] = file


def _load_trace_lines(file: Path, root: Path, problems: list[Problem]) -> list[Trace]:
    result = []
    try:
        data = file.read_bytes()
    except OSError as exc:
        problems.append(Problem(_rel(root, file), f"cannot read: {exc}"))
        return result
    lines = data.split(b"\n")
    for i, raw in enumerate(lines):
        if not raw.strip():
            continue
        try:
            # Fast path: pydantic-core parses and validates the JSON in one pass.
            result.append(Trace.model_validate_json(raw))
            continue
        except ValidationError:
            pass
        # Slow path, only for bad lines: a precise message (JSON error, torn line, or field).
        torn = i == len(lines) - 1 and not data.endswith(b"\n")
        try:
            obj = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            what = "torn last line (an interrupted write)" if torn else "invalid JSON"
            problems.append(
                Problem(
                    _rel(root, file), f"{what}: {exc}", line=i + 1, severity="warning" if torn else "error"
                )
            )
            continue
        try:
            result.append(Trace.model_validate(obj))
        except ValidationError as exc:
            problems.extend(problems_from_validation_error(exc, _rel(root, file), i + 1))
    return result


# ========================================================================= validation
def validate_dataset(path: str | Path | None = None) -> list[Problem]:
    """Every problem of a dataset: per-file schema errors plus cross-file consistency."""
    ds = load_dataset(path)
    problems = list(ds.problems)
    root = ds.root

    for (kind, name), file in ds.files.items():
        if kind == "definition":
            problems.extend(_check_definition_file(ds.definitions[name], file, root))

    for sol in ds.solutions.values():
        file = _rel(root, ds.files[("solution", sol.name)])
        if sol.definition not in ds.definitions:
            problems.append(
                Problem(file, f"definition {sol.definition!r} is not in the dataset", "definition")
            )

    seen_uuids: dict[str, str] = {}
    for def_name, workloads in ds.workloads.items():
        file = _rel(root, ds.files[("workloads", def_name)])
        definition = ds.definitions.get(def_name)
        if definition is None:
            problems.append(Problem(file, f"definition {def_name!r} is not in the dataset", "definition"))
            continue
        for i, wl in enumerate(workloads):
            where = f"workload[{i}] {wl.uuid}"
            if wl.uuid in seen_uuids:
                problems.append(
                    Problem(
                        file,
                        f"duplicate workload uuid {wl.uuid!r} (also for {seen_uuids[wl.uuid]})",
                        f"{where}.uuid",
                    )
                )
            seen_uuids[wl.uuid] = def_name
            problems.extend(_check_workload(definition, wl, ds, file, where))

    for trace in ds.traces:
        if trace.definition not in ds.definitions:
            problems.append(
                Problem(
                    str(ds.trace_root / "traces"),
                    f"trace of unknown definition {trace.definition!r}",
                    "definition",
                    severity="warning",
                )
            )
    return problems


def _check_definition_file(definition: Definition, file: Path, root: Path) -> list[Problem]:
    problems = []
    expected_dir = file.parent.name
    if expected_dir != definition.op_type and file.parent.parent.name == "definitions":
        problems.append(
            Problem(
                _rel(root, file),
                f"file is under definitions/{expected_dir}/ but op_type is {definition.op_type!r}",
                "op_type",
                severity="warning",
            )
        )
    names = set(definition.axes) | set(definition.inputs)
    for i, expr in enumerate(definition.constraints or []):
        for node in ast.walk(ast.parse(expr, mode="eval")):
            if isinstance(node, ast.Name) and node.id not in names and node.id not in _BUILTINS:
                problems.append(
                    Problem(
                        _rel(root, file),
                        f"constraint {expr!r} uses {node.id!r}, which is neither an axis nor an input",
                        f"constraints[{i}]",
                    )
                )
    return problems


_BUILTINS = {"len", "int", "min", "max", "abs", "sum", "True", "False", "None", "math"}


def _check_workload(
    definition: Definition, wl: Workload, ds: Dataset, file: str, where: str
) -> list[Problem]:
    problems = []
    var_axes = set(definition.var_axes)
    for axis in var_axes - set(wl.axes):
        problems.append(Problem(file, f"variable axis {axis!r} has no value", f"{where}.axes"))
    for axis in set(wl.axes) - var_axes:
        kind = "a constant" if axis in definition.axes else "not an axis"
        problems.append(
            Problem(file, f"axis {axis!r} is {kind} of {definition.name}", f"{where}.axes.{axis}")
        )
    for name, tensor_spec in definition.inputs.items():
        if name not in wl.inputs and not tensor_spec.optional:
            problems.append(Problem(file, f"input {name!r} has no spec", f"{where}.inputs"))
    for name, spec in wl.inputs.items():
        loc = f"{where}.inputs.{name}"
        tensor = definition.inputs.get(name)
        if tensor is None:
            problems.append(Problem(file, f"{name!r} is not an input of {definition.name}", loc))
            continue
        if isinstance(spec, ScalarInput) and tensor.shape is not None:
            problems.append(Problem(file, "a scalar value given for a tensor input", loc))
        if isinstance(spec, SafetensorsInput):
            blob = ds.blob_path(spec)
            if not blob.is_file():
                problems.append(
                    Problem(file, f"blob file {spec.path} does not exist (looked at {blob})", f"{loc}.path")
                )
    return problems
