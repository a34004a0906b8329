"""Tests of spatial.evaluation.windows: window forms, month lengths and order."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from spatial.errors import ParameterError
from spatial.evaluation.windows import Window, Windows, parse_window, window_index
from tests.spatial.evaluation.scenes import (
    AFTER,
    BEFORE,
    WINDOWS,
)


def test_parse_window_forms_and_month_lengths() -> None:
    w = parse_window("2018-10/2018-12", "before")
    assert (w.start, w.end, w.days) == (date(2018, 10, 1), date(2018, 12, 31), 92)
    assert parse_window("2019-02", "after").days == 28
    w2 = parse_window("2019-01-15/2019-04-30", "after")
    assert w2.days == 106
    assert w2.whole_months() == [(2019, 2), (2019, 3), (2019, 4)]
    assert w2.month_days() == 28 + 31 + 30
    assert Window("during", date(2019, 1, 1), date(2019, 1, 14)).month_days() == 31
    assert Window("during", date(2019, 1, 15), date(2019, 1, 28)).month_days() == 0
    with pytest.raises(ParameterError, match="before"):
        parse_window("2018-13-01/2018-12-31", "before")
    with pytest.raises(ParameterError, match="ends"):
        parse_window("2018-12-31/2018-10-01", "before")


def test_windows_must_follow_each_other() -> None:
    with pytest.raises(ParameterError, match="windows.after"):
        Windows(before=AFTER, after=BEFORE)
    with pytest.raises(ParameterError, match="windows.during"):
        Windows(before=BEFORE, after=AFTER,
                    during=Window("during", date(2019, 1, 20), date(2019, 2, 1)))
    idx = window_index(np.array(["2018-12-31", "2019-01-01", "2019-01-31T23:59",
                                     "2019-02-01", "2019-02-15", "2019-03-31", "2019-04-01"],
                                    dtype="datetime64[ns]"), WINDOWS)
    assert idx.tolist() == [-1, 0, 0, 1, -1, 2, -1]
