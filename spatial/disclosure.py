"""Disclosure control: what each role may see, and in what form.

This module is the policy; :mod:`service.app.disclosure` applies it to every
output a role receives (counts, hotspots, rates, maps, packs, saved results,
OGC collections, layer metadata, operations). Rules (domain.md section 6):

* ``admin`` and ``analyst`` see every layer at point level.
* ``partner`` and ``viewer`` (*controlled roles*) see open layers at point
  level; **health** layers (ambulance call-outs) only as *protected counts*;
  **restricted** intelligence layers (dealing sites) not at all, unless a
  coarse H3 aggregate is configured, which is then protected the same way.
* A protected count is 0 for an empty unit, ``"<5"`` for 1-4 events, and
  otherwise the count rounded to the nearest multiple of 5 (5-7 -> 5,
  8-12 -> 10; consistent rounding, Statistics NZ / ONS practice). Every
  number derived from protected counts (totals, rates, parameters,
  warnings) is made from the rounded values or rounded itself, so a
  difference of two answers gives an interval, never an exact small count.
* Controlled roles receive protected layers as one fixed release table:
  one calendar period (a month by default) x one fixed geography: H3 cells
  of one resolution (8 by default; whole cells, never clipped to the study
  area), squares of one size (500 m, aligned on the CRS origin), or an
  analyst's boundary set; category filters must select at least 10 events.
  Why so strict: "<5" says "at least 1", and sums are exact, so nested or
  overlapping questions (Jan-Apr against each month, a 1 km square against
  its four 500 m squares) let interval arithmetic pin a suppressed value
  (four pieces each "<5" whose union shows "<5" are each exactly 1); the
  test suite runs that attack. Only non-nested releases are answered.

What this cannot prevent: two boundary sets an analyst uploaded where one
nests in the other, or a period changed by an administrator between
releases, re-open the nesting attack. Every controlled read of a protected
layer is audited with its detail level, and expensive routes are rate
limited.

References
----------
Office for National Statistics (2021). *Statistical disclosure control
methodology for Census 2021*, section 3 (cell suppression and rounding).
Statistics New Zealand (2008). *Confidentiality protocol: rounding to base 3
and base 5*.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import numpy as np

from spatial.errors import ParameterError, PermissionDeniedError
from spatial.events import layer_spec
from spatial.roles import POINT_LEVEL_ROLES

SMALL_NUMBER_THRESHOLD: Final = 5
SUPPRESSED: Final = "<5"

#: Release periods and their length in months (calendar-aligned).
PERIOD_MONTHS: Final = {"month": 1, "quarter": 3, "year": 12}

#: Detail levels, finest first, as the audit log and the README name them.
POINTS: Final = "points"
COUNTS: Final = "counts"
PROTECTED_COUNTS: Final = "protected_counts"
NOTHING: Final = "nothing"


@dataclass(frozen=True)
class DisclosurePolicy:
    """The limits for controlled roles (settings ``REMAP_DISCLOSURE_*``)."""

    #: the one H3 resolution a controlled role may ask for on a protected layer
    h3_resolution: int = 8
    #: the one grid side (metres) a controlled role may ask for on a protected layer
    grid_m: int = 500
    #: the one release period: month, quarter or year (calendar-aligned)
    period: str = "month"
    #: a category filter on a protected layer must select at least this many events
    min_category_events: int = 10
    #: counts below it are "<base"; others are rounded to a multiple of it
    rounding_base: int = SMALL_NUMBER_THRESHOLD
    #: restricted layers: finest H3 resolution of the coarse aggregate, or None (nothing)
    restricted_h3_resolution: int | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.h3_resolution <= 15:
            raise ParameterError("disclosure_h3_resolution", "must be 0..15")
        if self.grid_m < 1:
            raise ParameterError("disclosure_grid_m", "must be at least 1 metre")
        if self.period not in PERIOD_MONTHS:
            raise ParameterError("disclosure_period", "must be month, quarter or year")
        if self.rounding_base < 2:
            raise ParameterError("disclosure_rounding_base", "must be at least 2")
        if (self.restricted_h3_resolution is not None
                and not 0 <= self.restricted_h3_resolution <= 15):
            raise ParameterError("disclosure_restricted_h3_resolution", "must be 0..15")

    @property
    def suppressed(self) -> str:
        return f"<{self.rounding_base}"


def is_controlled(role: str) -> bool:
    """Partners and viewers: every protected output is controlled for them."""
    return role not in POINT_LEVEL_ROLES


def may_see_points(role: str, layer: str) -> bool:
    """May ``role`` receive point-level events of ``layer``?"""
    return role in POINT_LEVEL_ROLES or not layer_spec(layer).point_level_restricted


def layer_detail(role: str, layer: str, policy: DisclosurePolicy) -> str:
    """The finest detail ``role`` may receive of ``layer``: points, counts,
    protected_counts or nothing."""
    if may_see_points(role, layer):
        return POINTS
    if layer_spec(layer).sensitivity == "health":
        return PROTECTED_COUNTS
    return PROTECTED_COUNTS if policy.restricted_h3_resolution is not None else NOTHING


def is_protected(role: str, layer: str) -> bool:
    """Are ``role``'s counts of ``layer`` protected (or withheld)?"""
    return not may_see_points(role, layer)


def needs_small_number_suppression(role: str, layers: list[str] | tuple[str, ...]) -> bool:
    """Are counts of any of ``layers`` protected for ``role``?"""
    return any(is_protected(role, name) for name in layers if name)


