"""The wire between judge and sandbox.

Judge → sandbox: requests (``BuildRequest``, ``CallRequest``, ``TimeRequest``, ``StopRequest``)
pickled over a pipe only the judge writes; the sandbox trusts the judge.

Sandbox → judge: one JSON document per line on a private pipe, at most ``MAX_MESSAGE_BYTES``,
validated here against a closed set of typed messages (unknown fields, wrong types, non-finite
or negative times are rejected). Every reply echoes the request's random ``nonce``. Nothing from
the sandbox is ever unpickled. A line that does not validate is a ``ProtocolError``: that
Solution's RUNTIME_ERROR, never the run's end.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from kernel_arena.engine.sandbox.shared import TensorRef

MAX_MESSAGE_BYTES = 1 << 20
"""Longest reply line the judge reads; a longer one is a protocol violation."""
MAX_TEXT = 64 * 1024
"""Longest text field (tracebacks are cut to this by the sandbox)."""


class ProtocolError(Exception):
    """The sandbox sent something that is not a valid reply to the pending request."""


# ------------------------------------------------------------------ judge → sandbox (pickled)
@dataclass
class ReadyRequest:
    """Start up: import torch and the harness, learn the environment. Sent before any Solution code
    is loaded, so its time is the harness's, not the Solution's (its own, generous timeout)."""

    nonce: str
    device: str


@dataclass
class BuildRequest:
    """Build the Solution (sources, dependencies, entry point)."""

    nonce: str
    solution: dict[str, Any]
    device: str
    build_root: str


@dataclass
class CallRequest:
    """One correctness call. ``inputs``: TensorRef, scalar or None per input, in definition order."""

    nonce: str
    inputs: list[Any]
    outputs: list[TensorRef]
    """Buffers the outputs are written (DPS) or copied (value-returning) into."""
    output_names: list[str]


@dataclass
class TimeRequest:
    """The timing loops. Call ``n`` (warm-up included) passes ``variants[name][n % count]`` for
    each varied input (a stack of fresh values along a leading axis) and writes into output set
    ``((n - warmup) % (trials * iters)) // iters`` (set 0 during warm-up), with the counts the
    loops used (``Timed.warmup``, ``Timed.iters``): with ``budget_ms`` set, ``warmup`` and
    ``iters`` are maxima (``measure.timing``)."""

    nonce: str
    inputs: list[Any]
    input_names: list[str]
    variants: dict[str, TensorRef]
    outputs: list[list[TensorRef]]
    output_names: list[str]
    warmup: int
    iters: int
    trials: int
    budget_ms: float | None = None
    min_iters: int = 1


@dataclass
class StopRequest:
    """Exit cleanly."""

    nonce: str = ""


# --------------------------------------------------------------- sandbox → judge (JSON, validated)
class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    nonce: Annotated[str, Field(min_length=1, max_length=64)]


def _finite(value: float) -> float:
    if not math.isfinite(value) or value < 0:
        raise ValueError("must be a finite non-negative number")
    return value


Text = Annotated[str, Field(max_length=MAX_TEXT)]


class Ready(_Message):
    """The sandbox is up; what it learnt about the environment."""

    type: Literal["ready"]
    hardware: Annotated[str, Field(max_length=200)]
    libs: dict[Annotated[str, Field(max_length=100)], Annotated[str, Field(max_length=200)]]


class Built(_Message):
    """The Solution was built; what was learnt about the environment."""

    type: Literal["built"]
    hardware: Annotated[str, Field(max_length=200)]
    libs: dict[Annotated[str, Field(max_length=100)], Annotated[str, Field(max_length=200)]]


class BuildFailed(_Message):
    """The Solution could not be built (COMPILE_ERROR)."""

    type: Literal["build_failed"]
    error: Text
    hardware: Annotated[str, Field(max_length=200)] = ""
    libs: dict[Annotated[str, Field(max_length=100)], Annotated[str, Field(max_length=200)]] = {}


class ReturnedOutput(BaseModel):
    """What a value-returning Solution returned for one output (before the copy)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: Annotated[str, Field(max_length=200)]
    type_name: Annotated[str, Field(max_length=200)]
    shape: list[Annotated[int, Field(ge=0)]] | None = None
    dtype: Annotated[str, Field(max_length=40)] | None = None
    contiguous: bool = True
    copied: bool = False


