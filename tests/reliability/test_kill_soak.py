"""Crash safety: `kernel-arena run` killed with SIGKILL at random points, 50 times in a row.

After every kill the trace file must be valid JSONL except possibly a torn last line; after the
final, uninterrupted resume the set of traces equals an uninterrupted run's: every (solution,
workload) exactly once, no loss, no duplicates.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest
from helpers import TINY_DEF, make_tiny_dataset, solution_json

from kernel_arena.dataset import load_dataset
from kernel_arena.schema import EvaluationStatus

KILLS = 50
WORKLOADS = 12


@pytest.mark.slow
def test_kill_minus_9_fifty_times_then_resume(tmp_path):
    sols = [
        solution_json(f"s{i}", "def run(x, y, alpha, out):\n    out.copy_(alpha * x + y)\n") for i in range(2)
    ]
    root = make_tiny_dataset(tmp_path / "ds", sols, workloads=WORKLOADS)
    out = tmp_path / "out"
    traces = out / "traces" / "elementwise" / f"{TINY_DEF}.jsonl"
    cmd = [
        sys.executable,
        "-m",
        "kernel_arena.cli",
        "run",
        "--dataset",
        str(root),
        "--out",
        str(out),
        "--device",
        "cpu",
        "--warmup",
        "0",
        "--iters",
        "1",
        "--trials",
        "1",
        "--draws",
        "1",
    ]
    rng = random.Random(1234)
    for _ in range(KILLS):
        proc = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        time.sleep(rng.uniform(0.2, 4.0))
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        if traces.exists():
            lines = traces.read_bytes().split(b"\n")
            for i, line in enumerate(lines):
                if line.strip() and i < len(lines) - 1:
                    json.loads(line)  # every complete line parses
    final = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert final.returncode == 0, final.stderr
    for line in traces.read_text().splitlines():
        json.loads(line)
    view = load_dataset(out)
    keys = [t.key for t in view.traces]
    assert len(keys) == len(set(keys)) == 2 * WORKLOADS
    assert all(t.evaluation.status == EvaluationStatus.PASSED for t in view.traces)
