"""A dataset or run folder kept current for the viewer while a run writes into it.

Loaded once. On each ``current()`` the trace files are checked (one ``stat`` each): lines
appended to a trace file are read from where the last read stopped and added to the index;
only a trace file that was replaced or shortened (``--force`` rewrites it), a trace file that
disappeared, or a change to the definitions, workloads or solutions (checked at most once a
second; a run copies each Solution into its folder as it starts) makes it load everything again.
Loading and indexing run with the cyclic garbage collector paused, and what they created is then
moved out of its view (``gc.freeze``): traces hold no cycles, and rescanning a heap of 100,000
traces cost seconds per request (``benchmarks/results/viewer_scale.md``).
"""

from __future__ import annotations

import contextlib
import gc
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from kernel_arena.dataset import load_dataset, read_trace_file, resolve_dataset_path
from kernel_arena.dataset.run_view import RUN_MANIFEST, read_run_manifest
from kernel_arena.web.index import TraceIndex

SOURCE_FOLDERS = ("definitions", "workloads", "solutions")
SOURCE_CHECK_INTERVAL_S = 1.0
"""Definitions, workloads and solutions are checked for changes at most this often."""


class LiveDataset:
    """The index of a dataset folder, refreshed from the files on each ``current()``."""

    def __init__(self, path: str | Path | None) -> None:
        self.path = path
        self.lock = threading.RLock()
        """Held while the index is refreshed or read; API requests hold it while they compute."""
        self.loads = 0
        """How many full loads happened (the first one included)."""
        self._index: TraceIndex | None = None
        self._sources: tuple[tuple[str, int, int], ...] = ()
        self._sources_checked = 0.0

    def _source_roots(self) -> list[Path]:
        root = resolve_dataset_path(self.path)
        roots = [root]
        manifest = root / RUN_MANIFEST
        if manifest.is_file():
            roots.append(resolve_dataset_path(read_run_manifest(manifest)))
        return roots

    def _source_signature(self) -> tuple[tuple[str, int, int], ...]:
        found = []
        for root in self._source_roots():
            for folder in SOURCE_FOLDERS:
                base = root / folder
                if base.is_dir():
                    for p in base.rglob("*"):
                        try:
                            st = p.stat()
                        except OSError:
                            continue
                        found.append((str(p), st.st_mtime_ns, st.st_size))
        return tuple(sorted(found))

    def _load(self) -> TraceIndex:
        gc.unfreeze()
        self._index = None
        self._sources = self._source_signature()
        self._sources_checked = time.monotonic()
        with _gc_paused():
            index = TraceIndex(load_dataset(self.path))
        self.loads += 1
        self._index = index
        return index

    def current(self) -> TraceIndex:
        """The index, with every trace written so far (see the module docstring)."""
        with self.lock:
            index = self._index
            now = time.monotonic()
            if index is None:
                return self._load()
            if now - self._sources_checked >= SOURCE_CHECK_INTERVAL_S:
                self._sources_checked = now
                if self._source_signature() != self._sources:
                    return self._load()
            ds = index.ds
            files = sorted((ds.trace_root / "traces").rglob("*.jsonl"))
            if set(ds.trace_marks) - set(files):
                return self._load()
            grown = []
            for file in files:
                mark = ds.trace_marks.get(file)
                if mark is not None:
                    try:
                        st = file.stat()
                    except OSError:
                        return self._load()
                    if st.st_ino != mark.inode or st.st_size < mark.offset:
                        return self._load()
                    if st.st_size == mark.offset:
                        continue
                grown.append((file, mark))
            if grown:
                with _gc_paused():
                    for file, mark in grown:
                        traces, problems, ds.trace_marks[file] = read_trace_file(file, ds.trace_root, mark)
                        ds.problems.extend(problems)
                        index.add(t for t in traces if not t.is_workload)
            return index


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic collection while objects are loaded and indexed; then they are frozen (moved out
    of the collector's view) before it runs again."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()
