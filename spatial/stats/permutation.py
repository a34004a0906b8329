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
index draws, as ``crand``) but compute every draw of every unit (``n R k``
operations, compiled with numba in every new process) and keep an ``n × R``
array of simulated statistics (8 GB at 1M units and 999 permutations).
:func:`conditional_randomization` uses the shared block further: the units of
a block of consecutive indices with the same degree share their simulated
sums except in a few draws, so one sorted reference vector per block and
degree and two binary searches per unit give the same counts as comparing
every draw, in ``O(n log R)`` time and bounded memory (issue 13; same draws,
and bit-for-bit the same counts and, for counts, moments as the draw-by-draw
kernel it replaced, which the tests keep as the reference). Measured with
``benchmarks/bench_hotspots.py --cells 1000000`` (``benchmarks/RESULTS.md``,
2026-12-02 10:53 UTC, 2 CPUs shared with other work at load average 12-15):
on 1,000,519 H3 res-10 cells with 999 permutations the warm call takes 0.74 s
of CPU for Gi* and 1.11 s for local Moran (2.85 s and 1.75 s of wall time
under that load), against 6.4 s and 8.2 s of CPU for the draw-by-draw kernel
in the same run, with a peak RSS of 0.50 and 0.66 GB for the whole process.
On 50,311 cells in the same run, against ``G_Local`` and ``Moran_Local``:
30× and 26× less CPU warm, 20× and 23× faster from a fresh process, the same
numbers (max |difference| 3.6e-15 for Gi* z, 2.8e-14 for LISA z). esda's
numba compilation alone took 25-31 s on the first
``G_Local`` call of a process in the study that chose the libraries
(synthetic 1M points, same kind of machine), and two cores gave it no
speed-up. The tests check every statistic against esda.

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


#: Reference neighbour sums held at once (blocks × (k_max + 1) × R floats): bounds the
#: working memory of :func:`conditional_randomization` to a few times 8 bytes × this.
CHUNK_REFERENCE_SUMS = 1 << 21
#: Multiplier of the model's best block size (:func:`_default_block`), tuned on
#: 1M H3 cells with 999 permutations (wall time at load average 10: 0.5 best,
#: 0.25 within 30 %, 1.0 and 0.1 about twice as slow).
BLOCK_SCALE = 0.5


