"""The draw-by-draw conditional randomisation remap used before issue 13 (kept as the
reference the O(n log R) engine must reproduce: same draws, same counts, same moments).

Copied from ``spatial/stats/permutation.py`` at commit c6e2620, unchanged but for the name.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from spatial.stats.permutation import PermutationCounts, draw_index_block
from spatial.stats.significance import FloatArray, IntArray


def dense_conditional_randomization(values: FloatArray, degree: IntArray, observed: FloatArray,
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
