"""A problem profile: where and when the events of one area, layer and window fall.

The everyday product of a crime analyst (a drug-market profile "with maps of
key areas and always addresses"): the streets and the exact places that hold
most events, how concentrated the events are, and how they move over time.

* **Top streets**: events grouped by the street police.uk gives for every crime
  (``Location``, "On or near <street>"; the prefix is dropped). Different streets
  of one name in one area are one street here, as police.uk gives no street id.
* **Repeat locations**: events at the same point (police.uk snaps every crime to
  one of a fixed set of anonymised map points, so the same point is the same
  snap point). A repeat location holds at least two events.
* **Concentration**: the share of events in the top *x* % of units (every unit of
  the study area, zeros included) and of streets (only streets with events are
  known), the share of units holding half and 80 % of the events, and the Gini
  coefficient. "Crime is concentrated" (Weisburd 2015's law of crime
  concentration) and the 80/20 rule of thumb (Eck, Lee, O & SooHoo 2017) are
  read off these figures.
* **Trend**: events per calendar month over the window; day of week and hour of
  day only from events whose time precision allows it, with a statement of what
  was left out (police.uk publishes months only).

Pure: arrays in, a :class:`ProblemProfile` out; no store, no web framework.

References
----------
Eck, J. E., Lee, Y., O, S. & SooHoo, N. (2017). Which places generate the most
crime? The 80/20 rule and the concentration of crime. *Crime Science* 6, 8.
Weisburd, D. (2015). The law of crime concentration and the criminology of
place. *Criminology* 53(2), 133-157.
Bernasco, W. & Steenbeek, W. (2017). More places than crimes: implications for
evaluating the law of crime concentration at place. *Journal of Quantitative
Criminology* 33, 451-467 (the Gini coefficient is inflated when events are fewer
than units).
Gini, C. (1912). *Variabilità e mutabilità*; the form used here is
``G = sum_i (2i - n - 1) x_(i) / (n sum x)`` over ascending ``x`` (Damgaard &
Weiner 2000, *Ecology* 81(4), 1139-1142).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

import numpy as np
import pandas as pd

from spatial.errors import ParameterError

#: The police.uk prefix of every ``Location``.
STREET_PREFIX: Final = "On or near "
#: Shares of units (per cent) the concentration curve reports by default.
DEFAULT_PERCENTS: Final = (1.0, 5.0, 10.0, 20.0, 50.0)
#: Decimal degrees to which two points are "the same place" (about 0.1 m).
SAME_POINT_DECIMALS: Final = 6
#: Shares of units (per cent) at which the concentration curve is drawn.
CURVE_PERCENTS: Final = tuple(range(0, 101, 5))
DAY_NAMES: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
                    "Sunday")


@dataclass(frozen=True)
class PlaceCount:
    """One street: its name, events and share of the profile's events (0..1)."""

    name: str
    count: int
    share: float


@dataclass(frozen=True)
class RepeatLocation:
    """One point holding several events: WGS84 degrees, the street police.uk
    names there (the most common, or None), events and share (0..1)."""

    lon: float
    lat: float
    street: str | None
    count: int
    share: float


@dataclass(frozen=True)
class TopShare:
    """The ``top`` units with most events (``percent`` % of all units, rounded up)
    hold ``share`` (0..1) of the events (None without events)."""

    percent: float
    top: int
    share: float | None


@dataclass(frozen=True)
class Concentration:
    """How concentrated events are over ``units`` places of one kind.

    ``half_share``/``eighty_share``: the smallest share of units (0..1) that
    holds at least 50 % / 80 % of the events. ``gini``: 0 when every unit has
    as many events, towards 1 when one unit has them all; None without events.
    ``curve``: the share of events in the top 0, 5, ..., 100 % of units
    (:data:`CURVE_PERCENTS`), empty without events.
    """

    kind: str
    units: int
    units_with_events: int
    events: int
    top_shares: tuple[TopShare, ...]
    half_share: float | None
    eighty_share: float | None
    gini: float | None
    curve: tuple[float, ...] = ()


