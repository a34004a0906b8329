"""Months and the operation's windows of the synthetic town, as ``datetime64``."""

from __future__ import annotations

import re
from datetime import date

import numpy as np

from spatial.errors import ParameterError
from spatial.synthetic.parameters import STRIKE_DAYS


def parse_months(months: tuple[str, str]) -> tuple[np.datetime64, int]:
    try:
        first, last = months
    except (TypeError, ValueError):
        raise ParameterError("months", "must be a pair of 'YYYY-MM' strings") from None
    pattern = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
    if not (isinstance(first, str) and isinstance(last, str)
            and pattern.match(first) and pattern.match(last)):
        raise ParameterError("months", f"{months!r} is not a pair of 'YYYY-MM' strings")
    start, end = np.datetime64(first, "M"), np.datetime64(last, "M")
    n = int((end - start).astype(int)) + 1
    if n < 8:
        raise ParameterError("months", "the range must cover at least 8 months "
                             "(3 before the strike month, the strike month and 3 after)")
    if n > 120:
        raise ParameterError("months", "the range may cover at most 120 months")
    return start, n


def operation_windows(first: np.datetime64, n_months: int
                      ) -> tuple[tuple[np.datetime64, np.datetime64], ...]:
    strike_month = first + n_months // 2
    strike = strike_month.astype("datetime64[D]")
    one = np.timedelta64(1, "D")
    before = ((strike_month - 3).astype("datetime64[D]"), strike - one)
    during = (strike, strike + np.timedelta64(STRIKE_DAYS - 1, "D"))
    after = (during[1] + one, (strike_month + 4).astype("datetime64[D]") - one)
    return before, during, after


def as_date(day: np.datetime64) -> date:
    value = day.astype("datetime64[D]").item()
    assert isinstance(value, date)
    return value


def d64(day: date) -> np.datetime64:
    return np.datetime64(day, "D")
