r"""Ratio of rate ratios: the operation effect as a multiplicative, trend-robust test.

The WDD (:mod:`spatial.evaluation.wdd`) adds: it expects the target to change
by as many events as its control. Crime trends multiply: a force-wide rise of
20 % adds 20 events to an area with 100 and 80 to one with 400, so when the
target and its control start from different levels a shared trend alone makes
the WDD non-zero. The ratio of rate ratios compares *relative* changes,

.. math::
    \hat\rho = \frac{A_a / A_b}{C_a / C_b},

which a shared multiplicative trend leaves at 1 whatever the levels, and in
which window lengths and area weights cancel (both areas share the windows;
an area's size divides its before and after counts alike). With Poisson
counts, the log ratio has the delta-method variance

.. math::
    \operatorname{Var}\log\hat\rho = \frac1{A_b} + \frac1{A_a}
        + \frac1{C_b} + \frac1{C_a}

(the log odds ratio of the 2 × 2 table [[A_b, A_a], [C_b, C_a]]; Woolf 1955),
giving a Wald z-test, a two-sided p-value and an interval
exp(log ρ̂ ± z_{1−α/2}·SE). When a cell is 0, 0.5 is added to every cell
(Haldane 1956) and the result says so.

An overdispersion factor φ ≥ 1 (e.g. estimated from a long monthly series)
multiplies the variance.

References
----------
Woolf, B. (1955). On estimating the relation between blood group and disease.
    *Annals of Human Genetics* 19, 251-253.
Haldane, J. B. S. (1956). The estimation and significance of the logarithm of
    a ratio of frequencies. *Annals of Human Genetics* 20, 309-311.
Rothman, K. J., Greenland, S. & Lash, T. L. (2008). *Modern Epidemiology*,
    3rd ed., ch. 14 (ratio measures of Poisson rates).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Final

from spatial.errors import ParameterError
from spatial.evaluation.count_table import CountTable, check_alpha, check_count, jsonable
from spatial.evaluation.normal import two_sided_p, z_crit, z_power

#: The three comparisons of an operation, in the order they are tested.
RATIO_TESTS: Final = ("local", "displacement", "net")


@dataclass(frozen=True)
class RatioTest:
    """A Wald test of a ratio of rate ratios (area A against its comparison C).

    Attributes
    ----------
    name : str
        ``local`` (target vs control), ``displacement`` (buffer vs buffer
        control) or ``net`` (target + buffer vs control).
    a_before, a_after, c_before, c_after : float
        The four counts.
    ratio : float or None
        (A_a/A_b)/(C_a/C_b) (Haldane-corrected when a cell is 0); ``None``
        when untestable.
    log_se : float or None
        Standard error of log ratio (× √φ).
    z, p_value : float or None
        Wald z and its two-sided normal p-value.
    ci_low, ci_high : float or None
        Interval for the ratio at 1 − α (``ci_high`` ``None`` as well when the
        interval is unbounded, e.g. counts far below 1).
    p_adjusted : float or None
        The p-value after the verdict's correction (set by the verdict; equal
        to ``p_value`` when the test is used alone).
    alpha : float
    dispersion : float
        Overdispersion factor φ applied to the variance (1 = Poisson).
    haldane : bool
        0.5 was added to every cell because one was 0.
    reason : str or None
        Why there is no test.
    """

    name: str
    a_before: float
    a_after: float
    c_before: float
    c_after: float
    ratio: float | None
    log_se: float | None
    z: float | None
    p_value: float | None
    ci_low: float | None
    ci_high: float | None
    p_adjusted: float | None
    alpha: float
    dispersion: float = 1.0
    haldane: bool = False
    reason: str | None = None

    @property
    def significant(self) -> bool:
        """Adjusted two-sided p < α."""
        return self.p_adjusted is not None and self.p_adjusted < self.alpha

    @property
    def direction(self) -> int:
        """−1 significantly below 1 (a relative fall), +1 above, else 0."""
        if not self.significant or self.ratio is None:
            return 0
        return -1 if self.ratio < 1 else 1

    @property
    def percent_change(self) -> float | None:
        """100·(ratio − 1): the relative change against the comparison, per cent."""
        return None if self.ratio is None else 100.0 * (self.ratio - 1.0)

    def with_adjusted(self, p_adjusted: float | None) -> RatioTest:
        return RatioTest(**{**asdict(self), "p_adjusted": p_adjusted})

    def as_dict(self) -> dict[str, Any]:
        out = jsonable(asdict(self))
        out["significant"] = self.significant
        out["direction"] = self.direction
        out["percent_change"] = self.percent_change
        return out


def ratio_test(name: str, a_before: float, a_after: float, c_before: float, c_after: float,
               alpha: float = 0.05, *, dispersion: float = 1.0) -> RatioTest:
    """Wald test of (A_a/A_b)/(C_a/C_b) = 1 on the log scale (see the module docstring).

    No test (``reason`` set, ``ratio`` None) when A or C has no events in
    either period: the relative change of an area with nothing is undefined.
    """
    check_alpha(alpha)
    for field, value in (("a_before", a_before), ("a_after", a_after),
                         ("c_before", c_before), ("c_after", c_after)):
        check_count(field, value)
    if not (math.isfinite(dispersion) and dispersion >= 1.0):
        raise ParameterError("dispersion", f"must be a finite number >= 1, got {dispersion!r}")
    xab, xaa, xcb, xca = float(a_before), float(a_after), float(c_before), float(c_after)
    if xab + xaa == 0 or xcb + xca == 0:
        which = "compared area" if xab + xaa == 0 else "comparison area"
        return RatioTest(name, xab, xaa, xcb, xca, None, None, None, None, None, None, None,
                         alpha, dispersion, False,
                         f"the {which} recorded nothing before or after: no relative change "
                         "to test")
    haldane = min(xab, xaa, xcb, xca) == 0
    shift = 0.5 if haldane else 0.0
    ab, aa, cb, ca = xab + shift, xaa + shift, xcb + shift, xca + shift
    log_ratio = math.log(aa / ab) - math.log(ca / cb)
    se = math.sqrt(dispersion * (1 / ab + 1 / aa + 1 / cb + 1 / ca))
    z = log_ratio / se
    p = two_sided_p(z)
    half = z_crit(alpha) * se
    if abs(log_ratio) > 700.0:  # beyond a float's exp: no count table is this lopsided
        raise ParameterError("counts", f"{name}: the before and after counts differ by a factor "
                             "too large to compare (more than e^700)")
    # an interval wider than a float holds (counts far below 1) is unbounded on that side
    low = math.exp(log_ratio - half) if log_ratio - half > -700.0 else 0.0
    high = math.exp(log_ratio + half) if log_ratio + half < 700.0 else None
    return RatioTest(name, xab, xaa, xcb, xca, math.exp(log_ratio), se, z, p, low, high, p,
                     alpha, dispersion, haldane)


def operation_ratio_tests(table: CountTable, alpha: float = 0.05, *,
                          dispersion: float = 1.0) -> dict[str, RatioTest]:
    """The local, displacement and net ratio tests of an operation's count table.

    - ``local``: target against control;
    - ``displacement``: buffer against the buffer control (the control when
      the table has none);
    - ``net``: target + buffer together against the control + buffer
      control (the control alone when there is no separate buffer control):
      did the whole operation area fare worse or better than its comparison?

    Counts are used as they are (window lengths and area weights cancel in
    a ratio of rate ratios). p-values are unadjusted here; see
    :func:`holm`.
    """
    def c(area: str, period: str) -> float:
        return table.count(area, period)

    out = {"local": ratio_test("local", c("target", "before"), c("target", "after"),
                               c("control", "before"), c("control", "after"), alpha,
                               dispersion=dispersion),
           "displacement": ratio_test("displacement", c("buffer", "before"), c("buffer", "after"),
                                      c("buffer_control", "before"),
                                      c("buffer_control", "after"), alpha,
                                      dispersion=dispersion)}
    cb, ca = c("control", "before"), c("control", "after")
    if table.has_buffer_control:
        cb, ca = cb + c("buffer_control", "before"), ca + c("buffer_control", "after")
    out["net"] = ratio_test("net", c("target", "before") + c("buffer", "before"),
                            c("target", "after") + c("buffer", "after"), cb, ca, alpha,
                            dispersion=dispersion)
    return out


def holm(tests: dict[str, RatioTest]) -> dict[str, RatioTest]:
    """Holm's (1979) step-down adjusted p-values over the tests that ran.

    p̃_(i) = max_{j ≤ i} min(1, (m − j + 1)·p_(j)) over the m tests with a
    p-value, sorted ascending. Holm controls the chance of any false claim
    among the family at α under any dependence between the tests, which is
    what a verdict built from several tests needs.

    Holm, S. (1979). A simple sequentially rejective multiple test procedure.
    *Scandinavian Journal of Statistics* 6(2), 65-70.
    """
    ran = sorted((t.p_value, name) for name, t in tests.items() if t.p_value is not None)
    m = len(ran)
    adjusted: dict[str, float] = {}
    running = 0.0
    for j, (p, name) in enumerate(ran):
        running = max(running, min(1.0, (m - j) * p))
        adjusted[name] = running
    return {name: t.with_adjusted(adjusted.get(name)) for name, t in tests.items()}


@dataclass(frozen=True)
class DetectableRise:
    """The smallest relative rise in the buffer the displacement test would detect.

    ``percent`` is 100·(ρ − 1) for the smallest ρ detected with ``power`` at
    the two-sided level ``alpha`` (``None`` with ``reason`` when the buffer
    or its comparison recorded nothing before, or the control nothing after).
    """

    percent: float | None
    alpha: float
    power: float
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return jsonable(asdict(self))


def detectable_rise(b_before: float, c_before: float, c_after: float, *, alpha: float = 0.05,
                    power: float = 0.8, dispersion: float = 1.0) -> DetectableRise:
    r"""Smallest buffer rise (ratio ρ > 1) the log-ratio test detects with ``power``.

    Under H₁ the buffer's expected after count is B_b·r·ρ with r = C_a/C_b
    (the comparison's change), so

    .. math::
        \log\rho = (z_{1-\alpha/2} + z_{\text{power}})
        \sqrt{\phi\,(1/B_b + 1/(B_b r\rho) + 1/C_b + 1/C_a)},

    solved by fixed-point iteration (the right side falls as ρ grows, so the
    iteration converges from ρ = 1). Before counts stand in for the expected
    counts, the usual planning approximation.
    """
    check_alpha(alpha)
    if not (0 < power < 1):
        raise ParameterError("power", f"must be strictly between 0 and 1, got {power!r}")
    if b_before <= 0:
        return DetectableRise(None, alpha, power,
                              "no events in the buffer before: no rise can be measured against "
                              "nothing")
    if c_before <= 0 or c_after <= 0:
        return DetectableRise(None, alpha, power,
                              "the buffer's comparison area recorded nothing in a period")
    k = z_crit(alpha) + z_power(power)
    r = c_after / c_before
    base = 1 / b_before + 1 / c_before + 1 / c_after
    rho = 1.0
    for _ in range(200):
        new = math.exp(k * math.sqrt(dispersion * (base + 1 / (b_before * r * rho))))
        if abs(new - rho) < 1e-12:
            break
        rho = new
    return DetectableRise(100.0 * (rho - 1.0), alpha, power)


def detectable_fall(t_before: float, c_before: float, c_after: float, *, alpha: float,
                    power: float = 0.8, dispersion: float = 1.0) -> float | None:
    r"""Smallest fall (per cent) in the target the log ratio test detects with ``power``.

    The mirror of :func:`spatial.evaluation.rate_ratios.detectable_rise`: with
    the target's expected after count T_b·r·ρ (r = C_a/C_b), the smallest
    fall 1 − ρ with

    .. math::
        \log(1/\rho) \ge (z_{1-\alpha/2} + z_{\text{power}})
        \sqrt{\phi\,(1/T_b + 1/(T_b r\rho) + 1/C_b + 1/C_a)}.

    As ρ → 0 the right side grows without bound (an after count near 0 has a
    huge log variance), so a small baseline may detect no fall at all:
    ``None`` then ("even a complete stop could not be detected"), and when a
    count is 0. Searched on a 0.1 % grid of falls, then bisected.
    """
    if t_before <= 0 or c_before <= 0 or c_after <= 0:
        return None
    k = z_crit(alpha) + z_power(power)
    try:
        r = c_after / c_before
        base = 1.0 / t_before + 1.0 / c_before + 1.0 / c_after
    except (ZeroDivisionError, OverflowError):
        return None

    def margin(fall: float) -> float:
        rho = 1.0 - fall
        try:
            return -math.log(rho) - k * math.sqrt(dispersion * (base + 1.0 / (t_before * r * rho)))
        except (ZeroDivisionError, OverflowError):  # a count too close to 0 for a float
            return -math.inf

    previous = 0.0
    for step in range(1, 1000):
        f = step / 1000.0
        if margin(f) >= 0:
            lo, hi = previous, f
            for _ in range(40):
                mid = 0.5 * (lo + hi)
                lo, hi = (lo, mid) if margin(mid) >= 0 else (mid, hi)
            return 100.0 * hi
        previous = f
    return None
