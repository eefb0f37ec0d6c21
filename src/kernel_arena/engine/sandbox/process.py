"""Worker processes: untrusted solution code runs only here.

A worker is a fresh ``python -m kernel_arena.engine.sandbox.process`` in its own session (process
group), owning one device (``CUDA_VISIBLE_DEVICES``). Its stdout/stderr go to a log file the
parent reads per request; the protocol runs over private pipe fds, so a solution's prints can
neither corrupt it nor block it. The parent can time a request out, kill the whole process
group (children the solution spawned included) and start a replacement.
"""

from __future__ import annotations

import faulthandler
import os
import signal
import subprocess
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

LOG_HEAD = 8 * 1024
LOG_TAIL = 24 * 1024


class WorkerDied(Exception):
    """The worker exited (crash, abort, os._exit) while handling a request."""

    def __init__(self, message: str, log: str) -> None:
        super().__init__(message)
        self.log = log


class WorkerTimeout(Exception):
    """The request did not finish in time; the worker was killed."""

    def __init__(self, message: str, log: str) -> None:
        super().__init__(message)
        self.log = log


def bounded_log(data: bytes, head: int = LOG_HEAD, tail: int = LOG_TAIL) -> str:
    """Decode a log, keeping its head and tail with a marker when it is too long."""
    if len(data) <= head + tail:
        return data.decode("utf-8", errors="replace")
    omitted = len(data) - head - tail
    return (
        data[:head].decode("utf-8", errors="replace")
        + f"\n[... {omitted} bytes of output truncated ...]\n"
        + data[-tail:].decode("utf-8", errors="replace")
    )


class WorkerHandle:
    """Parent-side handle of one worker process."""

    def __init__(self, device: str, log_path: Path) -> None:
        self.device = device
        self.log_path = Path(log_path)
        self.proc: subprocess.Popen[bytes] | None = None
        self._send: Connection | None = None
        self._recv: Connection | None = None

    def start(self) -> None:
        """Spawn the worker process."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env["PYTHONUNBUFFERED"] = "1"
        if self.device.startswith("cuda:"):
            env["CUDA_VISIBLE_DEVICES"] = self._physical_gpu(self.device.split(":")[1], env)
        elif self.device == "cpu":
            env["TRITON_INTERPRET"] = "1"
            env.setdefault("CUDA_VISIBLE_DEVICES", "")
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "kernel_arena.engine.sandbox.process"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                env=env,
                start_new_session=True,
                close_fds=True,
            )
        finally:
            log.close()
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self._send = Connection(os.dup(self.proc.stdin.fileno()), readable=False)
        self._recv = Connection(os.dup(self.proc.stdout.fileno()), writable=False)
        self.proc.stdin.close()
        self.proc.stdout.close()

    @staticmethod
    def _physical_gpu(index: str, env: dict[str, str]) -> str:
        visible = env.get("CUDA_VISIBLE_DEVICES")
        if visible:
            ids = [v.strip() for v in visible.split(",") if v.strip()]
            if index.isdigit() and int(index) < len(ids):
                return ids[int(index)]
        return index

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _log_size(self) -> int:
        try:
            return self.log_path.stat().st_size
        except OSError:
            return 0

    def _log_since(self, offset: int) -> str:
        try:
            with open(self.log_path, "rb") as handle:
                handle.seek(offset)
                size = self._log_size() - offset
                if size > LOG_HEAD + LOG_TAIL:
                    head = handle.read(LOG_HEAD)
                    handle.seek(-LOG_TAIL, os.SEEK_END)
                    tail = handle.read(LOG_TAIL)
                    return bounded_log(head + b"\0" * (size - LOG_HEAD - LOG_TAIL) + tail)
                return handle.read().decode("utf-8", errors="replace")
        except OSError:
            return ""

    def request(self, message: dict[str, Any], timeout: float) -> tuple[dict[str, Any], str]:
        """Send a request; return (reply, output the worker printed meanwhile)."""
        if not self.alive:
            self.start()
        assert self._send is not None and self._recv is not None
        offset = self._log_size()
        try:
            self._send.send(message)
        except (BrokenPipeError, OSError):
            self._reap()
            raise WorkerDied(self._death_reason(), self._log_since(offset)) from None
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.kill()
                raise WorkerTimeout(
                    f"no result after {timeout:g} s; the worker was killed", self._log_since(offset)
                )
            try:
                ready = self._recv.poll(min(remaining, 0.5))
            except (EOFError, OSError):
                ready = True
            if ready:
                try:
                    reply = self._recv.recv()
                except (EOFError, OSError):
                    self._reap()
                    raise WorkerDied(self._death_reason(), self._log_since(offset)) from None
                return reply, self._log_since(offset)
            if not self.alive:
                self._reap()
                raise WorkerDied(self._death_reason(), self._log_since(offset))

    def _death_reason(self) -> str:
        code = self.proc.returncode if self.proc is not None else None
        if code is None:
            return "the worker stopped answering"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return f"the worker process died from {name} (exit code {code})"
        return f"the worker process exited with code {code} (sys.exit or os._exit in the solution?)"

    def _reap(self) -> None:
        if self.proc is not None:
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        self._kill_group()
        self._close()

    def _kill_group(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def kill(self) -> None:
        """Kill the worker and everything in its process group."""
        self._kill_group()
        if self.proc is not None:
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        self._close()

    def stop(self) -> None:
        """Ask the worker to exit, then make sure its group is gone."""
        if self.alive and self._send is not None:
            try:
                self._send.send({"op": "stop"})
                self.proc.wait(timeout=5)  # type: ignore[union-attr]
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kill()

    def _close(self) -> None:
        for conn in (self._send, self._recv):
            if conn is not None:
                try:
                    conn.close()
                except OSError:
                    pass
        self._send = self._recv = None


# ================================================================ the worker process itself
def _serve(recv: Connection, send: Connection) -> None:
    from kernel_arena.engine.sandbox.serve import handle_request

    state: dict[str, Any] = {}
    while True:
        try:
            message = recv.recv()
        except EOFError:
            return
        if message.get("op") == "stop":
            return
        reply = handle_request(message, state)
        sys.stdout.flush()
        sys.stderr.flush()
        send.send(reply)


def main() -> None:
    """Entry of ``python -m kernel_arena.engine.sandbox.process``: rewire fds, then serve requests."""
    proto_in = os.dup(0)
    proto_out = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)  # the solution's stdout joins stderr in the log file
    os.close(devnull)
    faulthandler.enable(file=sys.stderr, all_threads=False)
    _serve(Connection(proto_in, writable=False), Connection(proto_out, readable=False))


if __name__ == "__main__":
    main()
