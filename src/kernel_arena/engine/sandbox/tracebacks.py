"""A Solution's exception as its author reads it, for COMPILE_ERROR and RUNTIME_ERROR logs.

The sandbox builds a private copy of the sources (``…/ka-build-…/ka_solution_<hash>/main.py``) and
reaches the Solution through its own frames (the request loop, the timing loop, importlib). The
log shows the Solution's files by their own paths (``main.py``), drops the harness frames (this
package and importlib's machinery), and keeps the frames of libraries the Solution called (where a
torch error was raised). The message itself is kept, with the build folder cut out of it too.
"""

from __future__ import annotations

import importlib
import os
import traceback
from pathlib import Path

_HARNESS_DIRS = (
    str(Path(__file__).resolve().parents[2]) + os.sep,  # the kernel_arena package
    str(Path(importlib.__file__).resolve().parent) + os.sep,
)


def solution_traceback(exc: BaseException, package: Path | None) -> str:
    """The formatted exception (with its chained causes) with build paths relative to the
    Solution and harness frames removed."""
    prefixes = _build_prefixes(package)
    te = traceback.TracebackException.from_exception(exc)
    seen: set[int] = set()
    pending: list[traceback.TracebackException | None] = [te]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        frames = []
        for frame in current.stack:
            if _is_harness(frame.filename):
                continue
            frame.filename = _relative(frame.filename, prefixes)
            frames.append(frame)
        current.stack = traceback.StackSummary.from_list(frames)
        if getattr(current, "filename", None):  # a SyntaxError names its file separately
            current.filename = _relative(str(current.filename), prefixes)
        pending += [current.__cause__, current.__context__]
    text = "".join(te.format())
    for prefix in prefixes:
        text = text.replace(prefix, "")
    return text


def _build_prefixes(package: Path | None) -> list[str]:
    """Path prefixes that lead into the build folder (resolved and as given), longest first."""
    if package is None:
        return []
    forms = {str(package), str(package.resolve())}
    return sorted((f.rstrip(os.sep) + os.sep for f in forms), key=len, reverse=True)


def _relative(filename: str, prefixes: list[str]) -> str:
    for prefix in prefixes:
        if filename.startswith(prefix):
            return filename[len(prefix) :]
    return filename


def _is_harness(filename: str) -> bool:
    return filename.startswith("<frozen importlib") or filename.startswith(_HARNESS_DIRS)
