"""Time context: hand-made series with every number known in advance."""

from __future__ import annotations

import calendar
import math
from datetime import date

import numpy as np
import pytest
from scipy import stats

from spatial.errors import ParameterError
from spatial.evaluation.count_table import CountTable
from spatial.evaluation.counting import EventArrays, MeasuredLayer, count_table
from spatial.evaluation.evaluate import evaluate_operation
from spatial.evaluation.options import EvaluationOptions
from spatial.evaluation.time_context import (
    NO_EFFECT_CODES,
    dispersion,
    placebo_windows,
    shift_months,
    shift_windows,
    time_context,
    time_context_span,
)
from spatial.evaluation.verdict import decide
from spatial.evaluation.windows import Window, Windows
from tests.spatial.evaluation.scenes import E0, N0, WINDOWS, events_at, make_areas

T, B, C = (E0, N0), (E0 + 250, N0), (E0 + 2_000, N0)
SPECS = [MeasuredLayer("crime", "Drugs")]
OPTS = EvaluationOptions(min_count=0)


def _months(a: tuple[int, int], b: tuple[int, int]) -> list[tuple[int, int]]:
    out, (y, m) = [], a
    while (y, m) <= b:
        out.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def monthly_events(per_month: dict[tuple[float, float], dict[tuple[int, int], int]],
                   day: int = 10, precision: str = "day") -> EventArrays:
    """``point -> {(year, month): count}``: that many events on ``day`` of each month."""
    pts = []
    for (x, y), months in per_month.items():
        for (yy, mm), n in months.items():
            pts += [(x, y, f"{yy}-{mm:02d}-{day:02d}", "crime", "Drugs")] * n
    return events_at(pts, precision=precision)


def scene(extra: dict[tuple[float, float], dict[tuple[int, int], int]] | None = None
          ) -> EventArrays:
    """Target 2 a month from 2017-06 (10 in Jan 2019, 3 in Mar 2019); buffer 1 a month
    (4 in Mar 2018); control 5 a month (7 in Mar 2018, 6 in Jan 2019). Windows: before
    Jan 2019, during 1-14 Feb 2019, after Mar 2019; events on the 10th."""
    months = _months((2017, 6), (2019, 3))
    per = {
        T: {m: {(2019, 1): 10, (2019, 3): 3}.get(m, 2) for m in months},
        B: {m: {(2018, 3): 4}.get(m, 1) for m in months},
        C: {m: {(2019, 1): 6, (2018, 3): 7}.get(m, 5) for m in months},
    }
    for p, add in (extra or {}).items():
        for m, n in add.items():
            per[p][m] = per[p].get(m, 0) + n
    return monthly_events(per)


def context(events: EventArrays, coverage: dict[str, date | None] | None, windows: Windows = WINDOWS,
            options: EvaluationOptions = OPTS):
    areas = make_areas()
    counts = count_table(events, areas, windows, SPECS)
    return time_context(events, areas, windows, counts, options=options, coverage=coverage)


STORE_FROM = {"crime": date(2017, 6, 1)}


# --------------------------------------------------------------------------- dates


def test_shift_months_clamps_the_day() -> None:
    assert shift_months(date(2020, 2, 29), -12) == date(2019, 2, 28)
    assert shift_months(date(2019, 3, 31), -1) == date(2019, 2, 28)
    assert shift_months(date(2019, 1, 15), -13) == date(2017, 12, 15)
    assert shift_months(date(2019, 2, 28), -2) == date(2018, 12, 28)
    assert shift_months(date(2019, 2, 28), -2, keep_month_end=True) == date(2018, 12, 31)
    assert shift_months(date(2021, 2, 28), -12, keep_month_end=True) == date(2020, 2, 29)
    assert shift_months(date(2019, 2, 27), -2, keep_month_end=True) == date(2018, 12, 27)
    w = shift_windows(WINDOWS, -12)
    assert (w.before.start, w.during.end, w.after.end) == (
        date(2018, 1, 1), date(2018, 2, 14), date(2018, 3, 31))


