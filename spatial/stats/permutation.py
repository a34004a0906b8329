"""Conditional randomisation of neighbour sums: the permutation engine.

Shared by :mod:`spatial.stats.getis_ord` (Gi*, Gi) and
:mod:`spatial.stats.moran` (local Moran). For each unit the null holds the
unit's own value fixed and draws its neighbours' values from the other units
without replacement (Anselin 1995); :func:`conditional_randomization` returns
how many simulated neighbour sums are at least / at most the observed one,
from which :mod:`spatial.stats.significance` makes pseudo p-values.
:func:`staged_randomization` (the default of Gi* and local Moran) runs it with
999 draws and continues only the units whose p can still be small, with fresh
independent draws (:func:`refine_units`), to 9,999 and 49,999 (Besag &
Clifford 1991).

Why hand-written rather than esda
---------------------------------
esda's ``G_Local``/``Moran_Local`` use the same design (one shared block of
index draws, as ``crand``) but compile it with numba in every new process.
Measured with ``benchmarks/bench_hotspots.py`` (``benchmarks/RESULTS.md``,
2 CPUs, 50,311 H3 res-10 cells, 300,312 neighbour links, 999 permutations):
Gi* 0.45 s warm against 9.6 s for ``G_Local`` (21.6×) and 1.83 s against
48.2 s from a fresh process (26.4×); local Moran 0.46 s warm against 6.40 s
for ``Moran_Local`` (13.8×) and 2.04 s against 42.9 s fresh (21.1×), with the
same numbers (max |difference| 3.6e-15 for Gi* z, 2.8e-14 for LISA z). esda's
numba compilation alone took 25-31 s on the first ``G_Local`` call of a
process in the study that chose the libraries (synthetic 1M points, same
kind of machine), and two cores gave it no speed-up. The tests check every
statistic against esda.

References
----------
Anselin, L. (1995) Local indicators of spatial association - LISA.
*Geographical Analysis* 27(2), 93-115 (conditional randomisation).
Besag, J. & Clifford, P. (1991) Sequential Monte Carlo p-values.
*Biometrika* 78(2), 301-304.
Rey, S. J. & Anselin, L. (2007) PySAL: a Python library of spatial analytical
methods. *Review of Regional Studies* 37(1), 5-27 (``crand``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from spatial.errors import ParameterError
from spatial.stats.significance import FloatArray, IntArray


@dataclass(frozen=True)
class PermutationCounts:
    """What conditional randomisation returns for each unit.

    ``n_ge``/``n_le`` count simulations whose *statistic* is at least / at
    most the observed statistic (after applying the unit's ``sign``);
    ``mean``/``var`` are the mean and variance (divisor R) of the simulated
    neighbour sums ``S``.
    """

    n_ge: IntArray
    n_le: IntArray
    mean: FloatArray
    var: FloatArray
    permutations: int


def draw_index_block(rng: np.random.Generator, population: int, size: int,
                     repetitions: int) -> IntArray:
    """``repetitions`` rows of ``size`` distinct integers from ``range(population)``.

    Each row is a uniform sample without replacement (in random order). Uses
    rejection of rows with a repeat when ``size`` is small relative to the
    population (the usual case: 6 H3 neighbours among thousands of cells) and
    a row-wise random argsort otherwise.
    """
    if size > population:
        raise ParameterError("w", f"a unit has {size} neighbours but only {population} "
                             "other units exist")
    if size == 0:
        return np.zeros((repetitions, 0), dtype=np.int64)
    if size * size > population or population <= 64:
        out = np.empty((repetitions, size), dtype=np.int64)
        step = max(1, 4_000_000 // population)
        for a in range(0, repetitions, step):
            b = min(repetitions, a + step)
            keys = rng.random((b - a, population))
            out[a:b] = np.argpartition(keys, size - 1, axis=1)[:, :size] if size < population \
                else np.argsort(keys, axis=1)
            # argpartition leaves the first `size` unordered but not random-ordered;
            # shuffle each row so the column order is random too.
            out[a:b] = rng.permuted(out[a:b], axis=1)
        return out
    out = rng.integers(0, population, size=(repetitions, size), dtype=np.int64)
    while True:
        s = np.sort(out, axis=1)
        bad = np.flatnonzero((s[:, 1:] == s[:, :-1]).any(axis=1))
        if bad.size == 0:
            return out
        out[bad] = rng.integers(0, population, size=(bad.size, size), dtype=np.int64)


def conditional_randomization(values: FloatArray, degree: IntArray, observed: FloatArray,
                              sign: npt.NDArray[np.int8], *, permutations: int,
                              rng: np.random.Generator, block: int | None = None
                              ) -> PermutationCounts:
    """Conditional randomisation of neighbour sums, vectorised in NumPy.

    For each unit ``i`` with ``k_i`` neighbours, the null holds ``values[i]``
    fixed and draws ``k_i`` of the other ``n - 1`` values without replacement;
    the simulated neighbour sum is ``S_i = sum of the drawn values``
    (Anselin 1995; the design esda's ``crand`` uses). As in esda, one
    ``(R, k_max)`` block ``P`` of indices into the ``n - 1`` *other* units is
    drawn once and shared by every unit: unit ``i`` uses the first ``k_i``
    columns, with index ``j`` meaning unit ``j`` if ``j < i`` else ``j + 1``.

    The local statistics remap computes are, for a fixed unit, affine in the
    neighbour sum with slope of sign ``sign[i]`` (+1 for Gi/Gi*, the sign of
    ``z_i`` for local Moran with binary or row-standardised weights), so
    comparing sums compares statistics. Ties (a draw whose sum equals the
    observed one, e.g. zeros among zeros, or the observed neighbour set drawn
    again) count as at least as extreme in both directions; sums within
    ``1e-12 k_max max|values|`` are ties, which is exact for counts and
    absorbs summation-order rounding for real values.

    Implementation: units are processed in blocks of consecutive indices
    ``[i0, i1)``. Every entry of ``P`` below ``i0`` maps to ``values[P]``, every
    entry at or above ``i1 - 1`` to ``values[P + 1]`` for the whole block, so
    one cumulative sum over columns gives all units' sums; the few entries in
    between are corrected with one ``bincount``. Cost about ``n R`` operations
    plus ``(n / block) R k_max``, memory ``R × block`` floats.

    Parameters
    ----------
    values : ndarray, shape (n,)
        The values that are permuted (e.g. event counts).
    degree : ndarray of int, shape (n,)
        Number of neighbours of each unit, excluding itself.
    observed : ndarray, shape (n,)
        Observed neighbour sums ``sum_{j in N(i)} values[j]``.
    sign : ndarray of int8, shape (n,)
        Direction of the statistic in the neighbour sum: +1, -1, or 0
        (statistic constant: every simulation ties).
    permutations : int
        Number of simulations ``R``.
    rng : numpy.random.Generator
    block : int, optional
        Units per block (default chosen from ``R``).

    Returns
    -------
    PermutationCounts
    """
    n = values.size
    r = int(permutations)
    kmax = int(degree.max()) if n else 0
    if block is None:
        block = int(np.clip(65_536 // max(r, 1), 64, 1024))
    p_idx = draw_index_block(rng, n - 1, kmax, r)
    y0 = values[p_idx]
    y1 = values[p_idx + 1]
    diff = y1 - y0
    n_ge = np.empty(n, dtype=np.int64)
    n_le = np.empty(n, dtype=np.int64)
    mean = np.empty(n)
    var = np.empty(n)
    # Sums of the same values in another order may differ by rounding; a
    # simulated sum within `tol` of the observed one is a tie (exact for counts).
    tol = 1e-12 * max(kmax, 1) * float(np.max(np.abs(values), initial=0.0))
    base_t = np.zeros((kmax + 1, r))  # base_t[k] = sum of the first k columns
    for i0 in range(0, n, block):
        i1 = min(n, i0 + block)
        kb = degree[i0:i1]
        np.cumsum(np.where(p_idx >= i1 - 1, y1, y0).T, axis=0, out=base_t[1:])
        s = base_t[kb]  # (b, R): S for every unit in the block, before corrections
        _correct_block(s, p_idx, diff, kb, i0, i1)
        s -= observed[i0:i1, None]
        ge = np.count_nonzero(s >= -tol, axis=1)
        le = np.count_nonzero(s <= tol, axis=1)
        sg = sign[i0:i1]
        n_ge[i0:i1] = np.where(sg > 0, ge, np.where(sg < 0, le, r))
        n_le[i0:i1] = np.where(sg > 0, le, np.where(sg < 0, ge, r))
        # moments of S - observed: no cancellation unless |z_sim| is astronomically large
        m = s.mean(axis=1)
        var[i0:i1] = np.maximum(np.einsum("ij,ij->i", s, s) / r - m * m, 0.0)
        mean[i0:i1] = m + observed[i0:i1]
    return PermutationCounts(n_ge=n_ge, n_le=n_le, mean=mean, var=var, permutations=r)


def _correct_block(s: FloatArray, p_idx: IntArray, diff: FloatArray, kb: IntArray,
                   i0: int, i1: int) -> None:
    """Add, in place, the corrections for the block's units ``[i0, i1)`` whose
    draws straddle the block: an entry ``P`` with ``i0 <= P < i1 - 1`` means
    ``values[P + 1]`` for units ``i0..P`` and ``values[P]`` after, so those units
    get ``diff = values[P + 1] - values[P]`` added (one ``bincount``)."""
    amb_r, amb_c = np.nonzero((p_idx >= i0) & (p_idx < i1 - 1))
    if not amb_r.size:
        return
    b, r = s.shape
    last = p_idx[amb_r, amb_c] - i0  # units 0..last of the block take values[P + 1]
    lengths = last + 1
    entry = np.repeat(np.arange(amb_r.size), lengths)
    starts = np.cumsum(lengths) - lengths
    unit = np.arange(entry.size) - np.repeat(starts, lengths)
    keep = kb[unit] > amb_c[entry]
    entry = entry[keep]
    flat = unit[keep] * r + amb_r[entry]
    s += np.bincount(flat, weights=diff[amb_r, amb_c][entry], minlength=r * b).reshape(b, r)


def refine_units(values: FloatArray, degree: IntArray, observed: FloatArray,
                 sign: npt.NDArray[np.int8], units: IntArray, *, permutations: int,
                 rng: np.random.Generator) -> tuple[IntArray, IntArray]:
    """Further conditional randomisations for selected units only.

    The same null as :func:`conditional_randomization` (``values[i]`` fixed,
    ``k_i`` of the other ``n - 1`` values drawn without replacement), with
    fresh draws for every unit, so the counts can be added to a first stage's
    (Besag & Clifford 1991: the p-value from all draws stays valid when only
    units whose first-stage p is small are continued; see
    :func:`staged_randomization`). Cost about
    ``len(units) R k_max`` operations: cheap when few units are continued.

    Parameters
    ----------
    values, degree, observed, sign
        As for :func:`conditional_randomization` (all ``n`` units).
    units : ndarray of int
        Positions of the units to continue.
    permutations : int
        Draws per unit in this stage.
    rng : numpy.random.Generator

    Returns
    -------
    n_ge, n_le : ndarray of int, shape (len(units),)
        Draws whose statistic is at least / at most the observed one, ties
        counted in both (as in :func:`conditional_randomization`).

    References
    ----------
    Besag, J. & Clifford, P. (1991) Sequential Monte Carlo p-values.
    *Biometrika* 78(2), 301-304.
    """
    r = int(permutations)
    units = np.asarray(units, dtype=np.int64)
    n_ge = np.zeros(units.size, dtype=np.int64)
    n_le = np.zeros(units.size, dtype=np.int64)
    if not units.size:
        return n_ge, n_le
    tol = 1e-12 * max(int(degree[units].max()), 1) * float(np.max(np.abs(values), initial=0.0))
    # bound each (units, R) column block to about 2 million draws
    chunk = max(1, 2_000_000 // max(1, r))
    # Floyd's algorithm gives a uniform subset of its own size only (a prefix of a
    # larger Floyd sample is not uniform), so units are drawn in groups of one degree
    for k in np.unique(degree[units]):
        group = np.flatnonzero(degree[units] == k)
        for a in range(0, group.size, chunk):
            pos = group[a:a + chunk]
            ge, le = _floyd_counts(values, observed, units[pos], int(k), r, rng, tol)
            sg = sign[units[pos]]
            n_ge[pos] = np.where(sg > 0, ge, np.where(sg < 0, le, r))
            n_le[pos] = np.where(sg > 0, le, np.where(sg < 0, ge, r))
    return n_ge, n_le


def _floyd_counts(values: FloatArray, observed: FloatArray, u: IntArray, k: int, r: int,
                  rng: np.random.Generator, tol: float) -> tuple[IntArray, IntArray]:
    """Draws with neighbour sum at least / at most the observed one, for units ``u`` of
    degree ``k``, ``r`` uniform ``k``-subsets of the other units each (Floyd's
    algorithm one column at a time: column ``j`` draws from ``range(top + 1)`` with
    ``top = n - 1 - k + j`` and takes ``top`` when the draw repeats an earlier column)."""
    n = values.size
    s = -np.broadcast_to(observed[u][:, None], (u.size, r)).copy()
    cols: list[IntArray] = []
    for j in range(k):
        top = n - 1 - k + j
        # floor(U (top + 1)): uniform up to 2^-53, several times faster than integers()
        t = (rng.random((u.size, r)) * (top + 1)).astype(np.int64)
        taken = np.zeros(t.shape, dtype=bool)
        for c in cols:
            taken |= c == t
        t = np.where(taken, top, t)
        cols.append(t)
        s += values[t + (t >= u[:, None])]  # index j >= unit means unit j + 1
    return np.count_nonzero(s >= -tol, axis=1), np.count_nonzero(s <= tol, axis=1)


@dataclass(frozen=True)
class StagedCounts:
    """Counts of a staged conditional randomisation (see :func:`staged_randomization`).

    ``permutations`` is the number of draws behind each unit's counts: the
    first stage's for units that stopped, the total for continued ones.
    ``mean``/``var`` are the first stage's moments of the neighbour sums.
    """

    n_ge: IntArray
    n_le: IntArray
    mean: FloatArray
    var: FloatArray
    permutations: IntArray
    continued: int


def staged_randomization(values: FloatArray, degree: IntArray, observed: FloatArray,
                         sign: npt.NDArray[np.int8], *, permutations: int, first_stage: int,
                         continue_below: float, rng: np.random.Generator) -> StagedCounts:
    """Conditional randomisation in stages: ``first_stage`` draws for every unit, then
    more draws only for units whose p-value could still be small (Besag & Clifford
    1991).

    Only small p-values need fine resolution (the correction compares them with
    ``alpha / m``), so continuing the few units that could pass gives the
    resolution of ``permutations`` draws at a fraction of the cost. Checkpoints
    are ``first_stage``, then ten times as many draws (``10 (T + 1) - 1``) up to
    ``permutations``; a unit goes on from a checkpoint while at most ``h`` of its
    draws are as extreme as the observation in the nearer tail, with ``h`` the
    count that makes the two-sided p at the first checkpoint ``continue_below``
    (``h = 4`` for 999 draws and 0.01).

    The p-value stays valid: with thresholds ``tau_s = 2 (h + 1) / (T_s + 1)``, a
    final ``p <= t`` with ``tau_s <= t < tau_(s-1)`` implies the unit reached
    checkpoint ``s`` with ``p_s <= t``, and ``p_s`` (all ``T_s`` draws) is a valid
    permutation p-value, so the probability is at most ``t`` under the null.

    Parameters
    ----------
    values, degree, observed, sign
        As for :func:`conditional_randomization`.
    permutations : int
        Draws in all for a unit continued to the end.
    first_stage : int
        Draws for every unit (at most ``permutations``).
    continue_below : float
        Two-sided p at the first checkpoint at or below which a unit continues.
    rng : numpy.random.Generator

    Returns
    -------
    StagedCounts
    """
    first = conditional_randomization(values, degree, observed, sign,
                                      permutations=first_stage, rng=rng)
    r_unit = np.full(values.size, first_stage, dtype=np.int64)
    n_ge, n_le = first.n_ge.copy(), first.n_le.copy()
    h = max(0, int(np.floor(continue_below * (first_stage + 1) / 2.0 + 1e-9)) - 1)
    active = np.flatnonzero(degree > 0)
    total = int(first_stage)
    continued = np.zeros(values.size, dtype=bool)
    while total < permutations:
        active = active[np.minimum(n_ge[active], n_le[active]) <= h]
        if not active.size:
            break
        nxt = min(int(permutations), 10 * (total + 1) - 1)
        ge, le = refine_units(values, degree, observed, sign, active,
                              permutations=nxt - total, rng=rng)
        n_ge[active] += ge
        n_le[active] += le
        r_unit[active] = nxt
        continued[active] = True
        total = nxt
    return StagedCounts(n_ge=n_ge, n_le=n_le, mean=first.mean, var=first.var,
                        permutations=r_unit, continued=int(continued.sum()))
