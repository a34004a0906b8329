"""A space-time cube of event counts: units x time steps, zeros kept.

Each event has a unit (its position in a :class:`spatial.place.units.UnitSet`,
-1 outside the study area) and a time with a precision (``instant``, ``day`` or
``month``, as :mod:`spatial.io.times` records it). The cube counts events per
unit and step; a unit or step with no events is a 0, never missing (the
Gi* of :mod:`spatial.stats.emerging` is computed over every bin).

Steps
-----
``week`` (7 days) and ``28d`` (28 days) are laid back from the end of the span,
so the latest step is whole and ends where the span ends (ArcGIS's default
"end time" alignment); ``month`` and ``quarter`` are calendar months and
quarters (January, April, July, October). With a window (``start``) only whole
steps inside it are used: events in a part step at the start are left out and
counted in ``parameters["events_outside_steps"]`` with a warning. Without one the
span runs from the first event's day (or month) to the last's, and the first
step reaches back to hold the first event: the data say nothing of the days
before it.

The step is chosen, when not given, from the data's coarsest time precision
and the span:

* any event known to the month only (police.uk) -> ``month`` (a week or a
  28-day step would split a month the data cannot split), stated in
  ``parameters["step_reason"]`` and in ``warnings``;
* otherwise the finest of week, 28d, month, quarter that gives between
  :data:`MIN_STEPS` and :data:`MAX_AUTO_STEPS` steps (fine enough to see a
  change, coarse enough that a step holds events); if every step gives more,
  quarter; if none gives :data:`MIN_STEPS`, week, which is then refused.

Refusals (:class:`spatial.errors.ParameterError` naming ``step``): a step finer
than the data's precision (week or 28d on month-precision times), and a cube of
fewer than ``min_steps`` steps (default :data:`MIN_STEPS`).

Why at least 10 steps (ArcGIS's Emerging Hot Spot Analysis asks the same): the
categories are defined by shares of 90 % of the steps, which differ from "every
step" only from 10 steps on (with 9 steps 90 % is 8.1, so 9 of 9); and the
Mann-Kendall test's normal approximation, which decides intensifying and
diminishing, is adequate from about 10 values (Kendall 1975).

References
----------
Kendall, M. G. (1975) *Rank Correlation Methods*, 4th ed. London: Griffin.
Esri (2024) *How Create Space Time Cube works* and *How Emerging Hot Spot
Analysis works*, ArcGIS Pro tool reference (time step alignment, minimum of
10 time steps).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from spatial.errors import InsufficientDataError, ParameterError

IntArray = npt.NDArray[np.int64]

#: The steps offered, finest first.
STEPS: tuple[str, ...] = ("week", "28d", "month", "quarter")
#: Time precisions, finest first (:mod:`spatial.io.times`).
PRECISIONS: tuple[str, ...] = ("instant", "day", "month")
#: The coarsest precision each step can hold without splitting a time the data cannot split.
STEP_NEEDS: dict[str, str] = {"week": "day", "28d": "day", "month": "month", "quarter": "month"}
#: Fewest steps for the categories and the trend test (see the module notes).
MIN_STEPS = 10
#: The automatic choice takes the finest step with at most this many steps.
MAX_AUTO_STEPS = 60
_DAYS = {"week": 7, "28d": 28}


@dataclass(frozen=True)
class SpaceTimeCube:
    """Counts per unit and time step.

    Attributes
    ----------
    counts : ndarray of int64, shape (n_units, n_steps)
        Events per unit (rows, in unit order) and step (columns, oldest first).
    step : str
        One of :data:`STEPS`.
    edges : pandas.DatetimeIndex, length n_steps + 1
        Step boundaries, naive UTC: step ``t`` is ``[edges[t], edges[t + 1])``.
    labels : list of str
        A label per step: its first day (``YYYY-MM-DD``) for week and 28d,
        ``YYYY-MM`` for month, ``YYYY-Qn`` for quarter.
    parameters : dict
        ``step``, ``step_reason``, ``steps``, ``units``, ``first_step``,
        ``last_step``, ``span_start``, ``span_end_exclusive``, ``time_precision``
        (the coarsest present), ``events_counted``, ``events_outside_steps``,
        ``min_steps``.
    warnings : list of str
    """

    counts: IntArray
    step: str
    edges: pd.DatetimeIndex
    labels: list[str]
    parameters: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.counts.shape[0]), int(self.counts.shape[1]))


def coarsest_precision(precision: npt.ArrayLike) -> str:
    """The coarsest of the precisions present (``instant`` when none is given)."""
    values = pd.unique(np.asarray(precision, dtype=object).ravel())
    unknown = [v for v in values if v not in PRECISIONS]
    if unknown:
        raise ParameterError("time_precision", f"unknown precision(s) {unknown!r}; expected "
                                               f"{', '.join(PRECISIONS)}")
    ranks = [PRECISIONS.index(v) for v in values]
    return PRECISIONS[max(ranks)] if ranks else "instant"


def step_edges(step: str, start: pd.Timestamp, end: pd.Timestamp, *,
               cover_start: bool = False) -> pd.DatetimeIndex:
    """Boundaries of the whole steps inside ``[start, end)`` (see the module notes);
    with ``cover_start`` the first step reaches back to cover ``start`` (a span taken
    from the data, whose first event says nothing of the days before it)."""
    if step in _DAYS:
        days = _DAYS[step]
        last = end.ceil("D")
        first = start.floor("D") if cover_start else start.ceil("D")
        span = (last - first).days
        n = -(-span // days) if cover_start else span // days
        return pd.DatetimeIndex([last - pd.Timedelta(days=days * k) for k in range(n, -1, -1)])
    months = 1 if step == "month" else 3
    first_p = _floor_period(start, months) if cover_start else _ceil_period(start, months)
    last_p = _floor_period(end, months)
    if last_p < first_p:
        return pd.DatetimeIndex([first_p])
    return pd.date_range(first_p, last_p, freq=f"{months}MS")


def _floor_period(t: pd.Timestamp, months: int) -> pd.Timestamp:
    m0 = (t.month - 1) // months * months + 1
    return pd.Timestamp(year=t.year, month=m0, day=1)


def _ceil_period(t: pd.Timestamp, months: int) -> pd.Timestamp:
    f = _floor_period(t, months)
    return f if f == t else f + pd.DateOffset(months=months)


def _labels(step: str, edges: pd.DatetimeIndex) -> list[str]:
    starts = edges[:-1]
    if step == "month":
        return [t.strftime("%Y-%m") for t in starts]
    if step == "quarter":
        return [f"{t.year}-Q{(t.month - 1) // 3 + 1}" for t in starts]
    return [t.strftime("%Y-%m-%d") for t in starts]


def _span(times: pd.DatetimeIndex, precision: str, start: Any, end: Any
          ) -> tuple[pd.Timestamp, pd.Timestamp]:
    if start is not None and end is not None:
        return pd.Timestamp(start), pd.Timestamp(end)
    if len(times) == 0:
        raise InsufficientDataError("no events with a time: a space-time cube needs a window "
                                    "(start and end) or events")
    lo = times.min()
    hi = times.max()
    if precision == "month":
        lo_d, hi_d = _floor_period(lo, 1), _floor_period(hi, 1) + pd.DateOffset(months=1)
    else:
        lo_d, hi_d = lo.floor("D"), hi.floor("D") + pd.Timedelta(days=1)
    return (pd.Timestamp(start) if start is not None else lo_d,
            pd.Timestamp(end) if end is not None else hi_d)


def choose_step(precision: str, start: pd.Timestamp, end: pd.Timestamp, *,
                cover_start: bool = False) -> tuple[str, str]:
    """The automatic step and why (see the module notes)."""
    if precision == "month":
        return "month", ("month-precision times (police.uk): monthly steps, the finest the "
                         "data can hold")
    counts = {s: len(step_edges(s, start, end, cover_start=cover_start)) - 1 for s in STEPS}
    for s in STEPS:
        if MIN_STEPS <= counts[s] <= MAX_AUTO_STEPS:
            return s, (f"{precision}-precision times over {(end - start).days} days: the "
                       f"finest step giving {MIN_STEPS}-{MAX_AUTO_STEPS} steps "
                       f"({counts[s]} {s} steps)")
    if counts["quarter"] > MAX_AUTO_STEPS:
        return "quarter", f"more than {MAX_AUTO_STEPS} steps at every step: quarters"
    return "week", f"fewer than {MIN_STEPS} steps at every step: the finest, week"


def build_cube(unit_index: npt.ArrayLike, times: Any, precision: npt.ArrayLike,
               n_units: int, *, step: str | None = None, start: Any = None, end: Any = None,
               min_steps: int = MIN_STEPS) -> SpaceTimeCube:
    """Count events per unit and time step.

    Parameters
    ----------
    unit_index : array_like of int, shape (e,)
        Unit position of each event; -1 (outside the study area) is not counted.
    times : array_like of datetime64, shape (e,)
        Event times, naive UTC, floored to their precision.
    precision : array_like of str, shape (e,)
        ``instant``, ``day`` or ``month`` per event.
    n_units : int
        Units of the study area (rows of the cube, zeros kept).
    step : {"week", "28d", "month", "quarter"}, optional
        None: chosen from the precision and the span (module notes).
    start, end : datetime-like, optional
        The span ``[start, end)``; by default from the first to the last event
        (whole days, or whole months for month-precision data).
    min_steps : int
        Fewest steps accepted (at least 2); default :data:`MIN_STEPS`.

    Returns
    -------
    SpaceTimeCube

    Raises
    ------
    ParameterError
        ``step`` unknown or finer than the data's precision; fewer than
        ``min_steps`` whole steps in the span (``step``); shapes.
    InsufficientDataError
        No events and no span.
    """
    idx = np.asarray(unit_index, dtype=np.int64).ravel()
    t = pd.DatetimeIndex(pd.to_datetime(np.asarray(times).ravel()))
    prec = np.asarray(precision, dtype=object).ravel()
    if not (idx.size == len(t) == prec.size):
        raise ParameterError("times", f"{idx.size} unit positions, {len(t)} times and "
                                      f"{prec.size} precisions: one of each per event")
    if idx.size and int(idx.max()) >= n_units:
        raise ParameterError("unit_index", f"positions must be < {n_units} (the number of units)")
    if int(min_steps) < 2:
        raise ParameterError("min_steps", "must be at least 2")
    ok_time = np.asarray(~np.asarray(t.isna()), dtype=bool)
    coarse = coarsest_precision(prec[ok_time]) if ok_time.any() else "instant"
    lo, hi = _span(t[ok_time], coarse, start, end)
    if hi <= lo:
        raise ParameterError("end", "must be after start")
    warnings: list[str] = []
    if step is None:
        step, reason = choose_step(coarse, lo, hi, cover_start=start is None)
        if coarse == "month":
            warnings.append("month-precision times (police.uk): the cube uses monthly steps")
    else:
        if step not in STEPS:
            raise ParameterError("step", f"{step!r} is not one of {', '.join(STEPS)}")
        if PRECISIONS.index(coarse) > PRECISIONS.index(STEP_NEEDS[step]):
            raise ParameterError("step", f"{step} steps are finer than the data's time precision "
                                         f"({coarse}): a {step} cannot hold events known to the "
                                         f"{coarse} only; use month or quarter")
        reason = "given"
    edges = step_edges(step, lo, hi, cover_start=start is None)
    n_steps = len(edges) - 1
    if n_steps < min_steps:
        raise ParameterError("step", f"{n_steps} whole {step} step(s) from {lo.date()} to "
                                     f"{hi.date()} (exclusive): emerging hot spot analysis needs "
                                     f"at least {min_steps} (the 90 % rules and the Mann-Kendall "
                                     "trend test); use a finer step or a longer window")
    k = np.searchsorted(edges.asi8, t.asi8, side="right") - 1
    inside = ok_time & (k >= 0) & (k < n_steps)
    counted = inside & (idx >= 0)
    flat = idx[counted] * n_steps + k[counted]
    counts = np.bincount(flat, minlength=n_units * n_steps).reshape(n_units, n_steps)
    outside = int(np.count_nonzero(ok_time & (idx >= 0) & ~inside))
    if outside:
        warnings.append(f"{outside} events in the study area fall outside the {n_steps} whole "
                        f"{step} steps ({edges[0].date()} to {edges[-1].date()}, exclusive) "
                        "and are not counted")
    labels = _labels(step, edges)
    parameters: dict[str, Any] = {
        "step": step, "step_reason": reason, "steps": n_steps, "units": int(n_units),
        "cube_shape": [int(n_units), n_steps], "first_step": labels[0], "last_step": labels[-1],
        "span_start": edges[0].isoformat(), "span_end_exclusive": edges[-1].isoformat(),
        "step_alignment": ("calendar" if step in ("month", "quarter")
                           else "back from the end of the span"),
        "time_precision": coarse, "events_counted": int(counted.sum()),
        "events_outside_steps": outside, "min_steps": int(min_steps),
    }
    return SpaceTimeCube(counts=counts.astype(np.int64), step=step, edges=edges, labels=labels,
                         parameters=parameters, warnings=warnings)
