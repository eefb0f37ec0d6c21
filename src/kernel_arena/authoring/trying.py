"""``kernel-arena try``: one solution on one workload, in seconds, printed for a person.

Uses the real engine (worker process, reference, correctness on one draw, diagnosis, a short
timing) with its output folder in a temporary directory, so trying never touches ``runs/``.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from kernel_arena.dataset import Dataset, DatasetError
from kernel_arena.engine.config import RunConfig
from kernel_arena.engine.plan import load_solution_arg, select_workloads
from kernel_arena.engine.run import run
from kernel_arena.measure.environment import expand_devices
from kernel_arena.measure.timing import TimingSettings


def try_solution(
    ds: Dataset, solution_arg: str, workload: str | None, device: str | None, console: Console
) -> int:
    """Evaluate once; print status, errors, diagnosis and timing. Returns an exit code."""
    try:
        solution = load_solution_arg(solution_arg) or ds.solution(solution_arg)
        definition = ds.definition(solution.definition)
    except (DatasetError, ValueError, OSError) as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}")
        return 2
    dev = expand_devices(device)[0]
    candidates = select_workloads(
        definition, ds.workloads_for(definition.name), dev, [workload] if workload else None, None
    )
    if not candidates:
        console.print(f"[red]error:[/red] no workload {'matching ' + workload if workload else 'for ' + dev}")
        return 2
    chosen = candidates[0]
    config = RunConfig(
        draws=1, timing=TimingSettings(1, 5, 1) if dev == "cpu" else TimingSettings(3, 20, 1), timeout_s=300
    )
    arg = solution_arg if load_solution_arg(solution_arg) is not None else solution.name
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="kernel-arena-try-") as out:
        result = run(
            dataset=ds, solutions=[arg], workloads=[chosen.uuid], device=dev, out=Path(out), config=config
        )
    if result.skipped:
        console.print(f"[yellow]skipped[/yellow]: {escape(result.skipped[0].reason)}")
        return 1
    trace = result.traces[0]
    ev = trace.evaluation
    assert ev is not None
    name = chosen.name or chosen.uuid
    color = "green" if trace.passed else "red"
    console.print(
        f"[{color}]{ev.status.value}[/{color}] {solution.name} on {name} ({dev}, "
        f"{time.monotonic() - t0:.1f} s)"
    )
    if ev.correctness:
        console.print(
            f"max abs error {ev.correctness.max_absolute_error:.3g}, "
            f"max rel error {ev.correctness.max_relative_error:.3g}"
        )
    if ev.performance:
        extra = ev.performance.model_extra or {}
        console.print(
            f"latency {ev.performance.latency_ms * 1e3:.1f} us "
            f"({extra.get('timing', {}).get('method', '?')}), call "
            f"{extra.get('call_latency_ms', 0) * 1e3:.1f} us, reference "
            f"{ev.performance.reference_latency_ms * 1e3:.1f} us, speedup "
            f"{ev.performance.speedup_factor:.2f}x"
        )
    if ev.log.strip():
        console.print(escape(ev.log.strip()[:6000]))
    return 0 if trace.passed else 1


def _snapshot(root: Path) -> dict[Path, float]:
    files = [root] if root.is_file() else [p for p in root.rglob("*") if p.is_file()]
    return {p: p.stat().st_mtime for p in files if "__pycache__" not in p.parts}


def watch_paths(solution_arg: str, interval: float = 0.5) -> None:
    """Block until a file under the solution folder (or the JSON file) changes."""
    root = Path(solution_arg)
    if not root.exists():
        time.sleep(interval)
        return
    before = _snapshot(root)
    while _snapshot(root) == before:
        time.sleep(interval)
