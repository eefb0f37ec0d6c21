"""The one rule for names that become file and folder names (definition, op type, solution)."""

from __future__ import annotations

import re

SAFE_NAME = re.compile(r"^[A-Za-z0-9._-]+$")
SAFE_NAME_RULE = "letters, digits, '.', '_' and '-' only (and not '.' or '..')"


def is_safe_name(name: str) -> bool:
    """May ``name`` be used as one path component?"""
    return bool(SAFE_NAME.match(name)) and name not in (".", "..")
