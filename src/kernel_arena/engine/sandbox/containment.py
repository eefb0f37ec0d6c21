"""Keeping a sandbox's whole process tree on a leash.

- Every sandbox carries a token in its environment (``KERNEL_ARENA_SANDBOX``); its children
  inherit it, also those that call ``setsid`` or double-fork. ``kill_tree(token)`` kills the
  sandbox's process group and every process whose environment holds the token.
- The run process is a child subreaper (Linux): orphaned descendants of a sandbox are re-parented
  to it instead of init, so they can be reaped after they are killed.
- The sandbox asks for SIGKILL when its parent dies (``PR_SET_PDEATHSIG``). For descendants, a
  small reaper process (``python -m kernel_arena.engine.sandbox.containment TOKEN``), which imports
  nothing heavy, waits on a pipe from the run process: when the run process dies, however it
  dies (``kill -9`` included), the pipe closes and the reaper kills every process with the run's
  token prefix.

Residual risk (docs/reliability.md): a process that clears its environment before ``exec`` loses
the token; without a PID namespace or cgroup such a process can outlive the run.
"""

from __future__ import annotations

import ctypes
import os
import secrets
import signal
import subprocess
import sys
import threading
import time

TOKEN_VAR = "KERNEL_ARENA_SANDBOX"
_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36


def _prctl(option: int, value: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(option, value, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def die_with_parent(expected_parent: int) -> None:
    """Sandbox side: SIGKILL when the parent goes; exit now if it is already gone."""
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != expected_parent:
        os._exit(1)


_RUN_TOKEN: str | None = None
_REAPER: subprocess.Popen[bytes] | None = None
_LOCK = threading.Lock()


def run_token() -> str:
    """This process's token prefix; starts the reaper and becomes a subreaper on first use."""
    global _RUN_TOKEN, _REAPER
    with _LOCK:
        if _RUN_TOKEN is None:
            _RUN_TOKEN = f"ka{os.getpid()}x{secrets.token_hex(6)}"
            _prctl(_PR_SET_CHILD_SUBREAPER, 1)
            try:
                _REAPER = subprocess.Popen(
                    [sys.executable, "-m", "kernel_arena.engine.sandbox.containment", _RUN_TOKEN],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                    close_fds=True,
                )
            except OSError:
                _REAPER = None
        return _RUN_TOKEN


def new_sandbox_token() -> str:
    """A fresh token for one sandbox, under this run's prefix."""
    return f"{run_token()}-{secrets.token_hex(4)}"


def processes_with_token(prefix: str) -> list[int]:
    """PIDs whose environment has ``KERNEL_ARENA_SANDBOX`` starting with ``prefix``."""
    needle = f"{TOKEN_VAR}={prefix}".encode()
    found = []
    me = os.getpid()
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as handle:
                environ = handle.read(1 << 20)
        except OSError:
            continue
        if any(item.startswith(needle) for item in environ.split(b"\0")):
            found.append(int(entry))
    return found


def kill_tree(token: str, group: int | None = None) -> None:
    """Kill a sandbox's process group and every process carrying its token.

    Descendants re-parented to this process (a subreaper) are reaped; the sandbox itself (``group``
    is its pid) is left to its ``Popen`` object, which reads its exit status.
    """
    if group is not None:
        try:
            os.killpg(group, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    killed: set[int] = set()
    for _ in range(3):  # a fork in flight can add a process between scans
        pids = [p for p in processes_with_token(token) if p != group]
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.01)
    _reap(killed)


def _reap(pids: set[int], timeout: float = 0.5) -> None:
    """Collect those of ``pids`` that are (re-parented) children of this process, once they died."""
    deadline = time.monotonic() + timeout
    pending = set(pids)
    while pending and time.monotonic() < deadline:
        for pid in list(pending):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pending.discard(pid)  # not ours: its own parent reaps it
                continue
            if done:
                pending.discard(pid)
        if pending:
            time.sleep(0.01)


def _reaper_main(prefix: str) -> None:
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    try:
        while sys.stdin.buffer.read(1024):
            pass
    except OSError:
        pass
    for _ in range(5):
        pids = processes_with_token(prefix)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.05)


if __name__ == "__main__":
    _reaper_main(sys.argv[1])
