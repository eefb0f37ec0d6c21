"""Scaling and per-job overhead of the Ray backend on a CPU cluster.

    ray start --head --port 6379 --num-cpus 1 --include-dashboard false
    ray start --address 127.0.0.1:6379 --num-cpus 1
    python benchmarks/ray_scaling.py --address 127.0.0.1:6379 \\
        --results benchmarks/results/ray_scaling.md

The workload is a small dataset written to a temporary folder: one elementwise Definition, J
identical Solutions under different names (J Jobs), W workloads each, the lightest timing. A
Job's cost is mostly its sandbox: a fresh Python process importing torch, the build, and the
calls, so Jobs are CPU-bound and independent, which is what a cluster of judges parallelizes.

1. Scaling: the J Jobs with ``actors=1`` and ``actors=2`` (``--force``, so every run does all
   of them), ``--repeats`` times, interleaved. Jobs per second counted two ways: over the run's
   wall time (``kernel_arena.run`` from call to return: planning, actor start, the Jobs, the
   actors' clean-up), and in steady state (from the first workload's start to the last trace).
   The driver's connection to the cluster is made once, before, and reported on its own.
2. Per-job overhead of the Ray backend over the local one: both with one judge, J and J_small
   Jobs; the slope of wall time against Job count is the cost per Job for each backend (fixed
   costs, such as starting actors, cancel out); the difference of the slopes is the overhead.
3. Transport per Job: a Job with no workloads sent to a judge actor and its (empty) answer
   pulled, timed from the driver: what Ray adds to every Job before any evaluation.

Every run records the 1-minute load average before it: on a shared machine, it says how much
else was running.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import command_line, environment_line, md_table, write_results  # noqa: E402

import kernel_arena  # noqa: E402
from kernel_arena.engine.config import RunConfig  # noqa: E402
from kernel_arena.engine.run import RunListener  # noqa: E402
from kernel_arena.measure.timing import TimingSettings  # noqa: E402

LIGHT = RunConfig(timing=TimingSettings(0, 1, 1), draws=1, timeout_s=120)
DEFINITION = {
    "name": "axpy_n",
    "op_type": "elementwise",
    "description": "out = alpha * x + y",
    "axes": {"n": {"type": "var"}},
    "inputs": {
        "x": {"shape": ["n"], "dtype": "float32"},
        "y": {"shape": ["n"], "dtype": "float32"},
        "alpha": {"shape": None, "dtype": "float32"},
    },
    "outputs": {"out": {"shape": ["n"], "dtype": "float32"}},
    "reference": "import torch\n\ndef run(x, y, alpha):\n    return alpha * x + y\n",
}
SOLUTION_CODE = textwrap.dedent("""
    def run(x, y, alpha, out):
        out.copy_(alpha * x + y)
