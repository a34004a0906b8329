"""Classes of mapped values for legends and fills: zero, suppressed, ranges, missing.

Counts are classed as a map reader expects them: zero is its own class (empty
units are data, not gaps), ``"<5"`` (small-number suppression,
:mod:`spatial.disclosure`) is a "suppressed" class shown as text, never as a
number, and the other values fall in up to ``k`` classes by natural breaks
(Fisher-Jenks, exact, through :mod:`mapclassify`) or quantiles.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from service.render.colours import (
    MISSING_COLOUR,
    SEQUENTIAL,
    SUPPRESSED_FILL,
    ZERO_COLOUR,
    palette,
)

#: How each scheme is named in legends.
SCHEME_NAMES = {"natural_breaks": "natural breaks (Jenks)", "quantile": "quantiles"}


@dataclass(frozen=True)
class LegendClass:
    """One class of a classified layer.

    ``kind`` is ``"zero"``, ``"suppressed"``, ``"range"`` or ``"missing"``;
    ranges hold values ``lower <= v <= upper``.
    """

    kind: str
    label: str
    colour: str
    lower: float | None = None
    upper: float | None = None


@dataclass(frozen=True)
class Classification:
    """Classes of a set of values (:func:`classify_values`)."""

    classes: tuple[LegendClass, ...]
    scheme: str
    breaks: tuple[float, ...]

    def classify(self, value: Any) -> LegendClass:
        """The class of one value (a number, ``"<N"``, or None)."""
        kind = value_kind(value)
        if kind in ("suppressed", "missing"):
            return self.special(kind)
        v = float(value)
        if v == 0:
            for c in self.classes:
                if c.kind == "zero":
                    return c
        ranges = [c for c in self.classes if c.kind == "range"]
        for c in ranges:
            if c.upper is not None and v <= c.upper:
                return c
        if ranges:
            return ranges[-1]
        return self.special("missing")

    def special(self, kind: str) -> LegendClass:
        """The ``"suppressed"`` or ``"missing"`` class, made up if no value was in it."""
        for c in self.classes:
            if c.kind == kind:
                return c
        return LegendClass(kind, "no value" if kind == "missing" else "suppressed",
                           MISSING_COLOUR if kind == "missing" else SUPPRESSED_FILL)


def value_kind(value: Any) -> str:
    """``"range"`` for a finite number, ``"suppressed"`` for ``"<N"``, else ``"missing"``."""
    if value is None:
        return "missing"
    if isinstance(value, str):
        return "suppressed" if value.strip().startswith("<") else "missing"
    if isinstance(value, bool):
        return "range"
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "missing"
    return "range" if math.isfinite(v) else "missing"


def as_float(value: Any) -> float:
    """A value already checked by :func:`value_kind` as a number."""
    return float(value)


def natural_breaks(values: npt.ArrayLike, k: int) -> list[float]:
    """Upper bounds of ``k`` Fisher-Jenks natural-breaks classes (exact).

    The classes minimise the total within-class sum of squared deviations
    (Fisher 1958; Jenks 1977), found by :class:`mapclassify.FisherJenks`
    (dynamic programming, O(k·n²) in the number of values, compiled with
    numba when it is installed). Ties are never split between classes.
    Where two classings have the same total, either may be returned.

    Parameters
    ----------
    values : array_like of float
        Non-finite values are ignored.
    k : int
        Number of classes; fewer are returned when there are fewer distinct
        values.

    Returns
    -------
    list of float
        Ascending upper bounds; the last is the maximum.
    """
    x = np.asarray(values, dtype=np.float64).ravel()
    x = x[np.isfinite(x)]
    if x.size == 0:
        return []
    u = np.unique(x)
    if u.size <= k:
        return [float(v) for v in u]
    import mapclassify  # imported here: it compiles its numba kernel on import (seconds)

    return [float(b) for b in mapclassify.FisherJenks(x, k=k).bins]


def quantile_breaks(values: npt.ArrayLike, k: int) -> list[float]:
    """Upper bounds of ``k`` quantile classes (observed values; ties merge classes)."""
    x = np.asarray(values, dtype=np.float64).ravel()
    x = x[np.isfinite(x)]
    if x.size == 0:
        return []
    qs = np.quantile(x, np.arange(1, k + 1) / k, method="inverted_cdf")
    return sorted({float(q) for q in qs})


def suppression_label(values: Iterable[Any]) -> str:
    """Legend text of the suppressed class, from the ``"<N"`` strings present."""
    thresholds = set()
    for v in values:
        if isinstance(v, str) and v.strip().startswith("<"):
            try:
                thresholds.add(int(float(v.strip()[1:])))
            except ValueError:
                pass
    if len(thresholds) == 1:
        t = thresholds.pop()
        return f"1–{t - 1}: suppressed, shown as “<{t}”"
    return "Small count: suppressed"


def classify_values(values: Sequence[Any], *, k: int = 5, scheme: str = "natural_breaks",
                    palette: Sequence[str] = SEQUENTIAL) -> Classification:
    """Classes of counts for a legend: zero, suppressed, and up to ``k`` ranges.

    Parameters
    ----------
    values : sequence
        Numbers, ``"<N"`` strings (suppressed small counts) or None.
    k : int
        Most classes of the non-zero numbers (1..9).
    scheme : {"natural_breaks", "quantile"}
    palette : sequence of str
        Sequential colours, lightest first.

    Returns
    -------
    Classification
        Zero is its own class when all numbers are non-negative and a zero
        occurs; the suppressed class exists when a ``"<N"`` occurs; a
        missing class when a None occurs.
    """
    if scheme not in SCHEME_NAMES:
        raise ValueError(f"scheme {scheme!r}: expected 'natural_breaks' or 'quantile'")
    if not 1 <= int(k) <= 9:
        raise ValueError("classes must be 1..9")
    vals = list(values)
    kinds = [value_kind(v) for v in vals]
    nums = np.array([float(v) for v, kind in zip(vals, kinds, strict=True) if kind == "range"],
                    dtype=np.float64)
    has_zero = bool(nums.size) and bool((nums == 0).any()) and bool((nums >= 0).all())
    ranged = nums[nums != 0] if has_zero else nums
    breaks = (natural_breaks if scheme == "natural_breaks" else quantile_breaks)(ranged, k)
    classes: list[LegendClass] = []
    if has_zero:
        classes.append(LegendClass("zero", "0", ZERO_COLOUR, 0.0, 0.0))
    if "suppressed" in kinds:
        classes.append(LegendClass("suppressed", suppression_label(vals), SUPPRESSED_FILL))
    classes += _range_classes(ranged, breaks, palette)
    if "missing" in kinds:
        classes.append(LegendClass("missing", "No value", MISSING_COLOUR))
    return Classification(tuple(classes), scheme, tuple(breaks))


def _range_classes(ranged: npt.NDArray[np.float64], breaks: Sequence[float],
                   colours: Sequence[str]) -> list[LegendClass]:
    """One class per break, labelled from the smallest value it holds to the break."""
    integer = bool(ranged.size) and bool(np.all(ranged == np.round(ranged)))
    out = []
    lower = float(ranged.min()) if ranged.size else 0.0
    for upper, colour in zip(breaks, palette(colours, len(breaks)), strict=True):
        members = ranged[(ranged >= lower) & (ranged <= upper)]
        lo = float(members.min()) if members.size else lower
        out.append(LegendClass("range", _range_label(lo, upper, integer), colour, lo, upper))
        above = ranged[ranged > upper]
        lower = float(above.min()) if above.size else upper
    return out


def _range_label(lo: float, hi: float, integer: bool) -> str:
    if integer:
        a, b = int(lo), int(hi)
        return f"{a:,}" if a == b else f"{a:,}–{b:,}"
    return format_value(lo) if lo == hi else f"{format_value(lo)} – {format_value(hi)}"


def format_value(value: Any) -> str:
    """A value as tooltip text: ``"<5"`` stays text, numbers get sensible digits."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        return _format_float(float(value))
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {format_value(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(format_value(v) for v in value)
    return str(value)


def _format_float(v: float) -> str:
    if not math.isfinite(v):
        return "–"
    if v == round(v) and abs(v) < 1e15:
        return f"{int(round(v)):,}"
    a = abs(v)
    if a >= 100:
        return f"{v:,.0f}"
    if a >= 1:
        return f"{v:.2f}"
    if a >= 0.001:
        return f"{v:.4f}"
    return f"{v:.2e}"
