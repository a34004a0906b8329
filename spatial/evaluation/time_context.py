"""Time context of an operation's evaluation: what the counts would have done anyway.

A before/after comparison is read against the same areas' own past:

1. **The same windows a year earlier** (:func:`shift_windows` by 12 months;
   whole months for month-precision data), counted and decided exactly as
   the evaluation is (:func:`spatial.evaluation.verdict.decide`), so a
   seasonal swing that the design would call an effect shows up there too.
2. **A 24-month monthly series** per area ending with the after window's
   last month; months before the first stored event of the layer are
   missing (``None``), never 0.
3. **Seasonally expected counts** when at least one earlier year is held:
   for each area, the mean rate of the same after-window dates in up to
   :data:`SEASONAL_YEARS` earlier years, times this after window's length,
   scaled by the control's level change (its before window now against
   the same before windows of those years). The control's own expectation is
   thus its seasonal pattern at this year's level.
4. **A placebo evaluation**: the whole design (same areas, same window
   lengths, same gaps) moved back so that its after window ends before the
   operation's before window starts (:func:`placebo_windows`), and decided.
   No operation ran then, so a placebo "effect" warns that the design picks
   up differences that were already there (an in-time placebo; Abadie,
   Diamond & Hainmueller 2015).
5. **Regression to the mean**: targets are chosen because they were hot.
   The target's before-window rate is tested against its own long-run rate
   (up to :data:`LONG_RUN_MONTHS` whole months before the before window)
   with the exact conditional rate-ratio test
   (:func:`spatial.evaluation.rate_ratio.rate_ratio_test`); when it is
   significantly higher, the fall expected if the rate simply returns to its
   long-run level is reported in events and per cent (Barnett, van der Pols
   & Dobson 2005).
6. **Overdispersion**: per area, Pearson χ²/df of the long-run monthly
   counts around a flat rate (McCullagh & Nelder 1989, §4.5). A factor
   near 1 is Poisson; above 1 the Poisson variances of the WDD are too small
   by that factor.

Pure: events arrive as :class:`~spatial.evaluation.counting.EventArrays`;
one point-in-polygon placement of the events, then one ``np.bincount`` per
layer over area × month (or area × window), never a loop over events.

References
----------
Abadie, A., Diamond, A. & Hainmueller, J. (2015). Comparative politics and the
    synthetic control method. *American Journal of Political Science* 59(2),
    495-510 (in-time placebos).
Barnett, A. G., van der Pols, J. C. & Dobson, A. J. (2005). Regression to the
    mean: what it is and how to deal with it. *International Journal of
    Epidemiology* 34(1), 215-220.
Krishnamoorthy, K. & Thomson, J. (2004). A more powerful test for comparing
    two Poisson means. *J. Statistical Planning and Inference* 119, 23-35.
McCullagh, P. & Nelder, J. A. (1989). *Generalized Linear Models*, 2nd ed.,
    Chapman & Hall, §4.5 (the Pearson estimate of the dispersion).
Wheeler, A. P. & Ratcliffe, J. H. (2018). A simple weighted displacement
    difference test to evaluate place based crime interventions. *Crime
    Science* 7:11.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from scipy import stats

from spatial.errors import ParameterError
from spatial.evaluation.areas import OperationAreas
from spatial.evaluation.count_table import AREA_NAMES, jsonable
from spatial.evaluation.counting import EventArrays, LayerCounts, assign_areas
from spatial.evaluation.options import EvaluationOptions
from spatial.evaluation.rate_ratio import RateRatioResult, rate_ratio_test
from spatial.evaluation.verdict import decide
from spatial.evaluation.windows import WINDOW_NAMES, Window, Windows, window_index

IntArray = npt.NDArray[np.int64]

#: Months in the monthly series, ending with the after window's last month.
SERIES_MONTHS: Final = 24
#: Most whole months before the before window that make the long-run level.
LONG_RUN_MONTHS: Final = 24
#: Fewest covered long-run months for the regression-to-the-mean and dispersion checks.
MIN_LONG_RUN_MONTHS: Final = 3
#: Most earlier years averaged for the seasonally expected counts.
SEASONAL_YEARS: Final = 3
#: The areas of the series, the seasonal expectation and the dispersion.
SERIES_AREAS: Final = ("target", "buffer", "control")
#: Verdict codes that claim nothing (a placebo with any other code "found" an effect).
NO_EFFECT_CODES: Final = ("no_significant_change", "insufficient_data")

SEASONAL_METHOD: Final = (
    "mean daily rate of the same after-window dates in the earlier years held, times this "
    "after window's length, scaled by the control's level change (its before-window rate now "
    "over its mean before-window rate in those years)")
RTM_METHOD: Final = (
    "exact conditional rate-ratio test (Krishnamoorthy & Thomson 2004) of the target's "
    "before-window rate against its rate over the whole months before the before window (up "
    "to 24); the expected change is the after window at the long-run rate minus the after "
    "window at the before-window rate (Barnett, van der Pols & Dobson 2005)")
DISPERSION_METHOD: Final = (
    "Pearson chi-squared / df of the long-run monthly counts around a flat daily rate "
    "(expected = rate x days of the month; McCullagh & Nelder 1989 s4.5); seasonality and "
    "trend count as extra variation")
PLACEBO_METHOD: Final = (
    "the same areas and window lengths moved back so that the placebo after window ends "
    "before the before window starts (by whole months for month-precision layers and "
    "whole-month designs, by days otherwise), decided as the evaluation is")


# --------------------------------------------------------------------------- dates


def month_code(d: date) -> int:
    """Months since year 0: ``12·year + month − 1`` (consecutive months differ by 1)."""
    return d.year * 12 + d.month - 1


def month_start(code: int) -> date:
    """First day of the month with :func:`month_code` ``code``."""
    return date(code // 12, code % 12 + 1, 1)


def month_days(code: int) -> int:
    return calendar.monthrange(code // 12, code % 12 + 1)[1]


def month_label(code: int) -> str:
    """``YYYY-MM``."""
    return f"{code // 12:04d}-{code % 12 + 1:02d}"


def shift_months(d: date, months: int, *, keep_month_end: bool = False) -> date:
    """``d`` moved by ``months`` calendar months; the day is clamped to the month's length
    (29 February 2020 − 12 months = 28 February 2019). With ``keep_month_end`` a month's
    last day moves to the last day of the new month (28 February 2019 − 2 months =
    31 December 2018), so a window of whole months stays whole."""
    code = month_code(d) + months
    if keep_month_end and d.day == month_days(month_code(d)):
        return date(code // 12, code % 12 + 1, month_days(code))
    return date(code // 12, code % 12 + 1, min(d.day, month_days(code)))


def shift_windows(windows: Windows, months: int) -> Windows:
    """Every window moved by ``months`` calendar months (negative: earlier).

    Moving dates by whole months keeps the whole-months rule of
    month-precision layers: the months a window holds move by the same
    number of months. An end on a month's last day stays on the last day.
    """
    def move(w: Window | None) -> Window | None:
        if w is None:
            return None
        return Window(w.name, shift_months(w.start, months),
                      shift_months(w.end, months, keep_month_end=True))

    before, after = move(windows.before), move(windows.after)
    assert before is not None and after is not None
    return Windows(before=before, after=after, during=move(windows.during))


def shift_days(windows: Windows, days: int) -> Windows:
    """Every window moved by ``days`` days (negative: earlier); lengths unchanged."""
    def move(w: Window | None) -> Window | None:
        if w is None:
            return None
        delta = timedelta(days=days)
        return Window(w.name, w.start + delta, w.end + delta)

    before, after = move(windows.before), move(windows.after)
    assert before is not None and after is not None
    return Windows(before=before, after=after, during=move(windows.during))


def first_month(window: Window, month_precision: bool) -> int:
    """:func:`month_code` of the window's first month: its first whole month for
    month-precision layers, else the month holding its first day."""
    if month_precision:
        months = window.whole_months()
        if months:
            return months[0][0] * 12 + months[0][1] - 1
        return month_code(window.start) + 1
    return month_code(window.start)


def earliest_day(windows: Windows, month_precision: bool) -> date:
    """The first day whose events a count over ``windows`` needs."""
    if month_precision:
        return month_start(first_month(windows.before, True))
    return windows.before.start


def whole_month_design(windows: Windows) -> bool:
    """The design starts on a month's first day and ends on a month's last day."""
    end = windows.after.end
    return windows.before.start.day == 1 and end.day == month_days(month_code(end))


def placebo_windows(windows: Windows, month_precision: bool) -> tuple[Windows, str]:
    """The design moved back so that its after window ends before the before window starts.

    Month-precision layers, and designs of whole calendar months, move by the
    months the design spans (first month of the before window to the last
    month of the after window), so each placebo window holds as many whole
    months as the real one and reads as months; other designs move by the
    days from the before window's first day to the after window's last day,
    so every length is kept to the day.

    Returns
    -------
    (Windows, str)
        The placebo windows and the shift in words (``"5 months"``).
    """
    if month_precision or whole_month_design(windows):
        span = (month_code(windows.after.end)
                - first_month(windows.before, month_precision) + 1)
        return shift_windows(windows, -span), f"{span} months"
    days = (windows.after.end - windows.before.start).days + 1
    return shift_days(windows, -days), f"{days} days"


def time_context_span(windows: Windows, *, seasonal_years: int = SEASONAL_YEARS
                      ) -> tuple[date, date]:
    """First and last day of the events a time context needs (both included).

    The 24-month series, the long-run months before the before window, the
    windows a year (and up to ``seasonal_years`` years) earlier and the
    placebo windows, for either time precision: what the service loads, and
    nothing older.
    """
    starts = [
        month_start(month_code(windows.after.end) - SERIES_MONTHS + 1),
        month_start(month_code(windows.before.start) - LONG_RUN_MONTHS),
        shift_windows(windows, -12 * max(1, seasonal_years)).before.start,
        placebo_windows(windows, True)[0].before.start,
        placebo_windows(windows, False)[0].before.start,
    ]
    return min(starts), windows.after.end


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class ShiftedEvaluation:
    """The evaluation's design on other dates (a year earlier, or the placebo period).

    Attributes
    ----------
    available : bool
        ``False`` when the data do not reach back to the shifted windows
        (``reason`` names the first date held) or no table can be formed.
    reason : str or None
    windows : Windows
        The shifted windows.
    shift : str
        The shift in words (``"12 months"``, ``"151 days"``).
    counts : dict or None
        ``area -> {before, during, after}`` counts in the shifted windows.
    lengths : dict or None
        Effective lengths of the shifted windows, days.
    verdict_code : str or None
        :func:`spatial.evaluation.verdict.decide` on the shifted table.
    tests : dict or None
        The verdict's tests.
    found_effect : bool or None
        The shifted verdict claims something (its code is not one of
        :data:`NO_EFFECT_CODES`).
    """

    available: bool
    reason: str | None
    windows: Windows
    shift: str
    counts: Mapping[str, Mapping[str, int]] | None = None
    lengths: Mapping[str, float | None] | None = None
    verdict_code: str | None = None
    tests: Mapping[str, Any] | None = None
    found_effect: bool | None = None

    def as_dict(self) -> dict[str, Any]:
        return jsonable({"available": self.available, "reason": self.reason,
                         "windows": self.windows.as_dict(), "shift": self.shift,
                         "counts": self.counts, "lengths_days": self.lengths,
                         "verdict_code": self.verdict_code, "tests": self.tests,
                         "found_effect": self.found_effect})


@dataclass(frozen=True)
class MonthlySeries:
    """Counts per calendar month and area.

    Attributes
    ----------
    months : tuple of str
        ``YYYY-MM``, oldest first, ending with the after window's last month.
    counts : dict
        ``area -> tuple`` of counts, ``None`` for months before the first
        stored event of the layer (unknown, not zero).
    window_of_month : tuple of str or None
        ``before``, ``during`` or ``after`` when the month's first day lies in
        that window, else ``None``.
    last_month_through : datetime.date
        Events are counted up to this day (the after window's end), so the
        last month is partial when it ends earlier.
    """

    months: tuple[str, ...]
    counts: Mapping[str, tuple[int | None, ...]]
    window_of_month: tuple[str | None, ...]
    last_month_through: date

    @property
    def missing_months(self) -> int:
        first = next(iter(self.counts.values()))
        return sum(v is None for v in first)

    def as_dict(self) -> dict[str, Any]:
        return {"months": list(self.months),
                "counts": {a: list(v) for a, v in self.counts.items()},
                "window_of_month": list(self.window_of_month),
                "last_month_through": self.last_month_through.isoformat(),
                "missing_months": self.missing_months}


@dataclass(frozen=True)
class SeasonalExpectation:
    """Counts expected in the after window from the same dates of earlier years.

    Attributes
    ----------
    available : bool
    reason : str or None
    years_back : tuple of int
        The earlier years used (1 = a year earlier).
    control_level_change : float or None
        The control's before-window rate now over its mean in those years.
    areas : dict
        ``area -> {observed, expected, ratio}`` (``ratio`` observed/expected,
        ``None`` when nothing was expected).
    method : str
    """

    available: bool
    reason: str | None
    years_back: tuple[int, ...] = ()
    control_level_change: float | None = None
    areas: Mapping[str, Mapping[str, float | None]] = field(default_factory=dict)
    method: str = SEASONAL_METHOD

    def as_dict(self) -> dict[str, Any]:
        return jsonable({"available": self.available, "reason": self.reason,
                         "years_back": list(self.years_back),
                         "control_level_change": self.control_level_change,
                         "areas": {a: dict(v) for a, v in self.areas.items()},
                         "method": self.method})


@dataclass(frozen=True)
class RegressionToMean:
    """Is the target's before window well above its own long-run rate, and by how much?

    Attributes
    ----------
    available : bool
    reason : str or None
    long_run_months : tuple of str
        The covered whole months before the before window (``YYYY-MM``).
    long_run_count, long_run_days : int, float
    before_count, before_days : int, float
        The target's before-window count and effective length.
    after_days : float
    test : RateRatioResult or None
        Long-run ("before") against the before window ("after").
    well_above : bool
        The before-window rate is significantly higher (``test.rise_flag``).
    expected_change_events : float or None
        Events in the after window at the long-run rate minus at the
        before-window rate (negative: the fall expected from regression to
        the mean alone).
    expected_change_percent : float or None
        The same as a percentage of the before-window rate.
    method : str
    """

    available: bool
    reason: str | None
    long_run_months: tuple[str, ...] = ()
    long_run_count: int = 0
    long_run_days: float = 0.0
    before_count: int = 0
    before_days: float = 0.0
    after_days: float = 0.0
    test: RateRatioResult | None = None
    well_above: bool = False
    expected_change_events: float | None = None
    expected_change_percent: float | None = None
    method: str = RTM_METHOD

    def as_dict(self) -> dict[str, Any]:
        return jsonable({"available": self.available, "reason": self.reason,
                         "long_run_months": list(self.long_run_months),
                         "long_run_count": self.long_run_count,
                         "long_run_days": self.long_run_days,
                         "before_count": self.before_count, "before_days": self.before_days,
                         "after_days": self.after_days,
                         "test": None if self.test is None else self.test.as_dict(),
                         "well_above": self.well_above,
                         "expected_change_events": self.expected_change_events,
                         "expected_change_percent": self.expected_change_percent,
                         "method": self.method})


@dataclass(frozen=True)
class Dispersion:
    """Pearson dispersion of one area's long-run monthly counts.

    Attributes
    ----------
    months : int
        Covered months used.
    total : int
        Events in them.
    chi2 : float or None
    df : int
        ``months − 1``.
    factor : float or None
        χ²/df: 1 for Poisson counts, above 1 overdispersed. ``None`` with a
        reason when it cannot be estimated.
    p_value : float or None
        Upper tail of χ²(df): small values reject equidispersion.
    reason : str or None
    """

    months: int
    total: int
    chi2: float | None
    df: int
    factor: float | None
    p_value: float | None
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return jsonable({"months": self.months, "total": self.total, "chi2": self.chi2,
                         "df": self.df, "factor": self.factor, "p_value": self.p_value,
                         "reason": self.reason})


@dataclass(frozen=True)
class LayerTimeContext:
    """The time context of one layer/category (see the module notes)."""

    key: str
    month_precision: bool
    first_stored: date | None
    year_earlier: ShiftedEvaluation
    series: MonthlySeries
    seasonal: SeasonalExpectation
    placebo: ShiftedEvaluation
    regression_to_mean: RegressionToMean
    dispersion: Mapping[str, Dispersion]

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "month_precision": self.month_precision,
                "first_stored": None if self.first_stored is None
                else self.first_stored.isoformat(),
                "year_earlier": self.year_earlier.as_dict(), "series": self.series.as_dict(),
                "seasonal": self.seasonal.as_dict(), "placebo": self.placebo.as_dict(),
                "regression_to_mean": self.regression_to_mean.as_dict(),
                "dispersion": {a: d.as_dict() for a, d in self.dispersion.items()}}


@dataclass(frozen=True)
class TimeContext:
    """The time context of every evaluated layer, and the settings used.

    Attributes
    ----------
    layers : tuple of LayerTimeContext
    alpha : float
    min_count : int or None
        The verdict floor passed to :func:`~spatial.evaluation.verdict.decide`.
    span : (date, date)
        Events needed, first and last day (:func:`time_context_span`).
    coverage_source : str
        ``"store"`` (first stored event per layer, given by the caller) or
        ``"events"`` (the first event of each layer among those given).
    """

    layers: tuple[LayerTimeContext, ...]
    alpha: float
    min_count: int | None
    span: tuple[date, date]
    coverage_source: str

    def layer(self, key: str) -> LayerTimeContext:
        for lt in self.layers:
            if lt.key == key:
                return lt
        raise KeyError(key)

    def parameters(self) -> dict[str, Any]:
        return {"series_months": SERIES_MONTHS, "long_run_months": LONG_RUN_MONTHS,
                "min_long_run_months": MIN_LONG_RUN_MONTHS, "seasonal_years": SEASONAL_YEARS,
                "alpha": self.alpha, "min_count": self.min_count,
                "span": [self.span[0].isoformat(), self.span[1].isoformat()],
                "coverage_source": self.coverage_source,
                "year_earlier": "the evaluation's windows moved back 12 calendar months, "
                                "counted and decided as the evaluation is",
                "placebo": PLACEBO_METHOD, "seasonal": SEASONAL_METHOD,
                "regression_to_mean": RTM_METHOD, "dispersion": DISPERSION_METHOD}


# --------------------------------------------------------------------------- counting


@dataclass(frozen=True, eq=False)
class _Placed:
    """Area (into AREA_NAMES) and month code of every event inside the span, -1 elsewhere."""

    area: IntArray
    month: IntArray
    in_span: npt.NDArray[np.bool_]


def _place(events: EventArrays, areas: OperationAreas, span: tuple[date, date]) -> _Placed:
    t = np.asarray(events.time, dtype="datetime64[ns]")
    lo = np.datetime64(span[0].isoformat(), "ns")
    hi = np.datetime64((span[1] + timedelta(days=1)).isoformat(), "ns")
    in_span = (t >= lo) & (t < hi)
    area = np.full(len(events), -1, dtype=np.int64)
    sel = np.flatnonzero(in_span)
    if sel.size:
        polys = np.array([areas.target, areas.buffer, areas.control, areas.buffer_control],
                         dtype=object)
        area[sel] = assign_areas(events.x[sel], events.y[sel], polys)
    months = t.astype("datetime64[M]").astype(np.int64) + 1970 * 12
    return _Placed(area=area, month=np.where(in_span, months, -1), in_span=in_span)


def _window_grid(times: npt.NDArray[np.datetime64], area: IntArray,
                 windows: Windows) -> dict[str, dict[str, int]]:
    """``area -> window -> count`` of placed events (one bincount)."""
    win = window_index(times, windows)
    ok = (win >= 0) & (area >= 0)
    grid = np.bincount(area[ok] * 3 + win[ok], minlength=12).reshape(4, 3)
    return {name: {wn: int(grid[i, j]) for j, wn in enumerate(WINDOW_NAMES)}
            for i, name in enumerate(AREA_NAMES)}


@dataclass(frozen=True)
class _Layer:
    """One layer's events (placed) and what the shifted evaluations need."""

    lc: LayerCounts
    times: npt.NDArray[np.datetime64]
    area: IntArray
    month: IntArray
    month_precision: bool
    first: date | None
    options: EvaluationOptions
    time_weighted: bool
    area_km2: Mapping[str, float | None] | None
    has_buffer_control: bool


def _shifted(layer: _Layer, windows: Windows, shift: str) -> ShiftedEvaluation:
    """Count and decide the evaluation's design on ``windows`` (or say why not)."""
    key = layer.lc.spec.key
    start = earliest_day(windows, layer.month_precision)
    if layer.first is None:
        return ShiftedEvaluation(False, f"the store holds no {layer.lc.spec.layer} events",
                                 windows, shift)
    if layer.first > start:
        return ShiftedEvaluation(
            False, f"{layer.lc.spec.layer} events are needed from {start.isoformat()}, but the "
                   f"first the store holds is dated {layer.first.isoformat()}",
            windows, shift)
    counts = _window_grid(layer.times, layer.area, windows)
    lengths = windows.lengths(layer.month_precision)
    lc = LayerCounts(spec=layer.lc.spec, areas=counts, rings=[], decay_before=[], decay_after=[],
                     lengths=lengths, month_precision=layer.month_precision,
                     location_precisions=[], n_events=0)
    tw = layer.time_weighted or lengths["before"] != lengths["after"]
    table, reason = lc.table(time_weighted=tw, area_km2=layer.area_km2,
                             has_buffer_control=layer.has_buffer_control)
    shown = {a: v for a, v in counts.items()
             if layer.has_buffer_control or a != "buffer_control"}
    if table is None:
        return ShiftedEvaluation(False, f"{key}: {reason}", windows, shift, shown, lengths)
    v = decide(table, alpha=layer.options.alpha, min_count=layer.options.min_count,
               role=layer.lc.spec.role, displacement_size=layer.options.displacement_size)
    return ShiftedEvaluation(True, None, windows, shift, shown, lengths, v.code, dict(v.tests),
                             v.code not in NO_EFFECT_CODES)


def _series(layer: _Layer, windows: Windows) -> MonthlySeries:
    last = month_code(windows.after.end)
    codes = np.arange(last - SERIES_MONTHS + 1, last + 1)
    counts = _month_grid(layer, int(codes[0]), SERIES_MONTHS)
    first = None if layer.first is None else month_code(layer.first)
    out: dict[str, tuple[int | None, ...]] = {}
    for i, name in enumerate(SERIES_AREAS):
        out[name] = tuple(None if first is None or c < first else int(counts[i, k])
                          for k, c in enumerate(codes.tolist()))
    return MonthlySeries(months=tuple(month_label(int(c)) for c in codes), counts=out,
                         window_of_month=tuple(_window_of(int(c), windows) for c in codes),
                         last_month_through=windows.after.end)


def _window_of(code: int, windows: Windows) -> str | None:
    d = month_start(code)
    for name, w in windows.items():
        if w is not None and w.start <= d <= w.end:
            return name
    return None


def _month_grid(layer: _Layer, first_code: int, n: int) -> IntArray:
    """Counts per area (AREA_NAMES order) × month ``first_code .. first_code + n − 1``."""
    rel = layer.month - first_code
    ok = (layer.area >= 0) & (rel >= 0) & (rel < n)
    return np.bincount(layer.area[ok] * n + rel[ok], minlength=4 * n).reshape(4, n)


def _long_run(layer: _Layer, windows: Windows) -> tuple[IntArray, IntArray, str | None]:
    """Month codes and per-area counts of the covered whole months before the before window."""
    end = first_month(windows.before, layer.month_precision)
    start = end - LONG_RUN_MONTHS
    if layer.first is not None:
        start = max(start, month_code(layer.first))
    codes = np.arange(start, end, dtype=np.int64)
    if layer.first is None:
        return codes[:0], np.zeros((4, 0), dtype=np.int64), (
            f"the store holds no {layer.lc.spec.layer} events")
    if codes.size < MIN_LONG_RUN_MONTHS:
        first_needed = month_label(end - MIN_LONG_RUN_MONTHS)
        return codes, np.zeros((4, codes.size), dtype=np.int64), (
            f"needs at least {MIN_LONG_RUN_MONTHS} whole months of {layer.lc.spec.layer} events "
            f"before the before window (from {first_needed}), but the first the store holds "
            f"is dated {layer.first.isoformat()}")
    return codes, _month_grid(layer, int(codes[0]), int(codes.size)), None


def _regression_to_mean(layer: _Layer, codes: IntArray, grid: IntArray,
                        reason: str | None) -> RegressionToMean:
    lc = layer.lc
    lb, la = lc.lengths["before"], lc.lengths["after"]
    if reason is None and not (lb and la):
        reason = "the before or after window holds no whole month of this layer"
    if reason is not None:
        return RegressionToMean(False, reason)
    assert lb is not None and la is not None
    days = float(sum(month_days(int(c)) for c in codes))
    n_long = int(grid[0].sum())
    tb = lc.count("target", "before")
    test = rate_ratio_test(n_long, days, tb, lb, alpha=layer.options.alpha)
    rate_long, rate_before = n_long / days, tb / lb
    change = (rate_long - rate_before) * la
    pct = None if rate_before == 0 else 100.0 * (rate_long / rate_before - 1.0)
    return RegressionToMean(True, None, tuple(month_label(int(c)) for c in codes), n_long, days,
                            tb, lb, la, test, test.rise_flag, change, pct)


def dispersion(counts: npt.ArrayLike, days: npt.ArrayLike) -> Dispersion:
    r"""Pearson dispersion factor of monthly counts around a flat daily rate.

    With counts y_t over d_t days, r̂ = Σy/Σd and E_t = r̂·d_t,

    .. math:: \hat\phi = \frac{1}{n-1}\sum_t \frac{(y_t - E_t)^2}{E_t}

    (McCullagh & Nelder 1989, §4.5). Under Poisson counts φ̂ ≈ 1 and
    (n−1)·φ̂ ~ χ²(n−1), whose upper tail is ``p_value``.

    Parameters
    ----------
    counts : array_like of int
        Events per month.
    days : array_like of float
        Days of each month (the exposure).
    """
    y = np.asarray(counts, dtype=float)
    d = np.asarray(days, dtype=float)
    if y.shape != d.shape or y.ndim != 1:
        raise ParameterError("dispersion", "counts and days must be 1-D and of equal length")
    if np.any(y < 0) or np.any(d <= 0):
        raise ParameterError("dispersion", "counts must be >= 0 and days > 0")
    n, total = int(y.size), int(y.sum())
    if n < 2:
        return Dispersion(n, total, None, max(n - 1, 0), None, None,
                          "needs at least 2 months")
    if total == 0:
        return Dispersion(n, 0, None, n - 1, None, None,
                          "no events in the long-run months: no rate to vary around")
    expected = total / d.sum() * d
    chi2 = float(np.sum((y - expected) ** 2 / expected))
    return Dispersion(n, total, chi2, n - 1, chi2 / (n - 1), float(stats.chi2.sf(chi2, n - 1)))


def _seasonal(layer: _Layer, windows: Windows, seasonal_years: int) -> SeasonalExpectation:
    lc = layer.lc
    lb, la = lc.lengths["before"], lc.lengths["after"]
    if not (lb and la):
        return SeasonalExpectation(False, "the before or after window holds no whole month of "
                                          "this layer")
    years: list[int] = []
    grids: list[tuple[dict[str, dict[str, int]], dict[str, float | None]]] = []
    for k in range(1, seasonal_years + 1):
        wk = shift_windows(windows, -12 * k)
        if layer.first is None or layer.first > earliest_day(wk, layer.month_precision):
            break
        years.append(k)
        grids.append((_window_grid(layer.times, layer.area, wk), wk.lengths(layer.month_precision)))
    if not years:
        wk = shift_windows(windows, -12)
        first = ("no events" if layer.first is None
                 else f"its first event dated {layer.first.isoformat()}")
        return SeasonalExpectation(
            False, f"needs the same windows at least a year earlier (from "
                   f"{earliest_day(wk, layer.month_precision).isoformat()}); the store holds "
                   f"{first} for {lc.spec.layer}")
    ctrl_then = float(np.mean([g["control"]["before"] / float(ln["before"] or np.nan)
                               for g, ln in grids]))
    if not ctrl_then > 0:
        return SeasonalExpectation(False, "the control recorded no events in the before windows "
                                          "of the earlier years, so its level change is "
                                          "undefined", tuple(years))
    level = lc.count("control", "before") / lb / ctrl_then
    out: dict[str, dict[str, float | None]] = {}
    for a in SERIES_AREAS:
        rate = float(np.mean([g[a]["after"] / float(ln["after"] or np.nan) for g, ln in grids]))
        expected = rate * la * level
        observed = lc.count(a, "after")
        out[a] = {"observed": observed, "expected": expected,
                  "ratio": observed / expected if expected > 0 else None}
    return SeasonalExpectation(True, None, tuple(years), level, out)


# --------------------------------------------------------------------------- entry point


def time_context(events: EventArrays, areas: OperationAreas, windows: Windows,
                 counts: Mapping[str, LayerCounts], *, options: EvaluationOptions | None = None,
                 time_weighted: bool = False,
                 coverage: Mapping[str, date | None] | None = None,
                 seasonal_years: int = SEASONAL_YEARS) -> TimeContext:
    """The time context of every evaluated layer (see the module notes).

    Parameters
    ----------
    events : EventArrays
        Events from at least :func:`time_context_span` of ``windows`` to the
        after window's end (older or later events are ignored).
    areas : OperationAreas
        Must have a control.
    windows : Windows
    counts : mapping of key to LayerCounts
        The evaluation's counts (locked before counts when locked): the
        target's before count of the regression-to-the-mean check and the
        observed after counts of the seasonal expectation come from here.
    options : EvaluationOptions, optional
        ``alpha`` and ``min_count`` of the shifted verdicts, ``area_weights``.
    time_weighted : bool
        The evaluation divides counts by window lengths; the shifted tables
        do too (and whenever their own before and after lengths differ).
    coverage : mapping of layer name to date or None, optional
        The first day the store holds an event of each layer. Months before
        it are missing, and shifted windows before it are unavailable. When
        omitted, the first event of each layer among ``events`` is used.
    seasonal_years : int
        Most earlier years in the seasonal expectation (1-10).

    Returns
    -------
    TimeContext
    """
    opts = options or EvaluationOptions()
    if areas.control is None:
        raise ParameterError("control", "a time context needs a control area")
    if not 1 <= int(seasonal_years) <= 10:
        raise ParameterError("seasonal_years", f"must be 1-10, got {seasonal_years!r}")
    span = time_context_span(windows, seasonal_years=seasonal_years)
    placed = _place(events, areas, span)
    area_km2 = ({a: areas.area_km2(a) for a in AREA_NAMES} if opts.area_weights else None)
    has_bc = areas.buffer_control is not None
    first_of = _coverage(events, coverage)
    # only events in an area are ever counted (every grid drops area -1): the layers
    # are taken from those alone
    counted = np.flatnonzero(placed.in_span & (placed.area >= 0))
    times = np.asarray(events.time, dtype="datetime64[ns]")[counted]
    area, months = placed.area[counted], placed.month[counted]
    layers = []
    for key, lc in counts.items():
        hit = lc.spec.matches(events.layer, events.category)
        month = lc.month_precision or bool(np.any(
            events.time_precision[hit & placed.in_span] == "month"))
        mask = hit[counted]
        layer = _Layer(lc=lc, times=times[mask],
                       area=area[mask], month=months[mask], month_precision=month,
                       first=first_of.get(lc.spec.layer), options=opts,
                       time_weighted=time_weighted, area_km2=area_km2, has_buffer_control=has_bc)
        pw, pshift = placebo_windows(windows, month)
        codes, grid, lr_reason = _long_run(layer, windows)
        days = np.array([month_days(int(c)) for c in codes], dtype=float)
        disp = {a: (dispersion(grid[i], days) if lr_reason is None
                    else Dispersion(int(codes.size), 0, None, max(int(codes.size) - 1, 0), None,
                                    None, lr_reason))
                for i, a in enumerate(SERIES_AREAS)}
        layers.append(LayerTimeContext(
            key=key, month_precision=month, first_stored=layer.first,
            year_earlier=_shifted(layer, shift_windows(windows, -12), "12 months"),
            series=_series(layer, windows),
            seasonal=_seasonal(layer, windows, int(seasonal_years)),
            placebo=_shifted(layer, pw, pshift),
            regression_to_mean=_regression_to_mean(layer, codes, grid, lr_reason),
            dispersion=disp))
    return TimeContext(layers=tuple(layers), alpha=opts.alpha, min_count=opts.min_count,
                       span=span, coverage_source="events" if coverage is None else "store")


def _coverage(events: EventArrays, coverage: Mapping[str, date | None] | None
              ) -> dict[str, date | None]:
    """First day held per layer: as given, or the first event of each layer given."""
    if coverage is not None:
        out: dict[str, date | None] = {}
        for name, d in coverage.items():
            if d is not None and not isinstance(d, date):
                raise ParameterError("coverage", f"{name}: expected a date, got {d!r}")
            out[name] = d
        return out
    found: dict[str, date | None] = {}
    if len(events) == 0:
        return found
    layers = np.asarray(events.layer, dtype=object)
    t = np.asarray(events.time, dtype="datetime64[D]")
    for name in np.unique(layers).tolist():
        found[str(name)] = t[layers == name].min().astype(object)
    return found
