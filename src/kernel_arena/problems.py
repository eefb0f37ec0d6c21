"""Problem: the one type for a located problem, from ``validate`` (dataset files) and from
``check`` (static checks of a Solution).

A problem names the file, and where known the line and the JSON field, says what is wrong,
and for a static check carries the pitfall id (``P01``, ``SCHEMA``, ...) and how to fix it.
This module also turns pydantic validation errors into messages a person can act on, e.g.
``solutions/gqa/x.json: spec.entry_point: must contain exactly one '::'``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError


@dataclass(frozen=True)
class Problem:
    """A located problem; every field but ``file`` and ``message`` is optional."""

    file: str
    """The file at fault, relative to the dataset or solution folder where possible."""
    message: str
    """What is wrong."""
    field: str = ""
    """JSON location of the offending field, e.g. ``spec.entry_point`` or ``workload[0].axes``."""
    line: int | None = None
    """1-based line in ``file`` (JSONL line, or source line of a static finding)."""
    severity: str = "error"
    """``error`` or ``warning`` (warnings do not fail ``validate`` or ``check``)."""
    id: str = ""
    """Pitfall id of a static check (``P01``, ``SCHEMA``, ``TARGET``, ...); empty for dataset problems."""
    hint: str = ""
    """How to fix it, when there is one obvious fix."""
    kind: str = ""
    """What kind of dataset problem it is, for grouping and counting (``missing_blob``); empty
    for problems that are not grouped."""

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line is not None else "")
        if self.id:
            # A static-check finding: severity and pitfall id lead, the fix gets its own line.
            field = f"{self.field}: " if self.field else ""
            hint = f"\n    fix: {self.hint}" if self.hint else ""
            return f"{where}: {self.severity} {self.id}: {field}{self.message}{hint}"
        field = f" {self.field}:" if self.field else ""
        tag = "" if self.severity == "error" else f" [{self.severity}]"
        return f"{where}:{field}{tag} {self.message}"

    def to_json_dict(self) -> dict[str, Any]:
        """JSON form for ``--json`` output (every key present, empty when it does not apply)."""
        return asdict(self)


def format_location(loc: tuple[Any, ...] | list[Any]) -> str:
    """``('spec', 'entry_point')`` → ``spec.entry_point``; list indices as ``[i]``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def problems_from_validation_error(
    exc: ValidationError, file: Path | str, line: int | None = None, prefix: str = ""
) -> list[Problem]:
    """One Problem per pydantic error, with the JSON location of the offending field."""
    result = []
    for err in exc.errors(include_url=False):
        loc = [p for p in err.get("loc", ()) if not _is_union_tag(p)]
        location = format_location(([prefix] if prefix else []) + loc)
        message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        if err.get("type") == "missing":
            message = "required field is missing"
        elif err.get("type") == "extra_forbidden":
            message = "unknown field"
        result.append(Problem(str(file), message, location, line))
    return result


def _is_union_tag(part: Any) -> bool:
    # Discriminated unions put the tag value ('const', 'random', ...) into the location;
    # function-after validators add 'function-after[...]'. Neither helps a reader.
    return isinstance(part, str) and (
        part in {"const", "var", "random", "scalar", "safetensors"} or "[" in part
    )


def validation_summary(exc: ValidationError, file: Path | str, limit: int = 3) -> str:
    """One line for a file that failed validation: ``file: field: message; field: message``,
    the first ``limit`` problems and how many more there are (for commands that stop at it)."""
    problems = problems_from_validation_error(exc, file)
    parts = [f"{p.field}: {p.message}" if p.field else p.message for p in problems[:limit]]
    more = f" (and {len(problems) - limit} more)" if len(problems) > limit else ""
    return f"{file}: " + "; ".join(parts) + more
