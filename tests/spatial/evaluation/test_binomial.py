"""The scalar exact binomial test and interval give scipy.stats.binomtest's floats."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from spatial.errors import ParameterError
from spatial.evaluation.binomial import (
    binom_cdf,
    binom_pmf,
    binom_sf,
    binom_test_pvalue,
    clopper_pearson,
)

P_NULL = (0.0, 1e-6, 0.1, 0.25, 1 / 3, 0.5, 0.61803, 0.9, 1.0)


@pytest.mark.parametrize("n", [1, 2, 3, 7, 10, 31, 100, 257, 1000])
def test_pvalue_and_interval_are_scipys_bit_for_bit(n: int) -> None:
    ks = sorted({0, 1, n // 3, n // 2, n - 1, n})
    for k in ks:
        for p in P_NULL:
            res = stats.binomtest(k, n, p)
            assert binom_test_pvalue(k, n, p) == float(res.pvalue), (k, n, p)
        for conf in (0.95, 0.99, 0.9):
            ci = stats.binomtest(k, n).proportion_ci(confidence_level=conf, method="exact")
            assert clopper_pearson(k, n, conf) == (float(ci.low), float(ci.high)), (k, n, conf)


def test_random_counts_match_scipy() -> None:
    rng = np.random.default_rng(13)
    for _ in range(200):
        n = int(rng.integers(1, 5000))
        k = int(rng.integers(0, n + 1))
        p = float(rng.random())
        res = stats.binomtest(k, n, p)
        assert binom_test_pvalue(k, n, p) == float(res.pvalue)
        ci = res.proportion_ci(confidence_level=0.95, method="exact")
        assert clopper_pearson(k, n, 0.95) == (float(ci.low), float(ci.high))


def test_distribution_functions_off_the_support() -> None:
    for k in (-2, -1, -0.5, 0, 0.5, 3, 3.5, 10, 11, 12):
        assert binom_pmf(k, 10, 0.3) == float(stats.binom.pmf(k, 10, 0.3)), k
        assert binom_cdf(k, 10, 0.3) == float(stats.binom.cdf(k, 10, 0.3)), k
        assert binom_sf(k, 10, 0.3) == float(stats.binom.sf(k, 10, 0.3)), k


@pytest.mark.parametrize(("k", "n", "p"), [(-1, 5, 0.5), (6, 5, 0.5), (0, 0, 0.5),
                                           (1, 5, 1.5), (1, 5, -0.1)])
def test_bad_input_is_a_parameter_error(k: int, n: int, p: float) -> None:
    with pytest.raises(ParameterError):
        binom_test_pvalue(k, n, p)
