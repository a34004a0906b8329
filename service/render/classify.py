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

#: Most distinct values :func:`natural_breaks` classes (O(k·m²)); beyond, quantiles.
MAX_NATURAL_BREAKS_DISTINCT = 3000
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

    Minimises the total within-class sum of squared deviations by dynamic
    programming over the sorted *distinct* values, each weighted by how often
    it occurs (Fisher 1958; Jenks 1977), so ties cost nothing and are never
    split. Tested against :class:`mapclassify.FisherJenks` (the same optimum).

    Hand-written rather than :class:`mapclassify.FisherJenks` because counts
    per unit have few distinct values: working on them is O(k·m²) in the
    distinct values m, where mapclassify is O(k·n²) in all n values. Measured
    on this kind of machine (2 cores, loaded): 0.004 s against 0.38 s for
    5,000 values and 0.014 s against 4.0 s for 17,000 (a monthly layer
    classes every unit-month together); mapclassify would also need numba and
    scikit-learn at run time (3–6 s to import).

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

    Raises
    ------
    ValueError
        With more than :data:`MAX_NATURAL_BREAKS_DISTINCT` distinct values
        (:func:`classify_values` then uses :func:`quantile_breaks` and says so).
    """
    x = np.asarray(values, dtype=np.float64).ravel()
    x = x[np.isfinite(x)]
    if x.size == 0:
        return []
    u, w = np.unique(x, return_counts=True)
    m = u.size
    if m <= k:
        return [float(v) for v in u]
    if m > MAX_NATURAL_BREAKS_DISTINCT:
        raise ValueError(f"{m} distinct values: natural breaks is limited to "
                         f"{MAX_NATURAL_BREAKS_DISTINCT:,}")
    wf = w.astype(np.float64)
    s1 = np.concatenate([[0.0], np.cumsum(wf * u)])
    s2 = np.concatenate([[0.0], np.cumsum(wf * u * u)])
    sw = np.concatenate([[0.0], np.cumsum(wf)])

    def ssd(i: npt.NDArray[np.int64], j: int) -> npt.NDArray[np.float64]:
        """Within-class SSD of u[i..j] for each start i."""
        n = sw[j + 1] - sw[i]
        s = s1[j + 1] - s1[i]
        return np.asarray(s2[j + 1] - s2[i] - s * s / n)

    cost = np.array([ssd(np.array([0]), j)[0] for j in range(m)])
    back = np.zeros((k, m), dtype=np.int64)
    for c in range(1, k):
        new = np.full(m, np.inf)
        for j in range(c, m):
            starts = np.arange(c, j + 1)
            total = cost[starts - 1] + ssd(starts, j)
            best = int(np.argmin(total))
            new[j] = total[best]
            back[c, j] = starts[best]
        cost = new
    uppers = []
    j = m - 1
    for c in range(k - 1, -1, -1):
        uppers.append(float(u[j]))
        if c > 0:
            j = int(back[c, j]) - 1
    return sorted(uppers)


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
        Natural breaks fall back to quantiles beyond 3,000 distinct values
        (the scheme used is in the result).
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
    used = scheme
    try:
        breaks = (natural_breaks if scheme == "natural_breaks" else quantile_breaks)(ranged, k)
    except ValueError:
        breaks, used = quantile_breaks(ranged, k), "quantile"
    classes: list[LegendClass] = []
    if has_zero:
        classes.append(LegendClass("zero", "0", ZERO_COLOUR, 0.0, 0.0))
    if "suppressed" in kinds:
        classes.append(LegendClass("suppressed", suppression_label(vals), SUPPRESSED_FILL))
    classes += _range_classes(ranged, breaks, palette)
    if "missing" in kinds:
        classes.append(LegendClass("missing", "No value", MISSING_COLOUR))
    return Classification(tuple(classes), used, tuple(breaks))


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
