"""Local and global Moran's I against esda, libpysal examples and exact enumeration.

Tolerances as in test_getis_ord.py: statistics and analytical moments 1e-9
against esda; permutation p within ``4 sqrt(k p(1-p)/R) + 2/R`` (k = 1 against
an exact value, 2 against another Monte Carlo run). With continuous data the
observed neighbour set itself is drawn again with probability
``1/C(n-1, k_i)``; esda decides such exact ties by floating-point rounding,
so against esda we also allow that probability. With counts, ties are
everywhere (zeros among zeros); there esda's p for local Moran depends on
rounding and we check that it lies in the range any tie-breaking gives.
"""

from __future__ import annotations

import warnings
from math import comb
from pathlib import Path

import numpy as np
import pytest
from scipy import sparse

from spatial.errors import InsufficientDataError, ParameterError
from spatial.stats.moran import global_moran, local_moran
from spatial.stats.permutation import conditional_randomization
from tests.spatial.stats.test_getis_ord import (
    csr_of,
    esda_python,  # noqa: F401 - fixture
    exact_tail_probs,
    mc_band,
    sheffield_drugs_h3,
)

DESMITH_Q = [4, 4, 4, 2, 3, 3, 1, 4, 3, 3]
STL_I = 0.24365582621771659


def desmith():  # type: ignore[no-untyped-def]
    import libpysal

    w = libpysal.io.open(libpysal.examples.get_path("desmith.gal")).read()
    y = np.array(libpysal.io.open(libpysal.examples.get_path("desmith.txt")).by_col["z"],
                 dtype=float)
    return y, w


def stl():  # type: ignore[no-untyped-def]
    import libpysal

    w = libpysal.io.open(libpysal.examples.get_path("stl.gal")).read()
    y = np.array(libpysal.io.open(libpysal.examples.get_path("stl_hom.txt")).by_col["HR8893"],
                 dtype=float)
    return y, w


def test_desmith_reference_values_and_esda() -> None:
    from esda.moran import Moran_Local

    y, w = desmith()
    wb = csr_of(w)
    res = local_moran(y, wb, permutations=0)
    np.testing.assert_allclose(res.ei, -1 / 9, rtol=0, atol=1e-15)
    np.testing.assert_array_equal(res.q, DESMITH_Q)
    lm = Moran_Local(y, desmith()[1], transformation="r", permutations=0)
    np.testing.assert_array_equal(res.q, lm.q)
    for ours, theirs in [(res.Is, lm.Is), (res.ei, lm.EI), (res.vi, lm.VI),
                         (res.ei_conditional, lm.EIc), (res.vi_conditional, lm.VIc),
                         (res.z, (lm.Is - lm.EI) / np.sqrt(lm.VI))]:
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-9)
    assert res.parameters["transform"] == "R" and res.p_sim is None
    np.testing.assert_allclose(res.p_norm, 2 * __import__("scipy").stats.norm.sf(np.abs(res.z)))


