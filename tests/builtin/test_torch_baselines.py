"""The embedded PyTorch baselines (GQA and MLA paged decode) against the references, on batches
whose sequence lengths span several power-of-two classes (empty sequences included), and on a
production-like skewed batch under an address-space cap: a baseline that pads every sequence to
the batch's longest needs gigabytes there."""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from kernel_arena.builtin.generate import DATASET, GQA, MLA
from kernel_arena.measure.reference import load_reference

GQA_TORCH = DATASET / "solutions" / "gqa_paged" / GQA / "gqa_paged_decode_torch" / "main.py"
MLA_TORCH = DATASET / "solutions" / "mla_paged" / MLA / "mla_paged_decode_torch" / "main.py"


def _module(path: Path) -> dict:
    namespace: dict = {"__name__": path.parent.name}
    exec(compile(path.read_text(), str(path), "exec"), namespace)  # noqa: S102 - our own file
    return namespace


def _page_table(lengths: list[int], gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, int]:
    pool = sum(lengths) + 7
    indptr = torch.tensor([0, *torch.tensor(lengths).cumsum(0).tolist()], dtype=torch.int32)
    indices = torch.randperm(pool, generator=gen)[: sum(lengths)].to(torch.int32)
    return indptr, indices, pool


MIXED = [[0, 1, 2, 3, 40, 300, 5, 0, 17], [9], [0, 0, 0], [64, 65, 1]]


@pytest.mark.parametrize("lengths", MIXED)
def test_gqa_torch_baseline_matches_the_reference(builtin, lengths):
    gen = torch.Generator().manual_seed(sum(lengths) + len(lengths))
    indptr, indices, pool = _page_table(lengths, gen)
    q = torch.randn(len(lengths), 32, 128, generator=gen).bfloat16()
    k = torch.randn(pool, 1, 8, 128, generator=gen).bfloat16()
    v = torch.randn(pool, 1, 8, 128, generator=gen).bfloat16()
    scale = 1 / math.sqrt(128)
    exp_out, exp_lse = load_reference(builtin.definitions[GQA])(q, k, v, indptr, indices, scale)
    out = torch.full_like(exp_out, float("nan"))
    lse = torch.full_like(exp_lse, float("nan"))
    _module(GQA_TORCH)["run"](q, k, v, indptr, indices, scale, out, lse)
    torch.testing.assert_close(out.float(), exp_out.float(), atol=1e-2, rtol=1e-2)
    torch.testing.assert_close(lse, exp_lse, atol=1e-4, rtol=1e-5)


@pytest.mark.parametrize("lengths", MIXED)
def test_mla_torch_baseline_matches_the_reference(builtin, lengths):
    gen = torch.Generator().manual_seed(3 * sum(lengths) + len(lengths))
    indptr, indices, pool = _page_table(lengths, gen)
    qn = torch.randn(len(lengths), 16, 512, generator=gen).bfloat16()
    qp = torch.randn(len(lengths), 16, 64, generator=gen).bfloat16()
    ckv = torch.randn(pool, 1, 512, generator=gen).bfloat16()
    kpe = torch.randn(pool, 1, 64, generator=gen).bfloat16()
    scale = 1 / math.sqrt(192)
    exp_out, exp_lse = load_reference(builtin.definitions[MLA])(qn, qp, ckv, kpe, indptr, indices, scale)
    out = torch.full_like(exp_out, float("nan"))
    lse = torch.full_like(exp_lse, float("nan"))
    _module(MLA_TORCH)["run"](qn, qp, ckv, kpe, indptr, indices, scale, out, lse)
    torch.testing.assert_close(out.float(), exp_out.float(), atol=1e-2, rtol=1e-2)
    torch.testing.assert_close(lse, exp_lse, atol=1e-4, rtol=1e-5)


SKEWED = """
import math, resource, sys
import torch
resource.setrlimit(resource.RLIMIT_AS, (AS_LIMIT, AS_LIMIT))
namespace = {"__name__": "baseline"}
exec(compile(open(PATH).read(), PATH, "exec"), namespace)
lengths = [20000] + [1] * 63  # one long sequence among short ones, as in production batches
indptr = torch.tensor([0, *torch.tensor(lengths).cumsum(0).tolist()], dtype=torch.int32)
indices = torch.arange(sum(lengths), dtype=torch.int32)
pool = sum(lengths)
if "gqa" in PATH:
    args = (torch.randn(64, 32, 128).bfloat16(), torch.randn(pool, 1, 8, 128).bfloat16(),
            torch.randn(pool, 1, 8, 128).bfloat16(), indptr, indices, 1 / math.sqrt(128))
    out, lse = torch.empty(64, 32, 128, dtype=torch.bfloat16), torch.empty(64, 32)
else:
    args = (torch.randn(64, 16, 512).bfloat16(), torch.randn(64, 16, 64).bfloat16(),
            torch.randn(pool, 1, 512).bfloat16(), torch.randn(pool, 1, 64).bfloat16(),
            indptr, indices, 1 / math.sqrt(192))
    out, lse = torch.empty(64, 16, 512, dtype=torch.bfloat16), torch.empty(64, 16)
namespace["run"](*args, out, lse)
assert bool(torch.isfinite(lse).all())
print("ok")
"""


@pytest.mark.parametrize("path", [GQA_TORCH, MLA_TORCH], ids=["gqa", "mla"])
def test_torch_baseline_does_not_pad_short_sequences_to_the_longest(path):
    """Padding 64 sequences to 20,000 tokens needs 5-10 GiB of float K/V; by length class, ~0.2."""
    limit = 4 << 30
    code = textwrap.dedent(SKEWED).replace("AS_LIMIT", str(limit)).replace("PATH", repr(str(path)))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "ok" in done.stdout, done.stderr[-2000:]
