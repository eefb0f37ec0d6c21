"""The ``kernel-arena`` command line: thin commands that parse arguments, call the API and render
with rich. This module owns the typer app, the list of commands and the console-script entry.

Exit codes: 0 ok, 1 problems found (invalid dataset, failing solutions, regressions),
2 usage error (bad arguments, unknown names, unreadable files). User mistakes print a one-line
error, never a traceback.
"""

from __future__ import annotations

import inspect
import sys
import warnings
from typing import Any, TextIO

import typer
from rich.markup import escape

from kernel_arena.cli.authoring import check_cmd, new_cmd, pack_cmd, try_cmd, unpack_cmd
from kernel_arena.cli.common import err
from kernel_arena.cli.compare import compare_cmd
from kernel_arena.cli.list import list_cmd
from kernel_arena.cli.report import report_cmd
from kernel_arena.cli.run import run_cmd
from kernel_arena.cli.serve import serve_cmd
from kernel_arena.cli.show import show_cmd
from kernel_arena.cli.validate import validate_cmd

app = typer.Typer(
    name="kernel-arena",
    help="Verify, benchmark and explain GPU kernels written against FlashInfer-Trace definitions.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# One line per command, in the order ``--help`` lists them.
app.command("list")(list_cmd)
app.command("show")(show_cmd)
app.command("validate")(validate_cmd)
app.command("run")(run_cmd)
app.command("new")(new_cmd)
app.command("check")(check_cmd)
app.command("pack")(pack_cmd)
app.command("unpack")(unpack_cmd)
app.command("try")(try_cmd)
app.command("report")(report_cmd)
app.command("compare")(compare_cmd)
app.command("serve")(serve_cmd)


def command() -> Any:
    """The app as a click command, with ``--help`` that reads well: each command's docstring
    reflowed into paragraphs (its source line breaks are not kept), no type label on flags and
    no default shown for a flag that is off, repeatable options labelled ``NAME...``.

    (Typer carries its own copy of click, so the objects are handled by their attributes.)
    """
    group = typer.main.get_command(app)
    for sub in [group, *getattr(group, "commands", {}).values()]:
        sub.help = reflow(sub.help or "")
        help_option = sub.get_help_option(typer.Context(sub))  # created once, then cached
        for param in [*sub.params, *([help_option] if help_option is not None else [])]:
            if param.param_type_name != "option":
                continue
            if param.is_flag:
                param.metavar = ""
                if param.default is False:
                    param.show_default = False
            elif param.multiple:
                param.metavar = f"{(param.name or 'value').upper()}..."
    return group


def reflow(text: str) -> str:
    """Paragraphs (separated by blank lines) of ``text`` each on one line."""
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(" ".join(p.split()) for p in paragraphs if p.strip())


def main() -> None:
    """Console-script entry point: warnings as one line each; an interrupt, a full disk or an
    unwritable folder end with one line, never a traceback."""
    warnings.showwarning = _show_warning
    try:
        command()(prog_name="kernel-arena")
    except KeyboardInterrupt:
        err.print("interrupted; traces written so far are kept (re-run to resume)")
        sys.exit(130)
    except OSError as exc:
        err.print(f"[red]error:[/red] {escape(describe_os_error(exc))}")
        sys.exit(2)


def describe_os_error(exc: OSError) -> str:
    """``PATH: reason`` for a file-system error (``runs/traces: No space left on device``)."""
    if exc.filename is None or exc.strerror is None:
        return str(exc)
    target = f" -> {exc.filename2}" if exc.filename2 is not None else ""
    return f"{exc.filename}{target}: {exc.strerror}"


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """A warning as ``warning: message`` on stderr (no source line of Kernel Arena's code)."""
    err.print(f"[yellow]warning:[/yellow] {escape(str(message))}")


__all__ = ["app", "main"]
