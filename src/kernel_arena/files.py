"""Durable file primitives: atomic writes, fsynced JSONL appends, tolerant JSONL reads.

Everything that writes dataset or run files goes through here, so a killed process leaves
either the old file or the new one (atomic replace), and a JSONL file at worst a torn last
line, which readers report and writers cut off before appending.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old or the new file, never a mix."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            # mkstemp creates 0600; a written file gets the mode a plain open() would give it.
            os.fchmod(handle.fileno(), _new_file_mode(path))
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise naming_file(exc, path) from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def naming_file(exc: OSError, path: Path) -> OSError:
    """``exc`` with ``path`` as its file name when it has none (a write on a descriptor)."""
    if exc.filename is not None or exc.errno is None:
        return exc
    return type(exc)(exc.errno, exc.strerror, str(path))


def _new_file_mode(path: Path) -> int:
    """The mode of the file being replaced, else 0666 less the process umask."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        return 0o666 & ~current_umask()


def current_umask() -> int:
    """The process umask, read without changing it where the system allows (Linux)."""
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_text(path: Path, text: str) -> None:
    """Atomic UTF-8 text write."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path, obj: Any) -> None:
    """Atomic JSON write, indented, newline-terminated."""
    atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@dataclass(frozen=True)
class JsonlLine:
    """One line of a JSONL file: its 1-based number and either the object or a parse error."""

    lineno: int
    obj: Any = None
    error: str | None = None
    torn: bool = False
    """True for an unterminated, unparsable last line (a write cut short by a crash)."""


def read_jsonl(path: Path) -> Iterator[JsonlLine]:
    """Yield every non-blank line of a JSONL file; bad lines come back with ``error`` set."""
    data = Path(path).read_bytes()
    lines = data.split(b"\n")
    ends_with_newline = data.endswith(b"\n")
    for i, raw in enumerate(lines):
        is_last = i == len(lines) - 1
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            torn = is_last and not ends_with_newline
            what = "torn last line (an interrupted write)" if torn else "invalid JSON"
            yield JsonlLine(i + 1, error=f"{what}: {exc}", torn=torn)
            continue
        yield JsonlLine(i + 1, obj=obj)


def repair_torn_tail(path: Path) -> int:
    """Cut an unterminated last line off ``path``; return how many bytes were removed."""
    path = Path(path)
    if not path.exists():
        return 0
    with open(path, "rb+") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        if size == 0:
            return 0
        handle.seek(size - 1)
        if handle.read(1) == b"\n":
            return 0
        # Scan back to the last newline.
        pos = size - 1
        chunk = 65536
        cut = 0
        while pos > 0:
            start = max(0, pos - chunk)
            handle.seek(start)
            block = handle.read(pos - start)
            idx = block.rfind(b"\n")
            if idx >= 0:
                cut = start + idx + 1
                break
            pos = start
        handle.truncate(cut)
        handle.flush()
        os.fsync(handle.fileno())
        return size - cut


def append_jsonl(path: Path, objs: list[Any]) -> None:
    """Append objects as JSON lines, flushed and fsynced before returning."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objs).encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        view = memoryview(payload)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    except OSError as exc:
        raise naming_file(exc, path) from exc
    finally:
        os.close(fd)


def write_jsonl(path: Path, objs: list[Any]) -> None:
    """Atomically replace a JSONL file with ``objs``."""
    atomic_write_text(path, "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objs))
