"""Generate the playbook's reference pages from the code, so they cannot drift:

- ``docs/authoring/reference/<model>.md`` from the pydantic models (field, type, required,
  description from the attribute docstrings);
- ``docs/authoring/pitfalls.md`` from the detector registry and the static check ids.

``python -m kernel_arena.authoring.docs [--out docs/authoring]``; a test fails when stale.
"""

from __future__ import annotations

import argparse
import typing
from pathlib import Path

from pydantic import BaseModel

from kernel_arena.schema import (
    BuildSpec,
    Correctness,
    Definition,
    Environment,
    Evaluation,
    Performance,
    RandomInput,
    SafetensorsInput,
    ScalarInput,
    Solution,
    SourceFile,
    TensorSpec,
    Trace,
    Workload,
)
from kernel_arena.schema.definition import AxisConst, AxisVar

PAGES: dict[str, list[type[BaseModel]]] = {
    "definition": [Definition, AxisConst, AxisVar, TensorSpec],
    "workload": [Workload, RandomInput, ScalarInput, SafetensorsInput],
    "solution": [Solution, BuildSpec, SourceFile],
    "trace": [Trace, Evaluation, Environment, Correctness, Performance],
}
STATIC_CHECKS = {
    "P01": "entry-point parameter count vs inputs(+outputs); assignment to an output parameter",
    "P02": "parameter names and order vs the definition",
    "P12": "returned values cast to another dtype, or returned as transposed/expanded views",
    "P16": "imports that resolve to no source file of the solution (sibling and relative)",
    "P17": "declared dependencies not installed or of the wrong version; undeclared third-party imports",
}


def _type_name(annotation: object) -> str:
    text = str(annotation).replace("typing.", "").replace("kernel_arena.schema.", "")
    for mod in ("definition.", "workload.", "solution.", "trace."):
        text = text.replace(mod, "")
    if isinstance(annotation, type):
        return annotation.__name__
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _type_name(typing.get_args(annotation)[0])
    return text.replace("<class '", "").replace("'>", "").replace("NoneType", "None")


def model_page(title: str, models: list[type[BaseModel]]) -> str:
    """Markdown for a group of models."""
    lines = [
        f"# {title}",
        "",
        "Generated from `kernel_arena.schema` by "
        "`python -m kernel_arena.authoring.docs`; do not edit by hand.",
        "",
    ]
    for model in models:
        lines += [
            f"## {model.__name__}",
            "",
            (model.__doc__ or "").strip(),
            "",
            "| field | type | required | description |",
            "|---|---|---|---|",
        ]
        for name, field in model.model_fields.items():
            desc = (field.description or "").replace("\n", " ").replace("|", "\\|")
            required = (
                "yes"
                if field.is_required()
                else f"no (default `{field.get_default(call_default_factory=True)!r}`)"
            )
            type_name = _type_name(field.annotation).replace("|", "\\|")
            lines.append(f"| `{name}` | `{type_name}` | {required} | {desc} |")
        lines.append("")
    lines.append("Unknown fields are kept on load and written back on save.")
    return "\n".join(lines) + "\n"


def pitfalls_page() -> str:
    """The pitfall catalogue as Kernel Arena detects it."""
    from kernel_arena.diagnose.registry import CATALOGUE, GENERIC, LOCALISATION, registered_detectors

    lines = [
        "# Pitfall catalogue",
        "",
        "Generated from the detector registry "
        "(`kernel_arena.diagnose`) and the static checks (`kernel_arena.authoring.check`) by "
        "`python -m kernel_arena.authoring.docs`; do not edit by hand.",
        "",
        "## Diagnosed when a solution fails (`kernel-arena run` / `try`)",
        "",
        "A detector re-compares the outputs under a known transformation and claims a cause only "
        "when that comparison passes. The verdict goes into the trace log as `diagnosis: ... (Pxx)` "
        "and into `evaluation.diagnoses` as `{pitfall, message}`, with `detail` (structured facts) "
        "where a detector gives them. The stages below run in order; a stage runs only when the "
        "ones before it claimed nothing.",
    ]
    stages = {
        CATALOGUE: ("The pitfall catalogue", "how it is confirmed"),
        GENERIC: ("When no catalogue entry matches: generic layout detectors", "how it is confirmed"),
        LOCALISATION: ("When nothing names a cause: where and how the outputs are wrong", "what it reports"),
    }
    detectors = registered_detectors()
    for stage, (heading, how) in stages.items():
        lines += ["", f"### {heading}", "", f"| id | detector | {how} |", "|---|---|---|"]
        for det in sorted((d for d in detectors if d.stage == stage), key=lambda d: d.pitfall):
            lines.append(f"| {det.pitfall} | {det.title} | {' '.join(det.doc.split())} |")
    lines += [
        "",
        "Timing notes (in the log of PASSED traces): P18 when the call latency is far above the "
        "kernel time (host work per call); P19 when no GPU kernel ran during the call.",
        "",
        "## Caught before running (`kernel-arena check`)",
        "",
        "| pitfall | static check |",
        "|---|---|",
    ]
    lines += [f"| {k} | {v} |" for k, v in STATIC_CHECKS.items()]
    return "\n".join(lines) + "\n"


def render_all() -> dict[str, str]:
    """Relative path -> content of every generated page."""
    pages = {f"reference/{name}.md": model_page(name.capitalize(), models) for name, models in PAGES.items()}
    pages["pitfalls.md"] = pitfalls_page()
    return pages


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=Path("docs/authoring"))
    args = ap.parse_args()
    for rel, text in render_all().items():
        path = args.out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
