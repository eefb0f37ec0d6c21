"""``kernel-arena run``: evaluate Solutions on Workloads through the engine, show progress and
the run summary; exit 1 when an evaluation failed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from kernel_arena.cli.common import (
    DatasetOpt,
    JsonOpt,
    SynthesizeMissingOpt,
    console,
    err,
    fail,
    interpreter_note,
    load,
)
from kernel_arena.report.marks import TIMING_MARKS_LEGEND, timing_marks
from kernel_arena.report.text import format_ms, shorten

if TYPE_CHECKING:
    from kernel_arena.engine.config import RunConfig
    from kernel_arena.engine.run import RunResult
    from kernel_arena.report.summary import SummaryRow


def run_cmd(
    dataset: DatasetOpt = None,
    definition: Annotated[
        Optional[list[str]], typer.Option("--definition", help="Only these definitions (repeatable).")
    ] = None,
    solution: Annotated[
        Optional[list[str]],
        typer.Option("--solution", help="Solution names, authoring folders or Solution JSON files."),
    ] = None,
    workload: Annotated[
        Optional[list[str]], typer.Option("--workload", help="Workload uuids (or uuid prefixes or names).")
    ] = None,
    workload_tag: Annotated[
        Optional[list[str]],
        typer.Option(
            "--workload-tag",
            help="Run workloads with these tags (default: cpu on CPU, gpu on GPU; 'all' for every workload).",
        ),
    ] = None,
    device: Annotated[
        Optional[str],
        typer.Option(help="cpu, cuda, cuda:N or all (default: cuda:0 when a GPU is visible, else cpu)."),
    ] = None,
    backend: Annotated[
        str,
        typer.Option(
            help="local (judges on this machine's devices) or ray (one judge per device of a Ray cluster)."
        ),
    ] = "local",
    address: Annotated[
        Optional[str],
        typer.Option(
            help="Ray backend: the cluster (auto, HOST:PORT or ray://HOST:PORT; default: RAY_ADDRESS, "
            "else a running local cluster, else a new local instance)."
        ),
    ] = None,
    actors: Annotated[
        Optional[int],
        typer.Option(help="Ray backend: at most this many judges (default: one per GPU, or per CPU on CPU)."),
    ] = None,
    out: Annotated[Path, typer.Option(help="Run folder receiving traces.")] = Path("runs"),
    budget_ms: Annotated[
        Optional[float],
        typer.Option(
            "--budget-ms",
            help="Time per timing loop of a Solution; counts are sized to it (default 50 on a GPU, "
            "100 on CPU; with --warmup/--iters, those become maxima).",
        ),
    ] = None,
    warmup: Annotated[
        Optional[int], typer.Option(help="Warm-up calls before timing (fixes the counts; default: budgeted).")
    ] = None,
    iters: Annotated[
        Optional[int], typer.Option(help="Timed calls per trial (fixes the counts; default: budgeted).")
    ] = None,
    trials: Annotated[Optional[int], typer.Option(help="Trials (median of medians; default 3).")] = None,
    reference_timing: Annotated[
        bool,
        typer.Option(
            "--reference-timing/--no-reference-timing",
            help="Time the reference for speedup_factor (cached per workload content and device).",
        ),
    ] = True,
    baseline: Annotated[
        Optional[str],
        typer.Option(
            help="Solution that speedups are quoted against (default: the definition's 'baseline'; "
            "'none' for no baseline)."
        ),
    ] = None,
    draws: Annotated[int, typer.Option(help="Fresh input draws checked for correctness.")] = 3,
    atol: Annotated[Optional[float], typer.Option(help="Absolute tolerance (default 1e-2).")] = None,
    rtol: Annotated[Optional[float], typer.Option(help="Relative tolerance (default 1e-2).")] = None,
    config: Annotated[Optional[Path], typer.Option(help="Tolerance config (.toml or .json).")] = None,
    timeout: Annotated[
        float,
        typer.Option(
            help="Seconds the Solution's build, one of its correctness calls, or its timing loops may "
            "take before TIMEOUT (the reference and the sandbox's start-up are not counted)."
        ),
    ] = 600.0,
    synthesize_missing: SynthesizeMissingOpt = False,
    force: Annotated[bool, typer.Option("--force", help="Re-run triples that already have traces.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Run solutions on workloads: correctness against the reference, timing, traces.

    Traces are appended to OUT/traces/<op_type>/<definition>.jsonl as they are produced; an
    interrupted run resumes where it stopped. Exit code 1 when any evaluation failed.
    """
    from kernel_arena.dataset import DatasetError
    from kernel_arena.engine.backends import BackendError
    from kernel_arena.engine.config import ConfigError, RunConfig, load_config
    from kernel_arena.engine.run import run
    from kernel_arena.measure.timing import TimingSettings
    from kernel_arena.report.summary import summarize

    cfg = RunConfig(
        atol=atol,
        rtol=rtol,
        draws=draws,
        timeout_s=timeout,
        synthesize_missing=synthesize_missing,
        budget_ms=budget_ms,
        reference_timing=reference_timing,
        baseline=baseline,
    )
    if config is not None:
        try:
            cfg = load_config(config, cfg)
        except ConfigError as exc:
            fail(str(exc))
    from kernel_arena.measure.environment import expand_devices

    try:
        devices = expand_devices(device)
    except ValueError as exc:
        fail(str(exc))
    if any(v is not None for v in (warmup, iters, trials)):
        base = cfg.timing_for(devices[0])
        cfg.timing = TimingSettings(
            warmup if warmup is not None else base.warmup,
            iters if iters is not None else base.iters,
            trials if trials is not None else base.trials,
            budget_ms=budget_ms,
            min_iters=base.min_iters,
        )
    for name, value, low in (
        ("--draws", draws, 1),
        ("--iters", iters, 1),
        ("--trials", trials, 1),
        ("--warmup", warmup, 0),
    ):
        if value is not None and value < low:
            fail(f"{name} must be at least {low}, got {value}")
    if budget_ms is not None and not budget_ms > 0:
        fail(f"--budget-ms must be positive, got {budget_ms}")
    from kernel_arena.cli.progress import ProgressListener

    listener = ProgressListener(console, enabled=not as_json, lines=err)
    try:
        with listener:
            result = run(
                dataset=load(dataset),
                definitions=definition,
                solutions=solution,
                workloads=workload,
                device=device,
                out=out,
                config=cfg,
                force=force,
                workload_tags=workload_tag,
                listener=listener,
                backend=backend,
                address=address,
                actors=actors,
            )
    except (DatasetError, ValueError, BackendError) as exc:
        fail(str(exc))
    if not result.jobs:
        reasons = "; ".join(f"{x.solution}: {x.reason}" for x in result.skipped)
        fail(
            "nothing to run: no (solution, workload) pair matches the selection"
            + (f" ({reasons})" if reasons else "")
            + "; see `kernel-arena list workloads` and `kernel-arena list solutions`"
        )
    rows = summarize(result.all_traces(), {j.definition.name: j.definition for j in result.jobs})
    failed = any(t.evaluation is not None and not t.passed for t in result.traces)
    if as_json:
        print(
            json.dumps(
                {
                    "out": str(out),
                    "new_traces": len(result.traces),
                    "already_done": result.already_done,
                    "skipped": [s.__dict__ for s in result.skipped],
                    "summary": [r.__dict__ for r in rows],
                },
                indent=2,
                default=str,
            )
        )
    else:
        _print_summary(rows, result, cfg)
    if failed:
        raise typer.Exit(1)