""")


def write_dataset(root: Path, jobs: int, workloads: int) -> Path:
    """``jobs`` Solutions of one Definition, ``workloads`` workloads each."""
    (root / "definitions" / "elementwise").mkdir(parents=True)
    (root / "definitions" / "elementwise" / "axpy_n.json").write_text(json.dumps(DEFINITION))
    (root / "workloads" / "elementwise").mkdir(parents=True)
    lines = [
        {
            "definition": "axpy_n",
            "workload": {
                "axes": {"n": 1 << 16},
                "inputs": {
                    "x": {"type": "random"},
                    "y": {"type": "random"},
                    "alpha": {"type": "scalar", "value": 2.0},
                },
                "uuid": f"bench-{i}",
            },
            "solution": None,
            "evaluation": None,
        }
        for i in range(workloads)
    ]
    (root / "workloads" / "elementwise" / "axpy_n.jsonl").write_text(
        "".join(json.dumps(x) + "\n" for x in lines)
    )
    folder = root / "solutions" / "elementwise" / "axpy_n"
    folder.mkdir(parents=True)
    for j in range(jobs):
        solution = {
            "name": f"bench{j:02d}",
            "definition": "axpy_n",
            "author": "benchmark",
            "spec": {
                "language": "python",
                "target_hardware": ["cpu"],
                "entry_point": "main.py::run",
                "dependencies": [],
                "destination_passing_style": True,
            },
            "sources": [{"path": "main.py", "content": SOLUTION_CODE}],
        }
        (folder / f"bench{j:02d}.json").write_text(json.dumps(solution))
    return root


class Clock(RunListener):
    """First workload start and last trace, in perf_counter seconds."""

    def __init__(self) -> None:
        self.first: float | None = None
        self.last: float | None = None
        self.traces = 0

    def started(self, job, workload, device) -> None:  # noqa: ANN001
        if self.first is None:
            self.first = time.perf_counter()

    def finished(self, trace) -> None:  # noqa: ANN001
        self.last = time.perf_counter()
        self.traces += 1


def timed_run(dataset: Path, out: Path, solutions: list[str], **backend) -> dict:
    """One run with --force: wall seconds, steady-state seconds, load average before it."""
    load = os.getloadavg()[0]
    clock = Clock()
    t0 = time.perf_counter()
    result = kernel_arena.run(
        dataset=dataset, solutions=solutions, out=out, device="cpu", config=LIGHT, force=True,
        listener=clock, **backend,
    )  # fmt: skip
    wall = time.perf_counter() - t0
    failed = [t for t in result.traces if not t.passed]
    if failed:
        raise SystemExit(f"{len(failed)} evaluation(s) failed, e.g. {failed[0].evaluation.log[:500]}")
    return {"wall": wall, "steady": clock.last - clock.first, "load": load, "traces": clock.traces}


def spread(values: list[float], digits: int = 2) -> str:
    """median [min–max]"""
    return f"{statistics.median(values):.{digits}f} [{min(values):.{digits}f}–{max(values):.{digits}f}]"


def transport_ms(address: str, calls: int) -> list[float]:
    """Driver-side milliseconds for start(Job with no workloads) + next_trace on one judge actor."""
    import ray

    from kernel_arena.dataset import load_dataset
    from kernel_arena.engine.backends.ray_judge import JudgeActor
    from kernel_arena.engine.plan import Job

    ds = load_dataset()
    definition = ds.definition("gqa_paged_decode_h32_kv8_d128_ps1")
    job = Job(definition, ds.solution("gqa_paged_decode_torch"), []).to_json_dict()
    actor = ray.remote(JudgeActor).options(num_cpus=1).remote("cpu", "bench-transport")
    config = LIGHT.to_json_dict()
    try:
        ray.get(actor.describe.remote())
        times = []
        for i in range(calls + 1):
            t0 = time.perf_counter()
            ray.get(actor.start.remote(job, config, 1, {}))
            assert ray.get(actor.next_trace.remote()) is None
            if i:  # the first call builds the judge
                times.append((time.perf_counter() - t0) * 1e3)
        ray.get(actor.close.remote())
        return times
    finally:
        ray.kill(actor)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--address", required=True, help="Ray cluster with (at least) 2 CPUs in all")
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--small-jobs", type=int, default=2)
    parser.add_argument("--workloads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--transport-calls", type=int, default=50)
    parser.add_argument("--results", default=None)
    args = parser.parse_args()

    import ray

    t0 = time.perf_counter()
    ray.init(address=args.address, log_to_driver=False)
    connect_s = time.perf_counter() - t0
    nodes = [n for n in ray.nodes() if n["Alive"]]
    cpus = sum(int(n["Resources"].get("CPU", 0)) for n in nodes)

    tmp = Path(tempfile.mkdtemp(prefix="ray-scaling-"))
    dataset = write_dataset(tmp / "ds", args.jobs, args.workloads)
    every = [f"bench{j:02d}" for j in range(args.jobs)]
    few = every[: args.small_jobs]
    runs: dict[tuple[str, int], list[dict]] = {}
    plan = [("ray1", every), ("ray2", every), ("local", every), ("ray1", few), ("local", few)]
    for rep in range(args.repeats):
        for name, sols in plan:
            backend = {"backend": "local"} if name == "local" else {"backend": "ray", "actors": int(name[-1])}
            r = timed_run(dataset, tmp / f"out-{name}-{len(sols)}", sols, **backend)
            runs.setdefault((name, len(sols)), []).append(r)
            print(
                f"repeat {rep}: {name} {len(sols)} jobs: wall {r['wall']:.2f} s, steady {r['steady']:.2f} s, load {r['load']:.2f}",
                flush=True,
            )
    transport = transport_ms(args.address, args.transport_calls)

    def per_s(name: str, key: str) -> list[float]:
        return [args.jobs / r[key] for r in runs[(name, args.jobs)]]

    rows = []
    for name, label in (
        ("local", "local backend, 1 judge"),
        ("ray1", "ray, 1 CPU actor"),
        ("ray2", "ray, 2 CPU actors"),
    ):
        rs = runs[(name, args.jobs)]
        rows.append([
            label, spread([r["wall"] for r in rs]), spread(per_s(name, "wall")), spread(per_s(name, "steady")),
            spread([r["load"] for r in rs]),
        ])  # fmt: skip
    speed_wall = statistics.median(per_s("ray2", "wall")) / statistics.median(per_s("ray1", "wall"))
    speed_steady = statistics.median(per_s("ray2", "steady")) / statistics.median(per_s("ray1", "steady"))
    paired_wall = [
        b["wall"] / a["wall"] for a, b in zip(runs[("ray2", args.jobs)], runs[("ray1", args.jobs)])
    ]

    def slope(name: str) -> list[float]:
        """Seconds per Job, per repeat (paired small and large runs of the same repeat)."""
        big, small = runs[(name, args.jobs)], runs[(name, args.small_jobs)]
        return [(b["wall"] - s["wall"]) / (args.jobs - args.small_jobs) for b, s in zip(big, small)]

    per_job = {name: slope(name) for name in ("local", "ray1")}
    overhead_ms = [(r - loc) * 1e3 for r, loc in zip(per_job["ray1"], per_job["local"])]
    fixed = {
        name: [s["wall"] - args.small_jobs * p for s, p in zip(runs[(name, args.small_jobs)], per_job[name])]
        for name in ("local", "ray1")
    }

    text = f"""# Ray backend: scaling and per-job overhead (CPU cluster)

