"""Kernel times under the time-budgeted default counts against the fixed counts of before.

    python benchmarks/budget_vs_fixed.py --out runs/budget --results benchmarks/results/budget_vs_fixed.md

One driver process runs the embedded Solutions on the embedded GPU workloads twice, one run after
the other: with fixed counts (10 warm-up + 3 x 50, the defaults before budgets) and with the
budgeted defaults; then compares the two run folders per (solution, workload) with
``engine_split.py`` (kernel time ratio, status equality) and reports each run's wall time.
Timing input values come from each run's own secret: same workloads and shapes, fresh values.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

import kernel_arena
from kernel_arena.engine.config import RunConfig
from kernel_arena.measure.timing import TimingSettings

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("runs/budget"))
    ap.add_argument("--results", type=Path, default=Path("benchmarks/results/budget_vs_fixed.md"))
    args = ap.parse_args()
    walls = {}
    for name, config in (
        ("fixed", RunConfig(timing=TimingSettings(10, 50, 3))),
        ("budget", RunConfig()),
    ):
        folder = args.out / name
        shutil.rmtree(folder, ignore_errors=True)
        t0 = time.perf_counter()
        kernel_arena.run(out=folder, config=config)
        walls[name] = time.perf_counter() - t0
    subprocess.run(
        [sys.executable, str(HERE / "engine_split.py"), "--before", str(args.out / "fixed"),
         "--after", str(args.out / "budget"), "--results", str(args.results)],
        check=True,
    )
    note = (
        f"\n\nCommand: `python {' '.join(sys.argv)}`. 'before' = fixed counts (10 + 3 x 50), 'after' = "
        f"the budgeted defaults (50 ms per timing loop, at most 10 + 3 x 50, at least 5 per trial). "
        f"Run wall times: fixed {walls['fixed']:.1f} s, budgeted {walls['budget']:.1f} s.\n"
    )
    with open(args.results, "a", encoding="utf-8") as fh:
        fh.write(note)
    print(note)


if __name__ == "__main__":
    main()
