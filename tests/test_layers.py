"""Import layering of kernel_arena: imports point down the layers only, no cycles between the
package's units, and report and web never import torch.

Every module under ``src/kernel_arena`` is read with ``ast``, never imported. Every import
statement counts: at module level, inside functions and under ``if TYPE_CHECKING`` alike;
``from . import x`` and other relative imports are resolved against the module's package.
Imports by name at run time (``importlib.import_module``) are not seen. The embedded dataset's
solution sources (``builtin/dataset/**``) are data that the sandbox runs, not modules of the
package, and are skipped.

A *unit* is a top-level module or subpackage of ``kernel_arena``. Layers, lowest first::

    0  schema, files, problems          pure data and file primitives (leaf modules)
       builtin.references               pure reference code (see below)
    1  dataset, traces
    2  measure
    3  diagnose
    4  engine
    5  authoring, report, web, builtin
    6  cli

A module may import from its own unit and from lower layers; from another unit of its own layer
only where ``SAME_LAYER`` lists the pair.

``builtin``: nothing in the package imports ``kernel_arena.builtin`` (the embedded dataset is
read as files, through ``dataset.builtin_dataset_path``), and ``builtin/generate.py`` is a script
that reads ``references/`` as text; so ``builtin`` sits in layer 5 with the other consumers.
Its ``references`` modules are the op specs written as code: anything may import them (a test,
a benchmark, the engine calling a reference directly), so they form a unit of their own in
layer 0, which also means they may import nothing of kernel_arena but layer 0.

``kernel_arena/__init__.py`` is the public API facade: it may import anything (lazily, inside
its functions), and it is not followed when tracing what a module drags in, since importing a
submodule never runs the facade's function bodies. Importing the facade from inside the package
counts as importing the top layer.

Each violation prints as ``module -> imported (layer a -> layer b)``.
"""

from __future__ import annotations

import ast
from collections import deque
from functools import cache
from pathlib import Path

import kernel_arena

PACKAGE = "kernel_arena"
SRC = Path(kernel_arena.__file__).resolve().parent
SKIPPED = ("builtin/dataset/",)
"""Folders of data, not modules (solution sources of the embedded dataset)."""

LAYERS: dict[str, int] = {
    "schema": 0,
    "files": 0,
    "problems": 0,
    "builtin.references": 0,
    "dataset": 1,
    "traces": 1,
    "measure": 2,
    "diagnose": 3,
    "engine": 4,
    "authoring": 5,
    "report": 5,
    "web": 5,
    "builtin": 5,
    "cli": 6,
}
FACADE = "<facade>"
FACADE_LAYER = max(LAYERS.values()) + 1

SAME_LAYER: set[tuple[str, str]] = {
    ("web", "report"),  # the viewer serves report's leaderboards, fast_p series and charts
}
"""(importing unit, imported unit) pairs of one layer that are allowed."""

KNOWN_VIOLATIONS: set[tuple[str, str]] = set()
"""(module, imported module) pairs that break the rules today and are tolerated until fixed.
Being removed by the engine split: entries here are upward imports inside engine/measure/diagnose;
this test fails once an entry no longer occurs, so the set only shrinks."""

TORCH_FREE = ("report", "web")
"""Units that must not import torch, directly or through any kernel_arena module."""


