"""The ``kernel-arena`` command line: parses arguments, calls the API, renders with rich.

Exit codes: 0 ok, 1 problems found (invalid dataset, failing solutions, regressions),
2 usage error (bad arguments, unknown names, unreadable files). User mistakes print a one-line
error, never a traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.syntax import Syntax
from rich.table import Table

app = typer.Typer(
    name="kernel-arena",
    help="Verify, benchmark and explain GPU kernels written against FlashInfer-Trace definitions.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# Off a terminal (pipes, CI logs) rich would wrap tables at 80 columns; names here are long.
console = Console(width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 200)

DatasetOpt = Annotated[
    Optional[str],
    typer.Option("--dataset", "-d", help="Dataset folder or run folder (default: the embedded dataset)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]


class UsageError(Exception):
    """A user mistake: printed as one line, exit code 2."""


def _fail(message: str, code: int = 2) -> None:
    err.print(f"[red]error:[/red] {escape(message)}")
    raise typer.Exit(code)


def _emit(text: str, out: Path | None) -> None:
    """Write command output to stdout, or atomically to a file (reported on stderr)."""
    if out is None:
        sys.stdout.write(text)
        return
    from kernel_arena.files import atomic_write_text

    atomic_write_text(out, text)
    err.print(f"wrote {out}")


def _load(dataset: str | None) -> Any:
    from kernel_arena.dataset import DatasetError, load_dataset

    try:
        return load_dataset(dataset)
    except DatasetError as exc:
        _fail(str(exc))


# ------------------------------------------------------------------------------ list
@app.command("list")
def list_cmd(
    what: Annotated[str, typer.Argument(help="definitions | workloads | solutions | traces")],
    dataset: DatasetOpt = None,
    definition: Annotated[
        Optional[list[str]], typer.Option("--definition", help="Only these definitions.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """List the definitions, workloads, solutions or traces of a dataset."""
    kinds = {"definitions", "workloads", "solutions", "traces"}
    if what not in kinds:
        _fail(f"cannot list {what!r}: choose one of {', '.join(sorted(kinds))}")
    ds = _load(dataset)
    wanted = set(definition or [])
    for name in wanted:
        if name not in ds.definitions:
            _fail(f"no definition named {name!r} (known: {', '.join(sorted(ds.definitions))})")

    def keep(def_name: str) -> bool:
        return not wanted or def_name in wanted

    rows: list[dict[str, Any]] = []
    if what == "definitions":
        for d in sorted(ds.definitions.values(), key=lambda d: (d.op_type, d.name)):
            if keep(d.name):
                rows.append(
                    {
                        "name": d.name,
                        "op_type": d.op_type,
                        "workloads": len(ds.workloads_for(d.name)),
                        "solutions": len(ds.solutions_for(d.name)),
                        "tags": d.tags or [],
                    }
                )
    elif what == "workloads":
        for def_name in sorted(ds.workloads):
            if keep(def_name):
                for w in ds.workloads[def_name]:
                    rows.append(
                        {
                            "definition": def_name,
                            "uuid": w.uuid,
                            "name": (w.model_extra or {}).get("name", ""),
                            "tags": w.tags,
                            "axes": w.axes,
                        }
                    )
    elif what == "solutions":
        for s in sorted(ds.solutions.values(), key=lambda s: (s.definition, s.name)):
            if keep(s.definition):
                rows.append(
                    {
                        "name": s.name,
                        "definition": s.definition,
                        "author": s.author,
                        "language": s.spec.language,
                        "targets": s.spec.target_hardware,
                        "dependencies": s.spec.dependencies,
                    }
                )
    else:
        for t in ds.traces:
            if keep(t.definition) and t.evaluation:
                perf = t.evaluation.performance
                rows.append(
                    {
                        "definition": t.definition,
                        "solution": t.solution,
                        "workload": t.workload.uuid,
                        "status": t.evaluation.status.value,
                        "latency_ms": perf.latency_ms if perf else None,
                        "speedup": perf.speedup_factor if perf else None,
                    }
                )
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    if not rows:
        console.print(f"no {what}")
        return
    table = Table(show_header=True, header_style="bold")
    for col in rows[0]:
        table.add_column(col)
    for row in rows:
        table.add_row(*[_cell(v) for v in row.values()])
    console.print(table)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return " ".join(f"{k}={v}" for k, v in value.items())
    return escape(str(value))


# ------------------------------------------------------------------------------ show
@app.command()
def show(
    name: Annotated[str, typer.Argument(help="A definition or solution name.")],
    dataset: DatasetOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a definition (axes, inputs/outputs, constraints, reference) or a solution."""
    ds = _load(dataset)
    if name in ds.definitions:
        d = ds.definitions[name]
        if as_json:
            print(d.to_json(indent=2))
            return
        console.print(f"[bold]{d.name}[/bold]  (op_type {d.op_type})")
        if d.description:
            console.print(d.description)
        axes = Table(title="axes", show_header=True)
        for col in ("axis", "kind", "value", "description"):
            axes.add_column(col)
        for axis_name, axis in d.axes.items():
            axes.add_row(
                axis_name, axis.type, str(getattr(axis, "value", "")), escape(axis.description or "")
            )
        console.print(axes)
        io = Table(title="inputs and outputs (signature order)", show_header=True)
        for col in ("", "name", "shape", "dtype", "description"):
            io.add_column(col)
        for kind, specs in (("in", d.inputs), ("out", d.outputs)):
            for tensor, spec in specs.items():
                shape = "scalar" if spec.shape is None else "[" + ", ".join(spec.shape) + "]"
                opt = " (optional)" if spec.optional else ""
                io.add_row(kind, tensor, shape, spec.dtype, escape((spec.description or "") + opt))
        console.print(io)
        if d.constraints:
            console.print("[bold]constraints[/bold]")
            for c in d.constraints:
                console.print(f"  {escape(c)}")
        console.print("[bold]reference[/bold]")
        console.print(Syntax(d.reference, "python", line_numbers=True))
        return
    if name in ds.solutions:
        s = ds.solutions[name]
        if as_json:
            print(s.to_json(indent=2))
            return
        console.print(f"[bold]{s.name}[/bold] for {s.definition} by {escape(s.author)}")
        if s.description:
            console.print(escape(s.description))
        console.print(
            f"language {s.spec.language}, targets {', '.join(s.spec.target_hardware)}, "
            f"entry {s.spec.entry_point}, destination-passing "
            f"{s.spec.destination_passing_style}, dependencies "
            f"{', '.join(s.spec.dependencies) or 'none'}"
        )
        for src in s.sources:
            lexer = "python" if src.path.endswith(".py") else "cpp"
            console.print(f"[bold]{escape(src.path)}[/bold]")
            console.print(Syntax(src.content, lexer, line_numbers=True))
        return
    _fail(f"no definition or solution named {name!r}")


