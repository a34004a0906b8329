"""Time columns: police.uk months and ISO-8601 (or ``strptime``) times.

Times become naive-UTC ``datetime64[ns]`` with a per-row precision
(``instant``, ``day`` or ``month``), floored to the start of that precision.
Nothing is guessed: no day-first/month-first inference.
"""

from __future__ import annotations

import re
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from spatial.io.result import ObjArray
from spatial.io.validation import Coded, Rejector, join, quoted

_TIME_MIN: Final = pd.Timestamp("1678-01-01")
_TIME_MAX: Final = pd.Timestamp("2261-12-31")
# A time value that carries its own UTC offset: ...HH:MM[:SS[.fff]] then Z or +HH[:MM].
_AWARE_RE: Final = r"\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:Z|z|[+-]\d{2}(?::?\d{2})?)$"


def parse_month(rej: Rejector, raw: ObjArray | Coded, field: str) -> npt.NDArray[np.datetime64]:
    """``YYYY-MM`` text to the first instant of the month (naive, ns).

    Parsed once per distinct value (a police.uk file has one month).
    """
    cells = Coded.of(raw)
    empty = cells.map(lambda v: v == "").astype(bool)
    rej.add(empty, field, f"{field} is empty")
    parsed = cells.map(lambda v: pd.to_datetime(pd.Series(v, dtype=object), format="%Y-%m",
                                                errors="coerce").to_numpy(dtype="datetime64[ns]"))
    parsed = np.asarray(parsed, dtype="datetime64[ns]")
    rej.add(np.isnat(parsed) & ~empty, field,
            lambda m: join(f"{field} ", quoted(cells.rows(m)), " is not a month (expected YYYY-MM)"))
    return parsed


def _format_precision(fmt: str) -> str:
    """The precision a ``strptime`` format can express."""
    if re.search(r"%[HIMSfpXcTRrsz]", fmt):
        return "instant"
    if re.search(r"%[djaAuwUWxeDFGV]", fmt):
        return "day"
    return "month"


def parse_times(rej: Rejector, raw: ObjArray, field: str, fmt: str | None,
                precision: str | None, tz: str) -> tuple[npt.NDArray[np.datetime64], ObjArray]:
    """Text times to naive-UTC datetime64[ns] and a per-row precision."""
    n = len(raw)
    empty = raw == ""
    rej.add(empty, field, f"{field} is empty")
    s = pd.Series(raw, dtype=object).where(~empty)
    if fmt is not None:
        aware = np.full(n, bool(re.search(r"%[zZ]", fmt)))
        parsed = pd.to_datetime(s, format=fmt, errors="coerce", utc=True)
        prec = np.full(n, precision or _format_precision(fmt), dtype=object)
        rej.add(parsed.isna().to_numpy() & ~empty, field, lambda m: join(
            f"{field} ", quoted(raw[m]), f" does not match time_format {fmt!r}"))
    else:
        is_month = s.str.fullmatch(r"\d{4}-\d{2}", na=False).to_numpy(dtype=bool)
        is_day = s.str.fullmatch(r"\d{4}-?\d{2}-?\d{2}", na=False).to_numpy(dtype=bool)
        year_only = s.str.fullmatch(r"[+-]?\d{1,6}", na=False).to_numpy(dtype=bool)
        aware = s.str.contains(_AWARE_RE, regex=True, na=False).to_numpy(dtype=bool)
        parsed = pd.to_datetime(s.where(~year_only), format="ISO8601", errors="coerce", utc=True)
        rej.add(parsed.isna().to_numpy() & ~empty, field, lambda m: join(
            f"{field} ", quoted(raw[m]), " is not an ISO-8601 date/time (YYYY-MM, YYYY-MM-DD or "
            "YYYY-MM-DDTHH:MM:SS); pass time_format=... for other layouts"))
        if precision is None:
            prec = np.where(is_month, "month", np.where(is_day, "day", "instant")).astype(object)
        else:
            prec = np.full(n, precision, dtype=object)
    wall = parsed.dt.tz_localize(None)
    if tz != "UTC":
        local = (prec == "instant") & ~aware & wall.notna().to_numpy()
        if local.any():
            shifted = (wall[local].dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
                       .dt.tz_convert("UTC").dt.tz_localize(None))
            rej.add(local & shifted.reindex(wall.index).isna().to_numpy(), field, lambda m: join(
                f"{field} ", quoted(raw[m]), f" is ambiguous or does not exist in {tz} "
                "(a clock change); give it a UTC offset"))
            wall = wall.where(~local, shifted.reindex(wall.index))
    out_of_range = wall.notna().to_numpy() & ((wall < _TIME_MIN) | (wall > _TIME_MAX)).to_numpy()
    rej.add(out_of_range, field, lambda m: join(
        f"{field} ", quoted(raw[m]), " is outside the supported years 1678-2261"))
    values = np.asarray(wall.where(~out_of_range).to_numpy(dtype="datetime64[ns]"))
    # Floor to the start of the stated precision.
    month = prec == "month"
    day = prec == "day"
    if month.any():
        values[month] = values[month].astype("datetime64[M]").astype("datetime64[ns]")
    if day.any():
        values[day] = values[day].astype("datetime64[D]").astype("datetime64[ns]")
    return values, prec
