"""TraceStore: append-only JSONL trace files of a run folder, durable and resumable.

Each trace is appended to ``traces/<op_type>/<definition>.jsonl`` the moment it exists,
flushed and fsynced. A torn last line (a write cut by a crash) is cut off, with a warning,
before the next append, so files stay valid JSONL; ``completed_keys`` tells a resumed run what
is already done.
"""

from __future__ import annotations

import threading
import warnings
from pathlib import Path

from pydantic import ValidationError

from kernel_arena.files import append_jsonl, read_jsonl, repair_torn_tail, write_jsonl
from kernel_arena.schema import Trace


class TraceStore:
    """Trace files under ``root/traces``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._lock = threading.Lock()
        self._repaired: set[Path] = set()

    def path_for(self, op_type: str, definition: str) -> Path:
        """The JSONL file of one definition."""
        return self.root / "traces" / op_type / f"{definition}.jsonl"

    def append(self, op_type: str, trace: Trace) -> None:
        """Write one trace durably."""
        path = self.path_for(op_type, trace.definition)
        with self._lock:
            if path not in self._repaired:
                cut = repair_torn_tail(path)
                if cut:
                    warnings.warn(
                        f"{path}: removed a torn last line ({cut} bytes) left by an interrupted run",
                        stacklevel=2,
                    )
                self._repaired.add(path)
            append_jsonl(path, [trace.to_json_dict()])

    def read(self, op_type: str, definition: str) -> list[Trace]:
        """Valid traces of one definition (bad or torn lines skipped)."""
        path = self.path_for(op_type, definition)
        if not path.exists():
            return []
        result = []
        for line in read_jsonl(path):
            if line.error is not None:
                continue
            try:
                trace = Trace.model_validate(line.obj)
            except ValidationError:
                continue
            if not trace.is_workload:
                result.append(trace)
        return result

    def provenance_of(self, op_type: str, definition: str) -> dict[tuple[str, str, str], dict[str, str]]:
        """(definition, solution, workload uuid) → content hashes of the latest trace with that key."""
        found: dict[tuple[str, str, str], dict[str, str]] = {}
        for t in self.read(op_type, definition):
            prov = (t.model_extra or {}).get("provenance")
            found[t.key] = prov if isinstance(prov, dict) else {}
        return found

    def completed_keys(self, op_type: str, definition: str) -> set[tuple[str, str, str]]:
        """(definition, solution, workload uuid) already traced."""
        return {t.key for t in self.read(op_type, definition)}

    def drop(self, op_type: str, definition: str, keys: set[tuple[str, str, str]]) -> int:
        """Remove traces with these keys (for ``--force``); atomic rewrite. Returns the count."""
        path = self.path_for(op_type, definition)
        if not path.exists() or not keys:
            return 0
        with self._lock:
            kept, dropped = [], 0
            for line in read_jsonl(path):
                if line.error is not None:
                    continue
                obj = line.obj
                key = (
                    obj.get("definition"),
                    obj.get("solution") or "",
                    (obj.get("workload") or {}).get("uuid"),
                )
                if key in keys:
                    dropped += 1
                else:
                    kept.append(obj)
            if dropped:
                write_jsonl(path, kept)
            return dropped
