"""Validation of a dataset: every problem, never only the first.

Per-file schema errors come from loading; on top of them this checks what spans files:
solutions and workloads naming a known definition, unique workload uuids, workload axes and
inputs against their definition, blob files that exist, constraint names, and definition files
under the folder of their op type.
"""

from __future__ import annotations

import ast
from pathlib import Path

from kernel_arena.dataset.load import load_dataset, relative_name
from kernel_arena.dataset.model import Dataset
from kernel_arena.problems import Problem
from kernel_arena.schema import Definition, SafetensorsInput, ScalarInput, Workload
from kernel_arena.schema.names import SAFE_NAME_RULE, is_safe_name

MISSING_BLOB = "missing_blob"
"""``Problem.kind`` of a workload input whose safetensors file does not exist."""
PROBLEM_KINDS = {MISSING_BLOB: "missing blob file"}
"""``Problem.kind`` → what one problem of that kind is called when counting them."""
SYNTHESIZE_HINT = (
    "the missing blobs hold page tables: run or try with --synthesize-missing to synthesize "
    "valid ones instead"
)


def validate_dataset(path: str | Path | None = None) -> list[Problem]:
    """Every problem of a dataset: per-file schema errors plus cross-file consistency."""
    ds = load_dataset(path)
    problems = list(ds.problems)
    root = ds.root

    for (kind, name), file in ds.files.items():
        if kind == "definition":
            problems.extend(_check_definition_file(ds.definitions[name], file, root))
            definition = ds.definitions[name]
            for label, value in (("name", definition.name), ("op_type", definition.op_type)):
                if not is_safe_name(value):
                    problems.append(_unsafe(relative_name(root, file), label, value))
        elif kind == "solution" and not is_safe_name(name):
            problems.append(_unsafe(relative_name(root, file), "name", name))

    for sol in ds.solutions.values():
        file = relative_name(root, ds.files[("solution", sol.name)])
        if sol.definition not in ds.definitions:
            problems.append(
                Problem(file, f"definition {sol.definition!r} is not in the dataset", "definition")
            )

    seen_uuids: dict[str, str] = {}
    for def_name, workloads in ds.workloads.items():
        file = relative_name(root, ds.files[("workloads", def_name)])
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


def _unsafe(file: str, field: str, value: str) -> Problem:
    """A name that cannot become a file or folder name (``run`` refuses it)."""
    return Problem(file, f"{field} {value!r} cannot be used as a file name: use {SAFE_NAME_RULE}", field)


def _check_definition_file(definition: Definition, file: Path, root: Path) -> list[Problem]:
    problems = []
    expected_dir = file.parent.name
    if expected_dir != definition.op_type and file.parent.parent.name == "definitions":
        problems.append(
            Problem(
                relative_name(root, file),
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
                        relative_name(root, file),
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
    missing: dict[str, list[str]] = {}
    for name, spec in wl.inputs.items():
        loc = f"{where}.inputs.{name}"
        tensor = definition.inputs.get(name)
        if tensor is None:
            problems.append(Problem(file, f"{name!r} is not an input of {definition.name}", loc))
            continue
        if isinstance(spec, ScalarInput) and tensor.shape is not None:
            problems.append(Problem(file, "a scalar value given for a tensor input", loc))
        if isinstance(spec, SafetensorsInput) and not ds.blob_path(spec).is_file():
            missing.setdefault(spec.path, []).append(name)
    page_tables = {name for pair in definition.page_tables() for name in pair}
    for path, names in missing.items():
        synthesizable = set(names) <= page_tables
        problems.append(
            Problem(
                file,
                f"blob file {path} does not exist (input{'s' if len(names) > 1 else ''} {', '.join(names)})",
                f"{where}.inputs",
                hint=SYNTHESIZE_HINT if synthesizable else "",
                kind=MISSING_BLOB,
            )
        )
    return problems
