"""Judge side of one sandbox process: start it, send requests, read validated replies, kill it.

A sandbox is a fresh ``python -m kernel_arena.engine.sandbox.serve`` in its own session, owning
one device (``CUDA_VISIBLE_DEVICES``), working in a private temporary folder. Requests go pickled
on its stdin; replies come back as JSON lines on a private pipe and are validated
(``protocol.parse_reply``); its stdout/stderr go to a log file of which the judge only ever
reads a bounded head and tail; a log past ``LOG_KEEP_BYTES`` when a sandbox starts is moved to
``<name>.1`` (replacing the one before), so the logs of a run folder stay bounded across runs.
A request that outlives its timeout, a reply that does not validate, or data nobody asked for
ends the sandbox and its whole process tree (``containment.kill_tree``).
"""

from __future__ import annotations

import os
import secrets
import select
import signal
import subprocess
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from kernel_arena.engine.sandbox.containment import TOKEN_VAR, kill_tree, new_sandbox_token
from kernel_arena.engine.sandbox.protocol import (
    MAX_MESSAGE_BYTES,
    ProtocolError,
    StopRequest,
    parse_reply,
)

LOG_HEAD = 8 * 1024
LOG_TAIL = 24 * 1024
LOG_KEEP_BYTES = 16 << 20
"""A sandbox log larger than this when a sandbox starts is rotated (one old copy kept)."""


def rotate_log(path: Path, keep: int | None = None) -> None:
    """Move ``path`` to ``<name>.1`` if it holds more than ``keep`` bytes (default
    ``LOG_KEEP_BYTES``); a log of a sparse-file attack (A12) counts by its apparent size."""
    try:
        if path.stat().st_size > (LOG_KEEP_BYTES if keep is None else keep):
            os.replace(path, path.with_name(path.name + ".1"))
    except OSError:  # absent, or not movable: appending to it still works
        pass


class SandboxDied(Exception):
    """The sandbox exited (crash, abort, os._exit) while handling a request."""

    def __init__(self, message: str, log: str) -> None:
        super().__init__(message)
        self.log = log


class SandboxTimeout(Exception):
    """The request did not finish in time; the sandbox was killed."""

    def __init__(self, message: str, log: str) -> None:
        super().__init__(message)
        self.log = log


class SandboxProtocolError(Exception):
    """The sandbox broke the protocol; it was killed."""

    def __init__(self, message: str, log: str) -> None:
        super().__init__(message)
        self.log = log


def bounded_log(head: bytes, tail: bytes, omitted: int) -> str:
    """Decode a log's head and tail with a marker for the ``omitted`` bytes between them."""
    text = head.decode("utf-8", errors="replace")
    if omitted > 0:
        text += f"\n[... {omitted} bytes of output truncated ...]\n"
    return text + tail.decode("utf-8", errors="replace")


def read_log_window(path: Path, offset: int, head: int = LOG_HEAD, tail: int = LOG_TAIL) -> str:
    """What was written to ``path`` after ``offset``: at most ``head`` + ``tail`` bytes are read."""
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            length = max(size - offset, 0)
            handle.seek(offset)
            if length <= head + tail:
                return bounded_log(handle.read(length), b"", 0)
            first = handle.read(head)
            handle.seek(size - tail)
            return bounded_log(first, handle.read(tail), length - head - tail)
    except OSError:
        return ""


