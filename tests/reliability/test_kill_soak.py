"""Crash safety: `kernel-arena run` killed with SIGKILL at random points, 50 times in a row.

After every kill the trace file must be valid JSONL except possibly a torn last line; after the
final, uninterrupted resume the set of traces equals an uninterrupted run's: every (solution,
workload) exactly once, no loss, no duplicates.
"""

from __future__ import annotations

import json
import random
import subprocess
import time

import pytest
from helpers import TINY_DEF, kill_run, make_tiny_dataset, run_command, solution_json

from kernel_arena.dataset import load_dataset

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
    cmd = run_command(root, out)
    rng = random.Random(1234)
    for _ in range(KILLS):
        stop_at = time.monotonic() + rng.uniform(0.2, 4.0)
        kill_run(cmd, until=lambda stop_at=stop_at: time.monotonic() > stop_at)
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
    assert all(t.passed for t in view.traces)
