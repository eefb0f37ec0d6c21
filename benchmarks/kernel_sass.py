"""Instruction mix of the MLA decode kernel's tile loop, compiled offline for an H100 (no GPU needed).

    python benchmarks/kernel_sass.py --results benchmarks/results/kernel_sass.md
    python benchmarks/kernel_sass.py --num-stages 7 --block-n 16

Compiles the Triton MLA Solution's kernel (16 heads, 512 + 64 latent, run()'s MERGE_LAST and,
unless given, its NUM_STAGES, both read from the Solution's main.py) with ``triton.compile`` for
sm_90a, disassembles the cubin with the ``nvdisasm`` that Triton ships, and counts the
instructions of the tile loop by opcode. The tile loop is the loop (a label and a branch back to
it) with the most HMMA (tensor-core) instructions. The count is static: per warp and per
BLOCK_N-token tile, every instruction between the label and the branch, including any that a
branch inside the loop skips at run time. Shared memory and registers are the compiled kernel's.
Needs only Triton (with its bundled ptxas and nvdisasm); the counts depend on its version.
"""

from __future__ import annotations

import argparse
import ast
import collections
import importlib.util
import os
import platform
import re
import subprocess
import sys
import tempfile
from pathlib import Path

_LABEL = re.compile(r"^(\.L_x_\d+):")
_BRANCH = re.compile(r"\bBRA(?:\.\w+)*\s+`?\(?(\.L_x_\d+)\)?")
_INSTRUCTION = re.compile(r"^\s*/\*[0-9a-f]+\*/\s+(.*?)\s*;")


def opcode(text: str) -> str:
    """The opcode of one SASS instruction's text, without its predicate and modifiers
    (``@!P1 LDGSTS.E.BYPASS.128 [R1], [R2]`` -> ``LDGSTS``)."""
    words = text.split()
    if words and words[0].startswith("@"):
        words = words[1:]
    return words[0].split(".")[0] if words else ""


def loops(sass: str) -> list[list[str]]:
    """The opcodes of every loop body in ``sass`` (nvdisasm text): from a label to an instruction
    that branches back to it, in order."""
    lines = sass.splitlines()
    labels: dict[str, int] = {}
    found = []
    for i, line in enumerate(lines):
        label = _LABEL.match(line.strip())
        if label:
            labels[label.group(1)] = i
        inst = _INSTRUCTION.match(line)
        if inst is None:
            continue
        branch = _BRANCH.search(inst.group(1))
        if branch and branch.group(1) in labels:  # a label above: a backward branch closes a loop
            body = [_INSTRUCTION.match(x) for x in lines[labels[branch.group(1)]:i + 1]]
            found.append([opcode(m.group(1)) for m in body if m is not None])
    return found


def tile_loop(sass: str) -> list[str]:
    """The loop with the most HMMA instructions (the MLA kernel's tile loop), or [] if none has any."""
    best = max(loops(sass), key=lambda body: body.count("HMMA"), default=[])
    return best if "HMMA" in best else []


SOLUTION = (Path(__file__).resolve().parents[1] / "src" / "kernel_arena" / "builtin" / "dataset" / "solutions"
            / "mla_paged" / "mla_paged_decode_h16_ckv512_kpe64_ps1" / "mla_paged_decode_triton")


def solution_constants(names: tuple[str, ...] = ("MERGE_LAST", "NUM_STAGES")) -> dict[str, int]:
    """Module-level int constants of the Solution's main.py (read, not imported: no torch needed)."""
    tree = ast.parse((SOLUTION / "main.py").read_text())
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id in names:
                    found[target.id] = node.value.value
    missing = set(names) - set(found)
    if missing:
        raise ValueError(f"{SOLUTION / 'main.py'}: no module-level int constant {sorted(missing)}")
    return found


