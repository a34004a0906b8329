"""Exact conditional test of a change in an event rate (the overdose watch).

References
----------
Clopper, C. J. & Pearson, E. S. (1934). The use of confidence or fiducial
    limits illustrated in the case of the binomial. *Biometrika* 26, 404-413.
Krishnamoorthy, K. & Thomson, J. (2004). A more powerful test for comparing
    two Poisson means. *J. Statistical Planning and Inference* 119, 23-35
    (the conditional "C-test" used by :func:`rate_ratio_test`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from spatial.evaluation.binomial import binom_test_pvalue, clopper_pearson
from spatial.evaluation.count_table import check_alpha, check_count, check_positive, jsonable


def share_to_ratio(share: float, scale: float) -> float | None:
    """share/(1−share)·scale, ``None`` when share = 1 (infinite).

    Maps a binomial share π of the after period to a rate ratio: with
    exposures e_b, e_a, ρ = π/(1−π)·e_b/e_a.
    """
    if share >= 1.0:
        return None
    return share / (1.0 - share) * scale


@dataclass(frozen=True)
class RateRatioResult:
    """Exact conditional comparison of two Poisson rates."""

    before_count: int
    before_exposure: float
    after_count: int
    after_exposure: float
    rate_before: float
    rate_after: float
    rate_ratio: float | None
    p_value: float | None
    ci_low: float | None
    ci_high: float | None
    alpha: float
    rise_flag: bool
    fall_flag: bool
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return jsonable(asdict(self))


def rate_ratio_test(before_count: int, before_exposure: float, after_count: int,
                    after_exposure: float, alpha: float = 0.05) -> RateRatioResult:
    r"""Exact conditional test of a change in an event rate (the overdose watch).

    With X_b ~ Poisson(λ_b e_b), X_a ~ Poisson(λ_a e_a) and n = X_b + X_a,

    .. math::
        X_a \mid n \sim \mathrm{Binomial}\!\left(n,\ \pi\right),\quad
        \pi = \frac{\rho\, e_a}{e_b + \rho\, e_a},\quad
        \rho = \lambda_a/\lambda_b

    so H₀: ρ = 1 is the binomial test with π₀ = e_a/(e_a + e_b)
    (two-sided, R's ``binom.test`` convention; :mod:`spatial.evaluation.binomial`,
    ``scipy.stats.binomtest``'s floats),
    the rate ratio is ρ̂ = (X_a/e_a)/(X_b/e_b), and the Clopper-Pearson
    interval [π_L, π_U] maps to ρ = π/(1−π)·e_b/e_a. Exposures are window
    lengths (days) or person-time.

    ``rise_flag``: p < α and the after rate is higher. ``fall_flag``: p < α
    and lower. With X_b = 0 the ratio and the upper limit are infinite
    (``None``, with a reason) but the test still runs; with n = 0 nothing can
    be tested.
    """
    check_alpha(alpha)
    check_count("before_count", before_count, integer=True)
    check_count("after_count", after_count, integer=True)
    check_positive("before_exposure", before_exposure)
    check_positive("after_exposure", after_exposure)
    xb, xa = int(before_count), int(after_count)
    eb, ea = float(before_exposure), float(after_exposure)
    rb, ra = xb / eb, xa / ea
    n = xb + xa
    if n == 0:
        return RateRatioResult(xb, eb, xa, ea, rb, ra, None, None, None, None, alpha, False,
                               False, "no events before or after: nothing to test")
    p = binom_test_pvalue(xa, n, ea / (ea + eb))
    ci_low, ci_high = clopper_pearson(xa, n, 1.0 - alpha)
    scale = eb / ea
    lo = share_to_ratio(ci_low, scale)
    hi = share_to_ratio(ci_high, scale)
    reason = None
    rr: float | None = None
    if xb == 0:
        reason = "before count is 0: the rate ratio and its upper limit are infinite"
    else:
        rr = ra / rb
    significant = p < alpha
    return RateRatioResult(xb, eb, xa, ea, rb, ra, rr, p, lo, hi, alpha,
                           significant and ra > rb, significant and ra < rb, reason)
