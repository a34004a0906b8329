"""Getis-Ord Gi*/Gi against esda, closed forms and exact permutation distributions.

Tolerances
----------
* z-scores and G: 1e-9 absolute against esda (same formula; observed
  differences are ~1e-15).
* Permutation p-values are Monte Carlo estimates. Against the exact
  conditional-randomisation p (all subsets enumerated) we allow
  ``4 sqrt(p(1-p)/R) + 2/R``; against esda's own estimate (an independent
  Monte Carlo run) ``4 sqrt(2 p(1-p)/R) + 2/R``. On the real data, where
  thousands of units are tested, at least 99 % of units must be inside the
  band (4 sd: a unit outside is a 6e-5 event if both are right).
"""

from __future__ import annotations

import warnings
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest
from scipy import sparse

from spatial.errors import InsufficientDataError, ParameterError
from spatial.stats.getis_ord import gi_star

POINTS = [(10, 10), (20, 10), (40, 10), (15, 20), (30, 20), (30, 30)]
Y6 = np.array([2, 3, 3.2, 5, 8, 7])
ESDA_STAR_Z = np.array([-1.39727626, -0.28917762, 0.65064964, -0.28917762, 1.23452088,
                        2.02424331])


def six_point_w():  # type: ignore[no-untyped-def]
    import libpysal

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return libpysal.weights.DistanceBand(POINTS, threshold=15)


def csr_of(w) -> sparse.csr_matrix:  # type: ignore[no-untyped-def]
    return sparse.csr_matrix(w.sparse, dtype=float)


@pytest.fixture
def esda_python(monkeypatch: pytest.MonkeyPatch) -> None:
    """esda's conditional randomisation run as plain Python (its numba
    functions' ``py_func``): the same code and random stream as compiled esda
    (checked: identical p_sim for the same seed) without a 30 s compile."""
    import esda.crand as crand
    import esda.getisord as go
    import esda.moran as mo
    import esda.significance as es

    monkeypatch.setattr(crand, "boolean", bool)
    for mod, names in [(crand, ["compute_chunk", "vec_permutations", "_prepare_univariate"]),
                       (go, ["_g_local_crand", "_g_local_star_crand", "_prepare_univariate"]),
                       (mo, ["_moran_local_crand", "_prepare_univariate"])]:
        for name in names:
            f = getattr(mod, name)
            monkeypatch.setattr(mod, name, getattr(f, "py_func", f))
    monkeypatch.setattr(crand, "_permutation_significance",
                        getattr(es._permutation_significance, "py_func",
                                es._permutation_significance))


def mc_band(p: np.ndarray, r: int, independent_runs: int = 1) -> np.ndarray:
    return 4 * np.sqrt(independent_runs * p * (1 - p) / r) + 2 / r


def exact_tail_probs(y: np.ndarray, w: sparse.csr_matrix, sign: np.ndarray | None = None
                     ) -> tuple[np.ndarray, np.ndarray]:
    """P(S_sim >= S_obs), P(S_sim <= S_obs) under conditional randomisation, by enumeration."""
    n = y.size
    ge = np.empty(n)
    le = np.empty(n)
    sgn = np.ones(n) if sign is None else sign
    for i in range(n):
        nb = w.indices[w.indptr[i]:w.indptr[i + 1]]
        others = np.delete(y, i)
        sums = np.array([others[list(c)].sum() for c in combinations(range(n - 1), nb.size)])
        d = sgn[i] * (sums - y[nb].sum())
        ge[i] = np.mean(d >= -1e-12)
        le[i] = np.mean(d <= 1e-12)
    return ge, le


