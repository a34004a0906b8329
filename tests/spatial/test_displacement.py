"""Tests of spatial.evaluation.displacement against published examples and hand calculations."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

from spatial.errors import ParameterError
from spatial.evaluation.displacement import (
    CountTable,
    adjust_pvalues,
    after_window_needed,
    buffer_displacement_measure,
    displacement_effect,
    distance_decay,
    harm_weighted_wdd,
    local_effect,
    minimum_detectable_change,
    rate_ratio_test,
    simulate_operation,
    sppt,
    success_measure,
    total_net_effect,
    wdd,
    wdq,
    wdq_label,
)

Z95 = 1.959963984540054


def wheeler_ratcliffe() -> CountTable:
    """Wheeler & Ratcliffe (2018) worked example."""
    return CountTable.from_pairs(target=(207, 110), control=(308, 318),
                                 buffer=(178, 157), buffer_control=(150, 140))


# --------------------------------------------------------------------------
# WDD
# --------------------------------------------------------------------------


def test_wdd_wheeler_ratcliffe_example() -> None:
    r = wdd(wheeler_ratcliffe())
    assert r.estimate == pytest.approx(-118, abs=1e-9)
    assert r.variance == pytest.approx(1568, abs=1e-9)
    assert r.se == pytest.approx(math.sqrt(1568), abs=1e-12)
    assert round(r.se, 3) == 39.598
    assert r.z is not None and round(r.z, 2) == -2.98
    assert r.ci_low is not None and r.ci_high is not None
    assert round(r.ci_low) == -196 and round(r.ci_high) == -40
    assert r.p_value == pytest.approx(2 * stats.norm.sf(118 / math.sqrt(1568)), rel=1e-9)
    assert r.significant and r.direction == -1


def test_wdd_components_wheeler_ratcliffe() -> None:
    t = wheeler_ratcliffe()
    loc = local_effect(t)
    # (110 - 207) - (318 - 308) = -107; var 207 + 110 + 308 + 318 = 943
    assert loc.estimate == pytest.approx(-107, abs=1e-9)
    assert loc.variance == pytest.approx(943, abs=1e-9)
    dis = displacement_effect(t)
    # (157 - 178) - (140 - 150) = -11; var 178 + 157 + 150 + 140 = 625, se 25
    assert dis.estimate == pytest.approx(-11, abs=1e-9)
    assert dis.variance == pytest.approx(625, abs=1e-9)
    assert dis.se == pytest.approx(25.0)
    assert dis.z == pytest.approx(-0.44)
    assert dis.ci_low == pytest.approx(-11 - Z95 * 25)
    assert not dis.significant
    # components add up to the total
    assert loc.estimate + dis.estimate == pytest.approx(wdd(t).estimate)
    assert loc.variance + dis.variance == pytest.approx(wdd(t).variance)


def test_wdd_alpha_changes_interval_only() -> None:
    r90 = wdd(wheeler_ratcliffe(), alpha=0.10)
    half = stats.norm.ppf(0.95) * math.sqrt(1568)
    assert r90.ci_low == pytest.approx(-118 - half)
    assert r90.ci_high == pytest.approx(-118 + half)
    assert r90.z == pytest.approx(wdd(wheeler_ratcliffe()).z)


def test_wdd_shared_control_counts_control_variance_four_times() -> None:
    t = CountTable.from_pairs(target=(50, 30), buffer=(40, 45), control=(60, 70))
    r = wdd(t)
    # (30-50) + (45-40) - 2*(70-60) = -35; var 50+30+40+45 + 4*(60+70) = 685
    assert r.estimate == pytest.approx(-35)
    assert r.variance == pytest.approx(685)
    assert displacement_effect(t).estimate == pytest.approx(5 - 10)
    assert displacement_effect(t).variance == pytest.approx(40 + 45 + 60 + 70)


def test_time_weights_hand_calculation() -> None:
    # before window 60 days, after 30 days
    t = CountTable.from_pairs(target=(120, 40), control=(90, 48), buffer=(60, 33),
                              buffer_control=(30, 18), time_weights=(60, 30))
    loc = local_effect(t)
    est = (40 / 30 - 120 / 60) - (48 / 30 - 90 / 60)  # = -0.7666...
    var = 40 / 30**2 + 120 / 60**2 + 48 / 30**2 + 90 / 60**2
    assert loc.estimate == pytest.approx(est, rel=1e-12)
    assert loc.estimate == pytest.approx(-23 / 30, rel=1e-12)
    assert loc.variance == pytest.approx(var, rel=1e-12)
    dis = displacement_effect(t)
    assert dis.estimate == pytest.approx((33 / 30 - 60 / 60) - (18 / 30 - 30 / 60), rel=1e-12)
    assert dis.variance == pytest.approx(33 / 900 + 60 / 3600 + 18 / 900 + 30 / 3600, rel=1e-12)
    total = wdd(t)
    assert total.estimate == pytest.approx(loc.estimate + dis.estimate)
    assert total.z == pytest.approx(total.estimate / math.sqrt(var + dis.variance))


def test_area_and_time_weights_hand_calculation() -> None:
    t = CountTable.from_pairs(target=(40, 20), control=(100, 110), buffer=(60, 66),
                              buffer_control=(50, 45), time_weights=(28, 28),
                              area_weights={"target": 0.5, "control": 2.0, "buffer": 1.5,
                                            "buffer_control": 1.0})
    wt, wc, wb, wd = 28 * 0.5, 28 * 2.0, 28 * 1.5, 28 * 1.0
    est = (20 / wt - 40 / wt) - (110 / wc - 100 / wc) + (66 / wb - 60 / wb) - (45 / wd - 50 / wd)
    var = ((20 + 40) / wt**2 + (110 + 100) / wc**2 + (66 + 60) / wb**2 + (45 + 50) / wd**2)
    r = wdd(t)
    assert r.estimate == pytest.approx(est, rel=1e-12)
    assert r.variance == pytest.approx(var, rel=1e-12)
    # SM/BDM/WDQ use raw counts (Bowers & Johnson define them on counts)
    assert success_measure(t).value == pytest.approx(20 / 110 - 40 / 100)


def test_harm_weighted_wdd_hand_calculation() -> None:
    violence = wdd(wheeler_ratcliffe())  # -118, var 1568
    theft = wdd(CountTable.from_pairs(target=(50, 60), control=(80, 70), buffer=(30, 35),
                                      buffer_control=(40, 40)))
    # theft: (60-50) - (70-80) + (35-30) - (40-40) = 25; var 50+60+80+70+30+35+40+40 = 405
    assert theft.estimate == pytest.approx(25) and theft.variance == pytest.approx(405)
    res = harm_weighted_wdd({"violence": (violence, 10.0), "theft": (theft, 2.0)})
    est = 10 * -118 + 2 * 25  # -1130
    se = math.sqrt(10**2 * 1568 + 2**2 * 405)  # sqrt(158420)
    assert res.total.estimate == pytest.approx(est)
    assert res.total.se == pytest.approx(se)
    assert res.total.z == pytest.approx(est / se)
    assert res.total.ci_low == pytest.approx(est - Z95 * se)
    assert res.total.p_value == pytest.approx(2 * stats.norm.sf(abs(est) / se))
    assert res.contributions["violence"]["weighted_estimate"] == pytest.approx(-1180)
    json.dumps(res.as_dict())
    with pytest.raises(ParameterError):
        harm_weighted_wdd({})
    with pytest.raises(ParameterError):
        harm_weighted_wdd({"x": (violence, -1.0)})


# --------------------------------------------------------------------------
# Bowers & Johnson, Guerette
# --------------------------------------------------------------------------


def test_wdq_example() -> None:
    t = CountTable.from_pairs(target=(100, 50), buffer=(100, 150), control=(100, 100))
    assert success_measure(t).value == -0.5
    assert buffer_displacement_measure(t).value == 0.5
    q = wdq(t)
    assert q.value == -1.0
    assert q.label == "displacement equal to the gain"
    # TNE: [100*1 - 50] + [100*1 - 150] = 0
    assert total_net_effect(t).value == 0.0


def test_wdq_labels() -> None:
    assert wdq_label(1.5)[1] == "diffusion greater than the direct effect"
    assert wdq_label(0.4)[1] == "diffusion of benefits"
    assert wdq_label(0.0)[1] == "no displacement or diffusion"
    assert wdq_label(-0.3)[1] == "displacement smaller than the gain"
    assert wdq_label(-2.0)[1] == "displacement larger than the gain"


def test_wdq_not_meaningful_when_target_did_not_improve() -> None:
    t = CountTable.from_pairs(target=(50, 60), buffer=(100, 150), control=(100, 100))
    q = wdq(t)
    assert q.value is None
    assert q.reason == "SM ≥ 0: no relative improvement in the target, WDQ is not meaningful"


def test_total_net_effect_hand_calculation() -> None:
    t = CountTable.from_pairs(target=(100, 50), buffer=(100, 150), control=(100, 120))
    # trend 1.2: [100*1.2 - 50] + [100*1.2 - 150] = 70 - 30 = 40
    assert total_net_effect(t).value == pytest.approx(40)
    # WDQ: BDM = 150/120 - 1 = 0.25, SM = 50/120 - 1 = -7/12
    assert wdq(t).value == pytest.approx(0.25 / (-7 / 12))


# --------------------------------------------------------------------------
# zero counts
# --------------------------------------------------------------------------


def test_zero_everywhere_never_divides() -> None:
    t = CountTable.from_pairs(target=(0, 0), buffer=(0, 0), control=(0, 0))
    for r in (wdd(t), local_effect(t), displacement_effect(t)):
        assert r.estimate == 0 and r.variance == 0
        assert r.z is None and r.p_value is None and r.ci_low is None
        assert r.reason is not None and "variance is 0" in r.reason
        assert not r.significant
    assert success_measure(t).value is None
    assert success_measure(t).reason == "control before count is 0: Rb/Cb undefined"
    assert wdq(t).value is None and wdq(t).reason
    assert total_net_effect(t).value is None
    assert "Ca/Cb is undefined" in (total_net_effect(t).reason or "")
    json.dumps(wdd(t).as_dict())


def test_zero_control_after() -> None:
    t = CountTable.from_pairs(target=(30, 10), buffer=(5, 6), control=(20, 0))
    assert success_measure(t).reason == "control after count is 0: Ra/Ca undefined"
    assert buffer_displacement_measure(t).reason == "control after count is 0: Ba/Ca undefined"
    assert wdq(t).value is None
    # TNE uses Ca/Cb = 0: defined (Rb*0 - Ra) + (Bb*0 - Ba)
    assert total_net_effect(t).value == pytest.approx(-16)
    assert local_effect(t).estimate == pytest.approx(-20 + 20)


def test_zero_target() -> None:
    t = CountTable.from_pairs(target=(0, 0), buffer=(10, 12), control=(20, 25))
    assert success_measure(t).value == 0.0
    assert wdq(t).value is None
    loc = local_effect(t)
    assert loc.estimate == pytest.approx(-5) and loc.variance == pytest.approx(45)


def test_count_table_validation() -> None:
    with pytest.raises(ParameterError):
        CountTable.from_pairs(target=(-1, 3), buffer=(1, 1), control=(1, 1))
    with pytest.raises(ParameterError):
        CountTable.from_pairs(target=(float("nan"), 3), buffer=(1, 1), control=(1, 1))
    with pytest.raises(ParameterError):
        CountTable(target_before=1, target_after=1, buffer_before=1, buffer_after=1,
                   control_before=1, control_after=1, buffer_control_before=2)
    with pytest.raises(ParameterError):
        CountTable.from_pairs(target=(1, 1), buffer=(1, 1), control=(1, 1), time_weights=(0, 3))
    with pytest.raises(ParameterError):
        CountTable.from_pairs(target=(1, 1), buffer=(1, 1), control=(1, 1),
                              area_weights={"target": 1.0})
    with pytest.raises(ParameterError):
        wdd(wheeler_ratcliffe(), alpha=1.5)


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
# SPPT
# --------------------------------------------------------------------------


def test_adjust_pvalues_by_and_bh() -> None:
    p = [0.01, 0.02, 0.03, 0.04, 0.05]
    # BH: p(i)*m/i = 0.05 for every i; BY multiplies by c(5) = 1 + 1/2 + 1/3 + 1/4 + 1/5
    c5 = 1 + 1 / 2 + 1 / 3 + 1 / 4 + 1 / 5
    assert adjust_pvalues(p, "bh") == pytest.approx([0.05] * 5)
    assert adjust_pvalues(p, "by") == pytest.approx([0.05 * c5] * 5)
    # R: p.adjust(c(0.001, 0.04, 0.3), "BY") -> 0.0055, 0.11, 0.55
    c3 = 11 / 6
    assert adjust_pvalues([0.3, 0.001, 0.04], "by") == pytest.approx(
        [0.3 * c3, 0.001 * 3 * c3, 0.04 * 3 / 2 * c3])
    assert adjust_pvalues([0.5, 0.9], "bonferroni") == pytest.approx([1.0, 1.0])
    with pytest.raises(ParameterError):
        adjust_pvalues([0.1], "holm")


def test_sppt_hand_calculation() -> None:
    before = [50, 30, 20, 0]
    after = [20, 40, 40, 0]
    res = sppt(before, after)
    # N_b = N_a = 100
    assert list(res.p_before) == pytest.approx([0.5, 0.3, 0.2, 0.0])
    assert list(res.p_after) == pytest.approx([0.2, 0.4, 0.4, 0.0])
    z0 = (0.2 - 0.5) / math.sqrt(0.35 * 0.65 * (1 / 100 + 1 / 100))
    z1 = (0.4 - 0.3) / math.sqrt(0.35 * 0.65 * 0.02)
    z2 = (0.4 - 0.2) / math.sqrt(0.30 * 0.70 * 0.02)
    assert res.z[:3] == pytest.approx([z0, z1, z2])
    assert res.z[3] == 0 and res.p_value[3] == 1
    p = [math.erfc(abs(z) / math.sqrt(2)) for z in (z0, z1, z2)]
    assert res.p_value[:3] == pytest.approx(p)
    # BY over the 3 units with events: c(3) = 11/6; ranks: z0 (1), z2 (2), z1 (3)
    c3 = 11 / 6
    assert res.p_adjusted[0] == pytest.approx(p[0] * 3 * c3 / 1)
    assert res.p_adjusted[2] == pytest.approx(p[2] * 3 * c3 / 2)
    assert res.p_adjusted[1] == pytest.approx(min(1.0, p[1] * 3 * c3 / 3))
    assert res.p_adjusted[3] == 1
    assert list(res.s) == [0, 1, 0, 1]
    assert res.global_s == pytest.approx(2 / 4)  # over all units
    assert res.global_s_robust == pytest.approx(1 / 3)  # over units with any events
    assert res.n_units == 4 and res.n_units_robust == 3
    json.dumps(res.as_dict())


def test_sppt_z_squared_is_uncorrected_chi_square() -> None:
    before = np.array([12, 7, 30, 1, 0, 50])
    after = np.array([20, 3, 25, 6, 2, 44])
    res = sppt(before, after, correction="none")
    nb, na = before.sum(), after.sum()
    for i in range(len(before)):
        table = [[before[i], nb - before[i]], [after[i], na - after[i]]]
        chi2, p, _, _ = stats.chi2_contingency(table, correction=False)
        assert res.z[i] ** 2 == pytest.approx(chi2, rel=1e-9)
        assert res.p_value[i] == pytest.approx(p, rel=1e-9)
    # Campbell's N-1 chi-square
    res1 = sppt(before, after, correction="none", n_minus_1=True)
    n = nb + na
    assert res1.p_value[0] == pytest.approx(
        stats.chi2.sf(res.z[0] ** 2 * (n - 1) / n, 1), rel=1e-9)


def test_sppt_fisher_and_edge_cases() -> None:
    before, after = [10, 5, 0], [2, 9, 1]
    res = sppt(before, after, method="fisher", correction="none")
    assert res.p_value[0] == pytest.approx(
        stats.fisher_exact([[10, 5], [2, 10]]).pvalue)
    assert np.isnan(res.z).all()
    same = sppt([3, 4, 5], [6, 8, 10])
    assert same.global_s == 1.0 and same.global_s_robust == 1.0
    empty = sppt([0, 0], [1, 2])
    assert empty.global_s is None and empty.reason == (
        "no events before: proportions undefined, SPPT not possible")
    json.dumps(empty.as_dict())
    with pytest.raises(ParameterError):
        sppt([1, 2], [1])


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
# planning
# --------------------------------------------------------------------------


def test_minimum_detectable_change_hand_calculation() -> None:
    m = minimum_detectable_change({"target": 100, "control": 100})
    # Z = z_.975 + z_.8; V0 k^2 = (1 + 1)(100 + 100) = 400
    z = 1.959963984540054 + 0.8416212335729143
    delta = (-(z**2) + math.sqrt(z**4 + 4 * z**2 * 400)) / 2  # 52.2445...
    assert m.reduction == pytest.approx(delta, rel=1e-12)
    assert m.reduction == pytest.approx(52.2445, abs=1e-4)
    assert m.reduction_fraction == pytest.approx(delta / 100)
    # at that delta the z-test sits exactly at the power quantile
    assert m.variance_under_h1 is not None
    assert delta / math.sqrt(m.variance_under_h1) == pytest.approx(z, rel=1e-12)
    assert m.variance_under_h1 == pytest.approx(100 - delta + 100 + 100 + 100)


def test_minimum_detectable_change_time_ratio_and_wdd() -> None:
    # k = 2, local: V0 k^2 = (1 + 1/2)(150 + 200) * 4 = 2100
    m = minimum_detectable_change({"target": 150, "control": 200}, time_ratio=2.0)
    z2 = (1.959963984540054 + 0.8416212335729143) ** 2
    delta = (-z2 + math.sqrt(z2**2 + 4 * z2 * 2100)) / 2
    assert m.reduction == pytest.approx(delta)
    assert m.expected_after == 300
    assert m.effect == pytest.approx(-delta / 2)
    # total WDD with a shared control: S = 150 + 80 + 4*200
    w = minimum_detectable_change({"target": 150, "control": 200, "buffer": 80}, test="wdd")
    assert w.reduction == pytest.approx((-z2 + math.sqrt(z2**2 + 4 * z2 * 2 * 1030)) / 2)
    # a CountTable baseline gives the same as the mapping
    t = CountTable.from_pairs(target=(150, 0), control=(200, 0), buffer=(80, 0))
    assert minimum_detectable_change(t, 2.0).reduction == pytest.approx(m.reduction)


def test_minimum_detectable_change_unattainable() -> None:
    m = minimum_detectable_change({"target": 3, "control": 5})
    assert m.reduction is None and m.reason and "100 %" in m.reason
    m = minimum_detectable_change({"target": 0, "control": 5})
    assert m.reduction is None and m.reason == "target before count is 0: there is nothing to reduce"


def test_after_window_needed_inverts_mdc() -> None:
    base = {"target": 200, "control": 250}
    w = after_window_needed(base, 0.35, before_days=28)
    assert w.time_ratio is not None and w.after_days == pytest.approx(28 * w.time_ratio)
    m = minimum_detectable_change(base, w.time_ratio)
    assert m.reduction_fraction == pytest.approx(0.35, rel=1e-9)
    # by hand: k = Z^2 (S - f Tb) / (f^2 Tb^2 - Z^2 S), S = 450
    z2 = (1.959963984540054 + 0.8416212335729143) ** 2
    assert w.time_ratio == pytest.approx(z2 * (450 - 70) / (0.35**2 * 200**2 - z2 * 450))
    # the floor: as k -> infinity the detectable fraction -> Z sqrt(S) / Tb
    z = 1.959963984540054 + 0.8416212335729143
    assert w.best_fraction == pytest.approx(z * math.sqrt(450) / 200)
    never = after_window_needed(base, 0.25)
    assert never.time_ratio is None and never.reason and "any after-window length" in never.reason
    capped = after_window_needed(base, 0.35, max_ratio=2.0)
    assert capped.time_ratio is None and capped.reason and "maximum 2" in capped.reason


def test_mdc_power_by_simulation() -> None:
    """With the MDC planted, ~80 % of simulated operations are detected by the local test."""
    base = {"target": 150.0, "control": 200.0, "buffer": 120.0, "buffer_control": 180.0}
    k = 1.5
    m = minimum_detectable_change(base, time_ratio=k)
    assert m.reduction_fraction is not None
    rng = np.random.default_rng(20250611)
    runs = 600
    detected = 0
    for _ in range(runs):
        t = simulate_operation(rng, base, {"target": 1.0 - m.reduction_fraction}, time_ratio=k)
        detected += local_effect(t).direction < 0
    rate = detected / runs
    print(f"MDC {m.reduction_fraction:.3f}: detected in {rate:.3f} of {runs} runs")
    assert 0.72 <= rate <= 0.88


def test_simulate_operation() -> None:
    rng = np.random.default_rng(1)
    t = simulate_operation(rng, {"target": 100, "buffer": 50, "control": 80}, time_ratio=2.0,
                           before_length=28)
    assert t.before_length == 28 and t.after_length == 56
    assert not t.has_buffer_control
    with pytest.raises(ParameterError):
        simulate_operation(rng, {"target": 1, "buffer": 1})
