"""Build a Solution into a callable inside the current (worker) process.

Sources are written to a private build folder as a package, so both sibling imports
(``from kernel import f``) and relative ones (``from .kernel import f``) work. Declared
dependencies are imported first; a missing one is a BuildError naming the package. Compiled
languages (cuda/cpp with ``binding: torch``) go through ``torch.utils.cpp_extension``.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import re
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kernel_arena.engine.sandbox.tracebacks import solution_traceback
from kernel_arena.schema import Solution

# pip distribution name → import name, where they differ.
IMPORT_NAMES = {
    "flashinfer-python": "flashinfer",
    "flashinfer": "flashinfer",
    "fla-core": "fla",
    "flash-linear-attention": "fla",
    "pytorch": "torch",
    "nvidia-cutlass-dsl": "cutlass",
    "apache-tvm-ffi": "tvm_ffi",
    "cuda-python": "cuda",
}
_REQ = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(.*)$")


class BuildError(Exception):
    """The solution cannot be built; the message is the COMPILE_ERROR log."""


@dataclass
class BuiltSolution:
    """A callable entry point and what was learnt building it."""

    solution: Solution
    fn: Callable[..., Any]
    build_dir: Path
    libs: dict[str, str] = field(default_factory=dict)


def parse_dependency(dep: str) -> tuple[str, str, str]:
    """``'flashinfer-python>=0.6'`` → (distribution, import name, version specifier)."""
    match = _REQ.match(dep)
    if not match:
        raise BuildError(f"dependency {dep!r} is not a package name")
    dist, spec = match.group(1), match.group(2).strip()
    module = IMPORT_NAMES.get(dist.lower(), dist.replace("-", "_").lower())
    return dist, module, spec


def check_dependencies(solution: Solution) -> dict[str, str]:
    """Import every declared dependency; return dist → version. BuildError naming the missing."""
    versions: dict[str, str] = {}
    problems = []
    for dep in solution.spec.dependencies:
        dist, module, spec = parse_dependency(dep)
        try:
            importlib.import_module(module)
        except Exception as exc:  # noqa: BLE001 - ImportError, or a library failing at import
            problems.append(
                f"dependency {dist!r} is not importable (import {module}: {type(exc).__name__}: {exc})"
            )
            continue
        version = _dist_version(dist, module)
        versions[dist] = version
        if spec and version != "unknown":
            try:
                from packaging.specifiers import SpecifierSet

                if version not in SpecifierSet(spec):
                    problems.append(f"dependency {dist!r} is {version}, the solution needs {spec}")
            except ImportError:
                pass
    if problems:
        raise BuildError(
            "\n".join(problems) + "\n(pitfall P17: install the declared packages, or "
            "fix `dependencies` in the solution spec)"
        )
    return versions


def _dist_version(dist: str, module: str) -> str:
    for name in (dist, module):
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    mod = sys.modules.get(module)
    return str(getattr(mod, "__version__", "unknown"))


def write_sources(solution: Solution, root: Path | None = None) -> Path:
    """Write sources under a fresh private folder; returns the package folder."""
    base = Path(tempfile.mkdtemp(prefix="ka-build-", dir=root))
    package = base / package_name(solution)
    package.mkdir()
    resolved = package.resolve()
    for src in solution.sources:
        target = (package / src.path).resolve()
        if resolved not in target.parents:
            raise BuildError(f"source path {src.path!r} leaves the build folder")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(src.content.encode("utf-8"))
    return package


def package_name(solution: Solution) -> str:
    """Import name of the package the sources are built into."""
    digest = hashlib.sha256(solution.to_json().encode()).hexdigest()[:10]
    return f"ka_solution_{digest}"


def build_solution(solution: Solution, build_root: Path | None = None) -> BuiltSolution:
    """Write, import and resolve the entry point. BuildError with a readable log on failure."""
    libs = check_dependencies(solution)
    package = write_sources(solution, build_root)
    language = solution.spec.language
    entry_file = solution.spec.entry_file
    if language in ("cuda", "cpp") and not entry_file.endswith(".py"):
        fn = _build_extension(solution, package)
        return BuiltSolution(solution, fn, package, libs)
    if not entry_file.endswith(".py"):
        raise BuildError(f"entry file {entry_file!r} of a {language} solution must be a .py file")
    # Sibling absolute imports resolve through the package folder on sys.path; relative
    # imports through the package itself.
    for path in (str(package), str(package.parent)):
        if path not in sys.path:
            sys.path.insert(0, path)
    module_name = package.name + "." + entry_file[:-3].replace("/", ".")
    # Another solution built earlier in this process may have left a sibling module of the same
    # name (every vendored kernel is called kernel.py): drop those so this build imports its own,
    # and drop ours afterwards so the next build cannot pick them up either.
    siblings = _sibling_module_names(solution)
    _forget_modules(siblings)
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001 - the import error is the build log
        log = f"importing the entry file {entry_file} failed:\n{solution_traceback(exc, package)}"
        if isinstance(exc, ImportError):
            files = ", ".join(s.path for s in solution.sources)
            log += (
                f"\nsolution files: {files} (pitfall P16: sibling imports must name files among the sources)"
            )
        raise BuildError(log) from None
    finally:
        _forget_modules(siblings)
    fn = getattr(module, solution.spec.entry_function, None)
    if not callable(fn):
        raise BuildError(f"{entry_file} defines no function {solution.spec.entry_function!r}")
    return BuiltSolution(solution, fn, package, libs)


def _sibling_module_names(solution: Solution) -> set[str]:
    names = set()
    for src in solution.sources:
        top = src.path.replace("\\", "/").split("/")[0]
        if top.endswith(".py"):
            top = top[:-3]
        if top.isidentifier():
            names.add(top)
    return names


def _forget_modules(names: set[str]) -> None:
    # Only modules that came from a build folder: a source file called e.g. torch.py must never
    # evict the real torch.
    for name in list(sys.modules):
        if name.split(".")[0] in names:
            file = getattr(sys.modules[name], "__file__", None) or ""
            if "/ka_solution_" in file.replace("\\", "/"):
                del sys.modules[name]


def _build_extension(solution: Solution, package: Path) -> Callable[..., Any]:
    if solution.spec.binding not in (None, "torch"):
        raise BuildError(
            f"binding {solution.spec.binding!r} is not supported yet; use "
            "binding 'torch' (torch.utils.cpp_extension)"
        )
    sources = [
        str(package / s.path) for s in solution.sources if s.path.endswith((".cu", ".cpp", ".cc", ".cxx"))
    ]
    if not sources:
        raise BuildError("a cuda/cpp solution needs .cu/.cpp sources or a .py entry file")
    if any(s.endswith(".cu") for s in sources):
        import torch

        if not torch.cuda.is_available():
            raise BuildError("CUDA sources need a CUDA GPU and nvcc; none is available here")
    try:
        from torch.utils.cpp_extension import load

        module = load(
            name=package.name,
            sources=sources,
            build_directory=str(package),
            extra_include_paths=[str(package)],
            verbose=False,
        )
    except Exception as exc:  # noqa: BLE001 - compiler output is the build log
        raise BuildError(f"compiling {', '.join(Path(s).name for s in sources)} failed:\n{exc}") from None
    fn = getattr(module, solution.spec.entry_function, None)
    if fn is None:
        raise BuildError(f"the compiled module exports no {solution.spec.entry_function!r}")
    return fn