def test_six_point_fixture_literals_and_esda() -> None:
    from esda.getisord import G_Local

    w = six_point_w()
    res = gi_star(Y6, csr_of(w))
    np.testing.assert_allclose(res.z, ESDA_STAR_Z, rtol=0, atol=5e-9)  # printed to 8 d.p.
    lg = G_Local(Y6, six_point_w(), transform="B", star=True, permutations=0)
    np.testing.assert_allclose(res.z, lg.Zs, rtol=0, atol=1e-9)
    np.testing.assert_allclose(res.g, lg.Gs, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(res.n_neighbours, [3, 4, 2, 4, 5, 2])
    np.testing.assert_allclose(res.p, 2 * lg.p_norm, rtol=1e-12)
    assert res.parameters["star"] is True and res.parameters["transform"] == "B"
    # the default is two-stage permutation inference; normal stays an explicit choice
    assert res.parameters["inference"] == "permutation" and res.p_sim is not None
    assert res.parameters["permutations"] == 49_999
    assert res.parameters["first_stage_permutations"] == 999
    assert any("30 features" in m for m in res.warnings)
    normal = gi_star(Y6, csr_of(w), permutations=0)
    assert normal.parameters["inference"] == "normal" and normal.p_sim is None
    np.testing.assert_array_equal(normal.z, res.z)


def test_gi_without_star_matches_esda() -> None:
    from esda.getisord import G_Local

    res = gi_star(Y6, csr_of(six_point_w()), star=False)
    lg = G_Local(Y6, six_point_w(), transform="B", star=False, permutations=0)
    np.testing.assert_allclose(res.z, lg.Zs, rtol=0, atol=1e-9)
    np.testing.assert_allclose(res.g, lg.Gs, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(res.n_neighbours, [2, 3, 1, 3, 4, 1])


def test_row_standardised_z_is_invariant_and_g_matches_esda() -> None:
    from esda.getisord import G_Local

    b = gi_star(Y6, csr_of(six_point_w()), transform="B")
    r = gi_star(Y6, csr_of(six_point_w()), transform="R")
    np.testing.assert_allclose(r.z, b.z, rtol=0, atol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lg = G_Local(Y6, six_point_w(), transform="R", star=True, permutations=0)
    np.testing.assert_allclose(r.g, lg.Gs, rtol=0, atol=1e-12)
    # esda's R z-scores use Var for binary weights and are therefore smaller
    assert np.all(np.abs(lg.Zs) < np.abs(r.z))


@pytest.mark.parametrize("star", [True, False])
def test_random_lattice_matches_esda(star: bool) -> None:
    import libpysal
    from esda.getisord import G_Local

    rng = np.random.default_rng(42)
    w = libpysal.weights.lat2W(25, 20, rook=False)
    y = rng.poisson(np.where(np.arange(500) % 25 < 5, 4.0, 0.8)).astype(float)
    res = gi_star(y, csr_of(w), star=star)
    lg = G_Local(y, libpysal.weights.lat2W(25, 20, rook=False), transform="B", star=star,
                 permutations=0)
    np.testing.assert_allclose(res.z, lg.Zs, rtol=0, atol=1e-9)
    np.testing.assert_allclose(res.g, lg.Gs, rtol=0, atol=1e-12)


def test_zero_units_enter_the_closed_form() -> None:
    """3×3 rook lattice; zeros are units with no events, not missing units.

    y = 0 0 3 / 0 5 2 / 0 1 4: n = 9, mean 5/3, s^2 = 55/9 - 25/9 = 10/3.
    Gi*_i = (sum_{N(i)+i} y - mean W_i) / (s sqrt((n W_i - W_i^2)/(n - 1))):
      corner 0 (W = 3, sum 0):  -5 / (s 3/2)   = -sqrt(10/3)
      centre 4 (W = 5, sum 8):  (-1/3) / (s sqrt(20/8)) = -sqrt(3)/15
      corner 8 (W = 3, sum 7):  2 / (s 3/2)    = 4 / (3 sqrt(10/3))
    """
    import libpysal

    y = np.array([0, 0, 3, 0, 5, 2, 0, 1, 4], dtype=float)
    w = csr_of(libpysal.weights.lat2W(3, 3, rook=True))
    res = gi_star(y, w)
    assert res.z[0] == pytest.approx(-np.sqrt(10 / 3), abs=1e-12)
    assert res.z[4] == pytest.approx(-np.sqrt(3) / 15, abs=1e-12)
    assert res.z[8] == pytest.approx(4 / (3 * np.sqrt(10 / 3)), abs=1e-12)
    # dropping the zero units (as a sparse count table would) changes the answer
    keep = np.flatnonzero(y > 0)
    dropped = gi_star(y[keep], sparse.csr_matrix(w[keep][:, keep]))
    assert abs(dropped.z[list(keep).index(4)] - res.z[4]) > 0.1
    assert any("fewer events than units" not in m for m in res.warnings)


def test_permutation_p_against_exact_enumeration() -> None:
    w = csr_of(six_point_w())
    r = 9999
    res = gi_star(Y6, w, permutations=r, seed=20240101)
    ge, le = exact_tail_probs(Y6, w)
    folded = np.minimum(ge, 1 - ge)  # no ties in this data
    two = np.minimum(1, 2 * np.minimum(ge, le))
    assert res.p_sim is not None and res.p_sim_folded is not None
    assert np.all(np.abs(res.p_sim_folded - folded) <= mc_band(folded, r))
    assert np.all(np.abs(res.p_sim - two) <= 2 * mc_band(np.minimum(ge, le), r))
    assert res.parameters["inference"] == "permutation"
    assert res.parameters["seed"] == 20240101


def test_permutation_p_counts_ties_in_both_tails() -> None:
    """Counts with zeros: exact tail probabilities with ties, and esda's folded p."""
    import libpysal

    y = np.array([0, 0, 3, 0, 5, 2, 0, 1, 4, 0, 0, 0], dtype=float)
    w = csr_of(libpysal.weights.lat2W(3, 4, rook=True))
    r = 9999
    res = gi_star(y, w, permutations=r, seed=3)
    ge, le = exact_tail_probs(y, w)
    lt = 1 - ge
    assert res.p_sim is not None and res.p_sim_folded is not None
    assert np.all(np.abs(res.p_sim_folded - np.minimum(ge, lt)) <= mc_band(np.minimum(ge, lt), r))
    two = np.minimum(1, 2 * np.minimum(ge, le))
    assert np.all(np.abs(res.p_sim - two) <= 2 * mc_band(np.minimum(ge, le), r))
    # unit 10, a zero whose neighbours are all zero: every draw ties or exceeds it, so
    # esda's folded p is 1/(R+1) ("significant cold spot"); the two-sided p is twice
    # P(all drawn neighbours are zero) = 2 C(6,3)/C(11,3) = 0.24
    assert res.p_sim_folded[10] == pytest.approx(1 / (r + 1))
    assert two[10] == pytest.approx(2 * 20 / 165)
    assert res.p_sim[10] > 0.2


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.usefixtures("esda_python")
def test_permutation_p_against_esda() -> None:
    import libpysal
    from esda.getisord import G_Local

    rng = np.random.default_rng(5)
    y = rng.poisson(np.where(np.arange(400) % 20 < 4, 3.0, 1.0)).astype(float)
    r = 9999
    lg = G_Local(y, libpysal.weights.lat2W(20, 20, rook=False), transform="B", star=True,
                 permutations=r, seed=123, n_jobs=1)
    res = gi_star(y, csr_of(libpysal.weights.lat2W(20, 20, rook=False)), permutations=r,
                  seed=321)
    assert res.p_sim_folded is not None and res.z_sim is not None
    dev = np.abs(res.p_sim_folded - lg.p_sim)
    assert np.all(dev <= mc_band(lg.p_sim, r, 2))
    np.testing.assert_allclose(res.z_sim, lg.z_sim, atol=0.1)


def test_bins_use_adjusted_p_and_inference_choice() -> None:
    import libpysal

    rng = np.random.default_rng(0)
    y = rng.poisson(np.where(np.arange(400) % 20 < 4, 3.0, 1.0)).astype(float)
    w = csr_of(libpysal.weights.lat2W(20, 20, rook=False))
    res = gi_star(y, w, alpha_levels=(0.10, 0.05, 0.01), permutations=0)
    sig = res.p_adjusted <= 0.05
    assert np.all(np.abs(res.bin[sig]) >= 2)
    assert np.all(res.bin[res.p_adjusted > 0.10] == 0)
    assert np.all(np.sign(res.bin[res.bin != 0]) == np.sign(res.z[res.bin != 0]))
    none = gi_star(y, w, correction="none", permutations=0)
    np.testing.assert_array_equal(none.p_adjusted, none.p)
    assert np.count_nonzero(none.bin) >= np.count_nonzero(res.bin)
    perm = gi_star(y, w, permutations=999, seed=1)
    assert perm.parameters["inference"] == "permutation"
    assert perm.p_sim is not None
    np.testing.assert_allclose(perm.p_adjusted[perm.p_sim < 1],
                               adjust_bh(perm.p_sim)[perm.p_sim < 1])
    normal = gi_star(y, w, permutations=999, seed=1, inference="normal")
    np.testing.assert_allclose(normal.p_adjusted, adjust_bh(normal.p))


def adjust_bh(p: np.ndarray) -> np.ndarray:
    from scipy.stats import false_discovery_control

    return np.asarray(false_discovery_control(p))


def test_seed_reproducible_and_recorded() -> None:
    w = csr_of(six_point_w())
    a = gi_star(Y6, w, permutations=999, seed=7)
    b = gi_star(Y6, w, permutations=999, seed=7)
    assert a.p_sim is not None and b.p_sim is not None
    np.testing.assert_array_equal(a.p_sim, b.p_sim)
    c = gi_star(Y6, w, permutations=999)
    d = gi_star(Y6, w, permutations=999, seed=c.parameters["seed"])
    assert c.parameters["seed"] is not None
    np.testing.assert_array_equal(c.p_sim, d.p_sim)  # type: ignore[arg-type]


def test_islands_are_nan_with_warning() -> None:
    import libpysal

    y = np.arange(40, dtype=float) % 7
    w = csr_of(libpysal.weights.lat2W(5, 8)).tolil()
    w[3, :] = 0
    w[:, 3] = 0
    res = gi_star(y, sparse.csr_matrix(w), permutations=99, seed=1)
    assert np.isnan(res.z[3]) and np.isnan(res.p[3]) and res.bin[3] == 0
    assert res.p_sim is not None and np.isnan(res.p_sim[3]) and np.isnan(res.p_adjusted[3])
    assert np.all(np.isfinite(np.delete(res.z, 3)))
    assert res.n_neighbours[3] == 1
    assert res.parameters["n_islands"] == 1
    assert any("no neighbours" in m for m in res.warnings)


def complete_w(n: int) -> sparse.csr_matrix:
    return sparse.csr_matrix(np.ones((n, n)) - np.eye(n))


@pytest.mark.parametrize("star", [True, False])
@pytest.mark.parametrize("y", [[1, 2, 3], [0.3, 0.6, 0.9]])
def test_complete_graph_is_null_with_warning(y: list[float], star: bool) -> None:
    # 3 units that all touch: each Gi* sum is the total (6 or 1.8), W_i = n,
    # so z = 0/0. [0.3, 0.6, 0.9] used to leak rounding out as z = +-inf, p = 0.
    res = gi_star(y, complete_w(3), star=star)
    assert np.all(np.isnan(res.z)) and np.all(np.isnan(res.p))
    assert np.all(res.bin == 0)
    name = "Gi*" if star else "Gi"
    msg = [m for m in res.warnings if "every unit neighbours every other unit" in m]
    assert len(msg) == 1 and f"each {name} sum is the total" in msg[0]
    if star:
        np.testing.assert_allclose(res.g, 1.0)  # the sum is the whole total


def test_complete_graph_with_permutations_is_null_with_warning() -> None:
    res = gi_star([1, 2, 3], complete_w(3), permutations=99, seed=1)
    assert np.all(np.isnan(res.z)) and np.all(res.bin == 0)
    assert any("every unit neighbours every other unit" in m for m in res.warnings)


def test_unit_neighbouring_all_others_is_null_with_warning() -> None:
    # A star: unit 0 touches units 1-3, which touch only unit 0.
    w = sparse.csr_matrix(np.array([[0, 1, 1, 1], [1, 0, 0, 0], [1, 0, 0, 0], [1, 0, 0, 0]],
                                   dtype=float))
    y = np.array([0.3, 0.6, 0.9, 2.0])
    res = gi_star(y, w)
    assert np.isnan(res.z[0]) and np.all(np.isfinite(res.z[1:]))
    # leaf 1: Gi* sum 0.9 against mean 0.95 x W 2; s = sqrt(1.65 / 4); (4*2 - 4) / 3
    expected = (0.9 - 0.95 * 2) / (np.sqrt(0.4125) * np.sqrt(4 / 3))
    np.testing.assert_allclose(res.z[1], expected, rtol=0, atol=1e-12)
    assert any(m.startswith("1 unit(s) neighbour every other unit") for m in res.warnings)
    assert not any("every unit neighbours every other unit" in m for m in res.warnings)


def test_no_neighbours_anywhere_says_so() -> None:
    islands = sparse.csr_matrix((4, 4))
    for y in ([1, 2, 3, 4], [2, 2, 2, 2]):
        with pytest.raises(InsufficientDataError, match="no unit has a neighbour") as err:
            gi_star(y, islands)
        assert "same value" not in str(err.value)


def test_same_value_with_neighbours_keeps_its_message() -> None:
    path = sparse.csr_matrix(np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], dtype=float))
    for star in (True, False):
        with pytest.raises(InsufficientDataError, match="every unit has the same value"):
            gi_star([2, 2, 2], path, star=star)


def test_sparse_counts_warning() -> None:
    import libpysal

    y = np.zeros(100)
    y[[5, 50, 51]] = 1
    res = gi_star(y, csr_of(libpysal.weights.lat2W(10, 10)))
    assert any("fewer events than units" in m for m in res.warnings)


def test_input_errors() -> None:
    w = csr_of(six_point_w())
    with pytest.raises(ParameterError):
        gi_star(Y6[:5], w)
    with pytest.raises(ParameterError):
        gi_star(np.r_[Y6[:5], np.nan], w)
    with pytest.raises(ParameterError):
        gi_star(Y6, w * 2)
    with pytest.raises(ParameterError):
        gi_star(Y6, w, transform="D")
    with pytest.raises(ParameterError):
        gi_star(Y6, w, permutations=10)
    with pytest.raises(ParameterError):
        gi_star(Y6, w, correction="holm")
    with pytest.raises(ParameterError):
        gi_star(Y6, w, permutations=0, inference="permutation")
    with pytest.raises(ParameterError, match="first_stage"):
        gi_star(Y6, w, permutations=999, first_stage=9999)
    with pytest.raises(ParameterError, match="continue_below"):
        gi_star(Y6, w, continue_below=0)
    with pytest.raises(InsufficientDataError):
        gi_star(np.ones(6), w)


# ---------------------------------------------------------------------------
# Real data: Sheffield police.uk Drugs, H3 res 9, esda compiled
# ---------------------------------------------------------------------------


def sheffield_drugs_h3(shared_data: Path) -> tuple[list[str], np.ndarray, sparse.csr_matrix,
                                                   dict[int, list[int]]]:
    """Drugs counts per H3 res-9 cell over Sheffield's neighbourhoods, zeros included."""
    import geopandas as gpd
    import h3
    import pandas as pd
    import shapely

    frames = [pd.read_csv(f, usecols=["Longitude", "Latitude", "Crime type"])
              for f in sorted((shared_data / "policeuk").glob("*south-yorkshire*.csv"))]
    ev = pd.concat(frames, ignore_index=True)
    ev = ev[(ev["Crime type"] == "Drugs")].dropna(subset=["Longitude", "Latitude"])
    nh = gpd.read_file(shared_data / "boundaries" / "sheffield" / "sheffield_nhood.geojson")
    area = shapely.union_all(shapely.make_valid(nh.geometry.to_crs(4326).values))
    cells = sorted(h3.geo_to_cells(area, 9))
    index = {c: i for i, c in enumerate(cells)}
    y = np.zeros(len(cells))
    for lat, lon in zip(ev["Latitude"].to_numpy(), ev["Longitude"].to_numpy(), strict=True):
        j = index.get(h3.latlng_to_cell(float(lat), float(lon), 9))
        if j is not None:
            y[j] += 1
    neighbours: dict[int, list[int]] = {}
    rows, cols = [], []
    for i, c in enumerate(cells):
        nb = sorted(index[d] for d in h3.grid_disk(c, 1) if d != c and d in index)
        neighbours[i] = nb
        rows += [i] * len(nb)
        cols += nb
    w = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(cells), len(cells)))
    return cells, y, w, neighbours


