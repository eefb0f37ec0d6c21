"""FlashInfer-Trace dtype names ↔ torch dtypes (and safetensors header names)."""

from __future__ import annotations

import torch

TORCH_DTYPES: dict[str, torch.dtype] = {
    "float32": torch.float32,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float8_e4m3fn": torch.float8_e4m3fn,
    "float8_e5m2": torch.float8_e5m2,
    "int64": torch.int64,
    "int32": torch.int32,
    "int16": torch.int16,
    "int8": torch.int8,
    "bool": torch.bool,
}
if hasattr(torch, "float4_e2m1fn_x2"):
    TORCH_DTYPES["float4_e2m1"] = torch.float4_e2m1fn_x2

_NAMES = {v: k for k, v in TORCH_DTYPES.items()}


def torch_dtype(name: str) -> torch.dtype:
    """The torch dtype of a schema dtype name."""
    try:
        return TORCH_DTYPES[name]
    except KeyError:
        raise ValueError(f"dtype {name!r} is not supported by this torch build") from None


def dtype_name(dtype: torch.dtype) -> str:
    """The schema name of a torch dtype (``str(dtype)`` when it has none)."""
    return _NAMES.get(dtype, str(dtype).replace("torch.", ""))
