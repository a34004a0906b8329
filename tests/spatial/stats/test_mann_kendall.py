"""Mann-Kendall trend test: a hand-worked series, scipy's Kendall tau-b, ties, batches."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from spatial.errors import ParameterError
from spatial.stats.mann_kendall import mann_kendall


def test_hand_worked_series_with_one_tie() -> None:
    # x = 1, 3, 2, 2, 5: signs of later minus earlier values
    # from 1: + + + + (4); from 3: - - + (-1); from 2: 0 + (1); from 2: + (1) -> S = 5
    # one tie group of size 2: Var = (5*4*15 - 2*1*9) / 18 = 282 / 18 = 47 / 3
    r = mann_kendall([1, 3, 2, 2, 5])
    assert r.s[0] == 5
    assert r.var_s[0] == pytest.approx(47 / 3, abs=1e-12)
    z = (5 - 1) / math.sqrt(47 / 3)
    assert r.z[0] == pytest.approx(z, abs=1e-12)
    assert r.p[0] == pytest.approx(math.erfc(z / math.sqrt(2)), abs=1e-12)
    # tau-b: n0 = 10 pairs, n1 = 1 tied pair -> 5 / sqrt(10 * 9)
    assert r.tau[0] == pytest.approx(5 / math.sqrt(90), abs=1e-12)
    assert r.tau_a[0] == pytest.approx(0.5, abs=1e-12)


def test_decreasing_series_and_zero_s() -> None:
    r = mann_kendall([[5, 4, 3, 2, 1], [1, 2, 1, 2, 1]])
    assert r.s[0] == -10 and r.tau[0] == pytest.approx(-1.0)
    assert r.z[0] == pytest.approx((-10 + 1) / math.sqrt(5 * 4 * 15 / 18))
    # 1,2,1,2,1: S = (+1 0 +1 0) + (-1 0 -1) + (+1 0) + (-1) = 0 -> z = 0, p = 1
    assert r.s[1] == 0 and r.z[1] == 0.0 and r.p[1] == pytest.approx(1.0)


@pytest.mark.parametrize("seed", range(5))
def test_against_scipy_kendalltau(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(10, 40))
    # rounded values give many ties; a trend is added to half the rows
    x = np.round(rng.normal(size=(60, n)) + np.linspace(0, 2, n) * (np.arange(60)[:, None] % 2), 1)
    x[0] = np.round(rng.poisson(0.7, n))  # heavy ties, as counts
    r = mann_kendall(x)
    t = np.arange(n)
    for i in range(x.shape[0]):
        ref = stats.kendalltau(t, x[i], variant="b", method="asymptotic")
        assert r.tau[i] == pytest.approx(ref.statistic, abs=1e-9)
        # scipy's asymptotic p uses z = S / sqrt(Var(S)) without continuity correction,
        # with the same tie-corrected variance (no ties in the time index): S and Var agree
        # when 2 (1 - Phi(|S| / sqrt(Var))) reproduces it
        p_no_cc = math.erfc(abs(r.s[i]) / math.sqrt(r.var_s[i]) / math.sqrt(2))
        assert p_no_cc == pytest.approx(ref.pvalue, abs=1e-9)
        # the continuity-corrected z differs from it by exactly sign(S) / sqrt(Var)
        cc = (r.s[i] - np.sign(r.s[i])) / math.sqrt(r.var_s[i])
        assert r.z[i] == pytest.approx(cc, abs=1e-12)


def test_s_against_brute_force_pairs() -> None:
    rng = np.random.default_rng(7)
    x = rng.integers(0, 4, size=(20, 15)).astype(float)
    r = mann_kendall(x)
    for i in range(20):
        s = sum(np.sign(x[i, j] - x[i, k]) for k in range(15) for j in range(k + 1, 15))
        assert r.s[i] == s


def test_nan_rows_and_flat_rows() -> None:
    r = mann_kendall([[1, 2, np.nan, 4], [3, 3, 3, 3], [1, 2, 3, 4]])
    assert np.isnan(r.s[0]) and np.isnan(r.p[0])
    assert r.s[1] == 0 and np.isnan(r.z[1])
    assert r.s[2] == 6
    assert any("missing" in w for w in r.warnings)
    assert any("tied" in w for w in r.warnings)


def test_refuses_too_short() -> None:
    with pytest.raises(ParameterError) as e:
        mann_kendall([1, 2])
    assert e.value.parameter == "x"
