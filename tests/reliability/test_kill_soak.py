"""Crash safety: `kernel-arena run` killed with SIGKILL at random points, again and again.

Kills land in the run's start-up (imports, lock, manifest, planning, the first sandbox) and, most
of them, while traces are being appended: a random moment after the cycle's first new trace
line, within the evaluations that follow. (Kills at random times alone stop landing in the work
after a few cycles: the run gets through its tiny evaluations within seconds, and the later
cycles only kill runs with nothing left to do.) After every kill the trace file must be valid
JSONL except possibly a torn last line; after the final, uninterrupted resume the set of traces
equals an uninterrupted run's: every (solution, workload) exactly once, no loss, no duplicates.
"""

from __future__ import annotations

import json
import random
import subprocess
import time
from pathlib import Path

import pytest
from helpers import TINY_DEF, kill_run, make_tiny_dataset, run_command, solution_json

from kernel_arena.dataset import load_dataset

KILLS = 15
STARTUP_EVERY = 3  # every third kill in start-up, the others while traces are appended
WORKLOADS = 50
# Each call sleeps 20 ms (an evaluation makes two), so that a kill soon after a new trace line
# lands among the next few evaluations rather than after the last one.
SOLUTION = "import time\n\ndef run(x, y, alpha, out):\n    time.sleep(0.02)\n    out.copy_(alpha * x + y)\n"


def _lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


@pytest.mark.slow
def test_kill_minus_9_again_and_again_then_resume(tmp_path):
    sols = [solution_json(f"s{i}", SOLUTION) for i in range(2)]
    root = make_tiny_dataset(tmp_path / "ds", sols, workloads=WORKLOADS)
    out = tmp_path / "out"
    traces = out / "traces" / "elementwise" / f"{TINY_DEF}.jsonl"
    cmd = run_command(root, out)
    rng = random.Random(1234)
    killed_while_appending = 0
    for cycle in range(KILLS):
        before = _lines(traces)
        if cycle % STARTUP_EVERY == 0:
            stop_at = time.monotonic() + rng.uniform(0.1, 3.0)
            kill_run(cmd, until=lambda stop_at=stop_at: time.monotonic() > stop_at)
        else:
            delay = rng.uniform(0.0, 0.25)
            seen: list[float] = []

            def after_a_new_line(before: int = before, delay: float = delay, seen: list[float] = seen) -> bool:
                if not seen and _lines(traces) > before:
                    seen.append(time.monotonic())
                return bool(seen) and time.monotonic() > seen[0] + delay

            kill_run(cmd, until=after_a_new_line)
            killed_while_appending += bool(seen)
        if traces.exists():
            lines = traces.read_bytes().split(b"\n")
            for i, line in enumerate(lines):
                if line.strip() and i < len(lines) - 1:
                    json.loads(line)  # every complete line parses
    # The schedule did what it is for: kills among the appends, and work left for the resume.
    assert killed_while_appending >= (KILLS - KILLS // STARTUP_EVERY) // 2
    assert _lines(traces) < 2 * WORKLOADS, "every evaluation was done before the last kill"
    final = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert final.returncode == 0, final.stderr
    for line in traces.read_text().splitlines():
        json.loads(line)
    view = load_dataset(out)
    keys = [t.key for t in view.traces]
    assert len(keys) == len(set(keys)) == 2 * WORKLOADS
    assert all(t.passed for t in view.traces)
