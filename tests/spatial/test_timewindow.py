"""The one date, month and interval grammar (:mod:`spatial.timewindow`).

References: ISO 8601-1:2019 (calendar dates 5.2.2, reduced precision ``YYYY-MM``,
time intervals ``start/end``); OGC API - Features - Part 1: Core (OGC 17-069r4),
7.15.4, the ``datetime`` parameter: an instant or a closed interval, ``..`` for an
open end.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest

from spatial.errors import ParameterError
from spatial.timewindow import (
    TimeWindow,
    is_open,
    parse_day,
    parse_interval,
    parse_time,
    parse_window,
    split_interval,
)


def test_days_and_months_as_inclusive_days() -> None:
    assert parse_day("2019-02", "after", end=False) == date(2019, 2, 1)
    assert parse_day("2019-02", "after", end=True) == date(2019, 2, 28)
    assert parse_day("2020-02", "after", end=True) == date(2020, 2, 29)  # leap year
    assert parse_day(" 2019-01-15 ", "after", end=True) == date(2019, 1, 15)
    for bad in ("2018-13", "2018-13-01", "soon", "2019-02-30"):
        with pytest.raises(ParameterError) as err:
            parse_day(bad, "before", end=False)
        assert err.value.details["parameter"] == "before"
        assert "YYYY-MM-DD or YYYY-MM" in err.value.message


def test_instants_and_exclusive_ends() -> None:
    assert parse_time("2018-12", "start") == datetime(2018, 12, 1)
    assert parse_time("2018-12", "end", end=True) == datetime(2019, 1, 1)
    assert parse_time("2018-10-01", "end", end=True) == datetime(2018, 10, 2)
    assert parse_time("2018-10-01", "start") == datetime(2018, 10, 1)
    # a date-time is taken as written, converted to naive UTC
    assert parse_time("2019-01-05T10:00:00+01:00", "end", end=True) == datetime(2019, 1, 5, 9)
    for bad in ("2018-13", "not a date", "2018-ab"):
        with pytest.raises(ParameterError) as err:
            parse_time(bad, "since")
        assert err.value.details["parameter"] == "since"
        assert "YYYY-MM, YYYY-MM-DD or ISO date-time" in err.value.message


def test_intervals_split_with_open_ends() -> None:
    assert split_interval("2018-10/2018-12") == ("2018-10", "2018-12")
    assert split_interval("2018-10") == ("2018-10", "2018-10")
    assert split_interval("../2019-01") == ("..", "2019-01")
    assert [is_open(p) for p in ("..", "", " .. ", "2019")] == [True, True, True, False]


def test_start_end_window() -> None:
    w = parse_window("2018-10", "2018-10")
    assert w == TimeWindow(datetime(2018, 10, 1), datetime(2018, 11, 1))
    assert w.as_dict() == {"start": "2018-10-01T00:00:00",
                           "end_exclusive": "2018-11-01T00:00:00"}
    assert parse_window(None, None) == TimeWindow(None, None)
    with pytest.raises(ParameterError) as err:
        parse_window("2019-01", "2018-12")
    assert err.value.details["parameter"] == "end"


def test_datetime_parameter_replaces_start_and_end() -> None:
    assert parse_window("2000", "2001", "2018-10/..") == TimeWindow(datetime(2018, 10, 1), None)
    assert parse_window(None, None, "../2018-10") == TimeWindow(None, datetime(2018, 11, 1))
    assert parse_window(None, None, "2018-10") == TimeWindow(datetime(2018, 10, 1),
                                                             datetime(2018, 11, 1))


def test_ogc_datetime_is_a_closed_interval() -> None:
    assert parse_interval(None) == TimeWindow(None, None)
    assert parse_interval("  ") == TimeWindow(None, None)
    assert parse_interval("2019-01") == TimeWindow(datetime(2019, 1, 1), datetime(2019, 2, 1))
    # an instant: the window holds exactly that microsecond
    t = parse_interval("2019-01-05T10:00:00Z")
    assert t.start == datetime(2019, 1, 5, 10)
    assert t.end is not None and (t.end - t.start).total_seconds() == 1e-6
    assert parse_interval("../2019-01-31").end == datetime(2019, 2, 1)
    with pytest.raises(ParameterError) as err:
        parse_interval("2019-02/2019-01")
    assert err.value.details["parameter"] == "datetime"


@pytest.mark.parametrize("text", ["\t", " ", "nat", "NaT", "nan"])
def test_blank_and_not_a_time_are_refused_not_read_as_no_time(text: str) -> None:
    # pandas reads these as NaT, which reached the store as NaN (HTTP 500 on /v1/counts)
    with pytest.raises(ParameterError, match="is not a date"):
        parse_time(text, "start")
    with pytest.raises(ParameterError, match="is not a date"):
        parse_window(None, None, text)
