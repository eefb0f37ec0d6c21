"""Scaling and per-job overhead of the Ray backend on a cluster (CPU by default).

    ray start --head --port 6379 --num-cpus 1 --include-dashboard false
    ray start --address 127.0.0.1:6379 --num-cpus 1 --dashboard-agent-listen-port 52366
    # (two nodes on one machine need two dashboard agent ports)
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
   Ray starts actors with ``OMP_NUM_THREADS=1``, which the sandboxes inherit, so the local
   backend is also run with it (like for like) beside its default.
3. The Ray path piece by piece, timed on the driver: starting a judge actor, ``start`` with a
   real Job (shipped and parsed, nothing evaluated), a ``next_trace`` round trip without an
   evaluation, a trace's JSON round trip. Their sum for a Job is what Ray adds to it by
   construction; everything else is the same code on both backends.

Every run records the 1-minute load average before it: on a shared machine, it says how much
else was running.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import command_line, environment_line, md_table, write_results  # noqa: E402

import kernel_arena  # noqa: E402
from kernel_arena.engine.config import RunConfig  # noqa: E402
from kernel_arena.engine.run import RunListener  # noqa: E402
from kernel_arena.measure.timing import TimingSettings  # noqa: E402
from kernel_arena.schema import Trace  # noqa: E402

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
                "target_hardware": ["cpu", "cuda"],
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


def timed_run(dataset: Path, out: Path, solutions: list[str], device: str, **backend) -> dict:
    """One run with --force: wall seconds, steady-state seconds, load average before it."""
    load = os.getloadavg()[0]
    clock = Clock()
    t0 = time.perf_counter()
    result = kernel_arena.run(
        dataset=dataset, solutions=solutions, out=out, device=device, config=LIGHT, force=True,
        listener=clock, **backend,
    )  # fmt: skip
    wall = time.perf_counter() - t0
    failed = [t for t in result.traces if not t.passed]
    if failed:
        raise SystemExit(f"{len(failed)} evaluation(s) failed, e.g. {failed[0].evaluation.log[:500]}")
    return {"wall": wall, "steady": clock.last - clock.first, "load": load, "sample": result.traces[-1]}


@contextlib.contextmanager
def one_thread(on: bool) -> Iterator[None]:
    """``OMP_NUM_THREADS=1`` for the sandboxes started meanwhile (as Ray's actors have it)."""
    previous = os.environ.get("OMP_NUM_THREADS")
    if on:
        os.environ["OMP_NUM_THREADS"] = "1"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("OMP_NUM_THREADS", None)
        else:
            os.environ["OMP_NUM_THREADS"] = previous


def spread(values: list[float], digits: int = 2) -> str:
    """median [min–max]"""
    return f"{statistics.median(values):.{digits}f} [{min(values):.{digits}f}–{max(values):.{digits}f}]"


def ray_costs(calls: int, trace: Trace) -> dict[str, list[float]]:
    """What the Ray backend adds, measured piece by piece from the driver (milliseconds, except
    the actor start in seconds): starting a judge actor; ``start`` with a real Job (the embedded
    GQA torch Solution on its CPU workloads: Definition, Solution, Workloads shipped and parsed;
    nothing is evaluated until ``next_trace``); a ``next_trace`` round trip with no Job (the
    per-workload call, minus the evaluation); a trace's JSON round trip (actor: ``to_json_dict``,
    driver: ``model_validate``)."""
    import ray

    from kernel_arena.dataset import load_dataset
    from kernel_arena.engine.backends.ray_judge import JudgeActor
    from kernel_arena.engine.plan import Job

    ds = load_dataset()
    definition = ds.definition("gqa_paged_decode_h32_kv8_d128_ps1")
    workloads = [w for w in ds.workloads_for(definition.name) if "cpu" in (w.tags or [])]
    job = Job(definition, ds.solution("gqa_paged_decode_torch"), workloads).to_json_dict()
    config = LIGHT.to_json_dict()
    t0 = time.perf_counter()
    actor = ray.remote(JudgeActor).options(num_cpus=1).remote("cpu", "bench-costs")
    costs: dict[str, list[float]] = {
        "actor_start_s": [],
        "start_ms": [],
        "next_trace_ms": [],
        "trace_json_ms": [],
    }
    try:
        ray.get(actor.describe.remote())
        costs["actor_start_s"].append(time.perf_counter() - t0)
        ray.get(actor.start.remote(job, config, 1, {}))  # builds the judge once
        for _ in range(calls):
            t0 = time.perf_counter()
            ray.get(actor.start.remote(job, config, 1, {}))
            costs["start_ms"].append((time.perf_counter() - t0) * 1e3)
        ray.get(actor.close.remote())  # no Job any more: next_trace answers None at once
        for _ in range(calls):
            t0 = time.perf_counter()
            assert ray.get(actor.next_trace.remote()) is None
            costs["next_trace_ms"].append((time.perf_counter() - t0) * 1e3)
    finally:
        ray.kill(actor)
    for _ in range(calls):
        t0 = time.perf_counter()
        Trace.model_validate(trace.to_json_dict())
        costs["trace_json_ms"].append((time.perf_counter() - t0) * 1e3)
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--address", required=True, help="Ray cluster with (at least) 2 devices in all")
    parser.add_argument("--device", default="cpu", help="cpu, or cuda for one judge per GPU")
    parser.add_argument("--jobs", type=int, default=16)
    parser.add_argument("--small-jobs", type=int, default=2)
    parser.add_argument("--workloads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--calls", type=int, default=50, help="calls per measured piece of the Ray path")
    parser.add_argument("--results", default=None)
    parser.add_argument(
        "--note", default="", help="a sentence for the results (e.g. that the machine was shared)"
    )
    args = parser.parse_args()

    import ray

    t0 = time.perf_counter()
    ray.init(address=args.address, log_to_driver=False, logging_level="WARNING")
    connect_s = time.perf_counter() - t0
    nodes = [n for n in ray.nodes() if n["Alive"]]
    kind = "CPU" if args.device == "cpu" else "GPU"
    devices = sum(int(n["Resources"].get(kind, 0)) for n in nodes)
    hosts = len({n["NodeManagerAddress"] for n in nodes})

    tmp = Path(tempfile.mkdtemp(prefix="ray-scaling-"))
    dataset = write_dataset(tmp / "ds", args.jobs, args.workloads)
    every = [f"bench{j:02d}" for j in range(args.jobs)]
    few = every[: args.small_jobs]
    runs: dict[tuple[str, int], list[dict]] = {}
    plan = [(name, sols) for sols in (every, few) for name in ("ray1", "ray2", "local", "local1")]
    plan.remove(("ray2", few))
    for rep in range(args.repeats):
        for name, sols in plan:
            local = name.startswith("local")
            backend = {"backend": "local"} if local else {"backend": "ray", "actors": int(name[-1])}
            device = args.device if not local or args.device == "cpu" else "cuda:0"
            with one_thread(name == "local1"):
                r = timed_run(dataset, tmp / f"out-{name}-{len(sols)}", sols, device, **backend)
            runs.setdefault((name, len(sols)), []).append(r)
            print(
                f"repeat {rep}: {name} {len(sols)} jobs: wall {r['wall']:.2f} s, steady {r['steady']:.2f} s, load {r['load']:.2f}",
                flush=True,
            )
    costs = ray_costs(args.calls, runs[("ray1", args.jobs)][0]["sample"])

    def per_s(name: str, key: str) -> list[float]:
        return [args.jobs / r[key] for r in runs[(name, args.jobs)]]

    rows = []
    for name, label in (
        ("local", "local backend, 1 judge"),
        ("local1", "local backend, 1 judge, OMP_NUM_THREADS=1"),
        ("ray1", f"ray, 1 {kind} actor"),
        ("ray2", f"ray, 2 {kind} actors"),
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

    per_job = {name: slope(name) for name in ("local", "local1", "ray1")}
    overhead_ms = [(r - loc) * 1e3 for r, loc in zip(per_job["ray1"], per_job["local1"])]
    overhead_default_ms = [(r - loc) * 1e3 for r, loc in zip(per_job["ray1"], per_job["local"])]
    fixed = {
        name: [s["wall"] - args.small_jobs * p for s, p in zip(runs[(name, args.small_jobs)], per_job[name])]
        for name in ("local", "local1", "ray1")
    }

    n = os.cpu_count()
    cluster_line = f"the cluster: {len(nodes)} nodes on {hosts} host(s), {devices} {kind}s in all"
    ray_commands = "ray start --head --port 6379 --num-cpus 1 --include-dashboard false\n"
    ray_commands += "ray start --address 127.0.0.1:6379 --num-cpus 1 --dashboard-agent-listen-port 52366\n"
    table = md_table(
        ["configuration", "wall s", "jobs/s (wall)", "jobs/s (steady state)", "load average before"], rows
    )
    slopes = md_table(
        ["backend", "s per Job", "fixed s per run (intercept)"],
        [
            ["local", spread(per_job["local"], 3), spread(fixed["local"], 2)],
            ["local, OMP_NUM_THREADS=1", spread(per_job["local1"], 3), spread(fixed["local1"], 2)],
            ["ray, 1 actor", spread(per_job["ray1"], 3), spread(fixed["ray1"], 2)],
        ],
    )
    per_repeat = ", ".join(f"{x:.2f}x" for x in paired_wall)
    med = {k: statistics.median(v) for k, v in costs.items()}
    per_job_ms = med["start_ms"] + args.workloads * (med["next_trace_ms"] + med["trace_json_ms"])
    overheads = ", ".join(f"{x:.0f}" for x in overhead_ms)
    overheads_default = ", ".join(f"{x:.0f}" for x in overhead_default_ms)
    lines = [
        f"# Ray backend: scaling and per-job overhead ({kind} cluster)",
        "",
        "Command (the cluster as started for these numbers, then the script):",
        "",
        "```bash",
        ray_commands + command_line(),
        "```",
        "",
        f"Environment: {environment_line()}; ray {ray.__version__}; the driver's machine has {n} cores; "
        f"{cluster_line}. The load average column is this machine's 1-minute load average before each "
        f"run ({n} = as many runnable processes as cores before the run began: other work). {args.note}",
        "",
        f"Work: {args.jobs} Jobs (identical Solutions under different names) x {args.workloads} workloads "
        "of an elementwise Definition, timing 0 warm-up + 1 x 1 call, 1 correctness draw, `--force`; "
        f"{args.repeats} repeats, the configurations interleaved. Values are median [min–max] over the "
        f"repeats. The driver connected once ({connect_s:.2f} s) before the runs.",
        "",
        "## Jobs per second",
        "",
        table,
        "",
        f"2 actors against 1: **{speed_wall:.2f}x** over the wall time (per repeat: {per_repeat}), "
        f"**{speed_steady:.2f}x** in steady state. Wall time includes starting the actors (a Ray worker "
        "process importing torch) and their clean-up; steady state runs from the first workload's start "
        "to the last trace.",
        "",
        "## Per-job overhead of the Ray backend over the local one",
        "",
        f"Both with one judge; seconds per Job = (wall with {args.jobs} Jobs − wall with "
        f"{args.small_jobs} Jobs) / {args.jobs - args.small_jobs}, per repeat. Ray starts its actors with "
        "`OMP_NUM_THREADS=1` and the sandboxes inherit it, so the like-for-like local run sets it too "
        "(for its sandboxes); the plain local run lets torch use every core.",
        "",
        slopes,
        "",
        f"Overhead per Job, ray − local with OMP_NUM_THREADS=1 (per repeat): {overheads} ms; median "
        f"**{statistics.median(overhead_ms):.0f} ms**. Against the plain local run: {overheads_default} ms; "
        f"median {statistics.median(overhead_default_ms):.0f} ms. A difference of two slopes is only as "
        "precise as the runs are repeatable: see the spread of the slopes and the load averages.",
        "",
        "### The Ray path, piece by piece",
        "",
        f"Timed on the driver, {args.calls} calls each, median [min–max]; one judge actor on the cluster.",
        "",
        md_table(
            ["piece", "cost", "paid"],
            [
                [
                    "start a judge actor (worker process, imports)",
                    f"{spread(costs['actor_start_s'])} s",
                    "once per judge per run",
                ],
                [
                    "`start`: ship and parse a Job (embedded GQA torch, 4 CPU workloads)",
                    f"{spread(costs['start_ms'], 1)} ms",
                    "per Job",
                ],
                [
                    "`next_trace` round trip (no evaluation)",
                    f"{spread(costs['next_trace_ms'], 1)} ms",
                    "per workload",
                ],
                ["trace JSON round trip", f"{spread(costs['trace_json_ms'], 2)} ms", "per workload"],
            ],
        ),
        "",
        f"Per Job of this benchmark ({args.workloads} workloads): `start` + {args.workloads} x "
        f"(`next_trace` + trace JSON) = **{per_job_ms:.1f} ms** (medians). Everything else a Job costs "
        "(the sandbox, the judge's work) is the same code on both backends.",
        "",
    ]
    text = "\n".join(lines)
    if args.results:
        write_results(args.results, text)
    else:
        print(text)


if __name__ == "__main__":
    main()