def test_binary_transform_matches_esda() -> None:
    from esda.moran import Moran_Local

    y, w = desmith()
    res = local_moran(y, csr_of(w), transform="B", permutations=0)
    lm = Moran_Local(y, desmith()[1], transformation="b", permutations=0)
    np.testing.assert_allclose(res.Is, lm.Is, rtol=0, atol=1e-9)
    np.testing.assert_allclose(res.vi, lm.VI, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(res.q, lm.q)


def test_random_lattice_matches_esda() -> None:
    import libpysal
    from esda.moran import Moran_Local

    rng = np.random.default_rng(8)
    y = rng.gamma(2.0, size=600) + np.repeat(np.arange(30) % 3, 20)
    res = local_moran(y, csr_of(libpysal.weights.lat2W(30, 20)), permutations=0)
    lm = Moran_Local(y, libpysal.weights.lat2W(30, 20), permutations=0)
    np.testing.assert_allclose(res.Is, lm.Is, rtol=0, atol=1e-9)
    np.testing.assert_allclose(res.ei, lm.EI, rtol=0, atol=1e-9)
    np.testing.assert_allclose(res.vi, lm.VI, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(res.q, lm.q)


def test_permutation_p_against_exact_enumeration() -> None:
    y, w = desmith()
    wb = csr_of(w)
    r = 9999
    res = local_moran(y, wb, permutations=r, seed=11, correction="none")
    z = y - y.mean()
    ge, le = exact_tail_probs(y, wb, np.sign(z))
    folded = np.minimum(ge, 1 - ge)
    assert res.p_sim is not None and res.p_sim_folded is not None
    assert np.all(np.abs(res.p_sim_folded - folded) <= mc_band(folded, r))
    two = np.minimum(1, 2 * np.minimum(ge, le))
    assert np.all(np.abs(res.p_sim - two) <= 2 * mc_band(np.minimum(ge, le), r))
    np.testing.assert_array_equal(res.p_adjusted, res.p_sim)
    sig = res.p_adjusted <= 0.05
    np.testing.assert_array_equal(res.labels[~sig], "ns")
    assert res.parameters["alternative"] == "two-sided" and res.parameters["seed"] == 11


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.usefixtures("esda_python")
def test_permutation_p_against_esda() -> None:
    from esda.moran import Moran_Local

    y, w = desmith()
    r = 9999
    lm = Moran_Local(y, w, transformation="r", permutations=r, seed=1, n_jobs=1)
    res = local_moran(y, csr_of(desmith()[1]), permutations=r, seed=2)
    tie = np.array([1 / comb(9, k) for k in np.diff(csr_of(desmith()[1]).indptr)])
    assert res.p_sim_folded is not None and res.ei_sim is not None
    assert np.all(np.abs(res.p_sim_folded - lm.p_sim) <= mc_band(lm.p_sim, r, 2) + tie)
    np.testing.assert_allclose(res.ei_sim, lm.EI_sim, atol=0.02)
    np.testing.assert_allclose(res.vi_sim, lm.VI_sim, rtol=0.1)


def test_labels_follow_quadrant_and_adjusted_p() -> None:
    import libpysal

    rng = np.random.default_rng(4)
    base = np.zeros((20, 20))
    base[2:7, 2:7] = 6
    base[12:18, 12:18] = -6
    y = (base + rng.normal(0, 1, (20, 20))).ravel() + 10
    res = local_moran(y, csr_of(libpysal.weights.lat2W(20, 20)), permutations=999, seed=5)
    names = np.array(["ns", "HH", "LH", "LL", "HL"])
    sig = res.p_adjusted <= 0.05
    np.testing.assert_array_equal(res.labels[sig], names[res.q[sig]])
    np.testing.assert_array_equal(res.labels[~sig], "ns")
    hot = np.zeros((20, 20), bool)
    hot[3:6, 3:6] = True
    assert set(res.labels[hot.ravel()]) == {"HH"}
    cold = np.zeros((20, 20), bool)
    cold[13:17, 13:17] = True
    assert set(res.labels[cold.ravel()]) == {"LL"}


def test_islands_are_nan_with_warning() -> None:
    import libpysal

    y = (np.arange(36, dtype=float) * 7) % 11
    w = csr_of(libpysal.weights.lat2W(6, 6)).tolil()
    w[10, :] = 0
    w[:, 10] = 0
    res = local_moran(y, sparse.csr_matrix(w), permutations=99, seed=1)
    assert np.isnan(res.Is[10]) and np.isnan(res.z[10]) and res.q[10] == 0
    assert res.labels[10] == "ns" and np.isnan(res.p_adjusted[10])
    assert res.p_sim is not None and np.all(np.isfinite(np.delete(res.p_sim, 10)))
    assert any("no neighbours" in m for m in res.warnings)
    g = global_moran(y, sparse.csr_matrix(w), permutations=0)
    assert np.isfinite(g.I) and any("no neighbours" in m for m in g.warnings)


def test_input_errors() -> None:
    y, w = desmith()
    wb = csr_of(w)
    with pytest.raises(ParameterError):
        local_moran(y, wb, transform="V")
    with pytest.raises(ParameterError):
        local_moran(y, wb, alpha=0)
    with pytest.raises(ParameterError):
        local_moran(y, wb * 3)
    with pytest.raises(InsufficientDataError):
        local_moran(np.ones(10), wb)
    with pytest.raises(ParameterError):
        global_moran(y[:9], wb)


# ---------------------------------------------------------------------------
# Global Moran
# ---------------------------------------------------------------------------


def test_global_moran_stl_reference_and_esda_moments() -> None:
    from esda.moran import Moran

    y, w = stl()
    res = global_moran(y, csr_of(w), permutations=0)
    assert res.I == pytest.approx(STL_I, abs=1e-12)
    m = Moran(y, stl()[1], permutations=0)
    for name in ("I", "EI", "VI_norm", "z_norm", "p_norm", "VI_rand", "z_rand", "p_rand"):
        assert getattr(res, name) == pytest.approx(getattr(m, name), abs=1e-9), name
    assert res.p_sim is None and res.parameters["transform"] == "R"


def test_global_moran_binary_matches_esda() -> None:
    from esda.moran import Moran

    y, w = stl()
    res = global_moran(y, csr_of(w), transform="B", permutations=0)
    m = Moran(y, stl()[1], transformation="b", permutations=0)
    for name in ("I", "EI", "VI_norm", "z_norm", "p_norm", "VI_rand", "z_rand", "p_rand"):
        assert getattr(res, name) == pytest.approx(getattr(m, name), abs=1e-9), name


def test_global_moran_permutation_against_esda() -> None:
    from esda.moran import Moran

    y, w = desmith()
    r = 9999
    np.random.seed(17)  # noqa: NPY002 - esda's global Moran uses numpy's legacy state
    m = Moran(y, desmith()[1], permutations=r)
    res = global_moran(y, csr_of(w), permutations=r, seed=3)
    assert res.p_sim_folded is not None and res.p_sim is not None
    assert abs(res.p_sim_folded - m.p_sim) <= float(mc_band(np.array(m.p_sim), r, 2))
    assert res.p_sim == pytest.approx(min(1.0, 2 * res.p_sim_folded), abs=2 / r)
    assert res.EI_sim == pytest.approx(m.EI_sim, abs=0.01)
    assert res.z_sim == pytest.approx(m.z_sim, abs=0.1)
    # stl: strong autocorrelation, the observed I beats every permutation
    g = global_moran(*(lambda a: (a[0], csr_of(a[1])))(stl()), permutations=999, seed=1)
    assert g.p_sim == pytest.approx(2 / 1000)


# ---------------------------------------------------------------------------
# Real data: Sheffield police.uk Drugs, H3 res 9, esda compiled
# ---------------------------------------------------------------------------


def folded_range(n_gt: np.ndarray, n_ge: np.ndarray, r: int) -> tuple[np.ndarray, np.ndarray]:
    """Smallest and largest esda p over every way of breaking the ties."""
    def f(m: np.ndarray) -> np.ndarray:
        return (np.minimum(m, r - m) + 1) / (r + 1)

    lo = np.minimum(f(n_gt), f(n_ge))
    hi = np.where((n_gt <= r / 2) & (n_ge >= r / 2), (r // 2 + 1) / (r + 1),
                  np.maximum(f(n_gt), f(n_ge)))
    return lo, hi


@pytest.mark.realdata
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_realdata_sheffield_local_moran_against_esda(shared_data: Path) -> None:
    import libpysal
    from esda.moran import Moran_Local

    cells, y, w, neighbours = sheffield_drugs_h3(shared_data)
    r, seed = 9999, 2024
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lm = Moran_Local(y, libpysal.weights.W(neighbours, silence_warnings=True),
                         transformation="r", permutations=r, seed=99, n_jobs=1,
                         keep_simulations=False)
    res = local_moran(y, w, permutations=r, seed=seed)
    np.testing.assert_allclose(res.Is, lm.Is, rtol=0, atol=1e-9)
    np.testing.assert_allclose(res.z, (lm.Is - lm.EI) / np.sqrt(lm.VI), rtol=0, atol=1e-9)
    np.testing.assert_array_equal(res.q, lm.q)
    # the same simulations as local_moran, to see the ties
    degree = np.diff(w.indptr)
    counts = conditional_randomization(y, degree, w @ y, np.sign(y - y.mean()).astype(np.int8),
                                       permutations=r, rng=np.random.default_rng(seed))
    lo, hi = folded_range(r - counts.n_le, counts.n_ge, r)
    band = mc_band(lm.p_sim, r, 2)
    inside = (lm.p_sim >= lo - band) & (lm.p_sim <= hi + band)
    assert inside.mean() >= 0.99, f"{(~inside).sum()} of {y.size} units outside"
    # units where ties are rare (under 0.5 % of draws): plain Monte Carlo agreement
    untied = counts.n_ge + counts.n_le - r <= 0.005 * r
    assert untied.sum() > 100
    ok = np.abs(res.p_sim_folded[untied] - lm.p_sim[untied]) <= band[untied]  # type: ignore[index]
    assert ok.mean() >= 0.99


def test_all_islands_say_so_rather_than_same_value() -> None:
    """With no neighbour anywhere the cause is the weights, whatever the values."""
    w = sparse.csr_matrix((5, 5))
    for values in ([1.0, 2.0, 3.0, 4.0, 5.0], [2.0] * 5):
        for stat in (local_moran, global_moran):
            with pytest.raises(InsufficientDataError, match="no unit has a neighbour"):
                stat(np.array(values), w, permutations=0)
    path = sparse.diags([np.ones(4), np.ones(4)], [-1, 1], format="csr")
    with pytest.raises(InsufficientDataError, match="every unit has the same value"):
        global_moran(np.full(5, 2.0), path, permutations=0)
