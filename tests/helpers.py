"""Test helpers: tiny datasets and solutions written to temporary folders."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

TINY_DEF = "scale_add_n"
TINY_REFERENCE = textwrap.dedent("""
    import torch

    def run(x, y, alpha):
        return alpha * x + y
""")


def tiny_definition(**overrides: Any) -> dict[str, Any]:
    d = {
        "name": TINY_DEF,
        "op_type": "elementwise",
        "description": "out = alpha * x + y",
        "axes": {"n": {"type": "var"}},
        "inputs": {
            "x": {"shape": ["n"], "dtype": "float32"},
            "y": {"shape": ["n"], "dtype": "float32"},
            "alpha": {"shape": None, "dtype": "float32"},
        },
        "outputs": {"out": {"shape": ["n"], "dtype": "float32"}},
        "reference": TINY_REFERENCE,
    }
    d.update(overrides)
    return d


def tiny_workload(uuid: str, n: int = 64, **extra: Any) -> dict[str, Any]:
    return {
        "definition": TINY_DEF,
        "workload": {
            "axes": {"n": n},
            "inputs": {
                "x": {"type": "random"},
                "y": {"type": "random"},
                "alpha": {"type": "scalar", "value": 2.0},
            },
            "uuid": uuid,
            **extra,
        },
        "solution": None,
        "evaluation": None,
    }


def solution_json(
    name: str,
    code: str,
    *,
    dps: bool = True,
    definition: str = TINY_DEF,
    targets: list[str] | None = None,
    deps: list[str] | None = None,
    extra_sources: dict[str, str] | None = None,
    language: str = "python",
) -> dict[str, Any]:
    sources = [{"path": "main.py", "content": textwrap.dedent(code)}]
    for path, content in (extra_sources or {}).items():
        sources.append({"path": path, "content": textwrap.dedent(content)})
    return {
        "name": name,
        "definition": definition,
        "author": "tests",
        "spec": {
            "language": language,
            "target_hardware": targets or ["cpu"],
            "entry_point": "main.py::run",
            "dependencies": deps or [],
            "destination_passing_style": dps,
        },
        "sources": sources,
    }


def write_json(path: Path, obj: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2), encoding="utf-8")
    return path


def write_jsonl(path: Path, objs: list[Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(o) + "\n" for o in objs), encoding="utf-8")
    return path


def make_tiny_dataset(root: Path, solutions: list[dict[str, Any]] | None = None, workloads: int = 1) -> Path:
    write_json(root / "definitions" / "elementwise" / f"{TINY_DEF}.json", tiny_definition())
    write_jsonl(
        root / "workloads" / "elementwise" / f"{TINY_DEF}.jsonl",
        [tiny_workload(f"wl-{i}", n=32 + i) for i in range(workloads)],
    )
    for sol in solutions or []:
        write_json(root / "solutions" / "elementwise" / TINY_DEF / f"{sol['name']}.json", sol)
    return root


GOOD_DPS = """
    def run(x, y, alpha, out):
        out.copy_(alpha * x + y)
"""
GOOD_RETURNING = """
    def run(x, y, alpha):
        return alpha * x + y
