"""The authoring commands: ``new`` (scaffold), ``check`` (static checks), ``pack`` / ``unpack``
(authoring folder <-> inline Solution JSON) and ``try`` (one workload, in seconds)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.markup import escape

from kernel_arena.cli.common import (
    DatasetOpt,
    JsonOpt,
    SynthesizeMissingOpt,
    console,
    emit,
    fail,
    interpreter_note,
    load,
)
from kernel_arena.report.text import format_ms

if TYPE_CHECKING:
    from kernel_arena.authoring.trying import TryOutcome


def new_cmd(
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
    force: Annotated[bool, typer.Option("--force", help="Overwrite a non-empty folder.")] = False,
) -> None:
    """Create an authoring folder (solution.json + sources) with the exact entry-point signature."""
    from kernel_arena.authoring.scaffold import ScaffoldError, new_solution
    from kernel_arena.dataset import DatasetError

    ds = load(dataset)
    target = out or Path(name)
    try:
        folder = new_solution(ds, definition, name, target, template, from_solution, author, force)
    except (ScaffoldError, DatasetError) as exc:
        fail(str(exc))
    files = ", ".join(sorted(p.name for p in folder.iterdir()))
    console.print(escape(f"created {folder} ({files})"))
    console.print(escape(f"next: kernel-arena check {folder} && kernel-arena try {folder}"))


def check_cmd(
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
        fail(str(exc))
    ds = load(dataset)
    findings = check_solution_json(data, ds.definition, where)
    errors = [f for f in findings if f.severity == "error"]
    if as_json:
        print(json.dumps({"ok": not errors, "findings": [f.to_json_dict() for f in findings]}, indent=2))
    else:
        for f in findings:
            color = "red" if f.severity == "error" else "yellow"
            console.print(f"[{color}]{escape(str(f))}[/{color}]")
        console.print("[green]ok[/green]: no errors" if not errors else f"[red]{len(errors)} error(s)[/red]")
    if errors:
        raise typer.Exit(1)


def pack_cmd(
    folder: Annotated[Path, typer.Argument(help="Authoring folder.")],
    out: Annotated[Optional[Path], typer.Option(help="Output JSON file (default: stdout).")] = None,
) -> None:
    """Authoring folder -> inline Solution JSON (the public schema's form)."""
    from kernel_arena.authoring.pack import PackError, pack_folder_json

    try:
        text = pack_folder_json(folder)
    except PackError as exc:
        fail(str(exc))
    emit(text, out)


def unpack_cmd(
    solution: Annotated[Path, typer.Argument(help="Inline Solution JSON file.")],
    folder: Annotated[Path, typer.Argument(help="Authoring folder to create.")],
    force: Annotated[bool, typer.Option("--force", help="Overwrite a non-empty folder.")] = False,
) -> None:
    """Inline Solution JSON -> authoring folder (sources as real files, byte-identical)."""
    from kernel_arena.authoring.pack import PackError, unpack_json_file

    try:
        sol = unpack_json_file(solution, folder, force)
    except PackError as exc:
        fail(str(exc))
    console.print(escape(f"unpacked {sol.name} into {folder}"))


def try_cmd(
    solution: Annotated[str, typer.Argument(help="Solution name, authoring folder or JSON file.")],
    workload: Annotated[
        Optional[str],
        typer.Option(help="Workload uuid, uuid prefix or name (default: the first for the device)."),
    ] = None,
    device: Annotated[
        Optional[str],
        typer.Option(help="cpu, cuda or cuda:N (default: cuda:0 when a GPU is visible, else cpu)."),
    ] = None,
    dataset: DatasetOpt = None,
    timeout: Annotated[
        float,
        typer.Option(
            help="Seconds the build, one call, or the timing loops may take before TIMEOUT "
            "(start-up and the reference are not counted)."
        ),
    ] = 300.0,  # trying.DEFAULT_TIMEOUT_S, written out so that --help does not import torch
    synthesize_missing: SynthesizeMissingOpt = False,
    watch: Annotated[bool, typer.Option("--watch", help="Re-run whenever a source file changes.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """The inner loop: build, one workload, correctness with diagnosis, a quick timing.

    Exit code 0 when it passed, 1 when it failed (or was skipped for this device), 2 for usage
    errors. With --json, one JSON object per try on stdout.
    """
    from kernel_arena.authoring.trying import TryError, try_solution, watch_paths

    ds = load(dataset)
    while True:
        try:
            outcome = try_solution(ds, solution, workload, device, timeout, synthesize_missing)
        except TryError as exc:
            fail(str(exc))
        if as_json:
            notes = [_interpreter_note(outcome)] if outcome.interpreted else []
            print(json.dumps({**outcome.to_json_dict(), "notes": notes}, indent=2, default=str), flush=True)
        else:
            _print_try(outcome)
        code = 0 if outcome.passed else 1
        if not watch:
            raise typer.Exit(code)
        if not as_json:
            console.print("[dim]watching for changes (Ctrl-C to stop)...[/dim]")
        watch_paths(solution)


def _print_try(outcome: TryOutcome) -> None:
    name = escape(outcome.workload.name or outcome.workload.uuid)
    if outcome.trace is None:
        console.print(
            f"[yellow]skipped[/yellow] {escape(outcome.solution.name)}: {escape(outcome.skipped or '')}"
        )
        return
    ev = outcome.trace.evaluation
    assert ev is not None
    color = "green" if outcome.passed else "red"
    console.print(
        f"[{color}]{ev.status.value}[/{color}] {escape(outcome.solution.name)} on {name} "
        f"({outcome.device}, {outcome.elapsed_s:.1f} s)"
    )
    if ev.correctness:
        console.print(
            f"max abs error {ev.correctness.max_absolute_error:.3g}, "
            f"max rel error {ev.correctness.max_relative_error:.3g}"
        )
    perf = ev.performance
    if perf:
        extra = perf.model_extra or {}
        method = (extra.get("timing") or {}).get("method", "?")
        against = ""
        if extra.get("speedup_vs_baseline"):
            against = f", {extra['speedup_vs_baseline']:.2f}x vs {escape(str(extra.get('baseline')))}"
        console.print(
            f"latency {format_ms(perf.latency_ms)} ({escape(str(method))}), call "
            f"{format_ms(extra.get('call_latency_ms'))}, reference {format_ms(perf.reference_latency_ms)}, "
            f"speedup {perf.speedup_factor:.2f}x{against}"
        )
    if ev.log.strip():
        console.print(escape(ev.log.strip()[:6000]))
    if outcome.interpreted:
        console.print(f"note: {escape(_interpreter_note(outcome))}")


def _interpreter_note(outcome: TryOutcome) -> str:
    from kernel_arena.engine.config import INTERPRETER_TIMING

    return interpreter_note([outcome.solution.name], INTERPRETER_TIMING.describe())