@dataclass(frozen=True)
class ProblemProfile:
    """The profile of one area, layer and window, with what it was made from."""

    events: int
    top_streets: tuple[PlaceCount, ...]
    streets: int
    events_without_street: int
    repeat_locations: tuple[RepeatLocation, ...]
    repeat_location_count: int
    events_at_repeat_locations: int
    unit_concentration: Concentration
    street_concentration: Concentration
    months: tuple[str, ...]
    monthly: tuple[int, ...]
    day_of_week: tuple[int, ...] | None
    hour: tuple[int, ...] | None
    time_statement: str
    parameters: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


def street_names(locations: Sequence[Any] | np.ndarray) -> np.ndarray:
    """Street names from police.uk ``Location`` values: the "On or near " prefix
    dropped, surrounding spaces stripped; missing or empty values as None."""
    # .str methods give NaN for non-strings, so one pass handles missing values
    text = pd.Series(np.asarray(locations, dtype=object), dtype=object).str.strip()
    prefix = STREET_PREFIX.strip()
    has_prefix = text.str.startswith(prefix).fillna(False).astype(bool)
    text = text.where(~has_prefix, text.str[len(prefix):].str.strip())
    keep = text.str.len().fillna(0).to_numpy() > 0
    out = np.full(len(text), None, dtype=object)
    out[keep] = text.to_numpy(dtype=object)[keep]
    return out


