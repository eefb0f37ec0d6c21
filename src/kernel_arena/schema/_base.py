"""Shared pydantic base for the FlashInfer-Trace models.

Owns the one serialization policy every model follows: unknown fields are kept (so files from
other tools survive a load/save round trip), attribute docstrings become JSON-schema
descriptions, and dumping writes back only what was set (no invented ``null`` keys).
Must not import torch or anything heavy.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict


class TraceModel(BaseModel):
    """Base class of all FlashInfer-Trace models."""

    model_config = ConfigDict(
        extra="allow",
        use_attribute_docstrings=True,
        ser_json_inf_nan="strings",
        validate_assignment=False,
        populate_by_name=True,
    )

    def to_json_dict(self) -> dict[str, Any]:
        """The JSON object this model stands for, keeping unknown fields, omitting unset defaults."""
        # model_dump_json honours ser_json_inf_nan ("Infinity"/"NaN" strings); plain model_dump
        # would hand json.dumps bare floats that it writes as invalid JSON.
        return json.loads(self.model_dump_json(exclude_unset=True, by_alias=True))

    def to_json(self, indent: int | None = None) -> str:
        """Serialize to a JSON string (``allow_nan`` off: inf/nan are written as strings)."""
        return json.dumps(self.to_json_dict(), indent=indent, ensure_ascii=False)