def conditional_randomization(values: FloatArray, degree: IntArray, observed: FloatArray,
                              sign: npt.NDArray[np.int8], *, permutations: int,
                              rng: np.random.Generator, block: int | None = None
                              ) -> PermutationCounts:
    """Conditional randomisation of neighbour sums, in O(n log R) with NumPy.

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

    Implementation: because ``P`` is shared, the ``R`` simulated sums of all
    units of a block of consecutive indices ``[i0, i1)`` with the same degree
    ``k`` are one *reference* vector (every entry of ``P`` below ``i0`` means
    ``values[P]``, every entry at or above ``i1 - 1`` means ``values[P + 1]``;
    one cumulative sum over the columns gives it for every ``k``), except in the
    few draws with an entry ``i <= P < i1 - 1``, which get ``values[P + 1] -
    values[P]`` added (there are about ``R k_max block / 2`` such (unit, draw)
    pairs in all, whatever ``n``). So each reference vector is sorted once and
    a unit's tail counts are two binary searches in it (the comparisons are
    ``S - observed >= -tol`` and ``<= tol``, monotone in ``S``, so the counts
    are those of comparing every draw), corrected draw by draw for its few
    corrected draws; the moments come from the reference vector's sums, also
    corrected. Cost about ``(n / block) (k_max + 1) R log R`` for the sorts
    plus ``n log R`` for the searches, against ``n R k_max`` for comparing
    every draw of every unit; working memory about ``5 × 8 ×``
    :data:`CHUNK_REFERENCE_SUMS` bytes plus O(n).

    The simulated sums are the ones the draw-by-draw computation gives. For
    integer values (counts) every sum involved is exact, so the counts and
    the moments are bit-for-bit those of summing and comparing every draw;
    for real values the moments come from sums centred on each reference
    vector's mean (no cancellation) and agree to rounding.

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
        Units per block (default chosen from ``n``, ``R`` and ``k_max`` to
        balance the sorts against the corrected draws).

    Returns
    -------
    PermutationCounts
    """
    values = np.asarray(values, dtype=np.float64)
    observed = np.asarray(observed, dtype=np.float64)
    degree = np.asarray(degree, dtype=np.int64)
    n = values.size
    r = int(permutations)
    kmax = int(degree.max()) if n else 0
    p_idx = draw_index_block(rng, n - 1, kmax, r)
    if block is None:
        block = _default_block(n, r, kmax)
    block = max(1, int(block))
    # Sums of the same values in another order may differ by rounding; a
    # simulated sum within `tol` of the observed one is a tie (exact for counts).
    vmax = float(np.max(np.abs(values), initial=0.0))
    tol = 1e-12 * max(kmax, 1) * vmax
    # Integer values and sums: every sum below is an integer under 2**53, hence exact.
    exact = bool(np.all(values == np.round(values))
                 and np.all(observed == np.round(observed))
                 and r * (4.0 * max(kmax, 1) * vmax) ** 2 < 2.0 ** 52)
    y0 = values[p_idx]
    y1 = values[p_idx + 1]
    # entries of P in increasing order (stable: row-major within equal values)
    flat_p = p_idx.ravel()
    by_p = np.argsort(flat_p, kind="stable")
    draws = _Draws(p_idx=p_idx, y0=y0, y1=y1, diff=(y1 - y0).ravel(), p_sorted=flat_p[by_p],
                   by_p=by_p, kmax=kmax, r=r, tol=tol, exact=exact)
    n_ge = np.empty(n, dtype=np.int64)
    n_le = np.empty(n, dtype=np.int64)
    mean = np.empty(n)
    var = np.empty(n)
    blocks_per_chunk = max(1, CHUNK_REFERENCE_SUMS // (r * (kmax + 1)))
    step = block * blocks_per_chunk
    for u0 in range(0, n, step):
        u1 = min(n, u0 + step)
        ge, le, mean[u0:u1], var[u0:u1] = _chunk(degree, observed, draws, u0, u1, block)
        sg = sign[u0:u1]
        n_ge[u0:u1] = np.where(sg > 0, ge, np.where(sg < 0, le, r))
        n_le[u0:u1] = np.where(sg > 0, le, np.where(sg < 0, ge, r))
    return PermutationCounts(n_ge=n_ge, n_le=n_le, mean=mean, var=var, permutations=r)


def _default_block(n: int, r: int, kmax: int) -> int:
    """Units per block: sorting costs ``(n / b) (k_max + 1) R log2 R``, the
    corrected draws about ``R k_max b / 2`` (each several times dearer than a
    sorted element); the sum is smallest near ``b = sqrt(n log2 R / 4)``, scaled
    by :data:`BLOCK_SCALE` as measured."""
    b = np.sqrt(max(n, 1) * max(np.log2(max(r, 2)), 1.0) / 4.0)
    return int(np.clip(b * BLOCK_SCALE, 16, 16_384))


@dataclass(frozen=True)
class _Draws:
    """The shared index block and what every chunk needs from it."""

    p_idx: IntArray        # (R, k_max) indices into the n - 1 other units
    y0: FloatArray         # values[P]: what an entry means for units above it
    y1: FloatArray         # values[P + 1]: what it means for units at or below it
    diff: FloatArray       # (y1 - y0).ravel()
    p_sorted: IntArray     # P.ravel() sorted
    by_p: IntArray         # positions in P.ravel() of p_sorted
    kmax: int
    r: int
    tol: float
    exact: bool


def _chunk(degree: IntArray, observed: FloatArray, d: _Draws, u0: int, u1: int, block: int
           ) -> tuple[IntArray, IntArray, FloatArray, FloatArray]:
    """Tail counts (``S >= observed`` / ``S <= observed``, up to ``tol``), mean and
    variance of ``S`` for units ``[u0, u1)``, in blocks of ``block`` units."""
    r, kp1 = d.r, d.kmax + 1
    starts = np.arange(u0, u1, block)
    ends = np.minimum(starts + block, u1)
    nb = starts.size
    # Reference sums of each block and degree: entries >= i1 - 1 mean values[P + 1].
    ref_blocks = np.zeros((nb, kp1, r))
    if d.kmax:
        upper = d.p_idx.T[None, :, :] >= (ends - 1)[:, None, None]
        np.cumsum(np.where(upper, d.y1.T, d.y0.T), axis=1, out=ref_blocks[:, 1:, :])
        del upper
    ref: FloatArray = ref_blocks.reshape(nb * kp1, r)
    deg = degree[u0:u1]
    obs = observed[u0:u1]
    g = (np.arange(u1 - u0) // block) * kp1 + deg  # reference vector of each unit
    ge, le = _sorted_tail_counts(np.sort(ref, axis=1), g, obs, d.tol, d.exact)

    # Moments of S, from sums centred on each reference vector (integers for counts).
    centre = ref.mean(axis=1)
    if d.exact:
        centre = np.round(centre)
    cen = ref - centre[:, None]
    t1 = cen.sum(axis=1)[g]
    t2 = np.einsum("ij,ij->i", cen, cen)[g]
    del cen

    pu, row, delta = _corrected_draws(deg, d, u0, u1, block, starts, ends)
    if pu.size:
        m = u1 - u0
        refv = ref[g[pu], row]
        s_old = refv - obs[pu]
        s_new = (refv + delta) - obs[pu]
        ge += np.bincount(pu, (s_new >= -d.tol).astype(np.float64)
                          - (s_old >= -d.tol), minlength=m).astype(np.int64)
        le += np.bincount(pu, (s_new <= d.tol).astype(np.float64)
                          - (s_old <= d.tol), minlength=m).astype(np.int64)
        c_old = refv - centre[g[pu]]
        c_new = c_old + delta
        t1 += np.bincount(pu, c_new - c_old, minlength=m)
        t2 += np.bincount(pu, c_new * c_new - c_old * c_old, minlength=m)

    if d.exact:
        # the draw-by-draw formula, on exact integers: moments of S - observed
        o = obs - centre[g]
        m_d = (t1 - r * o) / r
        var = np.maximum((t2 - 2.0 * o * t1 + r * o * o) / r - m_d * m_d, 0.0)
        return ge, le, m_d + obs, var
    m_c = t1 / r
    return ge, le, m_c + centre[g], np.maximum(t2 / r - m_c * m_c, 0.0)


def _corrected_draws(deg: IntArray, d: _Draws, u0: int, u1: int, block: int,
                     starts: IntArray, ends: IntArray) -> tuple[IntArray, IntArray, FloatArray]:
    """The (unit, draw) pairs of units ``[u0, u1)`` whose sum differs from their
    block's reference, and by how much: an entry ``i0 <= P < i1 - 1`` in column
    ``c`` means ``values[P + 1]`` for the block's units ``i0..P`` of degree above
    ``c``, not ``values[P]``. Returns the unit (relative to ``u0``), the draw and
    the difference, each (unit, draw) once."""
    kk = max(d.kmax, 1)
    lo, hi = np.searchsorted(d.p_sorted, [u0, u1 - 1])
    e_p = d.p_sorted[lo:hi]
    e_blk = (e_p - u0) // block
    keep = e_p < ends[e_blk] - 1
    e_p, e_blk, e_flat = e_p[keep], e_blk[keep], d.by_p[lo:hi][keep]
    e_row = e_flat // kk
    # Two entries of one draw in one block can hit the same unit: add those up.
    eb = e_blk * d.r + e_row
    eb_sorted = np.sort(eb)
    shared = np.isin(eb, eb_sorted[1:][eb_sorted[1:] == eb_sorted[:-1]])
    units: list[IntArray] = []
    rows: list[IntArray] = []
    deltas: list[FloatArray] = []
    for several in (False, True):
        sel = shared if several else ~shared
        p, blk, flat, row = e_p[sel], e_blk[sel], e_flat[sel], e_row[sel]
        lengths = p - starts[blk] + 1  # units i0..P of the block
        entry = np.repeat(np.arange(p.size), lengths)
        offset = np.arange(entry.size) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        pu = starts[blk][entry] + offset - u0
        use = deg[pu] > flat[entry] % kk  # the unit draws that column
        pu, entry = pu[use], entry[use]
        if several:
            pairs, inv = np.unique(pu * d.r + row[entry], return_inverse=True)
            units.append(pairs // d.r)
            rows.append(pairs % d.r)
            deltas.append(np.bincount(inv, weights=d.diff[flat[entry]],
                                      minlength=pairs.size).astype(np.float64, copy=False))
        else:
            units.append(pu)
            rows.append(row[entry])
            deltas.append(d.diff[flat[entry]])
    return np.concatenate(units), np.concatenate(rows), np.concatenate(deltas)


def _sorted_tail_counts(q_sorted: FloatArray, g: IntArray, obs: FloatArray, tol: float,
                        exact: bool) -> tuple[IntArray, IntArray]:
    """For each unit, how many entries ``q`` of its sorted row ``q_sorted[g]`` have
    ``q - obs >= -tol`` and ``q - obs <= tol``.

    Integer values (``exact``, ``tol < 1``): ``q >= obs`` and ``q <= obs``, found
    with one ``searchsorted`` in all rows at once, each row shifted by its own
    integer offset so that the rows in order are one sorted array. Otherwise two
    vectorised binary searches (``q - obs`` rounds monotonically in ``q``, so the
    counts equal comparing every entry).
    """
    r = q_sorted.shape[1]
    if exact and q_sorted.size:
        low = float(q_sorted[:, 0].min())
        span = float(q_sorted[:, -1].max()) - low + 3.0  # values, then a gap either side
        if q_sorted.shape[0] * span < 2.0 ** 52:
            key = (q_sorted - (low - 1.0)) + (np.arange(q_sorted.shape[0]) * span)[:, None]
            qry = np.clip(obs - (low - 1.0), 0.0, span - 1.0) + g * span
            flat = key.ravel()
            first_ge = np.searchsorted(flat, qry, side="left") - g * r
            first_gt = np.searchsorted(flat, qry, side="right") - g * r
            return r - first_ge, first_gt
    flat = q_sorted.ravel()
    base = g * r
    # first position with q - obs >= -tol, and first with q - obs > tol
    lo = np.zeros((2, g.size), dtype=np.int64)
    hi = np.full((2, g.size), r, dtype=np.int64)
    bound = np.array([-tol, tol])[:, None]
    for _ in range(max(r, 1).bit_length()):
        active = lo < hi
        mid = (lo + hi) >> 1
        q = flat[base + np.minimum(mid, r - 1)] - obs
        ok = np.where([[True], [False]], q >= bound, q > bound)
        hi = np.where(active & ok, mid, hi)
        lo = np.where(active & ~ok, mid + 1, lo)
    return r - lo[0], lo[1]


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