@pytest.mark.realdata
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_realdata_sheffield_gi_star_against_esda(shared_data: Path) -> None:
    import libpysal
    from esda.getisord import G_Local

    cells, y, w, neighbours = sheffield_drugs_h3(shared_data)
    assert len(cells) > 3000 and 300 < y.sum() < 600
    r = 9999
    lg = G_Local(y, libpysal.weights.W(neighbours, silence_warnings=True), transform="B",
                 star=True, permutations=r, seed=99, n_jobs=1, keep_simulations=False)
    res = gi_star(y, w, permutations=r, seed=2024)
    np.testing.assert_allclose(res.z, lg.Zs, rtol=0, atol=1e-9)
    assert res.p_sim_folded is not None
    inside = np.abs(res.p_sim_folded - lg.p_sim) <= mc_band(lg.p_sim, r, 2)
    assert inside.mean() >= 0.99, f"{(~inside).sum()} of {y.size} units outside the band"


def test_concentration_in_one_unit_is_named_under_permutation_inference() -> None:
    import libpysal

    y = np.zeros(100)
    y[[5, 50, 51, 77]] = 1
    y[33] = 40  # a snap point holding most events
    w = csr_of(libpysal.weights.lat2W(10, 10))
    res = gi_star(y, w, seed=1)
    msg = [m for m in res.warnings if "concentration in one unit" in m]
    assert len(msg) == 1 and "the largest 40" in msg[0] and msg[0].startswith("1 unit(s)")
    assert not any("concentration in one unit" in m
                   for m in gi_star(y, w, permutations=0).warnings)
    y2 = np.ones(100)
    assert not any("concentration" in m for m in gi_star(y2 + (np.arange(100) % 3), w,
                                                         seed=1).warnings)
