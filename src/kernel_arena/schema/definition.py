"""The Definition model: an op's axes, inputs, outputs, constraints and PyTorch reference.

Pure data plus validation of everything that can be checked without running code (axes named
by shapes exist, constraints and reference parse, the reference defines ``run``).
"""

from __future__ import annotations

import ast
from typing import Annotated, Literal, Union

from pydantic import Field, field_validator, model_validator

from kernel_arena.schema._base import TraceModel

DType = Literal[
    "float32",
    "float16",
    "bfloat16",
    "float8_e4m3fn",
    "float8_e5m2",
    "float4_e2m1",
    "int64",
    "int32",
    "int16",
    "int8",
    "bool",
]
"""Tensor element types of the FlashInfer-Trace format."""

FLOAT_DTYPES: frozenset[str] = frozenset(
    {"float32", "float16", "bfloat16", "float8_e4m3fn", "float8_e5m2", "float4_e2m1"}
)
DTYPE_BYTES: dict[str, int] = {
    "float32": 4,
    "float16": 2,
    "bfloat16": 2,
    "float8_e4m3fn": 1,
    "float8_e5m2": 1,
    "float4_e2m1": 1,
    "int64": 8,
    "int32": 4,
    "int16": 2,
    "int8": 1,
    "bool": 1,
}
"""Bytes per stored element of each dtype, as torch stores it (``float4_e2m1`` is torch's
``float4_e2m1fn_x2``: one byte per element). Lets torch-free code (reports) size tensors."""


class AxisConst(TraceModel):
    """An axis whose size is fixed by the definition."""

    type: Literal["const"] = "const"
    """Discriminator: always ``const``."""
    value: int = Field(gt=0)
    """The fixed size of the axis (positive)."""
    description: str | None = None
    """What the axis means."""


class AxisVar(TraceModel):
    """An axis whose size each workload chooses."""

    type: Literal["var"] = "var"
    """Discriminator: always ``var``."""
    description: str | None = None
    """What the axis means."""


Axis = Annotated[Union[AxisConst, AxisVar], Field(discriminator="type")]


class TensorSpec(TraceModel):
    """Shape (as axis names) and dtype of one input or output; ``shape: null`` is a scalar."""

    shape: list[str] | None
    """Axis names, outermost first; ``null`` for a scalar."""
    dtype: DType
    """Element type."""
    description: str | None = None
    """What the tensor holds."""

    @property
    def optional(self) -> bool:
        """The public ``optional: true`` extra: a workload may omit it and ``None`` is passed."""
        return bool((self.model_extra or {}).get("optional", False))


class Definition(TraceModel):
    """An operation: its axes, inputs and outputs in signature order, and a reference ``run``."""

    name: str = Field(min_length=1)
    """Unique name of the definition, e.g. ``gqa_paged_decode_h32_kv8_d128_ps1``."""
    op_type: str = Field(min_length=1)
    """Family of the op (``gqa_paged``, ``gdn``, ...); also the dataset sub-folder."""
    axes: dict[str, Axis]
    """Named dimensions, constant or variable."""
    inputs: dict[str, TensorSpec]
    """Inputs in signature order."""
    outputs: dict[str, TensorSpec]
    """Outputs in signature order."""
    reference: str = Field(min_length=1)
    """Python source defining ``run(*inputs)`` that returns the outputs (the oracle)."""
    description: str | None = None
    """What the op computes."""
    tags: list[str] | None = None
    """Free-form labels (``status:verified``, ``model:llama-3.1-8b`` ...)."""
    constraints: list[str] | None = None
    """Python expressions over axes and inputs that every workload must satisfy."""

    @field_validator("constraints")
    @classmethod
    def _constraints_parse(cls, value: list[str] | None) -> list[str] | None:
        for i, expr in enumerate(value or []):
            try:
                ast.parse(expr, mode="eval")
            except SyntaxError as exc:
                raise ValueError(f"constraint {i} is not a Python expression: {expr!r} ({exc.msg})") from None
        return value

    @field_validator("reference")
    @classmethod
    def _reference_defines_run(cls, value: str) -> str:
        try:
            module = ast.parse(value, mode="exec")
        except SyntaxError as exc:
            raise ValueError(f"reference is not valid Python: line {exc.lineno}: {exc.msg}") from None
        if not any(isinstance(node, ast.FunctionDef) and node.name == "run" for node in module.body):
            raise ValueError("reference must define a top-level function `run`")
        return value

    @model_validator(mode="after")
    def _names_consistent(self) -> Definition:
        overlap = sorted(set(self.inputs) & set(self.outputs))
        if overlap:
            raise ValueError(f"input and output names must be disjoint; both have {overlap}")
        for kind, specs in (("inputs", self.inputs), ("outputs", self.outputs)):
            for tensor, spec in specs.items():
                for axis in spec.shape or []:
                    if axis not in self.axes:
                        raise ValueError(
                            f"{kind}.{tensor}.shape names axis {axis!r}, which is not declared "
                            f"in axes (declared: {sorted(self.axes)})"
                        )
        return self

    # ------------------------------------------------------------------ helpers
    @property
    def const_axes(self) -> dict[str, int]:
        """Constant axes and their values."""
        return {n: a.value for n, a in self.axes.items() if isinstance(a, AxisConst)}

    @property
    def var_axes(self) -> list[str]:
        """Names of the variable axes."""
        return [n for n, a in self.axes.items() if isinstance(a, AxisVar)]

    def axis_values(self, workload_axes: dict[str, int]) -> dict[str, int]:
        """All axis values for a workload: the constants plus the workload's variables."""
        values = dict(self.const_axes)
        values.update(workload_axes)
        return values

    def shape_of(self, spec: TensorSpec, axis_values: dict[str, int]) -> tuple[int, ...] | None:
        """Concrete shape of a tensor spec, or ``None`` for a scalar."""
        if spec.shape is None:
            return None
        missing = [a for a in spec.shape if a not in axis_values]
        if missing:
            raise KeyError(f"no value for axis {missing[0]!r}")
        return tuple(int(axis_values[a]) for a in spec.shape)

    def page_tables(self) -> list[tuple[str, str]]:
        """(indptr input, indices input) pairs: integer ``<p>indptr``/``<p>indices`` of rank 1
        (a page table; ``--synthesize-missing`` can synthesize one whose blobs are missing)."""
        pairs = []
        for name, spec in self.inputs.items():
            if name.endswith("indptr") and _is_int_vector(spec):
                partner = name[: -len("indptr")] + "indices"
                other = self.inputs.get(partner)
                if other is not None and _is_int_vector(other):
                    pairs.append((name, partner))
        return pairs


def _is_int_vector(spec: TensorSpec) -> bool:
    return spec.shape is not None and len(spec.shape) == 1 and spec.dtype.startswith("int")
