"""One grammar for dates, months and time intervals, shared by every caller.

The forms, all ISO 8601 calendar dates and times (ISO 8601-1:2019, 5.2.2 and 5.4):

- ``YYYY-MM``: a month (a "reduced precision" calendar date); as a start it is its
  first day, as an end its last day, so ``2018-12`` covers all of December;
- ``YYYY-MM-DD``: a day, inclusive at both ends;
- an ISO date-time (``2019-01-05T10:00:00Z``): an instant, converted to naive UTC;
- an interval ``a/b`` with open ends ``..`` or empty (``../b``, ``a/..``), the form
  of the ``datetime`` parameter of OGC API - Features - Part 1: Core (OGC 17-069r4,
  7.15.4) and of ISO 8601 time intervals (``start/end``).

Two readings are offered. Day windows (:func:`parse_day`) give inclusive
:class:`datetime.date` bounds, as an operation's before and after windows are
written. Instant windows (:func:`parse_time`, :func:`parse_window`,
:func:`parse_interval`) give a :class:`TimeWindow` ``[start, end)`` of naive UTC
:class:`datetime.datetime`, an exclusive end, as the store selects events.

Pure: no web framework, no store. Errors are :class:`spatial.errors.ParameterError`
naming the parameter.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pandas as pd

from spatial.errors import ParameterError

#: ``YYYY-MM``: a whole month.
MONTH = re.compile(r"\d{4}-\d{2}")
#: The two spellings of an open interval end (OGC API - Features ``..``; ISO 8601 empty).
OPEN_ENDS = ("", "..")


def _month_days(text: str, *, end: bool) -> date:
    """First (or, with ``end``, last) day of the month ``YYYY-MM``; ValueError if none."""
    year, month = int(text[:4]), int(text[5:7])
    day = calendar.monthrange(year, month)[1] if end else 1
    return date(year, month, day)


def parse_day(text: str, name: str, *, end: bool) -> date:
    """A day, inclusive: ``YYYY-MM-DD``, or ``YYYY-MM`` (its first day, or with ``end``
    its last day).

    Parameters
    ----------
    text : str
        The date as written.
    name : str
        The parameter it came from, named in the error.
    end : bool
        Read a month as its last day rather than its first.

    Returns
    -------
    datetime.date

    Raises
    ------
    spatial.errors.ParameterError
        ``text`` is not such a date.
    """
    v = text.strip()
    try:
        if MONTH.fullmatch(v):
            return _month_days(v, end=end)
        return date.fromisoformat(v)
    except ValueError as exc:
        raise ParameterError(name, f"{text!r} is not a date (YYYY-MM-DD or YYYY-MM)") from exc


def parse_time(value: str, name: str, *, end: bool = False) -> datetime:
    """An instant, naive UTC: ISO date/time, or ``YYYY-MM`` (a month).

    As an ``end`` a date or month is exclusive of the next day or month, so that
    ``end=2018-12`` includes all of December; a date-time is taken as written.

    Raises
    ------
    spatial.errors.ParameterError
        ``value`` is not a date, month or ISO date-time.
    """
    v = value.strip()
    try:
        if len(v) == 7 and v[4] == "-":
            first = pd.Timestamp(_month_days(v, end=False))
            return (first + pd.DateOffset(months=1)).to_pydatetime() if end else \
                first.to_pydatetime()
        t = pd.Timestamp(v)
        if pd.isna(t):  # pandas reads "", "nat" and "NaN" as no time at all
            raise ValueError("not a time")
    except (ValueError, TypeError) as exc:
        raise ParameterError(name, f"{value!r} is not a date (YYYY-MM, YYYY-MM-DD or ISO "
                                   "date-time)") from exc
    if t.tzinfo is not None:
        t = t.tz_convert("UTC").tz_localize(None)
    if end and len(v) == 10:
        return (t + timedelta(days=1)).to_pydatetime()
    return t.to_pydatetime()


def split_interval(text: str) -> tuple[str, str]:
    """``a/b`` into ``(a, b)``; an instant ``a`` (no ``/``) into ``(a, a)``.

    Ends are returned as written: an open end is ``..`` or empty (see
    :func:`is_open`).
    """
    a, sep, b = text.partition("/")
    return (a, b) if sep else (a, a)


def is_open(part: str) -> bool:
    """Whether an interval end is open (``..`` or empty)."""
    return part.strip() in OPEN_ENDS


@dataclass(frozen=True)
class TimeWindow:
    """A window of instants ``[start, end)``, naive UTC; ``None`` is unbounded."""

    start: datetime | None
    end: datetime | None  # exclusive

    def as_dict(self) -> dict[str, str | None]:
        return {"start": self.start.isoformat() if self.start else None,
                "end_exclusive": self.end.isoformat() if self.end else None}


def parse_window(start: str | None, end: str | None, datetime_param: str | None = None
                 ) -> TimeWindow:
    """``start``/``end`` (both inclusive dates or months, see :func:`parse_time`) or an
    OGC ``datetime`` interval (``a/b``, ``../b``, ``a/..``), which replaces them."""
    if datetime_param:
        a, b = split_interval(datetime_param)
        if "/" in datetime_param:
            start = None if is_open(a) else a
            end = None if is_open(b) else b
        else:
            start, end = a, b
    s = parse_time(start, "start") if start else None
    e = parse_time(end, "end", end=True) if end else None
    if s and e and s >= e:
        raise ParameterError("end", "the time window ends before it starts")
    return TimeWindow(s, e)


def parse_interval(value: str | None, name: str = "datetime") -> TimeWindow:
    """An OGC API - Features ``datetime``: an instant or a closed interval ``a/b``,
    ``../b``, ``a/..`` (OGC 17-069r4, 7.15.4).

    A date or month covers all of it (``2019-01`` is the whole of January); an end
    given as a date-time is inclusive, as OGC intervals are closed, so the window's
    exclusive end is one microsecond after it.
    """
    if value is None or not value.strip():
        return TimeWindow(None, None)
    a, b = split_interval(value)
    start = None if is_open(a) else parse_time(a, name)
    end = None if is_open(b) else _inclusive_end(b, name)
    if start is not None and end is not None and start >= end:
        raise ParameterError(name, "the interval ends before it starts")
    return TimeWindow(start, end)


def _inclusive_end(value: str, name: str) -> datetime:
    v = value.strip()
    if len(v) in (7, 10):  # YYYY-MM or YYYY-MM-DD: parse_time gives the exclusive end
        return parse_time(v, name, end=True)
    return parse_time(v, name) + timedelta(microseconds=1)


def parse_effective_date(value: str | None) -> date | None:
    """The day a boundary set took effect, ``YYYY-MM-DD``; ``None`` when not given."""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ParameterError("effective_date", f"{value!r} is not YYYY-MM-DD") from exc
