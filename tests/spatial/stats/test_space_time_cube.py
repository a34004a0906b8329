"""Space-time cube: counts per unit and step (zeros kept), step choice and refusals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spatial.errors import ParameterError
from spatial.stats.space_time_cube import build_cube, step_edges


def days(*texts: str) -> np.ndarray:
    return pd.to_datetime(list(texts)).to_numpy()


def test_weekly_counts_by_hand() -> None:
    # span 2024-01-01 .. 2024-03-11 (exclusive) = 70 days = 10 weeks, laid back from the end
    t = days("2024-01-01", "2024-01-07", "2024-01-08", "2024-03-10", "2024-03-10",
             "2024-02-01")
    idx = np.array([0, 0, 1, 2, 2, -1])
    cube = build_cube(idx, t, ["day"] * 6, 3, step="week", start="2024-01-01",
                      end="2024-03-11")
    assert cube.shape == (3, 10)
    assert cube.labels[0] == "2024-01-01" and cube.labels[-1] == "2024-03-04"
    expected = np.zeros((3, 10), dtype=int)
    expected[0, 0] = 2
    expected[1, 1] = 1
    expected[2, 9] = 2
    np.testing.assert_array_equal(cube.counts, expected)
    assert cube.parameters["events_counted"] == 5  # -1 is outside the study area


def test_part_week_at_the_start_is_left_out_with_a_warning() -> None:
    t = days("2024-01-01", "2024-01-05")
    cube = build_cube([0, 0], t, ["day", "day"], 1, step="week", start="2024-01-01",
                      end="2024-03-14")
    # 73 days: 10 whole weeks ending 2024-03-14, the first starting 2024-01-04
    assert cube.labels[0] == "2024-01-04"
    assert cube.counts.sum() == 1
    assert cube.parameters["events_outside_steps"] == 1
    assert any("outside" in w for w in cube.warnings)


def test_month_precision_always_gets_months() -> None:
    months = pd.date_range("2022-01-01", "2023-12-01", freq="MS")
    t = np.repeat(months.to_numpy(), 2)
    cube = build_cube(np.zeros(t.size, int), t, ["month"] * t.size, 2)
    assert cube.step == "month" and cube.shape == (2, 24)
    assert cube.labels[0] == "2022-01" and cube.labels[-1] == "2023-12"
    assert "month-precision" in cube.parameters["step_reason"]
    assert any("monthly steps" in w for w in cube.warnings)
    np.testing.assert_array_equal(cube.counts[0], np.full(24, 2))
    np.testing.assert_array_equal(cube.counts[1], np.zeros(24))


def test_finer_step_than_precision_is_refused() -> None:
    t = pd.date_range("2022-01-01", "2023-12-01", freq="MS").to_numpy()
    for step in ("week", "28d"):
        with pytest.raises(ParameterError) as e:
            build_cube(np.zeros(t.size, int), t, ["month"] * t.size, 1, step=step)
        assert e.value.parameter == "step" and "precision" in e.value.reason
    # one month-precision event among day ones makes the whole data month-precision
    t2 = np.r_[days("2022-01-03"), t[1:]]
    with pytest.raises(ParameterError):
        build_cube(np.zeros(t2.size, int), t2, ["day"] + ["month"] * (t2.size - 1), 1,
                   step="week")


def test_too_few_steps_is_refused_naming_step() -> None:
    t = days("2024-01-01", "2024-06-30")
    with pytest.raises(ParameterError) as e:
        build_cube([0, 0], t, ["day", "day"], 1, step="month")
    assert e.value.parameter == "step" and "at least 10" in e.value.reason


@pytest.mark.parametrize(("start", "end", "step"), [
    ("2024-01-01", "2024-12-31", "week"),      # 52 weeks
    ("2023-01-01", "2024-12-31", "28d"),       # 104 weeks > 60, 26 x 28 days
    ("2020-01-01", "2024-12-31", "month"),     # 60 months
    ("2010-01-01", "2024-12-31", "quarter"),   # 180 months > 60, 60 quarters
])
def test_automatic_step_from_the_span(start: str, end: str, step: str) -> None:
    t = days(start)
    cube = build_cube([0], t, ["day"], 1, start=start, end=end)
    assert cube.step == step
    assert 10 <= cube.shape[1] <= 60


def test_quarter_edges_are_calendar_quarters() -> None:
    e = step_edges("quarter", pd.Timestamp("2020-02-15"), pd.Timestamp("2021-01-01"))
    assert [d.strftime("%Y-%m-%d") for d in e] == ["2020-04-01", "2020-07-01", "2020-10-01",
                                                   "2021-01-01"]


def test_unknown_step() -> None:
    with pytest.raises(ParameterError) as e:
        build_cube([0], days("2024-01-01"), ["day"], 1, step="fortnight")
    assert e.value.parameter == "step"


def test_without_a_window_the_first_step_holds_the_first_event() -> None:
    # first event mid-quarter, last at a quarter's end: 2017-01-03 .. 2020-09-30 -> 15
    # quarters from 2017-Q1 (whole, though the data start on its third day)
    t = days("2017-01-03", "2018-05-05", "2020-09-30")
    cube = build_cube([0, 0, 0], t, ["day"] * 3, 1, step="quarter")
    assert cube.labels[0] == "2017-Q1" and cube.labels[-1] == "2020-Q3"
    assert cube.counts.sum() == 3 and cube.parameters["events_outside_steps"] == 0
    # 28-day steps laid back from the day after the last event reach back over the first
    cube = build_cube([0, 0, 0], t, ["day"] * 3, 1, step="28d")
    assert cube.counts.sum() == 3
    assert cube.edges[-1] == pd.Timestamp("2020-10-01")
    assert cube.edges[0] <= pd.Timestamp("2017-01-03") < cube.edges[1]