def _print_summary(rows: list[SummaryRow], result: RunResult, config: RunConfig) -> None:
    from kernel_arena.engine.config import interpreted

    table = Table(title=escape(f"run summary ({result.out})"), show_header=True, header_style="bold")
    for col in (
        "definition",
        "solution",
        "passed",
        "speedup",
        "on common workloads",
        "against",
        "wins/losses",
        "median latency",
        "worst abs err",
        "first failure",
    ):
        table.add_column(col, overflow="fold")
    for r in rows:
        color = "green" if r.passed == r.total else "red"
        marks = timing_marks(r.noisy, r.cpu_timed)
        table.add_row(
            escape(r.definition),
            escape(r.solution),
            f"[{color}]{r.passed}/{r.total}[/{color}]",
            (f"{r.geomean_speedup:.2f}x" if r.geomean_speedup else "-") + escape(marks),
            f"{r.geomean_speedup_common:.2f}x" if r.geomean_speedup_common else "-",
            escape(r.speedup_basis),
            f"{r.wins}/{r.losses}" if r.wins is not None else "-",
            format_ms(r.median_latency_ms),
            f"{r.worst_abs_error:.3g}" if r.worst_abs_error is not None else "-",
            escape(shorten(r.first_failure or "", 160)),
        )
    console.print(table)
    console.print(
        "speedup: geo-mean over the workloads each solution passed, against the definition's "
        "baseline solution when it ran, else the reference; 'on common workloads': over those every "
        f"solution passed. {TIMING_MARKS_LEGEND}"
    )
    for s in result.skipped:
        console.print(f"[yellow]skipped[/yellow] {escape(f'{s.solution} ({s.definition}): {s.reason}')}")
    slow = [j.solution for j in result.jobs if interpreted(j.solution, "cpu")]
    if slow and all(
        t.evaluation and t.evaluation.environment.hardware.startswith("CPU") for t in result.traces
    ):
        names = sorted({s.name for s in slow})
        timing = config.timing_for("cpu", slow[0]).describe()
        console.print(f"note: {escape(interpreter_note(names, timing))}")
    if result.already_done:
        console.print(
            f"{result.already_done} evaluation(s) already traced in {result.out} were "
            "skipped (use --force to re-run them)"
        )
