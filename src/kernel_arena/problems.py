"""Problem: one thing wrong with a dataset file, located by file, line and JSON field.

Turns pydantic validation errors into messages a person can act on, e.g.
``solutions/gqa/x.json: spec.entry_point: must contain exactly one '::'``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError


@dataclass(frozen=True)
class Problem:
    """A located dataset problem."""

    file: str
    message: str
    location: str = ""
    line: int | None = None
    severity: str = "error"
    """``error`` or ``warning`` (warnings do not fail ``validate``)."""

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line is not None else "")
        field = f" {self.location}:" if self.location else ""
        tag = "" if self.severity == "error" else f" [{self.severity}]"
        return f"{where}:{field}{tag} {self.message}"

    def to_json(self) -> dict[str, Any]:
        """JSON form for ``--json`` output."""
        return {
            "file": self.file,
            "line": self.line,
            "location": self.location,
            "message": self.message,
            "severity": self.severity,
        }


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
