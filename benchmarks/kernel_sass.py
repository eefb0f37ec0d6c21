"""Instruction mix of the MLA decode kernel's tile loop, compiled offline for an H100 (no GPU needed).

    python benchmarks/kernel_sass.py
    python benchmarks/kernel_sass.py --num-stages 7 --block-n 16

Compiles the Triton MLA Solution's kernel (run()'s constexprs: 16 heads, 512 + 64 latent, the
default tile) with ``triton.compile`` for sm_90a, disassembles the cubin with the ``nvdisasm``
that Triton ships, and counts the instructions of the tile loop by opcode. The tile loop is the
loop (a label and the branch back to it) with the most HMMA (tensor-core) instructions. Counts
are per warp and per BLOCK_N-token tile; shared memory and registers are the compiled kernel's.
They depend on the Triton version (the results files name the one the GPU runs used).
"""

from __future__ import annotations

import argparse
import collections
import importlib.util
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

_LABEL = re.compile(r"^(\.L_x_\d+):")
_BRANCH = re.compile(r"BRA\s+`?\(?(\.L_x_\d+)\)?")
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


def compile_mla(block_n: int, num_warps: int, num_stages: int):
    """The MLA Solution's kernel compiled for sm_90a with run()'s constexprs (and these three),
    also where TRITON_INTERPRET=1 would make @triton.jit an interpreter function."""
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    import kernel_arena.builtin

    path = next(Path(kernel_arena.builtin.__file__).parent.glob("dataset/solutions/mla_paged/*/"
                                                                 "mla_paged_decode_triton/kernel.py"))
    spec = importlib.util.spec_from_file_location("mla_kernel_for_sass", path)
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
             "num_chunks": "i32", "probe_ptr": "*i32"}
    consts = dict(NUM_HEADS=16, D_CKV=512, D_KPE=64, BLOCK_N=block_n, BLOCK_B=256, BLOCK_D=512, MERGE_HEADS=1,
                  CHUNK_S=16, PREFETCH=0, UPCAST=False, MERGE_LAST=3, D_SPLIT=1, PROBE=False)
    names = fn.arg_names
    signature = {n: types.get(n, "constexpr") for n in names}
    constants = {(names.index(k),): v for k, v in consts.items()}
    attrs = {(names.index(n),): [["tt.divisibility", 16]] for n in types if n.endswith("_ptr")}
    return triton.compile(ASTSource(fn, signature, constants, attrs), target=GPUTarget("cuda", 90, 32),
                          options={"num_warps": num_warps, "num_stages": num_stages})


def disassemble(cubin: bytes) -> str:
    import triton

    nvdisasm = Path(triton.__file__).parent / "backends" / "nvidia" / "bin" / "nvdisasm"
    with tempfile.NamedTemporaryFile(suffix=".cubin") as f:
        f.write(cubin)
        f.flush()
        return subprocess.run([str(nvdisasm), "-c", f.name], capture_output=True, text=True, check=True).stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--block-n", type=int, default=32, help="tokens a tile (run(): 32)")
    ap.add_argument("--num-warps", type=int, default=4, help="run(): 4")
    ap.add_argument("--num-stages", type=int, default=5, help="run(): 5")
    args = ap.parse_args()
    import triton

    kernel = compile_mla(args.block_n, args.num_warps, args.num_stages)
    body = tile_loop(disassemble(kernel.asm["cubin"]))
    if not body:
        sys.exit("no loop with tensor-core instructions found in the disassembly")
    counts = collections.Counter(body)
    print(f"triton {triton.__version__}, sm_90a, BLOCK_N {args.block_n}, {args.num_warps} warps, "
          f"{args.num_stages} stages: shared memory {kernel.metadata.shared} B")
    print(f"tile loop: {len(body)} instructions a warp a tile")
    for name, n in counts.most_common():
        print(f"  {name:10s} {n}")


if __name__ == "__main__":
    main()