def ranked(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct non-missing ``labels`` and their counts, most first (ties by name)."""
    present = pd.Series(labels, dtype=object).dropna().astype(str).to_numpy()
    if len(present) == 0:
        return np.empty(0, dtype=object), np.empty(0, dtype=np.int64)
    names, counts = np.unique(present, return_counts=True)
    order = np.lexsort((names, -counts))
    return names[order].astype(object), counts[order].astype(np.int64)


def gini(counts: Sequence[float] | np.ndarray) -> float | None:
    """The Gini coefficient of non-negative ``counts`` (zeros included), or None
    when there are no events.

    ``G = sum_i (2i - n - 1) x_(i) / (n sum x)`` with ``x`` ascending and
    ``i = 1..n``: 0 for equal counts, ``(n - 1) / n`` when one unit holds all.

    Raises
    ------
    ParameterError
        (``counts``) A count is negative or not finite.
    """
    x = np.sort(np.asarray(counts, dtype=np.float64).ravel())
    if len(x) and (not np.isfinite(x).all() or x[0] < 0):
        raise ParameterError("counts", "counts must be finite and not negative")
    total = x.sum()
    if len(x) == 0 or total <= 0:
        return None
    n = len(x)
    i = np.arange(1, n + 1, dtype=np.float64)
    return float(((2 * i - n - 1) * x).sum() / (n * total))


def concentration(counts: Sequence[float] | np.ndarray, *, kind: str,
                  percents: Sequence[float] = DEFAULT_PERCENTS) -> Concentration:
    """Share of events in the top ``percents`` % of units, and the Gini coefficient.

    The top *x* % of *n* units are the ``ceil(n x / 100)`` units with most
    events (so the top 1 % of 50 units is one unit).

    Raises
    ------
    ParameterError
        (``percent``) A percentage is not in (0, 100].
    """
    for p in percents:
        if not 0 < p <= 100:
            raise ParameterError("percent", f"{p:g} is not a share of units in (0, 100]")
    x = np.sort(np.asarray(counts, dtype=np.float64).ravel())[::-1]
    n = len(x)
    total = float(x.sum())
    cum = np.cumsum(x)
    shares = []
    for p in percents:
        top = min(n, math.ceil(n * p / 100 - 1e-9))
        share = float(cum[top - 1] / total) if top and total > 0 else None
        shares.append(TopShare(percent=float(p), top=int(top), share=share))

    def needed(fraction: float) -> float | None:
        if total <= 0:
            return None
        k = int(np.searchsorted(cum, fraction * total - 1e-9 * total)) + 1
        return k / n

    curve: tuple[float, ...] = ()
    if total > 0:
        tops = np.ceil(n * np.asarray(CURVE_PERCENTS) / 100 - 1e-9).astype(np.int64)
        curve = tuple(float(v) for v in np.where(tops > 0, cum[np.maximum(tops, 1) - 1], 0.0)
                      / total)
    return Concentration(kind=kind, units=n, units_with_events=int((x > 0).sum()),
                         events=int(total), top_shares=tuple(shares),
                         half_share=needed(0.5), eighty_share=needed(0.8), gini=gini(x),
                         curve=curve)


def month_range(first: datetime, last: datetime) -> list[str]:
    """``YYYY-MM`` of every month from ``first``'s to ``last``'s, both included."""
    start = first.year * 12 + first.month - 1
    stop = last.year * 12 + last.month - 1
    return [f"{m // 12:04d}-{m % 12 + 1:02d}" for m in range(start, stop + 1)]


def monthly_counts(times: pd.Series | np.ndarray, start: datetime | None = None,
                   end_exclusive: datetime | None = None) -> tuple[list[str], np.ndarray]:
    """Events per calendar month from ``start`` to the month before
    ``end_exclusive`` (default: the first and last event's months); zero months kept."""
    t = pd.to_datetime(pd.Series(times)).dropna()
    if start is None and t.empty:
        return [], np.empty(0, dtype=np.int64)
    first = start if start is not None else t.min().to_pydatetime()
    if end_exclusive is not None:
        last = (pd.Timestamp(end_exclusive) - pd.Timedelta(microseconds=1)).to_pydatetime()
    elif not t.empty:
        last = t.max().to_pydatetime()
    else:
        last = first
    months = month_range(first, last)
    index = (t.dt.year * 12 + t.dt.month - 1).to_numpy() - (first.year * 12 + first.month - 1)
    index = index[(index >= 0) & (index < len(months))]
    return months, np.bincount(index, minlength=len(months)).astype(np.int64)


def time_of_day(times: pd.Series | np.ndarray, precision: np.ndarray
                ) -> tuple[np.ndarray | None, np.ndarray | None, str]:
    """Events per day of week (Monday first) and per hour (0-23), each from the
    events whose time precision allows it, and a sentence saying what was used."""
    t = pd.to_datetime(pd.Series(times)).reset_index(drop=True)
    prec = np.asarray(precision, dtype=object)
    n = len(t)
    dated = np.isin(prec, ("day", "instant"))
    timed = prec == "instant"
    dow = (np.bincount(t[dated].dt.day_of_week.to_numpy(), minlength=7).astype(np.int64)
           if dated.any() else None)
    hour = (np.bincount(t[timed].dt.hour.to_numpy(), minlength=24).astype(np.int64)
            if timed.any() else None)
    monthly = int((prec == "month").sum())
    if n == 0:
        words = "no events: no day-of-week or hour profile"
    elif not dated.any():
        words = ("every event's time is known to the month only (police.uk publishes "
                 "months): no day-of-week or hour profile can be made")
    else:
        parts = [f"day of week from {int(dated.sum()):,} of {n:,} events"]
        parts.append(f"hour from {int(timed.sum()):,}" if timed.any()
                     else "no hour (no event has a time of day)")
        if monthly:
            parts.append(f"{monthly:,} events known to the month only are left out")
        words = "; ".join(parts)
    return dow, hour, words


def repeat_locations(lon: np.ndarray, lat: np.ndarray, streets: np.ndarray, *,
                     top_n: int) -> tuple[list[RepeatLocation], int, int]:
    """Points holding two or more events, most first; the number of such points
    and the events at them."""
    n = len(lon)
    if n == 0:
        return [], 0, 0
    keys = pd.DataFrame({"lon": np.round(np.asarray(lon, dtype=float), SAME_POINT_DECIMALS),
                         "lat": np.round(np.asarray(lat, dtype=float), SAME_POINT_DECIMALS),
                         "street": pd.Series(streets, dtype=object).fillna("\x00")})
    sizes = keys.groupby(["lon", "lat"], sort=False).size().rename("events").reset_index()
    repeats = sizes[sizes["events"] >= 2].sort_values(["events", "lon", "lat"],
                                                     ascending=[False, True, True])
    top = repeats.head(top_n)
    if top.empty:
        return [], 0, 0
    # the street most events at the point are given (police.uk gives one per snap point)
    common = (keys.merge(top[["lon", "lat"]], on=["lon", "lat"])
              .groupby(["lon", "lat", "street"]).size().rename("n").reset_index()
              .sort_values(["n", "street"], ascending=[False, True])
              .drop_duplicates(["lon", "lat"]).set_index(["lon", "lat"])["street"])
    out = []
    for x, y, k in zip(top["lon"].to_numpy(dtype=float), top["lat"].to_numpy(dtype=float),
                       top["events"].to_numpy(dtype=np.int64), strict=True):
        street = common.get((x, y))
        out.append(RepeatLocation(lon=float(x), lat=float(y),
                                  street=None if street in (None, "\x00") else str(street),
                                  count=int(k), share=int(k) / n))
    return out, int(len(repeats)), int(repeats["events"].sum())


def problem_profile(*, locations: Sequence[Any] | np.ndarray, lon: np.ndarray, lat: np.ndarray,
                    times: pd.Series | np.ndarray, time_precision: np.ndarray,
                    unit_counts: np.ndarray, start: datetime | None = None,
                    end_exclusive: datetime | None = None, top_n: int = 10,
                    percents: Sequence[float] = DEFAULT_PERCENTS) -> ProblemProfile:
    """The problem profile of the events of one study area.

    Parameters
    ----------
    locations : array of str or None
        police.uk ``Location`` of each event ("On or near <street>").
    lon, lat : arrays of float
        WGS84 position of each event, degrees.
    times : datetimes
        Start of each event's time (naive UTC).
    time_precision : array of str
        ``instant``, ``day`` or ``month`` per event.
    unit_counts : array of int
        Events in every unit of the study area, zeros included (the
        concentration over units).
    start, end_exclusive : datetime, optional
        The window; the monthly trend covers its months (default: the events').
    top_n : int
        Streets and repeat locations listed (1..1000).
    percents : sequence of float
        Shares of units (per cent) for the concentration curve.

    Raises
    ------
    ParameterError
        (``top``) ``top_n`` out of range; (``events``) arrays of different lengths.
    """
    if not 1 <= top_n <= 1000:
        raise ParameterError("top", f"{top_n} is not in 1..1000")
    n = len(lon)
    if not (len(lat) == len(locations) == len(times) == len(time_precision) == n):
        raise ParameterError("events", "locations, lon, lat, times and time_precision "
                                       "must have one value per event")
    streets = street_names(locations)
    names, counts = ranked(streets)
    top_streets = tuple(PlaceCount(name=str(s), count=int(c), share=int(c) / n)
                        for s, c in zip(names[:top_n], counts[:top_n], strict=True))
    repeats, n_repeat, at_repeat = repeat_locations(np.asarray(lon), np.asarray(lat), streets,
                                                    top_n=top_n)
    months, monthly = monthly_counts(times, start, end_exclusive)
    dow, hour, words = time_of_day(times, time_precision)
    units_conc = concentration(unit_counts, kind="units", percents=percents)
    warnings = []
    if 0 < units_conc.events < units_conc.units:
        warnings.append(f"fewer events ({units_conc.events:,}) than units "
                        f"({units_conc.units:,}): the units' Gini coefficient is inflated "
                        "by units that could not have an event (Bernasco & Steenbeek 2017)")
    without = int(pd.isna(streets).sum())
    if without:
        warnings.append(f"{without:,} events have no street (Location) and are in no "
                        "street figure")
    return ProblemProfile(
        events=n, top_streets=top_streets, streets=len(names), events_without_street=without,
        repeat_locations=tuple(repeats), repeat_location_count=n_repeat,
        events_at_repeat_locations=at_repeat, unit_concentration=units_conc,
        street_concentration=concentration(counts, kind="streets", percents=percents),
        months=tuple(months), monthly=tuple(int(v) for v in monthly),
        day_of_week=None if dow is None else tuple(int(v) for v in dow),
        hour=None if hour is None else tuple(int(v) for v in hour), time_statement=words,
        parameters={"top": top_n, "percents": [float(p) for p in percents],
                    "same_point_decimals": SAME_POINT_DECIMALS,
                    "street_source": ("police.uk Location, 'On or near' dropped; some are kinds of "
                                      "place (Supermarket, Parking Area), as police.uk gives them"),
                    "top_percent_rule": "ceil(units x percent / 100) units with most events",
                    "gini": "sum (2i - n - 1) x_(i) / (n sum x), zeros included"},
        warnings=tuple(warnings))