# -------------------------------------------------------------------------- validate
@app.command()
def validate(
    path: Annotated[Optional[str], typer.Argument(help="Dataset folder (default: embedded).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Check every file of a dataset; list all problems with file, line and field."""
    from kernel_arena.dataset import DatasetError, load_dataset, validate_dataset

    try:
        problems = validate_dataset(path)
        ds = load_dataset(path)
    except DatasetError as exc:
        _fail(str(exc))
    errors = [p for p in problems if p.severity == "error"]
    if as_json:
        print(json.dumps({"ok": not errors, "problems": [p.to_json() for p in problems]}, indent=2))
    else:
        for p in problems:
            color = "red" if p.severity == "error" else "yellow"
            console.print(f"[{color}]{escape(str(p))}[/{color}]")
        summary = (
            f"{len(ds.definitions)} definitions, "
            f"{sum(len(v) for v in ds.workloads.values())} workloads, "
            f"{len(ds.solutions)} solutions, {len(ds.traces)} traces"
        )
        if errors:
            console.print(f"[red]{len(errors)} problem(s)[/red] in {summary}")
        else:
            console.print(f"[green]ok[/green]: {summary}")
    if errors:
        raise typer.Exit(1)


# ------------------------------------------------------------------------------- run
@app.command("run")
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
    out: Annotated[Path, typer.Option(help="Run folder receiving traces.")] = Path("runs"),
    warmup: Annotated[Optional[int], typer.Option(help="Warm-up calls before timing.")] = None,
    iters: Annotated[Optional[int], typer.Option(help="Timed calls per trial.")] = None,
    trials: Annotated[Optional[int], typer.Option(help="Trials (median of medians).")] = None,
    draws: Annotated[int, typer.Option(help="Fresh input draws checked for correctness.")] = 3,
    atol: Annotated[Optional[float], typer.Option(help="Absolute tolerance (default 1e-2).")] = None,
    rtol: Annotated[Optional[float], typer.Option(help="Relative tolerance (default 1e-2).")] = None,
    config: Annotated[Optional[Path], typer.Option(help="Tolerance config (.toml or .json).")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds per workload before TIMEOUT.")] = 600.0,
    synthesize_missing: Annotated[
        bool,
        typer.Option("--synthesize-missing", help="Synthesize page tables whose blob files are missing."),
    ] = False,
    force: Annotated[bool, typer.Option(help="Re-run triples that already have traces.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Run solutions on workloads: correctness against the reference, timing, traces.

    Traces are appended to OUT/traces/<op_type>/<definition>.jsonl as they are produced; an
    interrupted run resumes where it stopped. Exit code 1 when any evaluation failed.
    """
    from kernel_arena.dataset import DatasetError
    from kernel_arena.engine.config import ConfigError, RunConfig, load_config
    from kernel_arena.engine.run import run
    from kernel_arena.measure.timing import TimingSettings
    from kernel_arena.report.summary import summarize
    from kernel_arena.schema import EvaluationStatus

    cfg = RunConfig(
        atol=atol, rtol=rtol, draws=draws, timeout_s=timeout, synthesize_missing=synthesize_missing
    )
    if config is not None:
        try:
            cfg = load_config(config, cfg)
        except ConfigError as exc:
            _fail(str(exc))
    if any(v is not None for v in (warmup, iters, trials)):
        from kernel_arena.measure.environment import expand_devices

        base = cfg.timing_for(expand_devices(device)[0])
        cfg.timing = TimingSettings(
            warmup if warmup is not None else base.warmup,
            iters if iters is not None else base.iters,
            trials if trials is not None else base.trials,
        )
    if draws < 1:
        _fail("--draws must be at least 1")
    from kernel_arena.cli_progress import ProgressListener

    listener = ProgressListener(console, enabled=not as_json)
    try:
        with listener:
            result = run(
                dataset=dataset,
                definitions=definition,
                solutions=solution,
                workloads=workload,
                device=device,
                out=out,
                config=cfg,
                force=force,
                workload_tags=workload_tag,
                listener=listener,
            )
    except (DatasetError, ValueError) as exc:
        _fail(str(exc))
    rows = summarize(result.all_traces())
    failed = any(t.evaluation and t.evaluation.status != EvaluationStatus.PASSED for t in result.traces)
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
        _print_summary(rows, result)
    if failed:
        raise typer.Exit(1)


# --------------------------------------------------------------------------- authoring
@app.command()
def new(
    definition: Annotated[str, typer.Argument(help="Definition the solution implements.")],
    name: Annotated[str, typer.Option("--name", help="Solution name.")],
    template: Annotated[
        str, typer.Option(help="reference | torch | library | triton (op-specific for the seed op types).")
    ] = "reference",
    from_solution: Annotated[
        Optional[str], typer.Option("--from", help="Start from an existing solution (name, folder or JSON).")
    ] = None,
    out: Annotated[Optional[Path], typer.Option(help="Folder to create (default: ./NAME).")] = None,
    author: Annotated[str, typer.Option(help="Author recorded in solution.json.")] = "me",
    dataset: DatasetOpt = None,
    force: Annotated[bool, typer.Option(help="Overwrite a non-empty folder.")] = False,
) -> None:
    """Create an authoring folder (solution.json + sources) with the exact entry-point signature."""
    from kernel_arena.authoring.scaffold import ScaffoldError, new_solution
    from kernel_arena.dataset import DatasetError

    ds = _load(dataset)
    target = out or Path(name)
    try:
        folder = new_solution(ds, definition, name, target, template, from_solution, author, force)
    except (ScaffoldError, DatasetError) as exc:
        _fail(str(exc))
    console.print(f"created {folder} ({', '.join(sorted(p.name for p in folder.iterdir()))})")
    console.print(f"next: kernel-arena check {folder} && kernel-arena try {folder}")


@app.command()
def check(
    solution: Annotated[str, typer.Argument(help="Authoring folder or Solution JSON file.")],
    dataset: DatasetOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Static checks before anything runs; each finding has a pitfall id, file:line and a fix."""
    from kernel_arena.authoring.check import check_solution_json
    from kernel_arena.authoring.pack import PackError, read_solution_arg

    try:
        data, where = read_solution_arg(solution)
    except PackError as exc:
        _fail(str(exc))
    ds = _load(dataset)
    findings = check_solution_json(data, ds.definition, where)
    errors = [f for f in findings if f.severity == "error"]
    if as_json:
        print(json.dumps({"ok": not errors, "findings": [f.to_json() for f in findings]}, indent=2))
    else:
        for f in findings:
            color = "red" if f.severity == "error" else "yellow"
            console.print(f"[{color}]{escape(str(f))}[/{color}]")
        console.print("[green]ok[/green]: no errors" if not errors else f"[red]{len(errors)} error(s)[/red]")
    if errors:
        raise typer.Exit(1)


@app.command()
def pack(
    folder: Annotated[Path, typer.Argument(help="Authoring folder.")],
    out: Annotated[Optional[Path], typer.Option(help="Output JSON file (default: stdout).")] = None,
) -> None:
    """Authoring folder -> inline Solution JSON (the public schema's form)."""
    from kernel_arena.authoring.pack import PackError, pack_folder_json

    try:
        text = pack_folder_json(folder)
    except PackError as exc:
        _fail(str(exc))
    _emit(text, out)


@app.command()
def unpack(
    solution: Annotated[Path, typer.Argument(help="Inline Solution JSON file.")],
    folder: Annotated[Path, typer.Argument(help="Authoring folder to create.")],
    force: Annotated[bool, typer.Option(help="Overwrite a non-empty folder.")] = False,
) -> None:
    """Inline Solution JSON -> authoring folder (sources as real files, byte-identical)."""
    from kernel_arena.authoring.pack import PackError, unpack_json_file

    try:
        sol = unpack_json_file(solution, folder, force)
    except PackError as exc:
        _fail(str(exc))
    console.print(f"unpacked {sol.name} into {folder}")


@app.command("try")
def try_cmd(
    solution: Annotated[str, typer.Argument(help="Solution name, authoring folder or JSON file.")],
    workload: Annotated[Optional[str], typer.Option(help="Workload uuid or name (default: first).")] = None,
    device: Annotated[Optional[str], typer.Option(help="cpu or cuda:N (default: GPU if any).")] = None,
    dataset: DatasetOpt = None,
    watch: Annotated[bool, typer.Option(help="Re-run whenever a source file changes.")] = False,
) -> None:
    """The inner loop: build, one workload, correctness with diagnosis, a quick timing."""
    from kernel_arena.authoring.trying import try_solution, watch_paths

    ds = _load(dataset)
    while True:
        code = try_solution(ds, solution, workload, device, console)
        if not watch:
            raise typer.Exit(code)
        console.print("[dim]watching for changes (Ctrl-C to stop)...[/dim]")
        watch_paths(solution)


# ------------------------------------------------------------------------------ report
@app.command()
def report(
    dataset: Annotated[
        Optional[str],
        typer.Option("--dataset", "-d", help="Run folder or dataset with traces (default: ./runs)."),
    ] = "runs",
    definition: Annotated[Optional[list[str]], typer.Option("--definition", help="Only these.")] = None,
    format: Annotated[str, typer.Option(help="table | md | csv | json | html")] = "table",
    out: Annotated[Optional[Path], typer.Option(help="Write to this file instead of stdout.")] = None,
    details: Annotated[bool, typer.Option("--details", help="Add per-workload rows.")] = False,
) -> None:
    """Leaderboards per definition: pass rate, geo-mean speedup, fast_p, latency, errors, failures."""
    from kernel_arena.report.render import render_report

    formats = {"table", "md", "csv", "json", "html"}
    if format not in formats:
        _fail(f"unknown format {format!r}: choose one of {', '.join(sorted(formats))}")
    ds = _load(dataset)
    for name in definition or []:
        if name not in ds.definitions:
            _fail(f"no definition named {name!r}")
    if not ds.traces:
        _fail(f"{ds.trace_root} holds no traces: run `kernel-arena run --out {dataset}` first", 1)
    text = render_report(
        ds, definition, format, details, console if out is None and format == "table" else None
    )
    if text is not None:
        _emit(text, out)


@app.command()
def compare(
    run_a: Annotated[str, typer.Argument(help="Baseline run folder.")],
    run_b: Annotated[str, typer.Argument(help="New run folder.")],
    as_json: JsonOpt = False,
    show_all: Annotated[bool, typer.Option("--all", help="Also list unchanged pairs.")] = False,
) -> None:
    """Latency change per (solution, workload) from RUN_A to RUN_B; exit 1 on regressions.

    A change is flagged only beyond the run-to-run spread recorded in the traces (at least 3%);
    new failures are listed first.
    """
    from kernel_arena.report.compare import compare_runs

    a, b = _load(run_a), _load(run_b)
    changes = compare_runs(a.traces, b.traces)
    shown = [c for c in changes if show_all or c.kind != "unchanged"]
    if as_json:
        print(json.dumps([dict(c.__dict__, change=c.change) for c in shown], indent=2))
    else:
        table = Table(title=f"{run_a} -> {run_b}", show_header=True, header_style="bold")
        for col in (
            "kind",
            "definition",
            "solution",
            "workload",
            "status",
            "latency A",
            "latency B",
            "change",
            "threshold",
        ):
            table.add_column(col)
        for c in shown:
            color = {"new_failure": "red", "regression": "red", "improvement": "green", "fixed": "green"}.get(
                c.kind, ""
            )
            table.add_row(
                f"[{color}]{c.kind}[/{color}]" if color else c.kind,
                c.definition,
                c.solution,
                c.workload[:12],
                f"{c.status_a} -> {c.status_b}",
                _ms(c.latency_a_ms),
                _ms(c.latency_b_ms),
                f"{c.change:+.1%}" if c.change is not None else "-",
                f"±{c.threshold:.0%}",
            )
        console.print(table)
        counts = {
            k: sum(1 for c in changes if c.kind == k)
            for k in ("new_failure", "regression", "improvement", "fixed")
        }
        console.print(
            ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items()) + f" of {len(changes)} pairs"
        )
    if any(c.kind in ("new_failure", "regression") for c in changes):
        raise typer.Exit(1)


@app.command()
def serve(
    dataset: Annotated[
        Optional[str],
        typer.Option(
            "--dataset", "-d", help="Run folder or dataset (default: ./runs if it exists, else embedded)."
        ),
    ] = None,
    host: Annotated[str, typer.Option(help="Interface to bind (default: localhost only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0 picks a free one).")] = 8765,
) -> None:
    """Local read-only web viewer: definitions, leaderboards, charts, traces, sources.

    API documented at /api/openapi.json. New traces show up without a restart. On a remote GPU
    box: keep the default host and forward the port (ssh -L 8765:127.0.0.1:8765 gpu-box).
    """
    from kernel_arena.dataset import DatasetError
    from kernel_arena.web.server import make_server

    if dataset is None:
        dataset = "runs" if Path("runs").is_dir() else None
    try:
        server = make_server(dataset, host, port)
    except (DatasetError, OSError) as exc:
        _fail(str(exc))
    console.print(f"Kernel Arena viewer on http://{host}:{server.server_address[1]}/ (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def _print_summary(rows: list[Any], result: Any) -> None:
    table = Table(title=f"run summary ({result.out})", show_header=True, header_style="bold")
    for col in (
        "definition",
        "solution",
        "passed",
        "geo-mean speedup",
        "median latency",
        "worst abs err",
        "first failure",
    ):
        table.add_column(col, overflow="fold")
    for r in rows:
        color = "green" if r.passed == r.total else "red"
        table.add_row(
            r.definition,
            r.solution,
            f"[{color}]{r.passed}/{r.total}[/{color}]",
            f"{r.geomean_speedup:.2f}x" if r.geomean_speedup else "-",
            _ms(r.median_latency_ms),
            f"{r.worst_abs_error:.3g}" if r.worst_abs_error is not None else "-",
            escape((r.first_failure or "")[:160]),
        )
    console.print(table)
    for s in result.skipped:
        console.print(f"[yellow]skipped[/yellow] {s.solution} ({s.definition}): {escape(s.reason)}")
    interpreted = sorted({j.solution.name for j in result.jobs if j.solution.spec.language == "triton"})
    if interpreted and all(
        t.evaluation and t.evaluation.environment.hardware.startswith("CPU") for t in result.traces
    ):
        console.print(
            "note: on CPU, Triton solutions run in the Triton interpreter "
            f"({', '.join(interpreted)}): their latency checks the pipeline, not GPU speed"
        )
    if result.already_done:
        console.print(
            f"{result.already_done} evaluation(s) already traced in {result.out} were "
            "skipped (use --force to re-run them)"
        )


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 1:
        return f"{value * 1e3:.1f} us"
    return f"{value:.2f} ms"


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted; traces written so far are kept (re-run to resume)")
        sys.exit(130)


if __name__ == "__main__":
    main()