"""


LIGHTEST = ("--warmup", "0", "--iters", "1", "--trials", "1", "--draws", "1")


def run_command(
    root: Path, out: Path, *extra: str, device: str = "cpu", timing: tuple[str, ...] = LIGHTEST
) -> list[str]:
    """`kernel-arena run` as a subprocess argv (default: on CPU with the lightest timing)."""
    import sys

    cmd = [sys.executable, "-m", "kernel_arena.cli", "run", "--dataset", str(root), "--out", str(out)]
    return [*cmd, "--device", device, *timing, *extra]


def kill_run(cmd: list[str], until: Any) -> None:
    """Start `cmd` in its own process group; SIGKILL the group once `until()` is true (or it ends)."""
    import os
    import signal
    import subprocess
    import time

    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None and not until():
        time.sleep(0.05)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def gemm_definition(n: int, k: int) -> dict[str, Any]:
    """C = A @ B.T with B stored [N, K] (the layout a kernel that forgets ``.T`` gets wrong)."""
    return {
        "name": f"gemm_n{n}_k{k}",
        "op_type": "gemm",
        "description": "C = A @ B.T",
        "axes": {
            "M": {"type": "var"},
            "N": {"type": "const", "value": n},
            "K": {"type": "const", "value": k},
        },
        "inputs": {
            "A": {"shape": ["M", "K"], "dtype": "float32"},
            "B": {"shape": ["N", "K"], "dtype": "float32"},
        },
        "outputs": {"C": {"shape": ["M", "N"], "dtype": "float32"}},
        "reference": "import torch\n\ndef run(A, B):\n    return A @ B.T\n",
    }


def make_gemm_dataset(
    root: Path, shapes: list[tuple[int, int]], solutions: list[dict[str, Any]] | None = None
) -> Path:
    """A dataset of gemm definitions (one per (N, K)), each with one workload named ``m16``."""
    for n, k in shapes:
        name = f"gemm_n{n}_k{k}"
        write_json(root / "definitions" / "gemm" / f"{name}.json", gemm_definition(n, k))
        workload = {
            "axes": {"M": 16},
            "inputs": {"A": {"type": "random"}, "B": {"type": "random"}},
            "uuid": f"{name}-m16",
            "name": "m16",
        }
        write_jsonl(
            root / "workloads" / "gemm" / f"{name}.jsonl",
            [{"definition": name, "workload": workload, "solution": None, "evaluation": None}],
        )
    for sol in solutions or []:
        write_json(root / "solutions" / "gemm" / sol["definition"] / f"{sol['name']}.json", sol)
    return root


def kernel_arena_cli(
    *args: str,
    cwd: Path | None = None,
    timeout: float = 600,
    preexec_fn: Any = None,
    env: dict[str, str] | None = None,
) -> Any:
    """Run the real `kernel-arena` command (as `python -m kernel_arena.cli`) in a subprocess;
    returns the CompletedProcess with text stdout and stderr. ``env`` adds to the environment."""
    import os
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "kernel_arena.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        preexec_fn=preexec_fn,
        env={**os.environ, **(env or {})},
    )


def assert_exit(result: Any, code: int) -> None:
    """The command exited with ``code``, and its stderr holds no Python traceback and no Python
    warning (``UserWarning: ...`` with a source line); a Solution's own traceback in a trace log
    is output, on stdout."""
    assert result.returncode == code, (result.returncode, result.stdout[-3000:], result.stderr[-3000:])
    assert "Traceback (most recent call last)" not in result.stderr, result.stderr[-3000:]
    assert "UserWarning" not in result.stderr and "warnings.warn" not in result.stderr, result.stderr


def hand_trace(
    solution: str, wl: str, status: str = "PASSED", latency: float = 1.0, log: str = "", spread: float = 0.0
) -> dict[str, Any]:
    """A trace of the tiny definition as a run would write it, with hand-picked numbers (the
    reference takes 2 ms; a PASSED trace has an error of 0.001)."""
    ev: dict[str, Any] = {
        "status": status,
        "environment": {"hardware": "CPU", "libs": {}},
        "timestamp": "2026-01-01T00:00:00Z",
        "log": log,
    }
    if status == "PASSED":
        ev["correctness"] = {"max_relative_error": 0.001, "max_absolute_error": 0.001}
        ev["performance"] = {
            "latency_ms": latency,
            "reference_latency_ms": 2.0,
            "speedup_factor": 2.0 / latency,
            "call_latency_ms": latency * 2,
            "timing": {"method": "wall_clock_cpu", "spread": spread},
        }
    return {**tiny_workload(wl), "solution": solution, "evaluation": ev}


def hand_run(out: Path, traces: list[dict[str, Any]]) -> Path:
    """A run folder ``out`` of the tiny dataset (made beside it) holding ``traces``."""
    from kernel_arena.dataset import write_run_manifest

    root = make_tiny_dataset(out.parent / f"{out.name}-dataset")
    write_run_manifest(out, root)
    write_jsonl(out / "traces" / "elementwise" / f"{TINY_DEF}.jsonl", traces)
    return out
