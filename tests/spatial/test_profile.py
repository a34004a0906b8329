"""The problem profile on hand-made events whose answers are known."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from spatial.errors import ParameterError
from spatial.profile import concentration, gini, monthly_counts, problem_profile, street_names


def test_gini_known_values() -> None:
    assert gini([3, 3, 3, 3]) == pytest.approx(0.0)
    # one of n units holds everything: (n - 1) / n
    assert gini([0, 0, 0, 8]) == pytest.approx(0.75)
    # x = 1, 2, 3: (-2*1 + 0*2 + 2*3) / (3 * 6) = 4/18
    assert gini([3, 1, 2]) == pytest.approx(4 / 18)
    assert gini([0, 0]) is None
    with pytest.raises(ParameterError, match="counts"):
        gini([1, -1])


def test_concentration_top_shares_and_eighty_twenty() -> None:
    # 10 units: one with 80 events, one with 10, eight with 1 or 0
    counts = np.array([80, 10, 1, 1, 1, 1, 1, 1, 0, 0])
    c = concentration(counts, kind="units", percents=(10, 20, 50, 100))
    assert c.units == 10 and c.units_with_events == 8 and c.events == 96
    assert [(s.top, s.share) for s in c.top_shares] == [
        (1, pytest.approx(80 / 96)), (2, pytest.approx(90 / 96)), (5, pytest.approx(93 / 96)),
        (10, pytest.approx(1.0))]
    assert c.half_share == pytest.approx(0.1)   # the top unit alone holds half
    assert c.eighty_share == pytest.approx(0.1)  # 80/96 = 83 % in one unit of ten
    # ceil: the top 1 % of 10 units is one unit
    assert concentration(counts, kind="units", percents=(1,)).top_shares[0].top == 1
    with pytest.raises(ParameterError, match="percent"):
        concentration(counts, kind="units", percents=(0,))
    # the curve at 0, 5, ..., 100 %: 0 %, then the top unit (ceil(0.5) = 1) from 5 % to 10 %
    assert len(c.curve) == 21 and c.curve[0] == 0.0 and c.curve[-1] == pytest.approx(1.0)
    assert c.curve[1] == c.curve[2] == pytest.approx(80 / 96)
    assert c.curve[4] == pytest.approx(90 / 96)  # 20 %: two units


def test_street_names_drop_the_police_uk_prefix() -> None:
    got = street_names(["On or near High Street", " On or near  Park Lane ", None, "",
                        "Supermarket", float("nan")])
    assert list(got) == ["High Street", "Park Lane", None, None, "Supermarket", None]


def test_monthly_counts_keep_empty_months() -> None:
    times = pd.to_datetime(["2019-01-01", "2019-01-01", "2019-03-01"])
    months, counts = monthly_counts(times, datetime(2018, 12, 1), datetime(2019, 5, 1))
    assert months == ["2018-12", "2019-01", "2019-02", "2019-03", "2019-04"]
    assert counts.tolist() == [0, 2, 0, 1, 0]


def _profile(**over: object) -> object:
    # 6 events: 3 at one point on High Street, 2 at another point of High Street,
    # 1 on Park Lane; month precision as police.uk
    lon = np.array([-1.5, -1.5, -1.5, -1.51, -1.51, -1.52])
    lat = np.array([53.4, 53.4, 53.4, 53.41, 53.41, 53.42])
    loc = np.array(["On or near High Street"] * 5 + ["On or near Park Lane"], dtype=object)
    times = pd.to_datetime(["2019-01-01"] * 4 + ["2019-02-01"] * 2)
    args: dict[str, object] = dict(locations=loc, lon=lon, lat=lat, times=times,
                                   time_precision=np.array(["month"] * 6, dtype=object),
                                   unit_counts=np.array([5, 1, 0, 0]), top_n=10)
    args.update(over)
    return problem_profile(**args)  # type: ignore[arg-type]


def test_profile_of_known_events() -> None:
    p = _profile()
    assert [(s.name, s.count) for s in p.top_streets] == [("High Street", 5), ("Park Lane", 1)]
    assert p.top_streets[0].share == pytest.approx(5 / 6)
    assert p.streets == 2 and p.events_without_street == 0
    assert [(r.lon, r.lat, r.street, r.count) for r in p.repeat_locations] == [
        (-1.5, 53.4, "High Street", 3), (-1.51, 53.41, "High Street", 2)]
    assert p.repeat_location_count == 2 and p.events_at_repeat_locations == 5
    assert p.unit_concentration.gini == pytest.approx(gini([5, 1, 0, 0]))
    assert p.street_concentration.units == 2
    assert p.months == ("2019-01", "2019-02") and p.monthly == (4, 2)
    assert p.day_of_week is None and p.hour is None
    assert "month only" in p.time_statement


def test_day_and_hour_only_from_events_that_have_them() -> None:
    times = pd.to_datetime(["2019-01-07 10:30", "2019-01-08 00:00", "2019-01-01 00:00", "2019-01-01 00:00",
                            "2019-02-01 00:00", "2019-02-01 00:00"])  # a Monday 10:30, a Tuesday
    prec = np.array(["instant", "day", "month", "month", "month", "month"], dtype=object)
    p = _profile(times=times, time_precision=prec)
    assert p.day_of_week is not None and p.hour is not None
    assert p.day_of_week[0] == 1 and p.day_of_week[1] == 1 and sum(p.day_of_week) == 2
    assert p.hour[10] == 1 and sum(p.hour) == 1
    assert "4 events known to the month only are left out" in p.time_statement


def test_profile_refuses_bad_input() -> None:
    with pytest.raises(ParameterError, match="top"):
        _profile(top_n=0)
    with pytest.raises(ParameterError, match="events"):
        _profile(lon=np.array([1.0]))


def test_top_n_limits_lists_not_totals() -> None:
    p = _profile(top_n=1)
    assert len(p.top_streets) == 1 and len(p.repeat_locations) == 1
    assert p.streets == 2 and p.repeat_location_count == 2


def test_no_events_give_no_shares_and_no_gini() -> None:
    c = concentration(np.zeros(4), kind="units", percents=(50,))
    assert c.top_shares[0].share is None and c.gini is None and c.eighty_share is None
    assert c.curve == ()
    p = _profile(lon=np.empty(0), lat=np.empty(0), locations=np.empty(0, dtype=object),
                 times=pd.to_datetime([]), time_precision=np.empty(0, dtype=object),
                 unit_counts=np.zeros(3, dtype=int), start=datetime(2019, 1, 1),
                 end_exclusive=datetime(2019, 3, 1))
    assert p.events == 0 and p.top_streets == () and p.monthly == (0, 0)
    assert p.warnings == ()
