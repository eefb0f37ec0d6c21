"""``kernel-arena new``: create an authoring folder whose entry point already has the exact
signature of a definition (inputs in order, then outputs in destination-passing style) and a
docstring restating every shape and dtype. A fresh folder passes ``check`` and ``run``.

Templates:
- ``reference``: wraps the definition's reference math (a sibling ``reference_math.py``).
- ``torch``: plain PyTorch; for the seed op types a copy of our vectorized baseline.
- ``library``: wraps an external kernel library (declared dependency, workspace cached per
  process); for the seed op types our flashinfer / flash-linear-attention wrapper.
- ``triton``: multi-file vendored-kernel layout (``kernel.py`` beside ``main.py``); for the seed
  op types our own Triton kernels.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from kernel_arena.dataset import Dataset
from kernel_arena.dataset.solution_folder import SolutionFolderError, unpack_solution
from kernel_arena.schema import Definition, Solution

TEMPLATES = ("reference", "torch", "library", "triton")
# Embedded solutions used as op-specific templates, by op_type and template.
SEED_TEMPLATES = {
    "gqa_paged": {
        "torch": "gqa_paged_decode_torch",
        "library": "gqa_paged_decode_flashinfer",
        "triton": "gqa_paged_decode_triton",
    },
    "mla_paged": {
        "torch": "mla_paged_decode_torch",
        "library": "mla_paged_decode_flashinfer",
        "triton": "mla_paged_decode_triton",
    },
    "gdn": {"torch": "gdn_decode_torch", "library": "gdn_decode_fla", "triton": "gdn_decode_triton"},
}


class ScaffoldError(ValueError):
    """Cannot create the folder (unknown template, folder not empty, ...)."""


def signature(definition: Definition, dps: bool = True) -> list[str]:
    """Parameter names of the entry point: inputs in order, then outputs when DPS."""
    return list(definition.inputs) + (list(definition.outputs) if dps else [])


def docstring(definition: Definition, dps: bool = True) -> str:
    """A docstring restating every input and output with shape and dtype."""

    def line(name: str, spec) -> str:  # noqa: ANN001
        shape = "scalar" if spec.shape is None else "[" + ", ".join(spec.shape) + "]"
        opt = ", may be None" if spec.optional else ""
        desc = f": {spec.description}" if spec.description else ""
        return f"    {name}  {shape} {spec.dtype}{opt}{desc}"

    consts = ", ".join(f"{k}={v}" for k, v in definition.const_axes.items())
    parts = [f"{definition.name} ({definition.op_type}).", ""]
    if definition.description:
        parts += textwrap.wrap(definition.description, 92) + [""]
    if consts:
        parts += [f"Constant axes: {consts}.", ""]
    parts += ["Inputs:"] + [line(n, s) for n, s in definition.inputs.items()]
    title = "Outputs (pre-allocated; write them in place):" if dps else "Returns, in this order:"
    parts += ["", title] + [line(n, s) for n, s in definition.outputs.items()]
    if definition.constraints:
        parts += ["", "Constraints: " + "; ".join(definition.constraints)]
    return "\n".join(parts)


def _copy_outputs_body(definition: Definition, compute: str) -> str:
    outs = list(definition.outputs)
    lines = [f"    results = {compute}({', '.join(definition.inputs)})"]
    if len(outs) == 1:
        lines.append("    results = (results,) if not isinstance(results, (tuple, list)) else results")
    for i, name in enumerate(outs):
        lines.append(f"    {name}.copy_(results[{i}])")
    return "\n".join(lines)


def _main_py(definition: Definition, header: str, imports: str, body: str) -> str:
    params = ", ".join(signature(definition))
    doc = textwrap.indent(docstring(definition), "    ")
    return f'"""{header}"""\n\n{imports}\n\n\ndef run({params}):\n    """\n{doc}\n    """\n{body}\n'


def generic_sources(definition: Definition, template: str) -> tuple[dict[str, str], list[str], str]:
    """(files, dependencies, language) of a generic template for any definition."""
    reference = definition.reference if definition.reference.endswith("\n") else definition.reference + "\n"
    ref_file = '"""The definition\'s reference math, copied verbatim: start from here."""\n\n' + reference
    if template == "reference":
        main = _main_py(
            definition,
            "Wraps the definition's reference math; passes immediately.",
            "from reference_math import run as reference_run",
            _copy_outputs_body(definition, "reference_run"),
        )
        return {"main.py": main, "reference_math.py": ref_file}, [], "python"
    if template == "torch":
        main = _main_py(
            definition,
            "PyTorch implementation. Replace the call to the reference math with "
            "your own batched tensor code; keep writing the outputs in place.",
            "import torch  # noqa: F401\nfrom reference_math import run as reference_run",
            _copy_outputs_body(definition, "reference_run"),
        )
        return {"main.py": main, "reference_math.py": ref_file}, ["torch"], "python"
    if template == "library":
        body = (
            "    workspace = _workspace("
            + next((n for n, s in definition.inputs.items() if s.shape is not None), "None")
            + ")  # noqa: F841 - hand it to the library\n"
            + _copy_outputs_body(definition, "reference_run")
        )
        main = _main_py(
            definition,
            "Wraps an external kernel library. Declare it in solution.json `dependencies` (the run "
            "names it when it is missing); create workspaces and wrapper objects once per process "
            "(module-level cache), never per call (P18). Replace the reference call with the library "
            "call.",
            "import torch\nfrom reference_math import run as reference_run\n\n_WORKSPACES = {}\n\n\n"
            "def _workspace(like):\n    key = str(getattr(like, 'device', 'cpu'))\n"
            "    if key not in _WORKSPACES:\n"
            "        _WORKSPACES[key] = torch.empty(1 << 20, dtype=torch.uint8, device=key)\n"
            "    return _WORKSPACES[key]",
            body,
        )
        return {"main.py": main, "reference_math.py": ref_file}, ["torch"], "python"
    if template == "triton":
        kernel = textwrap.dedent('''\
            """Triton kernels of this solution (a sibling module: main.py imports it as `kernel`, P16)."""

            import triton
            import triton.language as tl


            @triton.jit
            def copy_kernel(src_ptr, dst_ptr, n, BLOCK: tl.constexpr):
                # Replace with your kernel; this one copies a flat buffer block by block.
                offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
                mask = offs < n
                tl.store(dst_ptr + offs, tl.load(src_ptr + offs, mask=mask), mask=mask)
        ''')
        outs = list(definition.outputs)
        body = "\n".join(
            [
                f"    results = reference_run({', '.join(definition.inputs)})",
                "    results = results if isinstance(results, (tuple, list)) else (results,)",
                *[f"    _write({name}, results[{i}])" for i, name in enumerate(outs)],
            ]
        )
        imports = (
            "import triton\nfrom kernel import copy_kernel\n"
            "from reference_math import run as reference_run\n\n\n"
            "def _write(dst, src):\n    src = src.to(dst.dtype).contiguous()\n    n = dst.numel()\n"
            "    copy_kernel[(triton.cdiv(n, 1024),)](src, dst, n, BLOCK=1024)"
        )
        main = _main_py(
            definition,
            "Vendored-kernel layout: kernels live in kernel.py beside this file. "
            "Replace the reference call and the copy kernel with your own.",
            imports,
            body,
        )
        return {"main.py": main, "kernel.py": kernel, "reference_math.py": ref_file}, ["triton"], "triton"
    raise ScaffoldError(f"unknown template {template!r}: choose one of {', '.join(TEMPLATES)}")


