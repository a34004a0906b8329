"""Significance for local and global spatial statistics.

Normal p-values, permutation (pseudo) p-values, multiple-testing adjustment,
ArcGIS-style confidence bins, and the vectorised conditional-randomisation
engine shared by :mod:`spatial.stats.getis_ord` and :mod:`spatial.stats.moran`.

Pseudo p-values
---------------
With ``R`` simulated values of a statistic under the null and the observed
value ``t``, let ``M_ge = #{sim >= t}`` and ``M_le = #{sim <= t}``.

* :func:`p_sim_folded` reproduces esda's ``p_sim`` (its default
  ``alternative="directed"``): ``M = M_ge``; if ``R - M_ge < M_ge`` then
  ``M = R - M_ge`` (the number of simulations *strictly* below ``t``);
  ``p = (M + 1) / (R + 1)``. It is one-sided in the direction the
  observation lies, so it is at most about 0.5, and with ties (count data
  full of zeros) it counts the tied simulations against the lower tail only:
  a zero cell among zero neighbours gets ``p = 1 / (R + 1)``. remap keeps it
  for cross-checking against esda, never for inference. (esda's own
  ``alternative="folded"`` is a different statistic, folded about the
  simulation mean.)
* :func:`pseudo_p_two_sided` is remap's default: ``M = min(M_ge, M_le)``
  (ties count as at least as extreme in *both* tails),
  ``p = min(1, 2 (M + 1) / (R + 1))``. Without ties it is exactly twice the
  folded value, capped at 1; it is a valid two-sided test (Hope 1968;
  Davison & Hinkley 1997, §4.2).

References
----------
Benjamini, Y. & Hochberg, Y. (1995) Controlling the false discovery rate.
*J. R. Stat. Soc. B* 57(1), 289-300.
Benjamini, Y. & Yekutieli, D. (2001) The control of the false discovery rate
in multiple testing under dependency. *Ann. Stat.* 29(4), 1165-1188.
Anselin, L. (1995) Local indicators of spatial association - LISA.
*Geographical Analysis* 27(2), 93-115 (conditional randomisation).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse, stats

from spatial.errors import InsufficientDataError, ParameterError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Multiple-testing corrections :func:`adjust` knows.
CORRECTIONS: tuple[str, ...] = ("fdr_bh", "fdr_by", "bonferroni", "none")

#: ArcGIS Hot Spot Analysis confidence levels, as significance levels.
DEFAULT_ALPHA_LEVELS: tuple[float, float, float] = (0.10, 0.05, 0.01)


# ---------------------------------------------------------------------------
# Normal and permutation p-values
# ---------------------------------------------------------------------------


def two_sided_normal_p(z: npt.ArrayLike) -> FloatArray:
    """Two-sided p-value of a standard normal deviate: ``2 (1 - Phi(|z|))``.

    Computed with the survival function, so it stays accurate far in the
    tail (``|z| > 8``). NaN in, NaN out.

    Parameters
    ----------
    z : array_like
        z-scores (dimensionless).

    Returns
    -------
    numpy.ndarray of float
        p-values in ``[0, 1]``.
    """
    z = np.asarray(z, dtype=np.float64)
    return np.asarray(2.0 * stats.norm.sf(np.abs(z)), dtype=np.float64)


def _as_2d(observed: npt.ArrayLike, simulated: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    sim = np.atleast_2d(np.asarray(simulated, dtype=np.float64))
    obs = np.asarray(observed, dtype=np.float64).reshape(-1)
    if obs.size != sim.shape[0]:
        raise ParameterError("simulated", f"expected {obs.size} rows of simulations, "
                             f"got {sim.shape[0]}")
    if sim.shape[1] == 0:
        raise ParameterError("simulated", "no simulations")
    return obs, sim


def folded_p_from_counts(n_ge: npt.ArrayLike, permutations: int) -> FloatArray:
    """esda's ``p_sim`` from ``n_ge = #{sim >= observed}``: see :func:`p_sim_folded`."""
    ge = np.asarray(n_ge, dtype=np.float64)
    m = np.minimum(ge, permutations - ge)
    return np.asarray((m + 1.0) / (permutations + 1.0), dtype=np.float64)