def test_placebo_windows_month_and_day() -> None:
    darnall = Windows(before=Window("before", date(2018, 10, 1), date(2018, 12, 31)),
                      after=Window("after", date(2019, 1, 1), date(2019, 2, 28)))
    pw, shift = placebo_windows(darnall, True)
    assert shift == "5 months"
    assert pw.before.whole_months() == [(2018, 5), (2018, 6), (2018, 7)]
    assert pw.after.whole_months() == [(2018, 8), (2018, 9)]
    # a mid-month month-precision before window holds Feb only: Feb-Apr, 3 months back
    mid = Windows(before=Window("before", date(2019, 1, 15), date(2019, 2, 28)),
                  after=Window("after", date(2019, 3, 1), date(2019, 4, 30)))
    pm, shift = placebo_windows(mid, True)
    assert shift == "3 months"
    assert pm.before.whole_months() == [(2018, 11)] and pm.after.whole_months() == [
        (2018, 12), (2019, 1)]
    # day-level data in whole calendar months (Jan to Mar 2019) move by months
    pw2, shift = placebo_windows(WINDOWS, False)
    assert shift == "3 months"
    assert (pw2.before.start, pw2.before.end) == (date(2018, 10, 1), date(2018, 10, 31))
    assert (pw2.during.start, pw2.during.end) == (date(2018, 11, 1), date(2018, 11, 14))
    assert (pw2.after.start, pw2.after.end) == (date(2018, 12, 1), date(2018, 12, 31))
    # other day-level designs move by days, keeping every length to the day
    odd = Windows(before=Window("before", date(2019, 1, 5), date(2019, 1, 31)),
                  after=Window("after", date(2019, 3, 1), date(2019, 3, 20)))
    pd_, shift = placebo_windows(odd, False)
    assert shift == "75 days"
    assert pd_.after.end == date(2019, 1, 4) and pd_.before.start == date(2018, 10, 22)
    assert [w.days for _, w in pd_.items() if w] == [w.days for _, w in odd.items() if w]


def test_span_covers_every_part() -> None:
    # 3 earlier years of the before window (2016-01-01) is the oldest need
    assert time_context_span(WINDOWS) == (date(2016, 1, 1), date(2019, 3, 31))
    # with one earlier year, the long run (24 months before Jan 2019) is
    assert time_context_span(WINDOWS, seasonal_years=1) == (date(2017, 1, 1), date(2019, 3, 31))


# --------------------------------------------------------------------------- the parts


def test_year_earlier_counts_and_the_same_decision() -> None:
    tc = context(scene(), STORE_FROM).layer("crime/Drugs")
    ye = tc.year_earlier
    assert ye.available and ye.reason is None and ye.shift == "12 months"
    assert ye.counts == {"target": {"before": 2, "during": 2, "after": 2},
                         "buffer": {"before": 1, "during": 1, "after": 4},
                         "control": {"before": 5, "during": 5, "after": 7}}
    # equal window lengths, so no time weights: the same table decided by hand
    expected = decide(CountTable(target_before=2, target_during=2, target_after=2,
                                 buffer_before=1, buffer_during=1, buffer_after=4,
                                 control_before=5, control_during=5, control_after=7),
                      alpha=0.05, min_count=0)
    assert ye.verdict_code == expected.code
    assert ye.tests == expected.tests
    assert ye.found_effect == (expected.code not in NO_EFFECT_CODES)


def test_year_earlier_unavailable_names_the_first_date() -> None:
    tc = context(scene(), {"crime": date(2018, 10, 1)}).layer("crime/Drugs")
    ye = tc.year_earlier
    assert not ye.available and ye.counts is None and ye.verdict_code is None
    assert "2018-01-01" in ye.reason and "2018-10-01" in ye.reason
    none = context(scene(), {"crime": None}).layer("crime/Drugs")
    assert not none.year_earlier.available
    assert "holds no crime events" in none.year_earlier.reason