Command:

```bash
ray start --head --port 6379 --num-cpus 1 --include-dashboard false
ray start --address 127.0.0.1:6379 --num-cpus 1
{command_line()}
```

Environment: {environment_line()}; ray {ray.__version__}; {os.cpu_count()} cores; cluster of {
        len(nodes)
    } nodes
with {cpus} CPUs in all, all on this machine. The machine was shared with other work while this ran:
the load average column says how busy it was (2.0 = both cores busy before the run began).

Work: {args.jobs} Jobs (identical Solutions under different names) x {args.workloads} workloads of an
elementwise Definition, timing 0 warm-up + 1 x 1 call, 1 correctness draw, `--force`;
{args.repeats} repeats, the configurations interleaved. Values are median [min–max] over the repeats.
The driver connected once ({connect_s:.2f} s) before the runs.

## Jobs per second

| configuration | wall s | jobs/s (wall) | jobs/s (steady state) | load average before |
|---|---|---|---|---|
{chr(10).join("| " + " | ".join(map(str, r)) + " |" for r in rows)}

2 actors against 1: **{speed_wall:.2f}x** over the wall time (per repeat: {
        ", ".join(f"{x:.2f}x" for x in paired_wall)
    }),
**{speed_steady:.2f}x** in steady state. Wall time includes starting the actors (a Ray worker
process importing torch) and their clean-up; steady state runs from the first workload's start to
the last trace.

## Per-job overhead of the Ray backend over the local one

Both with one judge; seconds per Job = (wall with {args.jobs} Jobs − wall with {args.small_jobs} Jobs) / {
        args.jobs - args.small_jobs
    }, per repeat.

{
        md_table(
            ["backend", "s per Job", "fixed s per run (intercept)"],
            [
                ["local", spread(per_job["local"], 3), spread(fixed["local"], 2)],
                ["ray, 1 actor", spread(per_job["ray1"], 3), spread(fixed["ray1"], 2)],
            ],
        )
    }

Overhead per Job (ray − local, per repeat): {", ".join(f"{x:.0f}" for x in overhead_ms)} ms; median
**{statistics.median(overhead_ms):.0f} ms**. This difference of two noisy slopes is only as precise as the
runs are repeatable on a shared machine (see the spread of the slopes above); the transport cost
below is the part Ray adds to every Job by construction.

Transport per Job (a Job with no workloads to a judge actor and its empty answer back, timed on the
driver, {len(transport)} calls): median **{statistics.median(transport):.1f} ms**, [{min(transport):.1f}–{
        max(transport):.1f}] ms.
Per workload, a Job adds one more round trip of the same kind (`next_trace`).
"""
    if args.results:
        write_results(args.results, text)
    else:
        print(text)


if __name__ == "__main__":
    main()
