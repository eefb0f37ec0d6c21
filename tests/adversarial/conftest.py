"""Fixtures of the adversarial suite.

Every planted Solution is evaluated by the real command line (`python -m kernel_arena.cli run`)
in a subprocess, never through ``kernel_arena.bench``: the suite specifies the behaviour of the
engine from the outside. The groups of ``planted.GROUPS`` that the collected test modules name
in their ``GROUPS_USED`` are built and started in the background when the first test of this
folder starts (three runs at a time), so their sandbox start-ups overlap each other and the
tests that need a run of their own, which this conftest moves ahead of the tests that wait for a
group.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from helpers import TINY_DEF, make_tiny_dataset, run_command, solution_json

from .planted import GROUPS, render

TIMING_ARGS = ["--warmup", "1", "--iters", "3", "--trials", "2", "--draws", "2", "--timeout", "60", "--json"]
LOG_CAP = 256 * 1024


def run_argv(root: Path, out: Path, *extra: str, device: str = "cpu") -> list[str]:
    """argv of `kernel-arena run` with the suite's light timing settings."""
    return run_command(root, out, *extra, device=device, timing=tuple(TIMING_ARGS))


def trace_file(out: Path, definition: str = TINY_DEF, op_type: str = "elementwise") -> Path:
    return out / "traces" / op_type / f"{definition}.jsonl"


def read_traces(out: Path, definition: str = TINY_DEF, op_type: str = "elementwise") -> list[dict[str, Any]]:
    """Trace lines of a run folder (a torn last line is ignored)."""
    path = trace_file(out, definition, op_type)
    if not path.is_file():
        return []
    traces = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            traces.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return traces


# ----------------------------------------------------------------- processes started by tests
def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # comm (field 2) may hold spaces: split after its closing parenthesis.
    return [raw[: raw.index("(")].strip(), "comm", *raw[raw.rindex(")") + 2 :].split()]


def start_time(pid: int) -> str | None:
    """The process's start time in clock ticks (tells a reused pid apart), or None if gone."""
    fields = _stat(pid)
    return fields[21] if fields else None


def process_alive(pid: int, started: str | None = None) -> bool:
    """True while ``pid`` runs (not a zombie) and, when given, still has that start time."""
    fields = _stat(pid)
    if fields is None or fields[2] in ("Z", "X"):
        return False
    return started is None or fields[21] == started


def wait_gone(pid: int, started: str | None, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not process_alive(pid, started):
            return True
        time.sleep(0.1)
    return not process_alive(pid, started)


def descendants(root_pid: int) -> list[tuple[int, str]]:
    """(pid, start time) of every live descendant of ``root_pid``."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat(int(entry))
            if fields:
                children.setdefault(int(fields[3]), []).append(int(entry))
    found, todo = [], [root_pid]
    while todo:
        for child in children.get(todo.pop(), []):
            started = start_time(child)
            if started is not None:
                found.append((child, started))
                todo.append(child)
    return found


def kill_pid(pid: int, started: str | None) -> None:
    """SIGKILL one process this suite caused to exist, if it is still the same process."""
    if process_alive(pid, started):
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def kill_run_tree(proc: subprocess.Popen[Any], known: list[tuple[int, str]] | None = None) -> None:
    """Kill a run started with start_new_session=True: its group, then leftovers we know of."""
    leftovers = (known or []) + descendants(proc.pid)
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    for pid, started in leftovers:
        kill_pid(pid, started)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


# ----------------------------------------------------------------------------- one CLI run
_LIVE: set[subprocess.Popen[bytes]] = set()
_LIVE_LOCK = threading.Lock()


@dataclass
class RunOutcome:
    """What one `kernel-arena run` did."""

    root: Path
    out: Path
    witness: Path
    argv: list[str]
    returncode: int | None
    stdout: str
    stderr: str
    timed_out: bool
    seconds: float
    traces: list[dict[str, Any]] = field(default_factory=list)

    def describe(self) -> str:
        return (
            f"run rc={self.returncode} timed_out={self.timed_out} in {self.seconds:.1f} s; "
            f"stderr tail: {self.stderr[-1500:]!r}"
        )

    def of(self, solution: str) -> list[dict[str, Any]]:
        """Traces of one solution; fails (an assertion, with the run's story) when there are none."""
        found = [t for t in self.traces if t.get("solution") == solution]
        assert found, f"no trace for {solution!r}: {self.describe()}"
        return found

    def status(self, solution: str) -> str:
        return self.of(solution)[0]["evaluation"]["status"]


def run_cli(
    root: Path,
    out: Path,
    *extra: str,
    witness: Path | None = None,
    timeout: float = 300,
    address_space: int | None = None,
    device: str = "cpu",
) -> RunOutcome:
    """Run the CLI to completion (or kill its whole tree after ``timeout`` s)."""
    argv = run_argv(root, out, *extra, device=device)

    def limits() -> None:
        if address_space:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))

    t0 = time.monotonic()
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=limits if address_space else None,
    )
    with _LIVE_LOCK:
        _LIVE.add(proc)
    timed_out = False
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        kill_run_tree(proc)
        stdout, stderr = proc.communicate()
    finally:
        with _LIVE_LOCK:
            _LIVE.discard(proc)
    return RunOutcome(
        root=root,
        out=out,
        witness=witness or out.parent,
        argv=argv,
        returncode=proc.returncode,
        stdout=stdout.decode("utf-8", errors="replace"),
        stderr=stderr.decode("utf-8", errors="replace"),
        timed_out=timed_out,
        seconds=time.monotonic() - t0,
        traces=read_traces(out),
    )