def two_sided_p_from_counts(n_ge: npt.ArrayLike, n_le: npt.ArrayLike,
                            permutations: int) -> FloatArray:
    """Two-sided pseudo p-value ``min(1, 2 (min(M_ge, M_le) + 1) / (R + 1))``."""
    m = np.minimum(np.asarray(n_ge, dtype=np.float64), np.asarray(n_le, dtype=np.float64))
    return np.asarray(np.minimum(1.0, 2.0 * (m + 1.0) / (permutations + 1.0)),
                      dtype=np.float64)


def p_sim_folded(observed: npt.ArrayLike, simulated: npt.ArrayLike) -> FloatArray | float:
    """esda's pseudo p-value (``alternative="directed"``), for reference tests.

    ``M = #{sim >= obs}``; if ``R - M < M`` then ``M = R - M``;
    ``p = (M + 1) / (R + 1)``. One-sided in the direction of the observation,
    so it never exceeds ``(R/2 + 1)/(R + 1)``.

    Parameters
    ----------
    observed : array_like, shape (n,) or scalar
        Observed statistics.
    simulated : array_like, shape (n, R) or (R,)
        Simulated statistics, one row per observed value.

    Returns
    -------
    float or numpy.ndarray
        A float for a scalar ``observed``, else an array of shape (n,).
    """
    scalar = np.ndim(observed) == 0
    obs, sim = _as_2d(observed, simulated)
    p = folded_p_from_counts((sim >= obs[:, None]).sum(axis=1), sim.shape[1])
    return float(p[0]) if scalar else p


def pseudo_p_two_sided(observed: npt.ArrayLike, simulated: npt.ArrayLike) -> FloatArray | float:
    """remap's two-sided pseudo p-value.

    ``p = min(1, 2 (min(M_ge, M_le) + 1) / (R + 1))`` with
    ``M_ge = #{sim >= obs}`` and ``M_le = #{sim <= obs}``: ties count as
    extreme in both tails, so a statistic that equals most of its
    simulations (a zero among zeros) is not significant. Without ties this is
    ``min(1, 2 * p_sim_folded)``.

    Parameters
    ----------
    observed : array_like, shape (n,) or scalar
    simulated : array_like, shape (n, R) or (R,)

    Returns
    -------
    float or numpy.ndarray
    """
    scalar = np.ndim(observed) == 0
    obs, sim = _as_2d(observed, simulated)
    p = two_sided_p_from_counts((sim >= obs[:, None]).sum(axis=1),
                                (sim <= obs[:, None]).sum(axis=1), sim.shape[1])
    return float(p[0]) if scalar else p


# ---------------------------------------------------------------------------
# Multiple testing
# ---------------------------------------------------------------------------


def _step_up(p: FloatArray, factor: float) -> FloatArray:
    """BH/BY step-up on finite p: ``min_{j>=i} factor * m * p_(j) / j``, capped at 1."""
    m = p.size
    order = np.argsort(p, kind="stable")
    ranked = p[order] * factor * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(ranked, 1.0)
    return out


