"""Input limits: lengths of free text and the pattern of names, in one place.

Names (boundary sets, saved results, layers) end up in URLs, OGC collection
ids and file names, so they are restricted to a safe pattern: a letter or
digit, then letters, digits, ``_``, ``.`` or ``-``, at most 64 characters, and
never ``..``. Categories and labels are free text but bounded.
"""

from __future__ import annotations

import re
from typing import Final

from spatial.errors import ParameterError

MAX_NAME: Final = 64
MAX_CATEGORY: Final = 200
MAX_LABEL: Final = 200
MAX_UNIT_ID: Final = 128  # the store's unit_id column
NAME_PATTERN: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
NAME_RULE: Final = ("1-64 characters: a letter or digit, then letters, digits, '_', '.' or "
                    "'-' (no '/', no '..')")


def is_safe_name(value: str) -> bool:
    return bool(NAME_PATTERN.fullmatch(value)) and ".." not in value


def check_name(value: str, field: str) -> str:
    """``value`` if it is a safe name, else :class:`ParameterError` naming ``field``."""
    if not isinstance(value, str) or not is_safe_name(value):
        shown = value if len(str(value)) <= 80 else str(value)[:80] + "..."
        raise ParameterError(field, f"{shown!r} is not a valid name: {NAME_RULE}")
    return value


def check_length(value: str, field: str, limit: int) -> str:
    """``value`` if at most ``limit`` characters, else :class:`ParameterError`."""
    if len(value) > limit:
        raise ParameterError(field, f"longer than {limit} characters ({len(value)})")
    return value
