"""The O(n log R) conditional randomisation against the draw-by-draw kernel (issue 13).

Both draw the same shared index block from the same generator, so they must
give the same tail counts for every unit; the moments must be bit-for-bit
equal for integer values (every sum is an exact integer) and equal to rounding
(1e-12 relative to the second moment) for real values. The draw-by-draw
kernel is the one remap used before, kept in ``dense_permutation_reference``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from scipy import sparse

import spatial.stats.permutation as engine
from spatial.stats.getis_ord import gi_star
from spatial.stats.moran import local_moran
from spatial.stats.permutation import conditional_randomization
from tests.spatial.stats.dense_permutation_reference import dense_conditional_randomization


def random_problem(n: int, kind: str, seed: int, max_degree: int = 7
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Values, degrees (islands included), observed sums of real neighbour sets
    (with exact ties for counts) and signs of every kind."""
    rng = np.random.default_rng(seed)
    y = rng.poisson(0.7, n).astype(float) if kind == "counts" else rng.normal(3.0, 2.0, n)
    degree = rng.integers(0, min(max_degree, n - 1) + 1, n)
    observed = np.array([y[rng.choice(np.delete(np.arange(n), i), k, replace=False)].sum()
                         for i, k in enumerate(degree)])
    sign = rng.integers(-1, 2, n).astype(np.int8)
    return y, degree, observed, sign


def assert_same(y: np.ndarray, degree: np.ndarray, observed: np.ndarray, sign: np.ndarray,
                r: int, seed: int, exact: bool, block: int | None = None) -> None:
    new = conditional_randomization(y, degree, observed, sign, permutations=r,
                                    rng=np.random.default_rng(seed), block=block)
    old = dense_conditional_randomization(y, degree, observed, sign, permutations=r,
                                          rng=np.random.default_rng(seed))
    np.testing.assert_array_equal(new.n_ge, old.n_ge)
    np.testing.assert_array_equal(new.n_le, old.n_le)
    assert new.permutations == old.permutations == r
    if exact:
        np.testing.assert_array_equal(new.mean, old.mean)
        np.testing.assert_array_equal(new.var, old.var)
    else:
        scale = old.var + (old.mean - observed) ** 2 + 1.0
        assert np.all(np.abs(new.mean - old.mean) <= 1e-12 * np.sqrt(scale) * 10)
        assert np.all(np.abs(new.var - old.var) <= 1e-12 * scale)


@pytest.mark.parametrize("n", [4, 9, 60, 1_500])
@pytest.mark.parametrize("block", [None, 1, 5, 64, 100_000])
def test_counts_match_draw_by_draw_bit_for_bit(n: int, block: int | None) -> None:
    y, degree, observed, sign = random_problem(n, "counts", seed=n)
    assert_same(y, degree, observed, sign, r=999, seed=7, exact=True, block=block)


@pytest.mark.parametrize("n", [4, 9, 60, 1_500])
@pytest.mark.parametrize("block", [None, 1, 64])
def test_real_values_same_counts_and_moments_to_rounding(n: int, block: int | None) -> None:
    y, degree, observed, sign = random_problem(n, "real", seed=n + 1)
    # an observed sum equal to a reference sum's neighbours is a tie in the reference
    assert_same(y, degree, observed, sign, r=499, seed=8, exact=False, block=block)


def test_many_chunks_and_wide_degrees(monkeypatch: pytest.MonkeyPatch) -> None:
    # a tiny working-memory budget forces one block per chunk
    monkeypatch.setattr(engine, "CHUNK_REFERENCE_SUMS", 1)
    y, degree, observed, sign = random_problem(3_000, "counts", seed=3, max_degree=12)
    assert_same(y, degree, observed, sign, r=199, seed=9, exact=True, block=37)


def test_ties_everywhere_in_sparse_counts() -> None:
    # mostly zeros: most simulated sums equal the observed one (zeros among zeros)
    rng = np.random.default_rng(4)
    n = 5_000
    y = (rng.random(n) < 0.02).astype(float)
    degree = np.full(n, 6)
    degree[:40] = 0
    observed = np.zeros(n)
    observed[::50] = 1.0
    sign = np.ones(n, dtype=np.int8)
    assert_same(y, degree, observed, sign, r=999, seed=10, exact=True)


def test_large_integers_fall_back_to_rounded_arithmetic() -> None:
    # sums beyond exact float range: the real-value path, still the same counts
    y, degree, observed, sign = random_problem(800, "counts", seed=5)
    scale = 2.0 ** 40
    assert_same(y * scale, degree, observed * scale, sign, r=999, seed=11, exact=False)


def test_integer_values_with_fractional_observed_sums() -> None:
    y, degree, observed, sign = random_problem(500, "counts", seed=6)
    observed = observed + np.where(np.arange(500) % 3 == 0, 0.5, 1e-13)
    assert_same(y, degree, observed, sign, r=999, seed=12, exact=False)


def test_population_smaller_than_degree_squared_uses_the_argsort_draws() -> None:
    # n - 1 < k_max^2 and n <= 64: draw_index_block's other branch
    y, degree, observed, sign = random_problem(30, "counts", seed=13, max_degree=20)
    assert_same(y, degree, observed, sign, r=999, seed=14, exact=True, block=4)


def h3_like_grid(side: int) -> tuple[np.ndarray, sparse.csr_matrix]:
    """Hexagonal (6-neighbour) grid on a side × side parallelogram, and clustered counts."""
    i, j = np.divmod(np.arange(side * side), side)
    rows, cols = [], []
    for di, dj in ((0, 1), (1, 0), (1, -1), (0, -1), (-1, 0), (-1, 1)):
        ii, jj = i + di, j + dj
        ok = (ii >= 0) & (ii < side) & (jj >= 0) & (jj < side)
        rows.append(np.flatnonzero(ok))
        cols.append((ii * side + jj)[ok])
    n = side * side
    w = sparse.csr_matrix((np.ones(sum(r.size for r in rows)),
                           (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
    rng = np.random.default_rng(side)
    rate = 0.05 + 3.0 * np.exp(-((i - side / 3) ** 2 + (j - side / 2) ** 2) / (2 * 3.0 ** 2))
    return rng.poisson(rate).astype(float), w


@pytest.mark.parametrize("statistic", ["gi", "lisa"])
def test_gi_star_and_local_moran_unchanged(monkeypatch: pytest.MonkeyPatch,
                                           statistic: str) -> None:
    """Every field of the results with 999 permutations is what the draw-by-draw
    kernel gave: z, I and expected values computed as before, p-values from the
    same counts."""
    y, w = h3_like_grid(90)  # 8,100 units
    run: Callable[[], Any] = (
        (lambda: gi_star(y, w, permutations=999, seed=21)) if statistic == "gi"
        else (lambda: local_moran(y, w, permutations=999, seed=21)))
    new = run()
    monkeypatch.setattr(engine, "conditional_randomization", dense_conditional_randomization)
    old = run()
    for name, value in vars(new).items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(value, getattr(old, name), err_msg=name)
    assert new.parameters == old.parameters