def test_series_marks_months_before_the_store_as_missing() -> None:
    s = context(scene(), STORE_FROM).layer("crime/Drugs").series
    assert len(s.months) == 24 and s.months[0] == "2017-04" and s.months[-1] == "2019-03"
    assert s.counts["target"][:2] == (None, None)  # before 2017-06: unknown, not 0
    assert s.counts["target"][2:] == (2,) * 19 + (10, 2, 3)
    assert s.counts["buffer"][2:] == (1,) * 9 + (4,) + (1,) * 12
    assert s.counts["control"][2:] == (5,) * 9 + (7,) + (5,) * 9 + (6, 5, 5)
    assert s.window_of_month[-3:] == ("before", "during", "after")
    assert s.missing_months == 2
    # with the store reaching further back, the same empty months are real zeros
    s2 = context(scene(), {"crime": date(2016, 1, 1)}).layer("crime/Drugs").series
    assert s2.counts["target"][:2] == (0, 0)


def test_series_ignores_events_after_the_after_window() -> None:
    late = scene(extra={T: {(2019, 4): 9}})
    s = context(late, STORE_FROM).layer("crime/Drugs").series
    assert s.months[-1] == "2019-03" and s.counts["target"][-1] == 3


def test_seasonal_expectation_one_year() -> None:
    se = context(scene(), STORE_FROM).layer("crime/Drugs").seasonal
    assert se.available and se.years_back == (1,)
    # control: 6 in Jan 2019 against 5 in Jan 2018
    assert se.control_level_change == pytest.approx(1.2)
    assert se.areas["target"] == pytest.approx({"observed": 3, "expected": 2.4, "ratio": 1.25})
    assert se.areas["buffer"]["expected"] == pytest.approx(4.8)
    assert se.areas["control"]["expected"] == pytest.approx(8.4)
    assert se.areas["control"]["observed"] == 5


def test_seasonal_expectation_averages_two_years() -> None:
    # the store now starts in 2017-01: Jan 2017 control 5, Mar 2017 target 4, else 0
    events = scene(extra={C: {(2017, 1): 5}, T: {(2017, 3): 4}})
    se = context(events, {"crime": date(2017, 1, 1)}).layer("crime/Drugs").seasonal
    assert se.years_back == (1, 2)
    assert se.control_level_change == pytest.approx((6 / 31) / ((5 / 31 + 5 / 31) / 2))
    assert se.areas["target"]["expected"] == pytest.approx((2 + 4) / 2 * 1.2)
    assert se.areas["buffer"]["expected"] == pytest.approx((4 + 0) / 2 * 1.2)


def test_seasonal_unavailable_without_an_earlier_year() -> None:
    se = context(scene(), {"crime": date(2018, 6, 1)}).layer("crime/Drugs").seasonal
    assert not se.available and "2018-01-01" in se.reason and "2018-06-01" in se.reason


def test_placebo_runs_the_same_design_earlier() -> None:
    pl = context(scene(), STORE_FROM).layer("crime/Drugs").placebo
    assert pl.available and pl.shift == "3 months"
    assert pl.windows.before.start == date(2018, 10, 1)
    assert pl.windows.after.end == date(2018, 12, 31)
    assert pl.counts == {"target": {"before": 2, "during": 2, "after": 2},
                         "buffer": {"before": 1, "during": 1, "after": 1},
                         "control": {"before": 5, "during": 5, "after": 5}}
    assert pl.verdict_code == decide(CountTable.from_pairs(
        target=(2, 2), buffer=(1, 1), control=(5, 5)), alpha=0.05, min_count=0).code
    assert pl.found_effect is False


def test_placebo_that_finds_an_effect() -> None:
    # a target that was already falling in the placebo period (Oct-Nov 40, Dec 4)
    events = scene(extra={T: {(2018, 10): 38, (2018, 12): 2}})
    pl = context(events, STORE_FROM).layer("crime/Drugs").placebo
    assert pl.counts["target"] == {"before": 40, "during": 2, "after": 4}
    hand = decide(CountTable.from_pairs(target=(40, 4), buffer=(1, 1), control=(5, 5)),
                  alpha=0.05, min_count=0)
    assert pl.verdict_code == hand.code
    assert hand.code not in NO_EFFECT_CODES and pl.found_effect is True


