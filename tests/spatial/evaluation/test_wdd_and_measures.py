"""Tests of the WDD, its components and the Bowers & Johnson / Guerette measures, against
published examples and hand calculations."""

from __future__ import annotations

import json
import math

import pytest
from scipy import stats

from spatial.errors import ParameterError
from spatial.evaluation.count_table import CountTable
from spatial.evaluation.measures import (
    buffer_displacement_measure,
    success_measure,
    total_net_effect,
    wdq,
    wdq_label,
)
from spatial.evaluation.wdd import displacement_effect, harm_weighted_wdd, local_effect, wdd

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


def test_no_negative_zero_in_measures() -> None:
    """A buffer that did not move while the target fell: BDM 0 over SM < 0 is -0.0 in
    IEEE arithmetic, printed "WDQ −0" (issue 10, item 7); a zero harm weight times a
    negative WDD likewise."""
    from spatial.evaluation.count_table import jsonable

    t = CountTable.from_pairs(target=(10, 0), buffer=(4, 4), control=(10, 10))
    q = wdq(t)
    assert q.value == 0 and math.copysign(1.0, q.value) == 1.0
    assert q.as_dict()["value"] == 0 and "-0" not in json.dumps(q.as_dict())
    hw = harm_weighted_wdd({"a": (wdd(t), 0.0)})
    assert "-0" not in json.dumps(hw.as_dict())
    assert math.copysign(1.0, jsonable({"x": [-0.0]})["x"][0]) == 1.0
