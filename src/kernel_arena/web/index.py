"""The viewer's index over a loaded dataset's traces, built once and extended as traces arrive.

Per definition: the latest trace per (solution, workload) (what every leaderboard counts), the
number of traces, and a generation number that changes whenever a trace of that definition is
added. ``memo`` keeps a value computed from one definition's traces (a leaderboard with its
charts) until that definition's generation changes, so a page is computed once per change, not
once per request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from kernel_arena.dataset import Dataset
from kernel_arena.schema import Trace


class TraceIndex:
    """``ds.traces`` indexed by definition; trace ids are positions in ``ds.traces``."""

    def __init__(self, ds: Dataset) -> None:
        self.ds = ds
        self._latest: dict[str, dict[tuple[str, str], int]] = {}
        self._counts: dict[str, int] = {}
        self._generation: dict[str, int] = {}
        self._memo: dict[tuple[str, str], tuple[int, Any]] = {}
        self._index(range(len(ds.traces)))

    def add(self, traces: Iterable[Trace]) -> None:
        """Append new traces (in file order) to the dataset and the index."""
        start = len(self.ds.traces)
        self.ds.traces.extend(traces)
        self._index(range(start, len(self.ds.traces)))

    def _index(self, ids: range) -> None:
        for i in ids:
            t = self.ds.traces[i]
            if t.evaluation is None:
                continue
            name = t.definition
            self._latest.setdefault(name, {})[(t.solution or "", t.workload.uuid)] = i
            self._counts[name] = self._counts.get(name, 0) + 1
            self._generation[name] = self._generation.get(name, 0) + 1

    def count(self, definition: str) -> int:
        """Traces of ``definition`` (all of them, not only the latest)."""
        return self._counts.get(definition, 0)

    def traced_definitions(self) -> list[str]:
        """Definitions with at least one trace, sorted."""
        return sorted(self._counts)

    def latest(self, definition: str) -> list[tuple[int, Trace]]:
        """(id, trace) of the latest trace per (solution, workload) of ``definition``, in the order
        the keys first appeared (as ``report.leaderboard.latest_traces`` orders them)."""
        return [(i, self.ds.traces[i]) for i in self._latest.get(definition, {}).values()]

    def generation(self, definition: str) -> int:
        """A number that changes whenever a trace of ``definition`` is added."""
        return self._generation.get(definition, 0)

    def memo(self, kind: str, definition: str, compute: Callable[[], Any]) -> Any:
        """``compute()``, cached until the traces of ``definition`` change."""
        key = (kind, definition)
        generation = self.generation(definition)
        hit = self._memo.get(key)
        if hit is not None and hit[0] == generation:
            return hit[1]
        value = compute()
        self._memo[key] = (generation, value)
        return value