def test_placebo_unavailable_before_the_store() -> None:
    pl = context(scene(), {"crime": date(2018, 11, 1)}).layer("crime/Drugs").placebo
    assert not pl.available
    assert "2018-10-01" in pl.reason and "2018-11-01" in pl.reason


def test_regression_to_the_mean_expected_fall() -> None:
    rtm = context(scene(), STORE_FROM).layer("crime/Drugs").regression_to_mean
    assert rtm.available
    # whole months 2017-06..2018-12 (the store starts 2017-06): 19 months, 579 days, 38 events
    assert rtm.long_run_months[0] == "2017-06" and rtm.long_run_months[-1] == "2018-12"
    assert (rtm.long_run_count, rtm.long_run_days) == (38, 579.0)
    assert (rtm.before_count, rtm.before_days, rtm.after_days) == (10, 31.0, 31.0)
    p = stats.binomtest(10, 48, 31 / (31 + 579)).pvalue
    assert rtm.test is not None and rtm.test.p_value == pytest.approx(p) and p < 0.05
    assert rtm.well_above
    assert rtm.expected_change_events == pytest.approx(38 / 579 * 31 - 10)  # -7.97 events
    assert rtm.expected_change_percent == pytest.approx(100 * ((38 / 579) / (10 / 31) - 1))


def test_regression_to_the_mean_not_flagged_at_the_usual_level() -> None:
    # the target's January at its usual 2: no warning, and a change near zero
    events = scene(extra={T: {(2019, 1): -8}})
    rtm = context(events, STORE_FROM).layer("crime/Drugs").regression_to_mean
    assert rtm.before_count == 2 and not rtm.well_above
    assert rtm.expected_change_events == pytest.approx(38 / 579 * 31 - 2)


def test_regression_to_the_mean_needs_long_run_months() -> None:
    rtm = context(scene(), {"crime": date(2018, 11, 1)}).layer("crime/Drugs").regression_to_mean
    assert not rtm.available and "3 whole months" in rtm.reason and "2018-11-01" in rtm.reason
    assert rtm.test is None and rtm.expected_change_events is None


def test_dispersion_known_answers() -> None:
    d = dispersion([2, 4, 6], [30, 30, 30])
    assert (d.chi2, d.df, d.factor) == (pytest.approx(2.0), 2, pytest.approx(1.0))
    assert d.p_value == pytest.approx(math.exp(-1.0))
    # month lengths enter the expected counts: 31 and 62 days, 3 and 3 events
    d2 = dispersion([3, 3], [31, 62])
    assert d2.chi2 == pytest.approx((3 - 2) ** 2 / 2 + (3 - 4) ** 2 / 4)
    # alternating 0 and 10: chi2 = 4 x 25 / 5 = 20 on 3 df, strongly overdispersed
    over = dispersion([0, 10, 0, 10], [30, 30, 30, 30])
    assert over.factor == pytest.approx(20 / 3) and over.p_value == pytest.approx(
        stats.chi2.sf(20, 3))
    assert dispersion([0, 0, 0], [30, 31, 30]).factor is None
    assert dispersion([4], [30]).reason == "needs at least 2 months"
    with pytest.raises(ParameterError):
        dispersion([1, -1], [30, 30])


def test_dispersion_per_area_from_the_long_run() -> None:
    disp = context(scene(), STORE_FROM).layer("crime/Drugs").dispersion
    days = np.array([30, 31, 31, 30, 31, 30, 31, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31],
                    dtype=float)
    for area, counts in (("target", [2] * 19), ("buffer", [1] * 9 + [4] + [1] * 9),
                         ("control", [5] * 9 + [7] + [5] * 9)):
        y = np.array(counts, dtype=float)
        e = y.sum() / days.sum() * days
        assert disp[area].months == 19 and disp[area].df == 18
        assert disp[area].factor == pytest.approx(np.sum((y - e) ** 2 / e) / 18), area
    # a flat 2 a month varies less than Poisson counts would (only by month length)
    assert disp["target"].factor < 0.01 and disp["target"].p_value > 0.99


