"""Disclosure control: what each role may see, applied where data leaves remap.

Rules (domain.md section 6):

* Health data (ambulance call-outs) and intelligence (dealing sites) never
  leave at point level except to roles allowed to see them (admin, analyst).
* Outside those roles, counts of 1-4 of health data in any unit are shown as
  ``"<5"`` (small-number suppression), never as the number.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np

from .events import layer_spec

POINT_LEVEL_ROLES: Final = frozenset({"admin", "analyst"})
SMALL_NUMBER_THRESHOLD: Final = 5
SUPPRESSED: Final = "<5"


def may_see_points(role: str, layer: str) -> bool:
    """May ``role`` receive point-level events of ``layer``?"""
    return role in POINT_LEVEL_ROLES or not layer_spec(layer).point_level_restricted


def needs_small_number_suppression(role: str, layers: list[str] | tuple[str, ...]) -> bool:
    """Counts of health layers are suppressed for roles without point access."""
    if role in POINT_LEVEL_ROLES:
        return False
    return any(layer_spec(name).sensitivity == "health" for name in layers)


def suppress_counts(counts: np.ndarray, threshold: int = SMALL_NUMBER_THRESHOLD) -> list[Any]:
    """Counts as JSON values with 1..threshold-1 replaced by ``"<threshold"``.

    Zeros are kept: an empty unit discloses nothing about a person.
    """
    values = np.asarray(counts)
    small = (values > 0) & (values < threshold)
    return [f"<{threshold}" if s else (int(v) if float(v).is_integer() else float(v))
            for v, s in zip(values.tolist(), small.tolist(), strict=True)]
