"""``kernel-arena serve``: the local read-only web viewer over a run folder or dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from kernel_arena.cli.common import console, err, fail


def serve_cmd(
    dataset: Annotated[
        Optional[str],
        typer.Option(
            "--dataset", "-d", help="Run folder or dataset (default: ./runs if it exists, else embedded)."
        ),
    ] = None,
    host: Annotated[str, typer.Option(help="Interface to bind (default: localhost only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0 picks a free one).")] = 8765,
    run: Annotated[
        Optional[list[str]],
        typer.Option(
            "--run",
            help="Another run folder to offer on the compare page (repeatable; run folders inside "
            "--dataset are offered too).",
        ),
    ] = None,
) -> None:
    """Local read-only web viewer: definitions, leaderboards, charts, traces, sources, run A vs run B.

    API documented at /api/openapi.json. New traces show up without a restart. On a remote GPU
    box: keep the default host and forward the port (ssh -L 8765:127.0.0.1:8765 gpu-box).
    """
    from kernel_arena.dataset import DatasetError
    from kernel_arena.web.host_check import is_loopback
    from kernel_arena.web.server import make_server

    if dataset is None:
        dataset = "runs" if Path("runs").is_dir() else None
    try:
        server = make_server(dataset, host, port, run or [])
    except (DatasetError, OSError) as exc:
        fail(str(exc))
    if not is_loopback(host):
        err.print(
            f"[yellow]warning:[/yellow] bound to {host}: the viewer is reachable from the network, "
            "without authentication, by anyone who can reach this machine. Prefer the default "
            "127.0.0.1 and an SSH tunnel (ssh -L 8765:127.0.0.1:8765 this-machine)."
        )
    console.print(f"Kernel Arena viewer on http://{host}:{server.server_address[1]}/ (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