class Integrity(BaseModel):
    """What the sandbox runner saw of the Solution's reach after a call."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    replaced: list[Annotated[str, Field(max_length=200)]] = Field(default_factory=list, max_length=64)
    """Timer/synchronization functions that are no longer the originals."""
    threads_left: list[Annotated[str, Field(max_length=200)]] = Field(default_factory=list, max_length=64)
    """Python threads started by the Solution still running after it returned."""


class Called(_Message):
    """A correctness call finished (``error`` set when the Solution raised)."""

    type: Literal["called"]
    error: Text | None = None
    returned_count: Annotated[int, Field(ge=0)] | None = None
    returned: list[ReturnedOutput] = Field(default_factory=list, max_length=256)
    integrity: Integrity = Integrity()
    harness_ms: dict[Annotated[str, Field(max_length=64)], float] = Field(default_factory=dict, max_length=64)
    """The sandbox's own phase clock for this call (informative only: never used in a verdict)."""

    @field_validator("harness_ms")
    @classmethod
    def _check_phases(cls, values: dict[str, float]) -> dict[str, float]:
        return {k: _finite(v) for k, v in values.items()}


class Looped(_Message):
    """Interim reply to a ``TimeRequest``: the last timed call has finished and every output set
    holds its trial's last outputs; the profile is still being read. Lets the judge check the
    timed outputs while the sandbox parses the profile. Optional: a ``Timed`` without it is
    checked afterwards; its counts must equal the ``Timed`` reply's."""

    type: Literal["looped"]
    calls: Annotated[int, Field(ge=0)]
    iters: Annotated[int, Field(ge=0)]


class Timed(_Message):
    """The timing loops finished."""

    type: Literal["timed"]
    error: Text | None = None
    calls: Annotated[int, Field(ge=0)] = 0
    warmup: Annotated[int, Field(ge=0)] = 0
    iters: Annotated[int, Field(ge=0)] = 0
    latency_ms: float = 0.0
    call_latency_ms: float = 0.0
    method: Annotated[str, Field(max_length=300)] = ""
    spread: float = 0.0
    trial_medians_ms: list[float] = Field(default_factory=list, max_length=10_000)
    kernels_per_call: float | None = None
    harness_ms: dict[Annotated[str, Field(max_length=64)], float] = Field(default_factory=dict, max_length=64)
    returned: list[ReturnedOutput] = Field(default_factory=list, max_length=256)
    integrity: Integrity = Integrity()

    @field_validator("latency_ms", "call_latency_ms", "spread")
    @classmethod
    def _check_finite(cls, value: float) -> float:
        return _finite(value)

    @field_validator("trial_medians_ms")
    @classmethod
    def _check_medians(cls, values: list[float]) -> list[float]:
        return [_finite(v) for v in values]

    @field_validator("kernels_per_call")
    @classmethod
    def _check_kernels(cls, value: float | None) -> float | None:
        return None if value is None else _finite(value)

    @field_validator("harness_ms")
    @classmethod
    def _check_phases(cls, values: dict[str, float]) -> dict[str, float]:
        return {k: _finite(v) for k, v in values.items()}


Reply = Annotated[Union[Ready, Built, BuildFailed, Called, Looped, Timed], Field(discriminator="type")]
_REPLY = TypeAdapter(Reply)


def parse_reply(line: bytes, nonce: str, expected: tuple[type[_Message], ...]) -> _Message:
    """Validate one reply line for the request with ``nonce``; ProtocolError says what is wrong."""
    if len(line) > MAX_MESSAGE_BYTES:
        raise ProtocolError(f"a reply of more than {MAX_MESSAGE_BYTES} bytes")
    try:
        obj = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        raise ProtocolError(f"a reply that is not JSON: {_preview(line)}") from None
    try:
        message = _REPLY.validate_python(obj)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise ProtocolError(f"an invalid reply ({where}: {first.get('msg')}): {_preview(line)}") from None
    if message.nonce != nonce:
        raise ProtocolError("a reply that does not answer the pending request (nonce mismatch)")
    if not isinstance(message, expected):
        names = " or ".join(e.__name__ for e in expected)
        raise ProtocolError(f"a {type(message).__name__} reply where {names} was expected")
    return message


def encode_reply(message: _Message) -> bytes:
    """One JSON line (sandbox side)."""
    return message.model_dump_json().encode("utf-8") + b"\n"


def _preview(line: bytes, limit: int = 120) -> str:
    text = line[:limit].decode("utf-8", errors="replace")
    return repr(text) + ("..." if len(line) > limit else "")
