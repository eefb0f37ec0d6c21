"""benchmarks/kernel_sass.py: the MLA tile loop found in a real offline compile, and the parsing
of nvdisasm text it rests on."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
import kernel_sass as ks  # noqa: E402

SASS = """
        /*0000*/                   MOV R1, c[0x0][0x28] ;
.L_x_0:
        /*0010*/                   HMMA.16816.F32.BF16 R4, R8, R12, R4 ;
        /*0020*/              @!P1 LDGSTS.E.BYPASS.128 [R1], [R2.64] ;
        /*0030*/               @P0 BRA `(.L_x_0) ;
.L_x_1:
        /*0040*/                   FADD R3, R3, R4 ;
        /*0050*/                   BRA `(.L_x_2) ;
.L_x_2:
        /*0060*/                   IADD3 R5, R5, 0x1, RZ ;
        /*0070*/                   BRA `(.L_x_2) ;
.L_x_3:
        /*0080*/                   FMUL R6, R6, R7 ;
        /*0090*/               @P2 BRA.U `(.L_x_3) ;
"""


def test_opcode_drops_predicate_and_modifiers():
    assert ks.opcode("@!P1 LDGSTS.E.BYPASS.128 [R1], [R2.64]") == "LDGSTS"
    assert ks.opcode("HMMA.16816.F32.BF16 R4, R8, R12, R4") == "HMMA"
    assert ks.opcode("") == ""


def test_loops_are_backward_branches_and_the_tile_loop_has_the_tensor_cores():
    found = ks.loops(SASS)
    assert found == [["HMMA", "LDGSTS", "BRA"], ["IADD3", "BRA"], ["FMUL", "BRA"]]  # the forward BRA is no loop
    assert ks.tile_loop(SASS) == ["HMMA", "LDGSTS", "BRA"]
    assert ks.tile_loop(SASS.replace("HMMA.16816.F32.BF16", "FFMA")) == []


def test_solution_constants_are_read_from_main_py():
    from solutions.test_triton_kernels import MLA, _load

    mod = _load(MLA)
    assert ks.solution_constants() == {"MERGE_LAST": mod.MERGE_LAST, "NUM_STAGES": mod.NUM_STAGES}
    with pytest.raises(ValueError, match="NO_SUCH"):
        ks.solution_constants(("NO_SUCH",))


@pytest.mark.skipif(not all(ks.nvidia_tool(t).exists() for t in ("ptxas", "nvdisasm")),
                    reason="this Triton install ships no ptxas/nvdisasm")
def test_the_compiled_mla_kernel_has_a_tile_loop_of_dots_and_async_copies(tmp_path):
    """A real compile for sm_90a (no GPU needed), by the script in a process of its own: this one
    imported Triton under TRITON_INTERPRET=1, which leaves Triton's library functions interpreted
    (a compile here fails unless Triton's cache already holds the kernel). The tile loop holds the
    q.k and p.v mma instructions and the K/V tile's asynchronous copies."""
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    env["TRITON_CACHE_DIR"] = str(tmp_path / "cache")  # a cold compile, as on a fresh machine
    out = tmp_path / "sass.md"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "kernel_sass.py"), "--results", str(out)], env=env,
                   check=True, capture_output=True, timeout=600)
    text = out.read_text()
    counts = dict(re.findall(r"^\| (\w+) \| (\d+) \|$", text, re.M))
    assert int(counts["HMMA"]) >= 64  # nine 64-deep q.k dots and eight p.v dots a tile, over 4 warps
    assert "LDGSTS" in counts and "LDSM" in counts
    shared = int(re.search(r"shared memory (\d+) B", text).group(1))
    assert shared > 2 * 32 * 576 * 2  # two K/V tile buffers