def compile_mla(block_n: int, num_warps: int, num_stages: int, merge_last: int, prefetch: int = 0):
    """The MLA Solution's kernel compiled for sm_90a with run()'s other constexprs. The kernel module
    is loaded with TRITON_INTERPRET unset, but Triton's own library functions (tl.sum, tl.max...)
    are interpreter functions for good once triton.language was imported under TRITON_INTERPRET=1:
    such a process cannot compile (unless Triton's cache has this kernel); run the script instead."""
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    spec = importlib.util.spec_from_file_location("mla_kernel_for_sass", SOLUTION / "kernel.py")
    module = importlib.util.module_from_spec(spec)
    interpret = os.environ.pop("TRITON_INTERPRET", None)  # @triton.jit reads it: compiled functions here
    try:
        spec.loader.exec_module(module)
    finally:
        if interpret is not None:
            os.environ["TRITON_INTERPRET"] = interpret
    fn = module.mla_decode_kernel
    types = {"qn_ptr": "*bf16", "qp_ptr": "*bf16", "ckv_ptr": "*bf16", "kpe_ptr": "*bf16", "indptr_ptr": "*i32",
             "indices_ptr": "*i32", "part_o_ptr": "*fp32", "part_lse_ptr": "*fp32", "count_ptr": "*i32",
             "out_ptr": "*bf16", "lse_ptr": "*fp32", "qk_scale": "fp32", "batch": "i32", "chunk": "i32",
             "num_chunks": "i32", "total": "i32", "probe_ptr": "*i32"}
    consts = dict(NUM_HEADS=16, D_CKV=512, D_KPE=64, BLOCK_N=block_n, BLOCK_B=256, BLOCK_D=512, MERGE_HEADS=1,
                  CHUNK_S=16, PREFETCH=prefetch, UPCAST=False, MERGE_LAST=merge_last, D_SPLIT=1, PROBE=False)
    names = fn.arg_names
    signature = {n: types.get(n, "constexpr") for n in names}
    constants = {(names.index(k),): v for k, v in consts.items()}
    attrs = {(names.index(n),): [["tt.divisibility", 16]] for n in types if n.endswith("_ptr")}
    return triton.compile(ASTSource(fn, signature, constants, attrs), target=GPUTarget("cuda", 90, 32),
                          options={"num_warps": num_warps, "num_stages": num_stages})


def nvidia_tool(name: str) -> Path:
    """A binary Triton ships for its NVIDIA backend (ptxas, nvdisasm)."""
    import triton

    return Path(triton.__file__).parent / "backends" / "nvidia" / "bin" / name


def disassemble(cubin: bytes) -> str:
    with tempfile.NamedTemporaryFile(suffix=".cubin") as f:
        f.write(cubin)
        f.flush()
        return subprocess.run([str(nvidia_tool("nvdisasm")), "-c", f.name], capture_output=True, text=True,
                              check=True).stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--block-n", type=int, default=32, help="tokens a tile (run(): 32)")
    ap.add_argument("--num-warps", type=int, default=4, help="run(): 4")
    ap.add_argument("--num-stages", type=int, default=None, help="default: run()'s NUM_STAGES")
    ap.add_argument("--prefetch", type=int, default=0, help="L2 prefetch distance in tokens (run(): 0)")
    ap.add_argument("--results", default=None, help="also write the counts here as markdown")
    args = ap.parse_args()
    import triton

    defaults = solution_constants()
    stages = args.num_stages if args.num_stages is not None else defaults["NUM_STAGES"]
    kernel = compile_mla(args.block_n, args.num_warps, stages, defaults["MERGE_LAST"], args.prefetch)
    body = tile_loop(disassemble(kernel.asm["cubin"]))
    if not body:
        sys.exit("no loop with tensor-core instructions found in the disassembly")
    counts = collections.Counter(body)
    lines = [
        "# MLA decode: the tile loop's instructions (offline compile for sm_90a, no GPU)",
        "",
        f"Command: `python {' '.join(sys.argv)}`",
        "",
        f"triton {triton.__version__}, python {platform.python_version()}; BLOCK_N {args.block_n}, "
        f"{args.num_warps} warps, {stages} stages, MERGE_LAST {defaults['MERGE_LAST']}: shared memory "
        f"{kernel.metadata.shared} B.",
        "",
        f"Tile loop: **{len(body)} instructions a warp a tile** (static count: every instruction between "
        "the loop's label and its branch back, by opcode without modifiers):",
        "",
        "| opcode | count |",
        "|---|---|",
        *(f"| {name} | {n} |" for name, n in counts.most_common()),
        "",
    ]
    text = "\n".join(lines)
    if args.results:
        Path(args.results).parent.mkdir(parents=True, exist_ok=True)
        Path(args.results).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