def test_month_precision_layer() -> None:
    """police.uk-like: events on the 1st, a mid-month window holds whole months."""
    months = _months((2017, 1), (2019, 4))
    events = monthly_events({T: {m: 3 for m in months}, C: {m: 6 for m in months}}, day=1,
                            precision="month")
    windows = Windows(before=Window("before", date(2019, 1, 15), date(2019, 2, 28)),
                      after=Window("after", date(2019, 3, 1), date(2019, 4, 20)))
    tc = context(events, {"crime": date(2017, 1, 1)}, windows).layer("crime/Drugs")
    assert tc.month_precision
    assert tc.year_earlier.counts["target"] == {"before": 3, "during": 0, "after": 6}
    assert tc.placebo.shift == "3 months"
    assert tc.placebo.counts["target"] == {"before": 3, "during": 0, "after": 6}
    assert tc.regression_to_mean.long_run_months[-1] == "2019-01"  # Feb is the first whole
    assert tc.regression_to_mean.long_run_count == 3 * 24
    assert tc.series.months[-1] == "2019-04" and tc.series.counts["target"][-1] == 3
    days = [calendar.monthrange(y, m)[1] for y, m in _months((2017, 2), (2019, 1))]
    assert tc.dispersion["target"].factor == pytest.approx(dispersion([3] * 24, days).factor)


def test_coverage_inferred_from_the_events_when_not_given() -> None:
    tc = context(scene(), None)
    lt = tc.layer("crime/Drugs")
    assert tc.coverage_source == "events" and lt.first_stored == date(2017, 6, 10)
    # the month holding the first event is covered; earlier months are not
    assert lt.series.counts["target"][1] is None and lt.series.counts["target"][2] == 2


def test_bad_parameters() -> None:
    areas = make_areas()
    counts = count_table(scene(), areas, WINDOWS, SPECS)
    with pytest.raises(ParameterError, match="seasonal_years"):
        time_context(scene(), areas, WINDOWS, counts, seasonal_years=0)
    with pytest.raises(ParameterError, match="coverage"):
        time_context(scene(), areas, WINDOWS, counts, coverage={"crime": "2017-06-01"})


def test_evaluation_carries_the_context_and_is_unchanged_by_older_events() -> None:
    areas = make_areas()
    inside = [(E0, N0, "before", "crime", "Drugs")] * 30 + [(E0, N0, "after", "crime", "Drugs")] * 10
    inside += [(E0 + 2_000, N0, w, "crime", "Drugs") for w in ("before", "after")] * 20
    short = events_at(inside)
    long = events_at(inside + [(E0, N0, f"2018-{m:02d}-05", "crime", "Drugs")
                                for m in range(1, 13)])
    a = evaluate_operation(short, areas, WINDOWS, SPECS)
    b = evaluate_operation(long, areas, WINDOWS, SPECS, coverage={"crime": date(2018, 1, 1)})
    assert a.layers[0].counts.areas == b.layers[0].counts.areas
    assert a.layers[0].verdict_code == b.layers[0].verdict_code
    assert a.layers[0].measures == b.layers[0].measures
    assert b.time_context is not None
    lt = b.time_context.layer("crime/Drugs")
    assert lt.series.counts["target"][-15:-3] == (1,) * 12
    assert lt.year_earlier.counts["target"]["before"] == 1


def test_overdose_watch_sees_only_the_windows_span() -> None:
    """Ambulance calls only in the months before the windows: the watch says there are none
    in the windows, as it did before the time context loaded older events."""
    areas = make_areas()
    old = [(E0, N0, f"2018-{m:02d}-05", "ambulance", "overdose") for m in range(1, 13)]
    inside = [(E0, N0, "before", "crime", "Drugs"), (E0 + 2_000, N0, "after", "crime", "Drugs")]
    ev = evaluate_operation(events_at(inside + old), areas, WINDOWS, SPECS)
    assert ev.overdose_watch["available"] is False
