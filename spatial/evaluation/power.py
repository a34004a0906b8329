"""Planning: the smallest change an evaluation can detect, and the after window it needs.

Both invert the power of the Wheeler & Ratcliffe (2018) z-test (the local
effect or the total WDD of :mod:`spatial.evaluation.wdd`) for a baseline of
before-window counts.

References
----------
Wheeler, A. P. & Ratcliffe, J. H. (2018). A simple weighted displacement
    difference test to evaluate place based crime interventions. *Crime
    Science* 7:11.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

from spatial.errors import ParameterError
from spatial.evaluation.count_table import (
    AREA_NAMES,
    Baseline,
    CountTable,
    check_alpha,
    check_count,
    check_positive,
    jsonable,
)
from spatial.evaluation.normal import z_crit, z_power


@dataclass(frozen=True)
class DetectableChange:
    """Result of :func:`minimum_detectable_change`."""

    reduction: float | None
    reduction_fraction: float | None
    expected_after: float
    effect: float | None
    variance_under_h1: float | None
    time_ratio: float
    alpha: float
    power: float
    test: str
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return jsonable(asdict(self))


@dataclass(frozen=True)
class WindowNeeded:
    """Result of :func:`after_window_needed`."""

    time_ratio: float | None
    after_days: float | None
    before_days: float | None
    reduction_fraction: float
    best_fraction: float | None
    alpha: float
    power: float
    test: str
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return jsonable(asdict(self))


def _planning_cells(baseline: Baseline, test: str) -> tuple[float, float, float]:
    """(T_b, a_T, S) where S = Σ c²·X_b/a² over the cells of the test."""
    if test not in ("local", "wdd"):
        raise ParameterError("test", f"unknown test {test!r}; use local or wdd")
    if isinstance(baseline, CountTable):
        counts = {area: baseline.count(area, "before") for area in AREA_NAMES}
        shared = not baseline.has_buffer_control
        areas = {area: baseline.area(area) for area in AREA_NAMES}
    else:
        if "target" not in baseline or "control" not in baseline:
            raise ParameterError("baseline", "needs at least 'target' and 'control' counts")
        if test == "wdd" and "buffer" not in baseline:
            raise ParameterError("baseline", "the wdd test needs a 'buffer' count")
        for key, value in baseline.items():
            if key not in AREA_NAMES:
                raise ParameterError("baseline", f"unknown area {key!r}")
            check_count(f"baseline[{key}]", value)
        shared = "buffer_control" not in baseline
        counts = {area: float(baseline.get(area, 0.0)) for area in AREA_NAMES}
        if shared:
            counts["buffer_control"] = counts["control"]
        areas = dict.fromkeys(AREA_NAMES, 1.0)
    tb, a_t = counts["target"], areas["target"]
    if test == "local":
        s = tb / a_t**2 + counts["control"] / areas["control"] ** 2
    elif shared:
        s = (tb / a_t**2 + counts["buffer"] / areas["buffer"] ** 2
             + 4.0 * counts["control"] / areas["control"] ** 2)
    else:
        s = (tb / a_t**2 + counts["buffer"] / areas["buffer"] ** 2
             + counts["control"] / areas["control"] ** 2
             + counts["buffer_control"] / areas["buffer_control"] ** 2)
    return tb, a_t, s


def minimum_detectable_change(baseline: Baseline, time_ratio: float = 1.0, alpha: float = 0.05,
                              power: float = 0.8, *,
                              test: Literal["local", "wdd"] = "local") -> DetectableChange:
    r"""Smallest reduction in the target that the WDD z-test detects with the given power.

    Set-up: the before window has the baseline counts X_b; the after window is
    k = ``time_ratio`` times as long, and is weighted by k (before by 1), so
    effects are in before-window units. Under H₁ every area keeps its rate
    (expected after count k·X_b) except the target, whose expected after
    count is k·T_b − δ. The estimate is then E = −δ/(k·a_T) and, the
    variance being the sum of the counts (each x/w² with w = time × area
    weight; c the coefficient of a cell, 2 for a control shared by both
    comparisons of the total WDD),

    .. math::
        V(\delta) = \underbrace{(1 + 1/k)\sum_{\text{cells}} c^2 X_b / a^2}_{V_0}
                    - \frac{\delta}{k^2 a_T^2}.

    Detection with power 1−β at two-sided level α (ignoring the far tail)
    needs |E| = (z_{1−α/2} + z_{1−β})·√V(δ). With Z = z_{1−α/2} + z_{1−β},
    squaring gives the quadratic δ² + Z²δ − Z²V₀k²a_T² = 0, whose positive
    root is

    .. math:: \delta = \frac{-Z^2 + \sqrt{Z^4 + 4 Z^2 V_0 k^2 a_T^2}}{2}.

    Worked example (no area weights, k = 1, T_b = C_b = 100, local test):
    V₀k²a_T² = 2·200 = 400, Z = 1.95996 + 0.84162 = 2.80158, Z² = 7.84888,
    δ = (−7.84888 + √(61.605 + 12558.2))/2 ≈ 52.25 events, i.e. 52 % of the
    expected 100.

    Parameters
    ----------
    baseline : CountTable or mapping
        Before-window counts (a CountTable's after counts are ignored; its area
        weights are used), or a mapping with ``target``, ``control`` and for
        ``test="wdd"`` ``buffer`` and optionally ``buffer_control``.
    time_ratio : float
        After-window length / before-window length.
    test : {"local", "wdd"}
        The local effect (target vs control, 4 counts) or the total WDD.

    Returns
    -------
    DetectableChange
        ``reduction`` δ in after-window events, ``reduction_fraction``
        δ/(k·T_b), ``effect`` = −δ/(k·a_T) on the test's weighted scale;
        ``None`` with a reason when the baseline target is 0 or even a 100 %
        reduction would not be detected.
    """
    check_alpha(alpha)
    if not (0 < power < 1):
        raise ParameterError("power", f"must be strictly between 0 and 1, got {power!r}")
    check_positive("time_ratio", time_ratio)
    tb, a_t, s = _planning_cells(baseline, test)
    k = float(time_ratio)
    expected = k * tb
    if tb == 0:
        return DetectableChange(None, None, 0.0, None, None, k, alpha, power, test,
                                "target before count is 0: there is nothing to reduce")
    zsum = z_crit(alpha) + z_power(power)
    z2 = zsum * zsum
    v0 = (1.0 + 1.0 / k) * s
    delta = (-z2 + math.sqrt(z2 * z2 + 4.0 * z2 * v0 * k * k * a_t * a_t)) / 2.0
    var_h1 = v0 - delta / (k * k * a_t * a_t)
    if delta > expected:
        return DetectableChange(None, None, expected, None, None, k, alpha, power, test,
                                f"even a 100 % reduction (all {expected:g} expected events) "
                                f"would not be detected with {power:.0%} power at α = {alpha:g}")
    return DetectableChange(delta, delta / expected, expected, -delta / (k * a_t), var_h1, k,
                            alpha, power, test)


def after_window_needed(baseline: Baseline, reduction_fraction: float, alpha: float = 0.05,
                        power: float = 0.8, *, max_ratio: float = 12.0,
                        before_days: float | None = None,
                        test: Literal["local", "wdd"] = "local") -> WindowNeeded:
    r"""After-window length needed to detect a stated fractional reduction in the target.

    With δ = f·k·T_b in the quadratic of :func:`minimum_detectable_change`
    and V₀ = (1 + 1/k)·S, S = Σ c²X_b/a², dividing by k gives a linear
    equation in k:

    .. math::
        k = \frac{Z^2 (S a_T^2 - f T_b)}{f^2 T_b^2 - Z^2 S a_T^2}.

    The before window's own noise puts a floor under what any after window
    can detect: as k → ∞ the detectable fraction falls to
    f_∞ = Z·a_T·√S / T_b (``best_fraction``). If f ≤ f_∞ no length will do;
    if k > ``max_ratio`` the answer is ``None`` with the reason.

    Parameters
    ----------
    reduction_fraction : float
        f in (0, 1]: e.g. 0.3 for a 30 % reduction.
    before_days : float, optional
        Length of the before window in days, to express the answer in days.
        Defaults to the CountTable's ``before_length`` if it has one.
    """
    check_alpha(alpha)
    if not (0 < power < 1):
        raise ParameterError("power", f"must be strictly between 0 and 1, got {power!r}")
    if not (isinstance(reduction_fraction, int | float) and 0 < reduction_fraction <= 1):
        raise ParameterError("reduction_fraction", f"must be in (0, 1], got {reduction_fraction!r}")
    check_positive("max_ratio", max_ratio)
    check_positive("before_days", before_days)
    if before_days is None and isinstance(baseline, CountTable) and baseline.has_time_weights:
        before_days = float(baseline.before_length or 0.0)
    tb, a_t, s = _planning_cells(baseline, test)
    f = float(reduction_fraction)
    if tb == 0:
        return WindowNeeded(None, None, before_days, f, None, alpha, power, test,
                            "target before count is 0: there is nothing to reduce")
    zsum = z_crit(alpha) + z_power(power)
    z2 = zsum * zsum
    best = zsum * a_t * math.sqrt(s) / tb
    denom = f * f * tb * tb - z2 * s * a_t * a_t
    if denom <= 0:
        return WindowNeeded(None, None, before_days, f, best, alpha, power, test,
                            f"a {f:.0%} reduction cannot be detected with {power:.0%} power at "
                            f"any after-window length: the before window's counts limit the "
                            f"smallest detectable reduction to {best:.0%}")
    k = z2 * (s * a_t * a_t - f * tb) / denom
    if k <= 0:
        return WindowNeeded(0.0, 0.0 if before_days is not None else None, before_days, f,
                            best, alpha, power, test,
                            "detectable with an after window of any length")
    if k > max_ratio:
        return WindowNeeded(None, None, before_days, f, best, alpha, power, test,
                            f"needs an after window {k:.1f} times the before window, more "
                            f"than the maximum {max_ratio:g}")
    return WindowNeeded(k, k * before_days if before_days is not None else None, before_days, f,
                        best, alpha, power, test)
