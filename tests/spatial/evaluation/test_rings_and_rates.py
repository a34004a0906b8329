"""Tests of distance decay and the rate-ratio test against exact binomial calculations."""

from __future__ import annotations

import json
import math

import pytest
from scipy import stats

from spatial.errors import ParameterError
from spatial.evaluation.rate_ratio import rate_ratio_test
from spatial.evaluation.rings import distance_decay

Z95 = 1.959963984540054


# --------------------------------------------------------------------------
# distance decay
# --------------------------------------------------------------------------


def _clopper_pearson(x: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    lo = 0.0 if x == 0 else stats.beta.ppf(alpha / 2, x, n - x + 1)
    hi = 1.0 if x == n else stats.beta.ppf(1 - alpha / 2, x + 1, n - x)
    return float(lo), float(hi)


def test_distance_decay_hand_calculation() -> None:
    res = distance_decay([20, 10, 4, 0], [10, 15, 6, 0], [0, 100, 200, 300, 400], 100, 120)
    assert res.control_ratio == pytest.approx(1.2)
    r0 = res.rings[0]
    assert (r0.inner_m, r0.outer_m, r0.before, r0.after) == (0, 100, 20, 10)
    assert r0.difference == -10
    assert r0.difference_ci_low == pytest.approx(-10 - Z95 * math.sqrt(30))
    assert r0.difference_ci_high == pytest.approx(-10 + Z95 * math.sqrt(30))
    assert r0.expected_after == pytest.approx(24)
    assert r0.excess == pytest.approx(-14)
    assert r0.excess_ci_low == pytest.approx(-14 - Z95 * math.sqrt(10 + 1.44 * 20))
    assert r0.after_share == pytest.approx(1 / 3)
    assert r0.null_share == pytest.approx(120 / 220)
    assert r0.rate_ratio == pytest.approx((10 / 20) / 1.2)
    lo, hi = _clopper_pearson(10, 30)
    assert r0.share_ci_low == pytest.approx(lo, rel=1e-6)
    assert r0.share_ci_high == pytest.approx(hi, rel=1e-6)
    assert r0.rate_ratio_ci_low == pytest.approx(lo / (1 - lo) / 1.2, rel=1e-6)
    assert r0.rate_ratio_ci_high == pytest.approx(hi / (1 - hi) / 1.2, rel=1e-6)
    # exact two-sided binomial p, "minlike" convention, by hand
    p0 = 120 / 220
    pmf = [math.comb(30, k) * p0**k * (1 - p0) ** (30 - k) for k in range(31)]
    p_hand = sum(q for q in pmf if q <= pmf[10] * (1 + 1e-7))
    assert r0.p_value == pytest.approx(p_hand, rel=1e-9)
    assert not r0.small_counts
    assert res.rings[2].small_counts  # 4 and 6 events
    empty = res.rings[3]
    assert empty.after_share is None and empty.difference_ci_low is None
    assert empty.reasons
    json.dumps(res.as_dict())


def test_distance_decay_zero_before_and_zero_control() -> None:
    res = distance_decay([0], [8], [0, 100], 50, 50)
    ring = res.rings[0]
    assert ring.rate_ratio is None and ring.rate_ratio_ci_high is None
    assert ring.rate_ratio_ci_low is not None and ring.rate_ratio_ci_low > 1
    assert ring.p_value == pytest.approx(2 * 0.5**8)
    assert any("infinite" in r for r in ring.reasons)
    res = distance_decay([5], [8], [0, 100], 0, 12)
    assert res.control_ratio is None and res.reason and "control before count is 0" in res.reason
    assert res.rings[0].rate_ratio is None and res.rings[0].excess is None
    assert res.rings[0].difference == 3


def test_distance_decay_validation() -> None:
    with pytest.raises(ParameterError):
        distance_decay([1, 2], [1, 2], [0, 100], 1, 1)
    with pytest.raises(ParameterError):
        distance_decay([1, 2], [1, 2], [0, 200, 100], 1, 1)
    with pytest.raises(ParameterError):
        distance_decay([1.5], [1], [0, 100], 1, 1)


# --------------------------------------------------------------------------
# rate ratio
# --------------------------------------------------------------------------


def test_rate_ratio_equal_exposure_hand_calculation() -> None:
    r = rate_ratio_test(4, 30, 12, 30)
    assert r.rate_ratio == pytest.approx(3.0)
    # symmetric case pi0 = 1/2: p = 2 * P(X >= 12 | n = 16)
    tail = sum(math.comb(16, k) for k in range(12, 17)) / 2**16  # 2517 / 65536
    assert r.p_value == pytest.approx(2 * tail, rel=1e-12)
    assert r.p_value == pytest.approx(0.076812744140625)
    lo, hi = _clopper_pearson(12, 16)
    assert r.ci_low == pytest.approx(lo / (1 - lo), rel=1e-6)
    assert r.ci_high == pytest.approx(hi / (1 - hi), rel=1e-6)
    assert not r.rise_flag and not r.fall_flag


def test_rate_ratio_unequal_exposure_rise() -> None:
    # 2 call-outs in 30 days before, 12 in 60 days after
    r = rate_ratio_test(2, 30, 12, 60)
    assert r.rate_ratio == pytest.approx((12 / 60) / (2 / 30))
    p0 = 60 / 90
    pmf = [math.comb(14, k) * p0**k * (1 - p0) ** (14 - k) for k in range(15)]
    p_hand = sum(q for q in pmf if q <= pmf[12] * (1 + 1e-7))
    assert r.p_value == pytest.approx(p_hand, rel=1e-9)
    lo, hi = _clopper_pearson(12, 14)
    assert r.ci_low == pytest.approx(lo / (1 - lo) * 30 / 60, rel=1e-6)
    assert r.rise_flag == (p_hand < 0.05)


def test_rate_ratio_zero_cases() -> None:
    r = rate_ratio_test(0, 30, 8, 30)
    assert r.rate_ratio is None and r.ci_high is None and r.reason
    assert r.p_value == pytest.approx(2 * 0.5**8)
    assert r.rise_flag
    r = rate_ratio_test(0, 30, 0, 30)
    assert r.p_value is None and r.reason == "no events before or after: nothing to test"
    assert not r.rise_flag
    r = rate_ratio_test(9, 30, 0, 30)
    assert r.rate_ratio == 0 and r.ci_low == 0 and r.fall_flag
    with pytest.raises(ParameterError):
        rate_ratio_test(1.5, 30, 2, 30)  # type: ignore[arg-type]
    with pytest.raises(ParameterError):
        rate_ratio_test(1, 0, 2, 30)


# --------------------------------------------------------------------------
