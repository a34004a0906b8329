"""p-values, multiple testing, bins and the conditional-randomisation engine."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse, stats

from spatial.errors import ParameterError
from spatial.stats.inputs import check_binary_weights
from spatial.stats.permutation import conditional_randomization, draw_index_block
from spatial.stats.significance import (
    adjust,
    benjamini_yekutieli,
    gi_bins,
    p_sim_folded,
    pseudo_p_two_sided,
    two_sided_normal_p,
)


def esda_directed(observed: np.ndarray, simulated: np.ndarray) -> np.ndarray:
    """esda's own p_sim code (alternative='directed'), run as plain Python."""
    from esda.significance import _permutation_significance

    func = getattr(_permutation_significance, "py_func", _permutation_significance)
    return np.asarray(func(observed[:, None], simulated, alternative="directed"))


def test_two_sided_normal_p() -> None:
    z = np.array([0.0, 1.959963984540054, -1.959963984540054, 2.5758293035489, 40.0, np.nan])
    p = two_sided_normal_p(z)
    np.testing.assert_allclose(p[:4], [1.0, 0.05, 0.05, 0.01], rtol=1e-12)
    assert 0.0 < p[4] < 1e-300 or p[4] == 0.0
    assert np.isnan(p[5])


def test_p_sim_folded_is_esda_directed_with_ties() -> None:
    rng = np.random.default_rng(7)
    sims = rng.integers(0, 5, size=(200, 999)).astype(float)  # heavy ties
    obs = rng.integers(0, 5, size=200).astype(float)
    np.testing.assert_array_equal(p_sim_folded(obs, sims), esda_directed(obs, sims))
    sims = rng.normal(size=(50, 99))
    obs = rng.normal(size=50) * 2
    np.testing.assert_array_equal(p_sim_folded(obs, sims), esda_directed(obs, sims))


def test_two_sided_is_twice_folded_without_ties_and_one_for_all_ties() -> None:
    rng = np.random.default_rng(1)
    sims = rng.normal(size=(100, 999))
    obs = rng.normal(size=100) * 2
    np.testing.assert_allclose(pseudo_p_two_sided(obs, sims),
                               np.minimum(1.0, 2 * np.asarray(p_sim_folded(obs, sims))))
    # a zero among zeros: esda's folded p says "significant", two-sided says not
    zeros = np.zeros(999)
    assert p_sim_folded(0.0, zeros) == pytest.approx(1 / 1000)
    assert pseudo_p_two_sided(0.0, zeros) == 1.0
    # most extreme of 999: two-sided 2/1000
    assert pseudo_p_two_sided(1e4, np.arange(999.0)) == pytest.approx(2 / 1000)
    assert pseudo_p_two_sided(-1e4, np.arange(999.0)) == pytest.approx(2 / 1000)


def test_adjust_matches_scipy() -> None:
    rng = np.random.default_rng(3)
    p = np.concatenate([rng.uniform(size=500), rng.uniform(0, 0.01, size=50), [0.0, 1.0, 0.5, 0.5]])
    np.testing.assert_allclose(adjust(p, "fdr_bh"), stats.false_discovery_control(p),
                               rtol=0, atol=1e-12)
    np.testing.assert_allclose(benjamini_yekutieli(p),
                               stats.false_discovery_control(p, method="by"), rtol=0, atol=1e-12)
    np.testing.assert_allclose(adjust(p, "bonferroni"), np.minimum(1, p * p.size))
    np.testing.assert_array_equal(adjust(p, "none"), p)
    bh = adjust(p, "fdr_bh")
    order = np.argsort(p)
    assert np.all(np.diff(bh[order]) >= 0)  # monotone in p
    assert np.all(bh >= p) and np.all(bh <= 1)


def test_adjust_ignores_nan() -> None:
    p = np.array([0.01, np.nan, 0.04, 0.03])
    out = adjust(p)
    assert np.isnan(out[1])
    np.testing.assert_allclose(out[[0, 2, 3]], stats.false_discovery_control(p[[0, 2, 3]]))
    with pytest.raises(ParameterError):
        adjust(p, "holm")
    with pytest.raises(ParameterError):
        adjust([1.5])


def test_gi_bins() -> None:
    z = np.array([3.0, -3.0, 2.0, -2.0, 1.7, -1.7, 0.5, 4.0, np.nan])
    p = np.array([0.005, 0.01, 0.02, 0.05, 0.08, 0.10, 0.5, 0.2, 0.001])
    np.testing.assert_array_equal(gi_bins(z, p), [3, -3, 2, -2, 1, -1, 0, 0, 0])
    np.testing.assert_array_equal(gi_bins(z, p, (0.05, 0.01)), [2, -2, 1, -1, 0, 0, 0, 0, 0])
    with pytest.raises(ParameterError):
        gi_bins(z, p, (0.01, 0.05))


@pytest.mark.parametrize("population,size", [(50_000, 6), (9, 4), (5, 5), (300, 40)])
def test_draw_index_block_rows_are_distinct_and_uniform(population: int, size: int) -> None:
    reps = 4000
    block = draw_index_block(np.random.default_rng(0), population, size, reps)
    assert block.shape == (reps, size)
    assert block.min() >= 0 and block.max() < population
    srt = np.sort(block, axis=1)
    assert not np.any(srt[:, 1:] == srt[:, :-1])
    if population <= 300:
        # the first column alone is uniform over the population
        counts = np.bincount(block[:, 0], minlength=population)
        assert stats.chisquare(counts).pvalue > 1e-4


def test_check_binary_weights() -> None:
    w = sparse.csr_matrix(np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], dtype=float))
    assert check_binary_weights(w, 3).nnz == 4
    with pytest.raises(ParameterError):
        check_binary_weights(w * 0.5, 3)
    with pytest.raises(ParameterError):
        check_binary_weights(w + sparse.eye(3), 3)
    with pytest.raises(ParameterError):
        check_binary_weights(w, 4)
    with pytest.raises(ParameterError):
        check_binary_weights(w.toarray(), 3)


def _random_graph(n: int, seed: int) -> sparse.csr_matrix:
    rng = np.random.default_rng(seed)
    a = rng.uniform(size=(n, n)) < 4 / n
    a = np.triu(a, 1)
    a = a | a.T
    a[0, :] = False
    a[:, 0] = False  # unit 0 is an island
    return sparse.csr_matrix(a.astype(float))


@pytest.mark.parametrize("block", [None, 7, 64])
def test_engine_matches_brute_force(block: int | None) -> None:
    """Counts equal a per-unit loop using the same permutation block."""
    n, r, seed = 150, 199, 11
    w = _random_graph(n, 5)
    rng = np.random.default_rng(2)
    values = rng.poisson(1.5, n).astype(float)
    degree = np.diff(w.indptr)
    observed = w @ values
    sign = rng.choice([-1, 0, 1], size=n).astype(np.int8)
    got = conditional_randomization(values, degree, observed, sign, permutations=r,
                                    rng=np.random.default_rng(seed), block=block)
    p_idx = draw_index_block(np.random.default_rng(seed), n - 1, int(degree.max()), r)
    for i in range(n):
        others = np.delete(values, i)
        s = others[p_idx[:, :degree[i]]].sum(axis=1)
        stat, obs = sign[i] * s, sign[i] * observed[i]
        assert got.n_ge[i] == np.count_nonzero(stat >= obs), i
        assert got.n_le[i] == np.count_nonzero(stat <= obs), i
        assert got.mean[i] == pytest.approx(s.mean(), abs=1e-9)
        assert got.var[i] == pytest.approx(s.var(), abs=1e-8)
