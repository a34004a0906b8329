"""Tests of the spatial point pattern test and its p-value adjustment."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

from spatial.errors import ParameterError
from spatial.evaluation.sppt import adjust_pvalues, sppt

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


def test_too_few_events_to_tell() -> None:
    """Ten cells with one event before and one after: even a cell holding both events in
    one period could not differ significantly, so 'similar patterns' means nothing."""
    few = sppt(np.ones(10), np.ones(10))
    assert few.too_few and few.global_s == 1.0
    many = sppt(np.array([30.0, 20, 50]), np.array([10.0, 40, 50]))
    assert not many.too_few


def test_min_unit_events_is_the_fewest_a_cell_needs_alone() -> None:
    from scipy import stats as st

    b = np.full(40, 5.0)
    a = np.full(40, 5.0)
    r = sppt(b, a, correction="bh")
    nb = na = 200.0
    t = r.min_unit_events
    assert t is not None

    def extreme(t: float) -> float:
        pooled = t / (nb + na)
        z = (t / nb) / np.sqrt(pooled * (1 - pooled) * (1 / nb + 1 / na))
        return float(2 * st.norm.sf(z))

    assert extreme(t) < 0.05 / 40 <= extreme(t - 1)
