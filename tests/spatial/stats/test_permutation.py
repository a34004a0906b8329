"""The two-stage permutation engine and the resolution report (issue 10, item 1).

Monte Carlo tolerances as in test_getis_ord: ``4 sqrt(p(1-p)/R) + 2/R``.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest

from spatial.stats.permutation import refine_units, staged_randomization
from spatial.stats.significance import (
    permutation_resolution,
    permutations_needed,
    smallest_p,
    two_sided_p_from_counts,
)

Y = np.array([0, 3, 1, 0, 2, 5, 0, 1, 4.0])
DEGREE = np.array([2, 3, 1, 2, 3, 2, 1, 3, 2])
OBSERVED = np.array([3, 6, 0, 5, 1, 9, 2, 4, 7.0])


def exact_tails(i: int) -> tuple[float, float]:
    others = np.delete(Y, i)
    sums = np.array([others[list(c)].sum()
                     for c in combinations(range(Y.size - 1), int(DEGREE[i]))])
    return float(np.mean(sums >= OBSERVED[i])), float(np.mean(sums <= OBSERVED[i]))


def test_refine_units_matches_exact_enumeration_for_every_degree() -> None:
    # Units of different degrees are drawn together: each must get a uniform
    # subset of its own size (a prefix of a larger subset would not be uniform).
    r = 100_000
    units = np.arange(Y.size)
    ge, le = refine_units(Y, DEGREE, OBSERVED, np.ones(Y.size, np.int8), units,
                          permutations=r, rng=np.random.default_rng(5))
    for i in units:
        pge, ple = exact_tails(int(i))
        for got, exact in ((ge[i] / r, pge), (le[i] / r, ple)):
            assert abs(got - exact) <= 4 * np.sqrt(exact * (1 - exact) / r) + 2 / r, i


def test_refine_units_sign_and_subset() -> None:
    r = 20_000
    sign = np.array([1, -1, 0], dtype=np.int8)
    units = np.array([1, 4, 8])
    ge, le = refine_units(Y, DEGREE, OBSERVED, np.r_[0, sign[0], 0, 0, sign[1], 0, 0, 0,
                                                     sign[2]].astype(np.int8), units,
                          permutations=r, rng=np.random.default_rng(1))
    pge1, _ = exact_tails(1)
    _, ple4 = exact_tails(4)
    assert abs(ge[0] / r - pge1) < 0.02
    assert abs(ge[1] / r - ple4) < 0.02  # sign -1: "at least as large" means a smaller sum
    assert ge[2] == le[2] == r  # sign 0: every draw ties


def test_staged_continues_only_small_p_and_counts_all_draws() -> None:
    rng = np.random.default_rng(3)
    n = 400
    y = rng.poisson(0.3, n).astype(float)
    y[:8] += 6  # a planted run of high values among the first units
    # a ring: each unit's neighbours are the two next to it
    degree = np.full(n, 2)
    obs = np.roll(y, 1) + np.roll(y, -1)
    res = staged_randomization(y, degree, obs, np.ones(n, np.int8), permutations=9_999,
                               first_stage=999, continue_below=0.01,
                               rng=np.random.default_rng(4))
    cont = res.permutations == 9_999
    assert res.continued == int(cont.sum()) > 0
    assert set(np.unique(res.permutations)) <= {999, 9_999}
    p = two_sided_p_from_counts(res.n_ge, res.n_le, res.permutations)
    assert np.all(p[cont] <= 0.02)  # continued units had a small first-stage p
    assert p[cont].min() < 2 / 1000  # and reach below the first stage's smallest p
    one = staged_randomization(y, degree, obs, np.ones(n, np.int8), permutations=999,
                               first_stage=999, continue_below=0.01,
                               rng=np.random.default_rng(4))
    assert one.continued == 0 and np.all(one.permutations == 999)


def test_staged_p_is_valid_under_the_null() -> None:
    # Exchangeable values: P(p <= t) <= t (plus Monte Carlo noise) for every t.
    rng = np.random.default_rng(11)
    n = 2_000
    y = rng.poisson(1.0, n).astype(float)
    degree = np.full(n, 6)
    nb = np.array([rng.choice(np.delete(np.arange(n), i), 6, replace=False) for i in range(n)])
    obs = y[nb].sum(axis=1)
    res = staged_randomization(y, degree, obs, np.ones(n, np.int8), permutations=4_999,
                               first_stage=199, continue_below=0.05,
                               rng=np.random.default_rng(12))
    p = two_sided_p_from_counts(res.n_ge, res.n_le, res.permutations)
    for t in (0.01, 0.05, 0.2, 0.5):
        assert np.mean(p <= t) <= t + 4 * np.sqrt(t / n)


def test_resolution_figures() -> None:
    assert smallest_p(9_999) == pytest.approx(2e-4)
    assert smallest_p(99) == pytest.approx(0.02)
    # a lone unit passes BH at alpha over m when 2 / (R + 1) <= alpha / m
    assert permutations_needed(4_000, 0.05, "fdr_bh") == 159_999
    assert permutations_needed(4_000, 0.10, "bonferroni") == 79_999
    assert permutations_needed(1, 0.05, "none") == 99  # never below the floor
    info, warning = permutation_resolution(999, 4_000, 0.05, "fdr_bh")
    assert info["smallest_p"] == pytest.approx(0.002)
    assert info["units_needed_at_smallest_p"] == 160
    assert warning is not None and "159,999 permutations" in warning
    assert "at least 160 units" in warning
    info, warning = permutation_resolution(999, 4_000, 0.05, "bonferroni")
    assert info["units_needed_at_smallest_p"] is None and "no unit can pass" in str(warning)
    info, warning = permutation_resolution(199_999, 4_000, 0.05, "fdr_bh")
    assert info["units_needed_at_smallest_p"] == 1 and warning is None
