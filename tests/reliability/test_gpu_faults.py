"""GPU-only hostile solutions: a kernel that never ends, device out-of-memory, an illegal memory
access. Each gets its status, the run goes on, and a good solution after them still passes.
Skipped without a GPU; results of the GPU run are in benchmarks/results/reliability_gpu.md."""

from __future__ import annotations

import pytest
from helpers import GOOD_DPS, make_tiny_dataset, solution_json

import kernel_arena
from kernel_arena.engine.config import RunConfig
from kernel_arena.measure.timing import TimingSettings
from kernel_arena.schema import EvaluationStatus as S

HANG = """
import torch
import triton
import triton.language as tl


@triton.jit
def spin(ptr, n):
    i = 0
    while tl.load(ptr) >= 0:  # the flag never turns negative
        i += 1
    tl.store(ptr + 1, i)


def run(x, y, alpha, out):
    flag = torch.zeros(2, dtype=torch.int32, device=x.device)  # 0 forever: the kernel never ends
    spin[(1,)](flag, 1)
    out.copy_(alpha * x + y)
"""
OOM = "import torch\n\ndef run(x, y, alpha, out):\n    torch.empty(1 << 45, dtype=torch.uint8, device=x.device)\n"
ILLEGAL = """
import triton
import triton.language as tl


@triton.jit
def scribble(ptr):
    tl.store(ptr + (1 << 40), 1.0)


def run(x, y, alpha, out):
    scribble[(1,)](out)
    out.copy_(alpha * x + y)
"""


@pytest.mark.gpu
def test_gpu_faults_are_contained(tmp_path):
    sols = [
        solution_json("a_hang", HANG, targets=["cuda"]),
        solution_json("b_oom", OOM, targets=["cuda"]),
        solution_json("c_illegal", ILLEGAL, targets=["cuda"]),
        solution_json("z_good", GOOD_DPS, targets=["cuda"]),
    ]
    root = make_tiny_dataset(tmp_path / "ds", sols, workloads=2)
    cfg = RunConfig(timing=TimingSettings(1, 3, 1), timeout_s=60, draws=1)
    result = kernel_arena.run(
        dataset=root, out=tmp_path / "out", config=cfg, device="cuda:0", workload_tags=["all"]
    )
    by = {}
    for t in result.traces:
        by.setdefault(t.solution, []).append(t.evaluation)
    lines = ["| solution | statuses | log excerpt |", "|---|---|---|"]
    for name, evs in sorted(by.items()):
        excerpt = " ".join(evs[0].log.split())[:160].replace("|", "/")
        lines.append(f"| {name} | {', '.join(e.status.value for e in evs)} | {excerpt} |")
    print("\n".join(lines))
    for name, evs in sorted(by.items()):
        print(f"--- {name} log ---\n{evs[0].log[-2500:]}")
    assert [e.status for e in by["a_hang"]] == [S.TIMEOUT, S.TIMEOUT]
    assert all(e.status == S.RUNTIME_ERROR and "out of memory" in e.log.lower() for e in by["b_oom"])
    assert all(e.status == S.RUNTIME_ERROR for e in by["c_illegal"])
    assert [e.status for e in by["z_good"]] == [S.PASSED, S.PASSED]
