"""The Workload model: concrete variable-axis values and how to obtain each input.

Inputs are ``random`` (drawn by the harness), ``scalar`` (a literal) or ``safetensors``
(a tensor in a blob file, path relative to the dataset root).
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field

from kernel_arena.schema._base import TraceModel


class RandomInput(TraceModel):
    """Drawn by the harness: normal for floats, valid ranges for integers."""

    type: Literal["random"] = "random"
    """Discriminator: always ``random``."""


class ScalarInput(TraceModel):
    """A literal scalar value."""

    type: Literal["scalar"] = "scalar"
    """Discriminator: always ``scalar``."""
    value: Union[bool, int, float]
    """The value passed to the kernel."""


class SafetensorsInput(TraceModel):
    """A tensor stored in a safetensors file."""

    type: Literal["safetensors"] = "safetensors"
    """Discriminator: always ``safetensors``."""
    path: str = Field(min_length=1)
    """File path relative to the dataset root (a leading ``./`` is allowed)."""
    tensor_key: str = Field(min_length=1)
    """Name of the tensor inside the file."""

    @property
    def relative_path(self) -> str:
        """``path`` without a leading ``./`` (relative to the dataset root)."""
        return self.path[2:] if self.path.startswith("./") else self.path


InputSpec = Annotated[Union[RandomInput, ScalarInput, SafetensorsInput], Field(discriminator="type")]


class Workload(TraceModel):
    """One concrete instance of a definition to run."""

    axes: dict[str, Annotated[int, Field(ge=0)]]
    """Values of the definition's variable axes."""
    inputs: dict[str, InputSpec]
    """How to obtain each input, by input name."""
    uuid: str = Field(min_length=1)
    """Unique id of the workload."""

    @property
    def tags(self) -> list[str]:
        """Our optional ``tags`` extra (e.g. ``cpu``/``gpu``); empty when absent."""
        extra = self.model_extra or {}
        tags = extra.get("tags")
        return [str(t) for t in tags] if isinstance(tags, list) else []

    @property
    def name(self) -> str | None:
        """Our optional ``name`` extra (e.g. ``cpu_b1_single_token``); None when absent."""
        name = (self.model_extra or {}).get("name")
        return None if name is None else str(name)

    @property
    def label(self) -> str:
        """What to show a person: the ``name`` extra, else the first 8 characters of the uuid."""
        return self.name or self.uuid[:8]