def adjust(p: npt.ArrayLike, method: str = "fdr_bh") -> FloatArray:
    """Adjust p-values for multiple testing.

    NaN p-values (units with no test, e.g. no neighbours) are kept as NaN and
    do not count towards the number of tests ``m``.

    Parameters
    ----------
    p : array_like
        Unadjusted p-values in ``[0, 1]``.
    method : {"fdr_bh", "fdr_by", "bonferroni", "none"}
        * ``fdr_bh``: Benjamini & Hochberg (1995) step-up,
          ``p_(i) = min_{j >= i} m p_(j) / j``, capped at 1. Controls the
          false discovery rate for independent or positively dependent tests
          (the usual case for neighbouring hotspot tests). Rejecting where the
          adjusted p is at most alpha is exactly the BH procedure at level
          alpha (what ArcGIS's "Apply False Discovery Rate Correction" does).
        * ``fdr_by``: Benjamini & Yekutieli (2001): BH times
          ``c(m) = sum_{k=1..m} 1/k``; valid under any dependence.
        * ``bonferroni``: ``min(1, m p)``; family-wise error rate.
        * ``none``: unchanged.

    Returns
    -------
    numpy.ndarray of float
        Adjusted p-values, same shape as ``p``.
    """
    arr = np.asarray(p, dtype=np.float64)
    if method not in CORRECTIONS:
        raise ParameterError("correction", f"{method!r} is not one of {', '.join(CORRECTIONS)}")
    finite = np.isfinite(arr)
    if np.any((arr[finite] < 0) | (arr[finite] > 1)):
        raise ParameterError("p", "p-values must lie in [0, 1]")
    out = arr.astype(np.float64, copy=True)
    pf = arr[finite]
    m = pf.size
    if method == "none" or m == 0:
        return out
    if method == "bonferroni":
        out[finite] = np.minimum(pf * m, 1.0)
    elif method == "fdr_bh":
        out[finite] = _step_up(pf, 1.0)
    else:  # fdr_by
        out[finite] = _step_up(pf, float(np.sum(1.0 / np.arange(1, m + 1))))
    return out


def benjamini_yekutieli(p: npt.ArrayLike) -> FloatArray:
    """Benjamini & Yekutieli (2001) adjusted p-values: ``adjust(p, "fdr_by")``."""
    return adjust(p, "fdr_by")


# ---------------------------------------------------------------------------
# Bins
# ---------------------------------------------------------------------------


def gi_bins(z: npt.ArrayLike, p_adjusted: npt.ArrayLike,
            alpha_levels: Sequence[float] = DEFAULT_ALPHA_LEVELS) -> npt.NDArray[np.int8]:
    """ArcGIS ``Gi_Bin``: -3..+3 confidence bins with the sign of z.

    With the default ``alpha_levels=(0.10, 0.05, 0.01)``: ``±3`` where the
    adjusted p is at most 0.01 (99 % confidence), ``±2`` at most 0.05 (95 %),
    ``±1`` at most 0.10 (90 %), ``0`` otherwise and wherever z or p is NaN.

    Parameters
    ----------
    z : array_like
        z-scores (only their sign is used).
    p_adjusted : array_like
        p-values after any multiple-testing adjustment.
    alpha_levels : sequence of float
        Significance levels, bin 1 first; must be strictly decreasing.

    Returns
    -------
    numpy.ndarray of int8
    """
    levels = _check_alpha_levels(alpha_levels)
    z = np.asarray(z, dtype=np.float64)
    p = np.asarray(p_adjusted, dtype=np.float64)
    if z.shape != p.shape:
        raise ParameterError("p_adjusted", "must have the same shape as z")
    level = np.zeros(z.shape, dtype=np.int8)
    ok = np.isfinite(z) & np.isfinite(p)
    for b, a in enumerate(levels, start=1):
        level[ok & (p <= a)] = b
    return (np.sign(np.where(ok, z, 0.0)).astype(np.int8) * level).astype(np.int8)


def _check_alpha_levels(alpha_levels: Sequence[float]) -> tuple[float, ...]:
    levels = tuple(float(a) for a in alpha_levels)
    if not levels or any(not 0.0 < a < 1.0 for a in levels):
        raise ParameterError("alpha_levels", "each level must be in (0, 1)")
    if any(b >= a for a, b in zip(levels, levels[1:], strict=False)):
        raise ParameterError("alpha_levels", "levels must be strictly decreasing, "
                             "e.g. (0.10, 0.05, 0.01)")
    return levels


# ---------------------------------------------------------------------------
# Inputs shared by the local statistics
# ---------------------------------------------------------------------------


def check_values(y: npt.ArrayLike, *, name: str = "y") -> FloatArray:
    """A 1-D finite float64 copy of ``y`` or :class:`ParameterError`."""
    arr = np.asarray(y, dtype=np.float64)
    if arr.ndim == 2 and 1 in arr.shape:
        arr = arr.reshape(-1)
    if arr.ndim != 1:
        raise ParameterError(name, f"expected a 1-D array, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ParameterError(name, "contains NaN or infinite values "
                             "(units with no data must be given as 0, not missing)")
    return arr.copy()