# ----------------------------------------------------------------------------- the import graph
def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def _modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package."""
    return {
        _module_name(path): path
        for path in sorted(SRC.rglob("*.py"))
        if not any(skip in path.relative_to(SRC).as_posix() for skip in SKIPPED)
    }


def _resolve(name: str) -> str | None:
    """The kernel_arena module an imported dotted name loads (``torch`` for torch), else None."""
    if name == "torch" or name.startswith("torch."):
        return "torch"
    if name != PACKAGE and not name.startswith(PACKAGE + "."):
        return None
    modules = _modules()
    while name not in modules:
        name = name.rpartition(".")[0]
    return name


def _imports_in(source: str, module: str, is_package: bool) -> set[str]:
    """The kernel_arena modules (and ``torch``) that the code ``source`` of ``module`` imports."""
    modules = _modules()
    package = module if is_package else module.rpartition(".")[0]
    targets: set[str | None] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets.update(_resolve(alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            for alias in node.names:
                submodule = f"{origin}.{alias.name}"
                targets.add(_resolve(submodule if submodule in modules else origin))
    return {t for t in targets if t is not None and t != module}


@cache
def _imports() -> dict[str, set[str]]:
    """Module -> the kernel_arena modules (and ``torch``) it imports anywhere in its body."""
    return {
        module: _imports_in(path.read_text(encoding="utf-8"), module, path.name == "__init__.py")
        for module, path in _modules().items()
    }


def _unit(module: str) -> str:
    """The unit of a module: the longest LAYERS key it lies in (FACADE for the package itself)."""
    if module == PACKAGE:
        return FACADE
    rest = module.removeprefix(PACKAGE + ".")
    best = ""
    for unit in LAYERS:
        if (rest == unit or rest.startswith(unit + ".")) and len(unit) > len(best):
            best = unit
    return best or rest.split(".")[0]


def _layer(unit: str) -> int:
    return FACADE_LAYER if unit == FACADE else LAYERS[unit]


def _describe(module: str, imported: str) -> str:
    a, b = _layer(_unit(module)), _layer(_unit(imported))
    return f"{module} -> {imported} (layer {a} -> layer {b})"


def _placed(module: str) -> bool:
    return _unit(module) in LAYERS or _unit(module) == FACADE


def _internal_edges() -> list[tuple[str, str]]:
    """(module, imported) between different units; the facade's own imports and modules of no
    layer (``test_every_module_belongs_to_a_layer`` names those) are left out."""
    return [
        (module, imported)
        for module, targets in sorted(_imports().items())
        if module != PACKAGE and _placed(module)
        for imported in sorted(targets)
        if imported != "torch" and _placed(imported) and _unit(module) != _unit(imported)
    ]


def _breaks_layering(module: str, imported: str) -> bool:
    unit_a, unit_b = _unit(module), _unit(imported)
    a, b = _layer(unit_a), _layer(unit_b)
    return b > a or (b == a and (unit_a, unit_b) not in SAME_LAYER)


# ------------------------------------------------------------------------------------ the tests
def test_every_module_belongs_to_a_layer():
    unplaced = sorted(m for m in _modules() if not _placed(m))
    assert not unplaced, "modules of no layer (add their unit to LAYERS):\n" + "\n".join(unplaced)


def test_imports_point_down_the_layers():
    edges = _internal_edges()
    violations = [
        _describe(m, i) for m, i in edges if (m, i) not in KNOWN_VIOLATIONS and _breaks_layering(m, i)
    ]
    assert not violations, "imports pointing up or sideways:\n" + "\n".join(violations)
    stale = sorted(set(KNOWN_VIOLATIONS) - {(m, i) for m, i in edges if _breaks_layering(m, i)})
    assert not stale, "KNOWN_VIOLATIONS entries that no longer occur (remove them):\n" + "\n".join(
        f"{m} -> {i}" for m, i in stale
    )


def test_no_import_cycles_between_units():
    edges = [(m, i) for m, i in _internal_edges() if (m, i) not in KNOWN_VIOLATIONS]
    graph: dict[str, set[str]] = {}
    for module, imported in edges:
        graph.setdefault(_unit(module), set()).add(_unit(imported))
    messages = []
    for component in _strongly_connected(graph):
        if len(component) < 2:
            continue
        units = _cycle_through(min(component), graph, component)
        messages.append("cycle " + " -> ".join(units) + ":")
        for unit_a, unit_b in zip(units, units[1:]):
            module, imported = next((m, i) for m, i in edges if _unit(m) == unit_a and _unit(i) == unit_b)
            messages.append("  " + _describe(module, imported))
    assert not messages, "import cycles between units:\n" + "\n".join(messages)


def test_report_and_web_never_import_torch():
    graph = _imports()
    chains = []
    for start in sorted(m for m in graph if _unit(m) in TORCH_FREE):
        chain = _path_to_torch(start, graph)
        if chain is not None:
            chains.append(
                "\n".join(
                    _describe(a, b) if b != "torch" else f"{a} -> torch" for a, b in zip(chain, chain[1:])
                )
            )
    assert not chains, "torch reached from report/web:\n" + "\n\n".join(chains)


def test_the_checker_sees_what_it_must():
    """The rules are only as good as the graph: spot-check it on imports known to exist."""
    graph = _imports()
    assert "kernel_arena.dataset.solution_folder" in graph["kernel_arena.dataset.load"]  # from-import
    assert "kernel_arena.report.leaderboard" in graph["kernel_arena.report.summary"]  # inside a function
    assert "kernel_arena.dataset" in graph["kernel_arena.cli.common"]  # under TYPE_CHECKING
    assert "torch" in graph["kernel_arena.measure.dtypes"]
    assert _unit("kernel_arena.builtin.references.gqa_paged_decode_h32_kv8_d128_ps1") == "builtin.references"
    assert _breaks_layering("kernel_arena.measure.inputs", "kernel_arena.engine.run")
    assert _breaks_layering("kernel_arena.dataset.load", "kernel_arena.traces")
    assert not _breaks_layering("kernel_arena.engine.run", "kernel_arena.builtin.references.x")
    relative = "from . import load\nfrom ..schema import Trace\nfrom .. import traces\n\ndef f():\n    import torch.nn\n"
    assert _imports_in(relative, "kernel_arena.dataset.validate", is_package=False) == {
        "kernel_arena.dataset.load",
        "kernel_arena.schema",
        "kernel_arena.traces",
        "torch",
    }
    assert _imports_in("from .model import Dataset\n", "kernel_arena.dataset", is_package=True) == {
        "kernel_arena.dataset.model"
    }


# ------------------------------------------------------------------------------------- helpers
def _strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's strongly connected components of a small directed graph."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.add(top)
                if top == node:
                    break
            components.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def _cycle_through(start: str, graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """A shortest cycle of units from ``start`` back to it, inside one strongly connected component."""
    parent: dict[str, str] = {}
    queue = deque([start])
    while queue:
        unit = queue.popleft()
        for nxt in sorted(graph.get(unit, set()) & component):
            if nxt == start:
                path = [unit]
                while path[-1] != start:
                    path.append(parent[path[-1]])
                return [*path[::-1], start]
            if nxt not in parent:
                parent[nxt] = unit
                queue.append(nxt)
    raise AssertionError(f"no cycle through {start}")


def _path_to_torch(start: str, graph: dict[str, set[str]]) -> list[str] | None:
    """The shortest import chain from ``start`` to torch, or None.

    Loading a module also runs its parent packages' ``__init__`` (the facade excepted: its
    imports sit inside functions), so those count as imports too.
    """
    parent: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        module = queue.popleft()
        if module == "torch":
            chain = [module]
            while parent[chain[-1]] is not None:
                chain.append(parent[chain[-1]])  # type: ignore[arg-type]
            return chain[::-1]
        if module == PACKAGE:
            continue
        nexts = set(graph.get(module, ()))
        package = module.rpartition(".")[0]
        if package and package != PACKAGE:
            nexts.add(package)
        for nxt in sorted(nexts):
            if nxt not in parent:
                parent[nxt] = module
                queue.append(nxt)
    return None