def new_solution(
    ds: Dataset,
    definition_name: str,
    name: str,
    out: Path,
    template: str = "reference",
    from_solution: str | None = None,
    author: str = "me",
    force: bool = False,
) -> Path:
    """Create the authoring folder ``out`` and return it."""
    definition = ds.definition(definition_name)
    if from_solution is None and template in SEED_TEMPLATES.get(definition.op_type, {}):
        from_solution = SEED_TEMPLATES[definition.op_type][template]
    if from_solution is not None:
        from kernel_arena.engine.plan import load_solution_arg

        base = load_solution_arg(from_solution) or ds.solution(from_solution)
        if base.definition != definition.name:
            raise ScaffoldError(f"{from_solution} implements {base.definition}, not {definition.name}")
        data = base.to_json_dict()
        data.update(
            name=name, author=author, description=f"Started from {base.name}. " + (base.description or "")
        )
        solution = Solution.model_validate(data)
    else:
        files, deps, language = generic_sources(definition, template)
        solution = Solution.model_validate(
            {
                "name": name,
                "definition": definition.name,
                "author": author,
                "description": f"{template} template for {definition.name}.",
                "spec": {
                    "language": language,
                    "target_hardware": ["cpu", "cuda"],
                    "entry_point": "main.py::run",
                    "dependencies": deps,
                    "destination_passing_style": True,
                },
                "sources": [{"path": p, "content": c} for p, c in files.items()],
            }
        )
    try:
        return unpack_solution(solution, out, overwrite=force)
    except SolutionFolderError as exc:
        raise ScaffoldError(str(exc)) from None