def build_group(base: Path, group: str) -> tuple[Path, Path, Path]:
    """Dataset, run folder and witness folder of one planted group (rendered sources)."""
    spec = GROUPS[group]
    root, out, witness = base / "ds", base / "out", base / "witness"
    witness.mkdir(parents=True, exist_ok=True)
    sols = []
    for name, (source, options) in spec["solutions"].items():
        code = render(source, out=out, ds=root, witness=witness, solution=name)
        sols.append(solution_json(name, code, **options))
    make_tiny_dataset(root, sols, workloads=spec.get("workloads", 1))
    return root, out, witness


class Batch:
    """Planted groups running in the background; ``get(group)`` waits for one."""

    def __init__(self, base: Path, groups: list[str]) -> None:
        self._base = base
        self._pool = ThreadPoolExecutor(max_workers=3, thread_name_prefix="adversarial-run")
        self._futures: dict[str, Future[RunOutcome]] = {}
        self._lock = threading.Lock()
        for group in groups:
            root, out, witness = build_group(base / group, group)
            spec = GROUPS[group]
            self._futures[group] = self._pool.submit(
                run_cli,
                root,
                out,
                witness=witness,
                timeout=spec.get("timeout", 300),
                address_space=spec.get("address_space"),
            )

    def get(self, group: str) -> RunOutcome:
        assert group in self._futures, f"group {group!r} was not started: add it to GROUPS_USED"
        return self._futures[group].result()

    def close(self) -> None:
        """Cancel what has not started, kill what still runs (a session stopped early by -x)."""
        for future in self._futures.values():
            future.cancel()
        with _LIVE_LOCK:
            live = list(_LIVE)
        for proc in live:
            kill_run_tree(proc)
        self._pool.shutdown(wait=True, cancel_futures=True)
        # A12's sparse 20 GiB logs: harmless on disk, but do not leave them to whoever walks /tmp.
        for path in self._base.rglob("*"):
            try:
                if path.is_file() and path.stat().st_size > (1 << 30):
                    os.truncate(path, 0)
            except OSError:
                pass


def _groups_needed(session: pytest.Session) -> list[str]:
    wanted: set[str] = set()
    for item in session.items:
        module = getattr(item, "module", None)
        if module is not None and module.__name__.startswith(__package__ or "adversarial"):
            wanted.update(getattr(module, "GROUPS_USED", ()))
    return [g for g in GROUPS if g in wanted]  # GROUPS order: the slow ones first


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests with a run of their own (they take ``tmp_path``) first, while the groups run."""
    here = Path(__file__).resolve().parent
    mine = [i for i, item in enumerate(items) if here in Path(str(item.path)).resolve().parents]
    ordered = sorted((items[i] for i in mine), key=lambda item: "tmp_path" not in item.fixturenames)
    for i, item in zip(mine, ordered):
        items[i] = item


@pytest.fixture(scope="session", autouse=True)
def planted(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """The planted groups, started in the background (see the module docstring)."""
    batch = Batch(tmp_path_factory.mktemp("planted"), _groups_needed(request.session))
    yield batch
    batch.close()


# ------------------------------------------------------------------------------ assertions
def log_of(trace: dict[str, Any]) -> str:
    return trace["evaluation"].get("log") or ""


def assert_status(trace: dict[str, Any], *allowed: str) -> None:
    status = trace["evaluation"]["status"]
    assert status in allowed, (
        f"{trace['solution']} on {trace['workload']['uuid']}: status {status}, expected one of "
        f"{allowed}; log head: {log_of(trace)[:1500]!r}"
    )


def assert_not_passed(trace: dict[str, Any]) -> None:
    status = trace["evaluation"]["status"]
    perf = trace["evaluation"].get("performance") or {}
    assert status != "PASSED", (
        f"{trace['solution']} on {trace['workload']['uuid']} PASSED (speedup "
        f"{perf.get('speedup_factor')}); log head: {log_of(trace)[:800]!r}"
    )


def assert_log_has(trace: dict[str, Any], *needles: str) -> None:
    log = log_of(trace)
    for needle in needles:
        assert needle in log, f"{trace['solution']}: {needle!r} not in log: {log[:1500]!r}"
