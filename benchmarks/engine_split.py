"""Kernel times and harness cost of two engines on the same work: two run folders side by side.

    python benchmarks/engine_split.py --before RUN_A --after RUN_B --results benchmarks/results/engine_split.md

Both folders hold traces of the same Solutions on the same workloads (e.g. written by
``benchmarks/seed_solutions.py`` with the engine before and after a change, on one machine, one
after the other). Per (solution, workload) passed in both: kernel time before and after and their
ratio; per Solution the geo-mean ratio.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import command_line, environment_line, geomean, md_table, write_results  # noqa: E402


def load(run: Path) -> dict[tuple[str, str], dict]:
    """(solution, workload name) → trace object, for every trace file under ``run/traces``."""
    found = {}
    for file in sorted((run / "traces").rglob("*.jsonl")):
        for line in file.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            t = json.loads(line)
            wl = t.get("workload") or {}
            found[(t.get("solution") or "", wl.get("name") or wl.get("uuid"))] = t
    return found


def kernel_ms(t: dict) -> float | None:
    ev = t.get("evaluation") or {}
    perf = ev.get("performance") or {}
    return perf.get("latency_ms") if ev.get("status") == "PASSED" else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", type=Path, required=True)
    ap.add_argument("--after", type=Path, required=True)
    ap.add_argument("--results", type=Path)
    args = ap.parse_args()
    before, after = load(args.before), load(args.after)
    per_solution: dict[str, list[float]] = {}
    rows = []
    for key in sorted(set(before) & set(after)):
        a, b = kernel_ms(before[key]), kernel_ms(after[key])
        if not a or not b:
            rows.append([key[0], key[1], "-" if not a else f"{a * 1e3:.1f}", "-" if not b else f"{b * 1e3:.1f}", "not passed in both"])
            continue
        per_solution.setdefault(key[0], []).append(b / a)
        rows.append([key[0], key[1], f"{a * 1e3:.1f}", f"{b * 1e3:.1f}", f"{b / a:.3f}"])
    summary = []
    for sol, ratios in sorted(per_solution.items()):
        summary.append([sol, str(len(ratios)), f"{geomean(ratios):.3f}", f"{min(ratios):.3f}", f"{max(ratios):.3f}"])
    everything = [r for rs in per_solution.values() for r in rs]
    overall = geomean(everything) or float("nan")
    lines = [
        "# Kernel times before and after the judge/sandbox split",
        "",
        f"Command: `{command_line()}`",
        "",
        f"Environment: {environment_line()}",
        "",
        f"Kernel time after / before (CUPTI span, cold L2): geo-mean **{overall:.3f}** over {len(everything)} "
        "(solution, workload) pairs passed in both runs.",
        "",
        md_table(["solution", "pairs", "geo-mean after/before", "min", "max"], summary),
        "",
        "## Per workload (µs)",
        "",
        md_table(["solution", "workload", "before", "after", "after/before"], rows),
    ]
    text = "\n".join(lines) + "\n"
    if args.results:
        write_results(args.results, text)
    print(text)


if __name__ == "__main__":
    main()