def protect_value(value: int, base: int = SMALL_NUMBER_THRESHOLD) -> int | str:
    """One protected count: 0, ``"<base"`` for 1..base-1, else the nearest multiple of base."""
    v = int(value)
    if v <= 0:
        return 0
    if v < base:
        return f"<{base}"
    return int(base * np.floor(v / base + 0.5))


def protect_counts(counts: Any, base: int = SMALL_NUMBER_THRESHOLD) -> list[int | str]:
    """Protected counts as JSON values (see :func:`protect_value`), vectorised."""
    values = np.asarray(counts, dtype=np.int64).ravel()
    rounded = (base * np.floor(values / base + 0.5)).astype(np.int64)
    small = (values > 0) & (values < base)
    out: list[int | str] = rounded.tolist()
    for i in np.flatnonzero(small).tolist():
        out[i] = f"<{base}"
    for i in np.flatnonzero(values <= 0).tolist():
        out[i] = 0
    return out


def protected_numbers(counts: Any, base: int = SMALL_NUMBER_THRESHOLD) -> np.ndarray:
    """The protected counts as floats, NaN where suppressed: the only numbers a
    derived figure (a rate, a total) of a controlled output may be made from."""
    values = np.asarray(counts, dtype=np.float64).ravel()
    out = base * np.floor(values / base + 0.5)
    out[(values > 0) & (values < base)] = np.nan
    out[values <= 0] = 0.0
    return out


def round_total(value: int, base: int = SMALL_NUMBER_THRESHOLD) -> int | str:
    """A total of a protected layer, as it may be shown."""
    return protect_value(value, base)


def suppress_counts(counts: np.ndarray, threshold: int = SMALL_NUMBER_THRESHOLD) -> list[Any]:
    """Counts with 1..threshold-1 as ``"<threshold"`` and the rest rounded to base
    ``threshold`` (the protected form; kept under its old name for callers)."""
    return protect_counts(counts, threshold)


def check_unit(role: str, layer: str, policy: DisclosurePolicy, *, kind: str,
               resolution: int | None = None, cell_size_m: float | None = None) -> None:
    """Refuse units a controlled role may not have for a protected ``layer``.

    Raises
    ------
    PermissionDeniedError
        The layer is withheld from the role at every unit.
    ParameterError
        (``unit``) The unit is finer than the policy allows, naming the limit.
    """
    detail = layer_detail(role, layer, policy)
    if detail in (POINTS, COUNTS):
        return
    if detail == NOTHING:
        raise PermissionDeniedError(
            f"layer {layer!r} is restricted intelligence: role {role!r} receives no counts of "
            "it (an administrator may allow a coarse H3 aggregate with "
            "REMAP_DISCLOSURE_RESTRICTED_H3_RESOLUTION)")
    restricted = layer_spec(layer).sensitivity != "health"
    if restricted:
        limit = policy.restricted_h3_resolution
        assert limit is not None
        if kind != "h3" or resolution != limit:
            raise ParameterError("unit", f"layer {layer!r} is restricted: role {role!r} may "
                                         f"only ask for unit=h3:{limit}")
        return
    if kind == "street":  # a segment is finer than any unit the policy allows
        raise ParameterError("unit", f"layer {layer!r} is health data: role {role!r} may not "
                                     f"ask for street units (unit=h3:{policy.h3_resolution} "
                                     f"or grid:{policy.grid_m})")
    if kind == "h3" and resolution != policy.h3_resolution:
        raise ParameterError("unit", f"layer {layer!r} is health data: role {role!r} may ask "
                                     f"for H3 at resolution {policy.h3_resolution} only "
                                     f"(unit=h3:{policy.h3_resolution}; got h3:{resolution})")
    if kind == "grid" and float(cell_size_m or 0) != float(policy.grid_m):
        raise ParameterError("unit", f"layer {layer!r} is health data: role {role!r} may ask "
                                     f"for grid:{policy.grid_m} only (got "
                                     f"grid:{float(cell_size_m or 0):g})")


def is_month_start(t: datetime) -> bool:
    return t.day == 1 and t.hour == 0 and t.minute == 0 and t.second == 0 and t.microsecond == 0


def check_window(role: str, layers: list[str] | tuple[str, ...], start: datetime | None,
                 end_exclusive: datetime | None, policy: DisclosurePolicy) -> None:
    """Controlled roles ask for protected layers over exactly one calendar period."""
    if not needs_small_number_suppression(role, layers):
        return
    months = PERIOD_MONTHS[policy.period]
    example = {"month": "start=2019-01&end=2019-01", "quarter": "start=2019-01&end=2019-03",
               "year": "start=2019-01&end=2019-12"}[policy.period]
    why = (f"health and restricted data are given to role {role!r} one calendar "
           f"{policy.period} at a time (e.g. {example}), so that no two answers nest")
    if start is None or end_exclusive is None:
        raise ParameterError("start" if start is None else "end", why)
    if not is_month_start(start) or (start.month - 1) % months:
        raise ParameterError("start", why)
    index = start.year * 12 + start.month - 1 + months
    if end_exclusive != datetime(index // 12, index % 12 + 1, 1):
        raise ParameterError("end", why)


def check_category_selection(role: str, layer: str, categories: tuple[str, ...] | list[str],
                             selected: int, policy: DisclosurePolicy) -> None:
    """A category filter on a protected layer must select enough events."""
    if not categories or not is_protected(role, layer):
        return
    if selected < policy.min_category_events:
        raise ParameterError("category", f"on layer {layer!r} the category filter selects "
                                         f"fewer than {policy.min_category_events} events; "
                                         f"role {role!r} may not isolate so few (ask without "
                                         "the filter or over a longer window)")
