"""Tests of spatial.evaluation.rate_ratios against independent computations."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy import stats
from scipy.stats.contingency import odds_ratio

from spatial.errors import ParameterError
from spatial.evaluation.count_table import CountTable
from spatial.evaluation.rate_ratios import (
    detectable_rise,
    holm,
    operation_ratio_tests,
    ratio_test,
)


def test_ratio_equals_the_sample_odds_ratio_and_woolf_interval() -> None:
    ab, aa, cb, ca = 120, 80, 2400, 2300
    r = ratio_test("local", ab, aa, cb, ca, alpha=0.05)
    # the 2 x 2 table [[A_b, A_a], [C_b, C_a]]: its sample odds ratio is (A_a/A_b)/(C_a/C_b)
    ref = odds_ratio(np.array([[cb, ca], [ab, aa]]), kind="sample")
    assert r.ratio == pytest.approx(float(ref.statistic), rel=1e-12)
    se = math.sqrt(sum(1.0 / x for x in (ab, aa, cb, ca)))
    assert r.log_se == pytest.approx(se, rel=1e-12)
    z = math.log((aa / ab) / (ca / cb)) / se
    assert r.z == pytest.approx(z, rel=1e-12)
    assert r.p_value == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-9)
    ci = ref.confidence_interval(confidence_level=0.95)  # scipy's sample OR CI is Woolf's
    assert (r.ci_low, r.ci_high) == (pytest.approx(ci.low, rel=1e-9),
                                     pytest.approx(ci.high, rel=1e-9))
    assert r.p_adjusted == r.p_value and r.direction == -1 and r.significant
    assert r.percent_change == pytest.approx(100 * (r.ratio - 1))


def test_zero_cells_use_haldane_and_empty_areas_are_not_tested() -> None:
    r = ratio_test("local", 40, 0, 100, 90)
    assert r.haldane
    assert r.ratio == pytest.approx((0.5 / 40.5) / (90.5 / 100.5), rel=1e-12)
    none = ratio_test("displacement", 0, 0, 100, 90)
    assert none.ratio is None and none.p_value is None and not none.significant
    assert "recorded nothing" in (none.reason or "")


def test_dispersion_widens_the_interval() -> None:
    plain = ratio_test("local", 100, 60, 400, 400)
    wide = ratio_test("local", 100, 60, 400, 400, dispersion=2.0)
    assert wide.log_se == pytest.approx(plain.log_se * math.sqrt(2.0), rel=1e-12)
    assert wide.p_value is not None and plain.p_value is not None
    assert wide.p_value > plain.p_value
    with pytest.raises(ParameterError):
        ratio_test("local", 100, 60, 400, 400, dispersion=0.5)


def test_holm_matches_r_p_adjust() -> None:
    # R: p.adjust(c(0.01, 0.04, 0.03), "holm") -> 0.03 0.06 0.06
    base = ratio_test("x", 100, 60, 400, 400)
    tests = {name: dataclasses.replace(base, name=name, p_value=p)
             for name, p in (("a", 0.01), ("b", 0.04), ("c", 0.03))}
    adj = holm(tests)
    assert [adj[n].p_adjusted for n in ("a", "b", "c")] == pytest.approx([0.03, 0.06, 0.06])
    # an untested comparison is left out of m
    tests["c"] = dataclasses.replace(tests["c"], p_value=None)
    adj = holm(tests)
    assert adj["a"].p_adjusted == pytest.approx(0.02) and adj["c"].p_adjusted is None


def test_operation_tests_pool_the_controls_for_the_net_effect() -> None:
    t = CountTable.from_pairs(target=(100, 50), buffer=(80, 100), control=(300, 310),
                              buffer_control=(200, 190))
    r = operation_ratio_tests(t)
    assert (r["local"].c_before, r["local"].c_after) == (300, 310)
    assert (r["displacement"].c_before, r["displacement"].c_after) == (200, 190)
    assert (r["net"].a_before, r["net"].a_after, r["net"].c_before, r["net"].c_after) == (
        180, 150, 500, 500)


def test_detectable_rise_is_what_the_test_detects_with_that_power() -> None:
    d = detectable_rise(200, 600, 600, alpha=0.05, power=0.8)
    assert d.percent is not None
    rho = 1 + d.percent / 100
    # at rho, the expected log ratio is (z_crit + z_power) standard errors away from 0
    se = math.sqrt(1 / 200 + 1 / (200 * rho) + 1 / 600 + 1 / 600)
    assert math.log(rho) / se == pytest.approx(stats.norm.ppf(0.975) + stats.norm.ppf(0.8),
                                               rel=1e-9)
    # and a simulation at that rise rejects about 80 % of the time
    rng = np.random.default_rng(3)
    hits = sum(ratio_test("d", rng.poisson(200), rng.poisson(200 * rho), rng.poisson(600),
                          rng.poisson(600)).significant for _ in range(2000))
    assert 0.75 <= hits / 2000 <= 0.85
    assert detectable_rise(0, 600, 600).percent is None


def test_absurd_counts_get_a_named_error_not_an_overflow() -> None:
    with pytest.raises(ParameterError) as err:
        ratio_test("local", 1e-300, 1e12, 100, 100)
    assert err.value.parameter == "counts"
