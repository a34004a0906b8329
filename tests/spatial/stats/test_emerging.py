"""Emerging hot spots: space-time weights on a tiny grid, Gi* on the flattened cube, and
ArcGIS's categories checked one by one on hand-built series (one unit per category)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from spatial.errors import ParameterError
from spatial.stats.emerging import (
    CATEGORIES,
    CODES,
    DEFAULT_PERMUTATIONS,
    MAX_DEFAULT_PERMUTATIONS,
    SF_CATEGORIES,
    classify,
    classify_sfhotspot,
    default_permutations,
    emerging_hot_spots,
    space_time_weights,
    total_randomization_p,
)
from spatial.stats.getis_ord import gi_star

T = 10


def line_weights(n: int) -> sparse.csr_matrix:
    """Units 0 - 1 - ... - n-1 in a row, each the neighbour of the next."""
    rows = np.r_[np.arange(n - 1), np.arange(1, n)]
    cols = np.r_[np.arange(1, n), np.arange(n - 1)]
    return sparse.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(n, n))


def test_space_time_weights_on_a_tiny_grid_by_hand() -> None:
    # three units in a row, three steps, one previous step: bin (i, t) is row t*3 + i
    w = space_time_weights(line_weights(3), 3, 1).toarray()
    assert w.shape == (9, 9)

    def b(i: int, t: int) -> int:
        return t * 3 + i

    expected = np.zeros((9, 9))
    spatial = {0: [0, 1], 1: [0, 1, 2], 2: [1, 2]}  # neighbours and the unit itself
    for t in range(3):
        for i in range(3):
            for s in (t - 1, t):
                if s < 0:
                    continue
                for j in spatial[i]:
                    if (j, s) != (i, t):
                        expected[b(i, t), b(j, s)] = 1
    np.testing.assert_array_equal(w, expected)
    # spelled out: the middle unit at step 1 sees all three units at steps 0 and 1
    assert set(np.flatnonzero(w[b(1, 1)])) == {0, 1, 2, 3, 5}
    # the first step has no past; the corner unit sees itself and unit 1
    assert set(np.flatnonzero(w[b(0, 0)])) == {b(1, 0)}
    # no look into the future
    assert w[b(0, 0), b(0, 1)] == 0
    # time_steps=0 is the spatial weights on each step's block
    w0 = space_time_weights(line_weights(3), 3, 0).toarray()
    np.testing.assert_array_equal(w0, np.kron(np.eye(3), line_weights(3).toarray()))


def test_space_time_weights_refuse_bad_time_steps() -> None:
    with pytest.raises(ParameterError) as e:
        space_time_weights(line_weights(3), 3, 3)
    assert e.value.parameter == "time_steps"


def test_gi_star_of_a_bin_by_the_formula() -> None:
    rng = np.random.default_rng(1)
    counts = rng.poisson(2.0, size=(4, T)).astype(float)
    res = emerging_hot_spots(counts, line_weights(4), permutations=0, seed=1)
    x = counts.T.ravel()  # all bins as one set
    n = x.size
    # bin (unit 2, step 5): units 1, 2, 3 at steps 4 and 5 (self included): 6 bins
    nb = [(j, s) for s in (4, 5) for j in (1, 2, 3)]
    total = sum(counts[j, s] for j, s in nb)
    wi = len(nb)
    z = (total - x.mean() * wi) / (x.std() * np.sqrt((n * wi - wi * wi) / (n - 1)))
    assert res.z[2, 5] == pytest.approx(z, abs=1e-12)
    ref = gi_star(x, space_time_weights(line_weights(4), T, 1), permutations=0)
    np.testing.assert_allclose(res.z, ref.z.reshape(T, 4).T, atol=1e-12)


def row(bits: str) -> list[bool]:
    return [ch == "1" for ch in bits]


# unit: (hot bits, cold bits, trend z, trend p) -> expected category
CASES = {
    "new_hot": ("0000000001", "0000000000", 1.0, 0.5),
    "consecutive_hot": ("0000000111", "0000000000", 2.5, 0.01),
    "intensifying_hot": ("0111111111", "0000000000", 3.0, 0.001),
    "persistent_hot": ("1111111111", "0000000000", 0.4, 0.7),
    "diminishing_hot": ("1111111111", "0000000000", -3.0, 0.002),
    "sporadic_hot": ("0100100011", "0000000000", 0.1, 0.9),
    "oscillating_hot": ("0100000001", "0001000000", 0.0, 1.0),
    "historical_hot": ("1111111110", "0000000000", -2.5, 0.01),
    "new_cold": ("0000000000", "0000000001", -1.0, 0.5),
    "consecutive_cold": ("0000000000", "0000000011", -2.5, 0.01),
    "intensifying_cold": ("0000000000", "0111111111", -3.0, 0.001),
    "persistent_cold": ("0000000000", "1111111111", 0.3, 0.8),
    "diminishing_cold": ("0000000000", "1111111111", 3.0, 0.002),
    "sporadic_cold": ("0000000000", "1010000001", 0.0, 1.0),
    "oscillating_cold": ("0010000000", "0000001001", 0.0, 1.0),
    "historical_cold": ("0000000000", "1111111110", 2.6, 0.01),
    "no_pattern": ("0010000000", "0000000000", 0.0, 1.0),
}


def test_every_category_rule_met_exactly() -> None:
    names = list(CASES)
    hot = np.array([row(CASES[k][0]) for k in names])
    cold = np.array([row(CASES[k][1]) for k in names])
    tz = np.array([CASES[k][2] for k in names])
    tp = np.array([CASES[k][3] for k in names])
    got = classify(hot, cold, tz, tp, 0.05)
    for name, category in zip(names, got, strict=True):
        assert category == name, f"{name}: got {category}"
    assert set(names) == set(CATEGORIES)
    assert sorted(CODES[c] for c in names) == list(range(-8, 9))


@pytest.mark.parametrize(("hot", "cold", "tz", "tp", "expected"), [
    # 9 of 10 steps hot is "90 percent"; 8 of 10 is not
    ("1111111101", "0000000000", 0.0, 1.0, "persistent_hot"),
    ("1111110111", "0000000000", 2.0, 0.04, "intensifying_hot"),
    ("1111100111", "0000000000", 2.0, 0.04, "sporadic_hot"),
    # a trend just above alpha is no trend
    ("1111111111", "0000000000", 1.9, 0.051, "persistent_hot"),
    # consecutive needs a run of at least two; one final hot bin after earlier ones is sporadic
    ("0000001001", "0000000000", 0.0, 1.0, "sporadic_hot"),
    ("0000000011", "0000000000", 0.0, 1.0, "consecutive_hot"),
    # sporadic: never a cold spot; with a cold spot before, oscillating
    ("1000100001", "0100000000", 0.0, 1.0, "oscillating_hot"),
    # overlap, first rule wins: hot 90 %, not hot at the end, no trend -> persistent
    ("1111111110", "0000000000", 0.0, 1.0, "persistent_hot"),
    # overlap: never hot before the final step but cold before -> new (also oscillating)
    ("0000000001", "0000100000", 0.0, 1.0, "new_hot"),
    # historical needs 90 %: hot 8 of 10 then not -> no pattern
    ("1111111100", "0000000000", -2.5, 0.01, "no_pattern"),
    # hot in the last step only after a cold run of 90 %: new hot (hot before cold)
    ("0000000001", "1111111110", 0.0, 1.0, "new_hot"),
])
def test_rule_edges(hot: str, cold: str, tz: float, tp: float, expected: str) -> None:
    got = classify(np.array([row(hot)]), np.array([row(cold)]), [tz], [tp], 0.05)
    assert got[0] == expected


def test_nan_trend_is_no_trend() -> None:
    got = classify(np.array([row("1111111111")]), np.zeros((1, T), bool), [np.nan], [np.nan])
    assert got[0] == "persistent_hot"


def test_classify_refuses_a_bin_hot_and_cold() -> None:
    with pytest.raises(ParameterError):
        classify(np.ones((1, T), bool), np.ones((1, T), bool), [0.0], [1.0])


def grid_weights(side: int) -> sparse.csr_matrix:
    """Rook neighbours of a side x side lattice (row-major)."""
    n = side * side
    r, c = np.divmod(np.arange(n), side)
    pairs = [(i, j) for i in range(n) for j in range(n)
             if abs(r[i] - r[j]) + abs(c[i] - c[j]) == 1]
    a, b = np.array(pairs).T
    return sparse.csr_matrix((np.ones(a.size), (a, b)), shape=(n, n))


def test_planted_emerging_cluster_is_found() -> None:
    # 12 x 12 lattice, 20 steps of Poisson(1) counts; a 3 x 3 block gets +6 events a
    # unit in the last 5 steps: its centre must be a new or consecutive hot spot
    rng = np.random.default_rng(3)
    side, steps = 12, 20
    counts = rng.poisson(1.0, size=(side * side, steps))
    block = [r * side + c for r in (5, 6, 7) for c in (5, 6, 7)]
    counts[np.ix_(block, range(15, 20))] += 6
    res = emerging_hot_spots(counts, grid_weights(side), seed=11)
    centre = 6 * side + 6
    assert res.category[centre] in ("consecutive_hot", "new_hot")
    assert res.hot[centre, -1]
    assert not res.hot[centre, :14].any()
    far = [0, 1, side, side + 1]
    assert all(res.category[u] == "no_pattern" for u in far)
    p = res.parameters
    assert p["seed"] == 11 and p["correction"] == "fdr_bh" and p["cube_shape"] == [144, 20]
    # 2,880 bins: a lone bin passes BH at 0.05 with 2 / (R + 1) <= 0.05 / 2880
    assert p["inference"] == "randomization" and p["permutations"] == 115_199
    assert p["time_steps"] == 1
    assert sum(p["category_counts"].values()) == 144


def test_total_randomization_against_exact_enumeration() -> None:
    # 8 values, sums of 3: all C(8, 3) = 56 subsets give the exact null distribution
    from itertools import combinations

    values = np.array([0, 0, 0, 1, 1, 2, 5, 9], dtype=float)
    sums = np.array([sum(c) for c in combinations(values, 3)])
    observed = np.array([0.0, 2.0, 7.0, 16.0])
    exact = [min(1.0, 2 * min(np.mean(sums >= o), np.mean(sums <= o))) for o in observed]
    got = total_randomization_p(values, np.full(4, 3), observed, 99_999,
                                np.random.default_rng(5))
    # Monte Carlo error of a proportion from 99,999 draws: sd <= 0.0016 (x 2 two-sided)
    np.testing.assert_allclose(got, exact, atol=0.01)
    # the largest possible sum (9 + 5 + 2) is as extreme as it gets: p = 2 / 56
    assert exact[3] == pytest.approx(2 / 56)


def test_a_persistent_block_is_a_persistent_hot_spot() -> None:
    # a 3 x 3 block with 5 events a step among Poisson(1) units, every step: its centre
    # is hot in every step with no trend
    rng = np.random.default_rng(2)
    counts = rng.poisson(1.0, size=(100, 12))
    block = [r * 10 + c for r in (4, 5, 6) for c in (4, 5, 6)]
    counts[block] = 5
    res = emerging_hot_spots(counts, grid_weights(10), seed=3)
    assert res.category[55] == "persistent_hot"
    assert res.hot[55].all()
    assert res.trend_p[55] > 0.05


def test_normal_inference_warns_and_refusals() -> None:
    counts = np.random.default_rng(0).poisson(0.5, size=(9, 10))
    res = emerging_hot_spots(counts, grid_weights(3), permutations=0, seed=1)
    assert res.parameters["inference"] == "normal" and res.parameters["permutations"] == 0
    assert any("normal-theory" in w for w in res.warnings)
    with pytest.raises(ParameterError) as e:
        emerging_hot_spots(counts, grid_weights(3), inference="bayes")
    assert e.value.parameter == "inference"
    with pytest.raises(ParameterError) as e:
        emerging_hot_spots(counts, grid_weights(3), inference="randomization", permutations=0)
    assert e.value.parameter == "permutations"


SF_CASES = {  # 10 steps: the last 2 are recent, the first 8 older
    "persistent_hotspot": ("1111111100", "0000000000"),      # 8 of 10 hot
    "emerging_hotspot": ("0000000001", "0000000000"),        # none older, 1 of 2 recent
    "former_hotspot": ("0100000000", "0000000000"),          # 1 of 8 older, none recent
    "intermittent_hotspot": ("0100000001", "0000000000"),    # 2 of 10, both periods
    "persistent_coldspot": ("0000000000", "0111111110"),
    "emerging_coldspot": ("0000000000", "0000000010"),
    "former_coldspot": ("0000000000", "0010000000"),
    "intermittent_coldspot": ("0000000000", "0010000010"),
    "mixed": ("0000000001", "0100000000"),                   # emerging hot, former cold
    "no_pattern": ("0000000000", "0000000000"),
}


def test_every_sfhotspot_class_met_exactly() -> None:
    names = list(SF_CASES)
    hot = np.array([row(SF_CASES[k][0]) for k in names])
    cold = np.array([row(SF_CASES[k][1]) for k in names])
    got = classify_sfhotspot(hot, cold)
    for name, category in zip(names, got, strict=True):
        assert category == name, f"{name}: got {category}"
    assert set(names) == set(SF_CATEGORIES)


def test_sfhotspot_scheme_on_a_planted_cluster() -> None:
    rng = np.random.default_rng(3)
    side, steps = 12, 20
    counts = rng.poisson(1.0, size=(side * side, steps))
    block = [r * side + c for r in (5, 6, 7) for c in (5, 6, 7)]
    counts[np.ix_(block, range(15, 20))] += 6
    res = emerging_hot_spots(counts, grid_weights(side), seed=11, scheme="sfhotspot")
    assert res.category[6 * side + 6] == "emerging_hotspot"
    assert res.parameters["scheme"] == "sfhotspot" and res.parameters["recent_prop"] == 0.2
    with pytest.raises(ParameterError) as e:
        emerging_hot_spots(counts, grid_weights(side), scheme="esri")
    assert e.value.parameter == "scheme"


def test_too_many_bins_is_refused_naming_step(monkeypatch: pytest.MonkeyPatch) -> None:
    import spatial.stats.emerging as em

    monkeypatch.setattr(em, "MAX_BINS", 50)
    with pytest.raises(ParameterError) as e:
        emerging_hot_spots(np.ones((9, 10)), grid_weights(3))
    assert e.value.parameter == "step" and "90 bins" in e.value.reason


def test_default_draws_let_a_lone_bin_pass() -> None:
    assert default_permutations(2880, 0.05, "fdr_bh") == 115_199
    assert 2 / (115_199 + 1) <= 0.05 / 2880
    assert default_permutations(100, 0.05, "fdr_bh") == DEFAULT_PERMUTATIONS
    assert default_permutations(10**6, 0.05, "fdr_bh") == MAX_DEFAULT_PERMUTATIONS


def test_blocks_of_draws_give_the_same_p_as_one() -> None:
    import spatial.stats.emerging as em

    values = np.random.default_rng(1).poisson(1.0, 300).astype(float)
    sizes = np.random.default_rng(2).integers(3, 12, 40)
    obs = np.random.default_rng(3).integers(0, 20, 40).astype(float)
    one = total_randomization_p(values, sizes, obs, 9_999, np.random.default_rng(4))
    old = em.RANDOMIZATION_BLOCK
    try:
        em.RANDOMIZATION_BLOCK = 1_000
        blocks = total_randomization_p(values, sizes, obs, 99_999, np.random.default_rng(4))
    finally:
        em.RANDOMIZATION_BLOCK = old
    np.testing.assert_allclose(blocks, one, atol=0.02)