def check_binary_weights(w: Any, n: int) -> sparse.csr_matrix:
    """Validate an n×n binary neighbour matrix with a zero diagonal.

    Returns a canonical float64 CSR copy (sorted indices, explicit zeros
    removed). Raises :class:`ParameterError` if it is not square of size
    ``n``, has a non-zero diagonal, or has stored values other than 1.
    """
    if not sparse.issparse(w):
        raise ParameterError("w", "expected a scipy.sparse matrix of neighbours")
    m = sparse.csr_matrix(w, dtype=np.float64, copy=True)
    if m.shape != (n, n):
        raise ParameterError("w", f"expected shape ({n}, {n}), got {m.shape}")
    m.eliminate_zeros()
    m.sum_duplicates()
    m.sort_indices()
    if m.nnz and not np.all(m.data == 1.0):
        raise ParameterError("w", "expected binary weights (every stored value 1); "
                             "pass the binary neighbour matrix and choose transform")
    if np.any(m.diagonal() != 0):
        raise ParameterError("w", "expected a zero diagonal (neighbours exclude the unit itself; "
                             "Gi* adds the unit itself)")
    return m


def check_transform(transform: str) -> str:
    t = str(transform).upper()
    if t not in ("B", "R"):
        raise ParameterError("transform", f"{transform!r}: expected 'B' (binary) or "
                             "'R' (row-standardised)")
    return t


def check_permutations(permutations: int) -> int:
    try:
        r = int(permutations)
    except (TypeError, ValueError):
        raise ParameterError("permutations", "must be an integer") from None
    if r != permutations or r < 0:
        raise ParameterError("permutations", "must be a non-negative integer")
    if 0 < r < 99:
        raise ParameterError("permutations", "use 0 (none) or at least 99 "
                             "(the smallest pseudo p-value is 1/(R+1))")
    return r


def resolve_seed(seed: int | None) -> int:
    """The seed actually used: ``seed``, or fresh OS entropy (recorded by callers)."""
    if seed is None:
        return int(np.random.SeedSequence().entropy % (2**63))  # type: ignore[operator]
    try:
        s = int(seed)
    except (TypeError, ValueError):
        raise ParameterError("seed", "must be an integer or None") from None
    if s < 0:
        raise ParameterError("seed", "must be non-negative")
    return s


def require_units(n: int, minimum: int = 3) -> None:
    if n < minimum:
        raise InsufficientDataError(f"{n} units: at least {minimum} are needed",
                                    details={"units": n, "minimum": minimum})


# ---------------------------------------------------------------------------
# Conditional randomisation engine
# ---------------------------------------------------------------------------


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
        b = i1 - i0
        kb = degree[i0:i1]
        np.cumsum(np.where(p_idx >= i1 - 1, y1, y0).T, axis=0, out=base_t[1:])
        s = base_t[kb]  # (b, R): S for every unit in the block, before corrections
        amb_r, amb_c = np.nonzero((p_idx >= i0) & (p_idx < i1 - 1))
        if amb_r.size:
            last = p_idx[amb_r, amb_c] - i0  # units 0..last of the block take values[P + 1]
            lengths = last + 1
            entry = np.repeat(np.arange(amb_r.size), lengths)
            starts = np.cumsum(lengths) - lengths
            unit = np.arange(entry.size) - np.repeat(starts, lengths)
            keep = kb[unit] > amb_c[entry]
            entry = entry[keep]
            flat = unit[keep] * r + amb_r[entry]
            s += np.bincount(flat, weights=diff[amb_r, amb_c][entry],
                             minlength=r * b).reshape(b, r)
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


def neighbour_structure(w: sparse.csr_matrix) -> tuple[IntArray, npt.NDArray[np.bool_]]:
    """Degrees (neighbours excluding self) and the island mask of a binary matrix."""
    degree = np.diff(w.indptr).astype(np.int64)
    return degree, degree == 0
