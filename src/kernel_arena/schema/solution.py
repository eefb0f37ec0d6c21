"""The Solution model: a kernel's sources, language, entry point and call convention."""

from __future__ import annotations

import posixpath
import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from kernel_arena.schema._base import TraceModel

Language = Literal["python", "triton", "cpp", "cuda", "tilelang"]
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class SourceFile(TraceModel):
    """One source file of a solution."""

    path: str = Field(min_length=1)
    """Path relative to the build folder; no ``..``, not absolute."""
    content: str
    """File contents."""

    @field_validator("path")
    @classmethod
    def _path_is_safe(cls, value: str) -> str:
        if value.startswith("/") or value.startswith("\\") or re.match(r"^[A-Za-z]:", value):
            raise ValueError(f"source path {value!r} must be relative, not absolute")
        parts = value.replace("\\", "/").split("/")
        if ".." in parts:
            raise ValueError(f"source path {value!r} must not contain '..'")
        if posixpath.normpath(value.replace("\\", "/")) in ("", "."):
            raise ValueError(f"source path {value!r} names no file")
        return value


class BuildSpec(TraceModel):
    """How to build and call a solution."""

    language: Language
    """Source language: python, triton, cpp, cuda or tilelang."""
    target_hardware: list[str] = Field(min_length=1)
    """Devices the solution supports, e.g. ``["cuda"]``, ``["cpu", "cuda"]``, ``["NVIDIA_H100"]``."""
    entry_point: str
    """``file.py::function``: the function called with the inputs (and outputs, in DPS)."""
    dependencies: list[str] = Field(default_factory=list)
    """Python packages the solution imports (pip names, optionally with a version specifier)."""
    destination_passing_style: bool = True
    """True: outputs are pre-allocated and passed after the inputs. False: returned."""
    binding: Literal["tvm-ffi", "torch"] | None = None
    """How compiled (cpp/cuda) sources are bound to Python."""

    @field_validator("entry_point")
    @classmethod
    def _entry_point_form(cls, value: str) -> str:
        if value.count("::") != 1:
            raise ValueError(
                f"entry_point {value!r} must contain exactly one '::' (form 'file.py::function')"
            )
        file, func = value.split("::")
        if not file:
            raise ValueError(f"entry_point {value!r} names no file before '::'")
        if not _IDENT.match(func):
            raise ValueError(f"entry_point {value!r}: {func!r} is not a Python function name")
        return value

    @property
    def entry_file(self) -> str:
        """The file part of the entry point."""
        return self.entry_point.split("::")[0]

    @property
    def entry_function(self) -> str:
        """The function part of the entry point."""
        return self.entry_point.split("::")[1]


class Solution(TraceModel):
    """A kernel implementation of one definition."""

    name: str = Field(min_length=1)
    """Unique name of the solution."""
    definition: str = Field(min_length=1)
    """Name of the definition it implements."""
    author: str = Field(min_length=1)
    """Who wrote it."""
    spec: BuildSpec
    """Build and call specification."""
    sources: list[SourceFile] = Field(min_length=1)
    """Source files, written to a private build folder before the build."""
    description: str | None = None
    """What it does and how."""

    @model_validator(mode="after")
    def _sources_consistent(self) -> Solution:
        seen: set[str] = set()
        for src in self.sources:
            norm = posixpath.normpath(src.path.replace("\\", "/"))
            if norm in seen:
                raise ValueError(f"duplicate source path {src.path!r}")
            seen.add(norm)
        entry = posixpath.normpath(self.spec.entry_file)
        if entry not in seen:
            raise ValueError(
                f"entry file {self.spec.entry_file!r} of spec.entry_point is not among the "
                f"sources ({sorted(seen)})"
            )
        return self

    def source(self, path: str) -> SourceFile | None:
        """The source file at ``path``, if any."""
        for src in self.sources:
            if src.path == path:
                return src
        return None
