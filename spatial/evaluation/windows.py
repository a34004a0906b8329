"""Dated windows of an operation: before, (optional) during and after.

An event belongs to a window when its recorded time lies in
``[start, end + 1 day)``. police.uk times are the first day of the month, so
for month-precision layers a window holds the *whole months whose first day
lies in it*, and its effective length is the number of days of those months
(e.g. an after window 2019-01-15..2019-04-30 holds February-April crime, 89
days, not 106). Effective lengths are reported, and used as time weights
whenever the before and after lengths differ (Wheeler & Ratcliffe 2018: each
count x is divided by its window length w and its variance by w², so effects
are in events per day).

References
----------
Wheeler, A. P. & Ratcliffe, J. H. (2018). A simple weighted displacement
    difference test to evaluate place based crime interventions. *Crime
    Science* 7:11.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from spatial.errors import ParameterError
from spatial.timewindow import parse_day, split_interval

IntArray = npt.NDArray[np.int64]

WINDOW_NAMES: Final = ("before", "during", "after")


@dataclass(frozen=True)
class Window:
    """An inclusive date window ``[start, end]``.

    Attributes
    ----------
    name : str
        ``before``, ``during`` or ``after``.
    start, end : datetime.date
        First and last day, both included.
    """

    name: str
    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ParameterError(f"windows.{self.name}",
                                 f"ends {self.end} before it starts {self.start}")

    @property
    def days(self) -> int:
        """Nominal length in days (both ends included)."""
        return (self.end - self.start).days + 1

    @property
    def start64(self) -> np.datetime64:
        return np.datetime64(self.start.isoformat(), "ns")

    @property
    def end64(self) -> np.datetime64:
        """The exclusive end: the day after ``end``."""
        return np.datetime64((self.end + timedelta(days=1)).isoformat(), "ns")

    def whole_months(self) -> list[tuple[int, int]]:
        """(year, month) of the months whose first day lies in the window."""
        out = []
        y, m = self.start.year, self.start.month
        if self.start.day != 1:
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        while date(y, m, 1) <= self.end:
            out.append((y, m))
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return out

    def month_days(self) -> int:
        """Days of the months whose first day lies in the window (month-precision length)."""
        return sum(calendar.monthrange(y, m)[1] for y, m in self.whole_months())

    def as_dict(self) -> dict[str, Any]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "days": self.days}


def parse_window(text: str, name: str) -> Window:
    """``YYYY-MM-DD/YYYY-MM-DD``, ``YYYY-MM/YYYY-MM`` (whole months) or ``YYYY-MM``."""
    if not isinstance(text, str) or not text.strip():
        raise ParameterError(name, "a window is needed, e.g. 2018-10-01/2018-12-31")
    a, b = split_interval(text)
    return Window(name, parse_day(a, name, end=False), parse_day(b, name, end=True))


@dataclass(frozen=True)
class Windows:
    """The before, (optional) during and after windows of an operation, in order."""

    before: Window
    after: Window
    during: Window | None = None

    def __post_init__(self) -> None:
        if not self.before.end < self.after.start:
            raise ParameterError("windows.after", f"must start after the before window ends "
                                 f"({self.before.end})")
        if self.during is not None:
            if not self.before.end < self.during.start:
                raise ParameterError("windows.during", "must start after the before window ends "
                                     f"({self.before.end})")
            if not self.during.end < self.after.start:
                raise ParameterError("windows.after", "must start after the during window ends "
                                     f"({self.during.end})")

    def items(self) -> list[tuple[str, Window | None]]:
        return [("before", self.before), ("during", self.during), ("after", self.after)]

    @property
    def span(self) -> tuple[date, date]:
        return self.before.start, self.after.end

    def lengths(self, month_precision: bool) -> dict[str, float | None]:
        """Effective length in days per window (None for an absent during window)."""
        out: dict[str, float | None] = {}
        for name, w in self.items():
            if w is None:
                out[name] = None
            else:
                out[name] = float(w.month_days() if month_precision else w.days)
        return out

    def as_dict(self) -> dict[str, Any]:
        return {name: (w.as_dict() if w else None) for name, w in self.items()}


def window_index(time: npt.ArrayLike, windows: Windows) -> IntArray:
    """0 before, 1 during, 2 after, -1 outside every window (vectorised)."""
    t = np.asarray(time, dtype="datetime64[ns]")
    out = np.full(t.shape, -1, dtype=np.int64)
    for i, (_, w) in enumerate(windows.items()):
        if w is None:
            continue
        out[(t >= w.start64) & (t < w.end64)] = i
    return out


def month_window_notes(windows: Windows) -> list[str]:
    """Plain notes on how month-precision events fall into the windows."""
    notes = []
    for name, w in windows.items():
        if w is None:
            continue
        months = w.whole_months()
        label = (", ".join(date(y, m, 1).strftime("%b %Y") for y, m in months)
                 if months else "no month")
        if w.month_days() != w.days:
            notes.append(f"month-precision layers: the {name} window {w.start}..{w.end} "
                         f"({w.days} days) holds the whole months whose first day lies in "
                         f"it: {label} ({w.month_days()} days)")
    return notes