class SandboxProcess:
    """One sandbox process and its channels."""

    def __init__(self, device: str, log_path: Path) -> None:
        self.device = device
        self.log_path = Path(log_path)
        self.proc: subprocess.Popen[bytes] | None = None
        self.token = ""
        self._send: Connection | None = None
        self._reply_fd: int | None = None
        self._pending = b""
        self._exchange: tuple[str, int] | None = None
        """(nonce, log offset) of the request whose reply is awaited."""

    def start(self) -> None:
        """Spawn the sandbox process."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.token = new_sandbox_token()
        env = dict(os.environ)
        env["PYTHONUNBUFFERED"] = "1"
        env[TOKEN_VAR] = self.token
        if self.device.startswith("cuda:"):
            env["CUDA_VISIBLE_DEVICES"] = self._physical_gpu(self.device.split(":")[1], env)
        elif self.device == "cpu":
            env["TRITON_INTERPRET"] = "1"
            env.setdefault("CUDA_VISIBLE_DEVICES", "")
        rotate_log(self.log_path)
        read_end, write_end = os.pipe()
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "kernel_arena.engine.sandbox.serve", str(write_end), str(os.getpid())],
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=log,
                env=env,
                cwd=tempfile.gettempdir(),
                start_new_session=True,
                close_fds=True,
                pass_fds=(write_end,),
            )
        finally:
            log.close()
            os.close(write_end)
        assert self.proc.stdin is not None
        self._send = Connection(os.dup(self.proc.stdin.fileno()), readable=False)
        self.proc.stdin.close()
        self._reply_fd = read_end
        self._pending = b""

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

    def request(
        self, message: Any, expected: tuple[type, ...], timeout: float, interim: tuple[type, ...] = ()
    ) -> tuple[Any, str]:
        """Send a request; return (validated reply, output the sandbox printed meanwhile).

        ``interim``: reply types that may arrive before the final one (``follow_up`` then reads
        the next reply to the same request); any other reply must be the request's only one.
        """
        if not self.alive:
            self.start()
        assert self._send is not None and self._reply_fd is not None
        offset = self._log_size()
        nonce = secrets.token_hex(8)
        message.nonce = nonce
        try:
            if self._pending or self._readable(0):
                self._fail_protocol("data on the reply channel that no request asked for", offset)
            self._send.send(message)
        except (BrokenPipeError, OSError):
            self._reap()
            raise SandboxDied(self._death_reason(), read_log_window(self.log_path, offset)) from None
        self._exchange = (nonce, offset)
        return self._await(expected + interim, interim, timeout)

    def follow_up(self, expected: tuple[type, ...], timeout: float) -> tuple[Any, str]:
        """The next reply to the request whose interim reply was just returned; ``timeout``
        starts now (the judge's own work between the two replies is not the Solution's)."""
        assert self._exchange is not None, "follow_up without an interim reply"
        return self._await(expected, (), timeout)

    def _await(
        self, expected: tuple[type, ...], interim: tuple[type, ...], timeout: float
    ) -> tuple[Any, str]:
        assert self._exchange is not None
        deadline = time.monotonic() + timeout
        nonce, offset = self._exchange
        while True:
            newline = self._pending.find(b"\n")
            if newline >= 0:
                line, rest = self._pending[:newline], self._pending[newline + 1 :]
                try:
                    reply = parse_reply(line, nonce, expected)
                except ProtocolError as exc:
                    self._fail_protocol(str(exc), offset)
                if isinstance(reply, interim):
                    self._pending = rest
                    self._exchange = (nonce, self._log_size())
                else:
                    self._pending = b""
                    self._exchange = None
                    if rest.strip():
                        self._fail_protocol("more than one reply to one request", offset)
                return reply, read_log_window(self.log_path, offset)
            if len(self._pending) > MAX_MESSAGE_BYTES:
                self._fail_protocol(f"a reply longer than {MAX_MESSAGE_BYTES} bytes", offset)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.kill()
                raise SandboxTimeout(
                    f"no result after {timeout:g} s; the sandbox was killed",
                    read_log_window(self.log_path, offset),
                )
            if self._readable(min(remaining, 0.25)):
                chunk = os.read(self._reply_fd, 65536)  # type: ignore[arg-type]
                if chunk:
                    self._pending += chunk
                    continue
                self._reap()
                raise SandboxDied(self._death_reason(), read_log_window(self.log_path, offset))
            if not self.alive:
                if self._readable(0):
                    continue
                self._reap()
                raise SandboxDied(self._death_reason(), read_log_window(self.log_path, offset))

    def _readable(self, timeout: float) -> bool:
        assert self._reply_fd is not None
        ready, _, _ = select.select([self._reply_fd], [], [], timeout)
        return bool(ready)

    def _fail_protocol(self, what: str, offset: int) -> None:
        self.kill()
        raise SandboxProtocolError(
            f"protocol violation: the sandbox sent {what}; it was killed",
            read_log_window(self.log_path, offset),
        )

    def _death_reason(self) -> str:
        code = self.proc.returncode if self.proc is not None else None
        if code is None:
            return "the sandbox stopped answering"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return f"the sandbox process died from {name} (exit code {code})"
        return f"the sandbox process exited with code {code} (sys.exit or os._exit in the solution?)"

    def _reap(self) -> None:
        if self.proc is not None:
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        self._kill_tree()
        self._close()

    def _kill_tree(self) -> None:
        if self.proc is not None:
            kill_tree(self.token, self.proc.pid)

    def kill(self) -> None:
        """Kill the sandbox and its whole process tree."""
        self._kill_tree()
        if self.proc is not None:
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        self._close()

    def stop(self) -> None:
        """Ask the sandbox to exit, then make sure its tree is gone."""
        if self.alive and self._send is not None:
            try:
                self._send.send(StopRequest())
                self.proc.wait(timeout=5)  # type: ignore[union-attr]
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kill()

    def _close(self) -> None:
        if self._send is not None:
            try:
                self._send.close()
            except OSError:
                pass
        if self._reply_fd is not None:
            try:
                os.close(self._reply_fd)
            except OSError:
                pass
        self._send = None
        self._reply_fd = None
        self._pending = b""
        self._exchange = None
