"""``kernel-arena check``: static checks of a Solution before anything runs.

Each finding carries a pitfall id (or ``SCHEMA``), the file and line, what is wrong and how to
fix it. Checks: schema; entry file and function exist; parameter names, order and count against
the definition and the call style (P01, P02); assigning to an output parameter instead of writing
it in place (P01); returned values cast to another dtype or returned as transposed views (P12);
sibling imports that resolve to no source file (P16); declared dependencies that do not import
or have the wrong version, and imports of undeclared third-party packages (P17); language vs
file kinds; target hardware vs this machine.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from kernel_arena.problems import Problem, problems_from_validation_error
from kernel_arena.schema import Definition, Solution

_DTYPE_CASTS = {
    "float": "float32",
    "double": "float64",
    "half": "float16",
    "bfloat16": "bfloat16",
    "int": "int32",
    "long": "int64",
    "bool": "bool",
}
_VIEWS = {"t", "transpose", "permute", "T", "mT", "expand", "swapaxes"}


def check_solution_json(
    data: dict[str, Any], definition_lookup: Any, where: str = "solution.json"
) -> list[Problem]:
    """Validate the schema, then run every static check."""
    try:
        solution = Solution.model_validate(data)
    except ValidationError as exc:
        return [replace(p, id="SCHEMA") for p in problems_from_validation_error(exc, where)]
    try:
        definition = definition_lookup(solution.definition)
    except Exception as exc:  # noqa: BLE001 - DatasetError naming known definitions
        return [Problem(id="SCHEMA", severity="error", file=where, message=str(exc))]
    return check_solution(solution, definition)


def check_solution(solution: Solution, definition: Definition) -> list[Problem]:
    """Static findings for a validated solution."""
    findings: list[Problem] = []
    entry = solution.source(solution.spec.entry_file)
    assert entry is not None  # the schema guarantees it
    sources = {s.path: s for s in solution.sources}
    trees: dict[str, ast.Module] = {}
    for path, src in sources.items():
        if path.endswith(".py"):
            try:
                trees[path] = ast.parse(src.content, filename=path)
            except SyntaxError as exc:
                findings.append(
                    Problem(
                        id="SCHEMA",
                        severity="error",
                        file=path,
                        line=exc.lineno,
                        message=f"syntax error: {exc.msg}",
                    )
                )
    findings += _check_language(solution)
    findings += _check_dependencies(solution)
    findings += _check_targets(solution)
    tree = trees.get(entry.path)
    if tree is not None:
        findings += _check_entry(solution, definition, tree, entry.path)
    for path, t in trees.items():
        findings += _check_imports(solution, path, t)
    return findings


def _check_language(solution: Solution) -> list[Problem]:
    out = []
    kinds = {Path(s.path).suffix for s in solution.sources}
    lang = solution.spec.language
    if lang in ("python", "triton") and kinds & {".cu", ".cpp", ".cc", ".cuh"}:
        out.append(
            Problem(
                id="SCHEMA",
                severity="warning",
                file="solution.json",
                message=f"language is {lang} but the sources include C++/CUDA files",
                hint="set spec.language to cuda or cpp (binding torch)",
            )
        )
    if lang == "triton" and not any("triton" in s.content for s in solution.sources):
        out.append(
            Problem(
                id="SCHEMA",
                severity="warning",
                file="solution.json",
                message="language is triton but no source imports triton",
            )
        )
    if (
        lang in ("cuda", "cpp")
        and not kinds & {".cu", ".cpp", ".cc"}
        and not solution.spec.entry_file.endswith(".py")
    ):
        out.append(
            Problem(
                id="SCHEMA",
                severity="error",
                file="solution.json",
                message=f"a {lang} solution has no .cu/.cpp source",
            )
        )
    return out


def _check_dependencies(solution: Solution) -> list[Problem]:
    from kernel_arena.engine.sandbox.build import _dist_version, parse_dependency

    out = []
    for dep in solution.spec.dependencies:
        dist, module, spec = parse_dependency(dep)
        if importlib.util.find_spec(module) is None:
            out.append(
                Problem(
                    id="P17",
                    severity="error",
                    file="solution.json",
                    message=f"declared dependency {dist!r} is not installed (no module {module!r})",
                    hint=f"pip install {dist}, or remove it from spec.dependencies",
                )
            )
            continue
        version = _dist_version(dist, module)
        if spec and version != "unknown":
            try:
                from packaging.specifiers import SpecifierSet

                if version not in SpecifierSet(spec):
                    out.append(
                        Problem(
                            id="P17",
                            severity="error",
                            file="solution.json",
                            message=f"{dist} {version} is installed; the solution needs {spec}",
                            hint=f"pip install '{dist}{spec}'",
                        )
                    )
            except ImportError:
                pass
    return out


def _check_targets(solution: Solution) -> list[Problem]:
    from kernel_arena.measure.environment import default_device, hardware_name, targets_device

    device = default_device()
    hw = hardware_name(device) if device != "cpu" else None
    if targets_device(solution.spec.target_hardware, device, hw):
        return []
    return [
        Problem(
            id="TARGET",
            severity="warning",
            file="solution.json",
            message=f"target_hardware {solution.spec.target_hardware} does not include this machine "
            f"({device}); a run here skips the solution",
            hint="add 'cpu' to target_hardware if it runs on CPU (Triton runs through the interpreter)",
        )
    ]


def _entry_function(tree: ast.Module, name: str) -> ast.FunctionDef | None:
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return node
    return None


def _check_entry(solution: Solution, definition: Definition, tree: ast.Module, path: str) -> list[Problem]:
    name = solution.spec.entry_function
    fn = _entry_function(tree, name)
    if fn is None:
        assigned = any(
            isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in n.targets)
            for n in tree.body
        )
        if assigned:
            return []  # defined by assignment (e.g. run = _impl); cannot check statically
        return [
            Problem(
                id="SCHEMA",
                severity="error",
                file=path,
                message=f"{path} defines no function {name!r}",
                hint=f"define def {name}(...) or fix spec.entry_point",
            )
        ]
    out: list[Problem] = []
    dps = solution.spec.destination_passing_style
    params = [a.arg for a in fn.args.posonlyargs + fn.args.args]
    has_varargs = fn.args.vararg is not None
    inputs, outputs = list(definition.inputs), list(definition.outputs)
    expected = inputs + (outputs if dps else [])
    if not has_varargs and len(params) != len(expected):
        other = inputs + ([] if dps else outputs)
        if len(params) == len(other) and [p for p in params] == other:
            style = "destination-passing" if dps else "value-returning"
            out.append(
                Problem(
                    id="P01",
                    severity="error",
                    file=path,
                    line=fn.lineno,
                    message=f"{name} takes {len(params)} parameters {params}, but the solution is {style}: "
                    f"it is called with {len(expected)} ({', '.join(expected)})",
                    hint="add the outputs as trailing parameters and write them in place"
                    if dps
                    else "set destination_passing_style: true, or drop the output parameters",
                )
            )
        else:
            out.append(
                Problem(
                    id="P01",
                    severity="error",
                    file=path,
                    line=fn.lineno,
                    message=f"{name} takes {len(params)} parameters, the definition passes {len(expected)} "
                    f"({', '.join(expected)})",
                    hint=f"use the signature def {name}({', '.join(expected)})",
                )
            )
    elif not has_varargs and params != expected:
        if sorted(params) == sorted(expected):
            out.append(
                Problem(
                    id="P02",
                    severity="error",
                    file=path,
                    line=fn.lineno,
                    message=f"parameters {params} are the definition's names in another order; "
                    f"arguments are passed positionally in order {expected}",
                    hint=f"reorder: def {name}({', '.join(expected)})",
                )
            )
        else:
            diff = [f"{p!r} (expected {e!r})" for p, e in zip(params, expected) if p != e]
            out.append(
                Problem(
                    id="P02",
                    severity="warning",
                    file=path,
                    line=fn.lineno,
                    message=f"parameter names differ from the definition: {', '.join(diff)}",
                    hint="name parameters after the definition's inputs/outputs, in order",
                )
            )
    if dps and not has_varargs:
        out_params = params[len(inputs) :]
        for node in ast.walk(fn):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name) and target.id in out_params:
                        out.append(
                            Problem(
                                id="P01",
                                severity="error",
                                file=path,
                                line=node.lineno,
                                message=f"assigning to output parameter {target.id!r} rebinds the "
                                "name; the caller's buffer is never written",
                                hint=f"write in place: {target.id}.copy_(...)",
                            )
                        )
    if not dps:
        out += _check_returns(fn, definition, path)
    return out


def _check_returns(fn: ast.FunctionDef, definition: Definition, path: str) -> list[Problem]:
    out = []
    outputs = list(definition.outputs.items())
    for node in ast.walk(fn):
        if not isinstance(node, ast.Return) or node.value is None:
            continue
        values = node.value.elts if isinstance(node.value, ast.Tuple) else [node.value]
        for (name, spec), value in zip(outputs, values):
            cast = _final_cast(value)
            if cast and cast != spec.dtype:
                out.append(
                    Problem(
                        id="P12",
                        severity="error",
                        file=path,
                        line=node.lineno,
                        message=f"output {name!r} is returned as {cast}; "
                        f"the definition declares {spec.dtype}",
                        hint=f"return it as {spec.dtype} (e.g. .to(torch.{spec.dtype}))",
                    )
                )
            if _final_view(value):
                out.append(
                    Problem(
                        id="P12",
                        severity="warning",
                        file=path,
                        line=node.lineno,
                        message=f"output {name!r} is returned as a transposed/expanded view (non-contiguous)",
                        hint="append .contiguous()",
                    )
                )
    return out


def _final_cast(value: ast.expr) -> str | None:
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute):
        attr = value.func.attr
        if attr in _DTYPE_CASTS and not value.args:
            return _DTYPE_CASTS[attr]
        if attr == "to":
            for arg in list(value.args) + [k.value for k in value.keywords if k.arg == "dtype"]:
                if (
                    isinstance(arg, ast.Attribute)
                    and isinstance(arg.value, ast.Name)
                    and arg.value.id == "torch"
                ):
                    return {"float": "float32", "half": "float16", "double": "float64"}.get(
                        arg.attr, arg.attr
                    )
    return None


def _final_view(value: ast.expr) -> bool:
    if isinstance(value, ast.Attribute) and value.attr in {"T", "mT"}:
        return True
    return isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr in _VIEWS


def _check_imports(solution: Solution, path: str, tree: ast.Module) -> list[Problem]:
    from kernel_arena.engine.sandbox.build import parse_dependency

    out = []
    local = set()
    for src in solution.sources:
        first = src.path.split("/")[0]
        local.add(first[:-3] if first.endswith(".py") else first)
        parts = src.path[:-3].split("/") if src.path.endswith(".py") else []
        if len(parts) > 1:
            local.add(parts[-1])
    declared = {parse_dependency(d)[1] for d in solution.spec.dependencies}
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name.split(".")[0] for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module.split(".")[0]]
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            target = (node.module or "").split(".")[0]
            base = Path(path).parent
            rel = (base / target).as_posix().lstrip("./") if target else None
            if rel and not any(
                s.path in (f"{rel}.py", f"{rel}/__init__.py") or s.path.startswith(rel + "/")
                for s in solution.sources
            ):
                out.append(
                    Problem(
                        id="P16",
                        severity="error",
                        file=path,
                        line=node.lineno,
                        message=f"relative import of {target!r} resolves to no source file",
                        hint=f"add {rel}.py to the sources, or fix the import",
                    )
                )
            continue
        for name in names:
            if name in local or name in sys.stdlib_module_names or name in declared:
                continue
            if importlib.util.find_spec(name) is None:
                out.append(
                    Problem(
                        id="P16",
                        severity="error",
                        file=path,
                        line=node.lineno,
                        message=f"import {name!r} is neither a source file of the solution "
                        f"({', '.join(sorted(s.path for s in solution.sources))}) nor "
                        "an installed package",
                        hint=f"add {name}.py beside {path}, or declare the package",
                    )
                )
            elif name not in {"torch", "numpy", "triton", "math"}:
                out.append(
                    Problem(
                        id="P17",
                        severity="warning",
                        file=path,
                        line=node.lineno,
                        message=f"imports third-party package {name!r} "
                        "that spec.dependencies does not declare",
                        hint=f"add {name!r} to spec.dependencies",
                    )
                )
    return out
