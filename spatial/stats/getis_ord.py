"""Getis-Ord local statistics: Gi* (hot spot analysis) and Gi.

The fields are the ones ArcGIS Hot Spot Analysis users know: ``GiZScore``
(:attr:`GiResult.z`), ``GiPValue`` (:attr:`GiResult.p`), ``Gi_Bin``
(:attr:`GiResult.bin`) and ``NNeighbors`` (:attr:`GiResult.n_neighbours`).

Formulas
--------
For unit ``i`` with weights ``w_ij`` (binary neighbours, plus ``w_ii = 1``
for Gi*; divided by the row sum for ``transform="R"``), ``W_i = sum_j w_ij``
and ``S1_i = sum_j w_ij^2``, Ord & Getis (1995, eq. 2.7-2.9) give

    Gi*:  z_i = (sum_j w_ij x_j - xbar W_i)
                / (s sqrt((n S1_i - W_i^2) / (n - 1)))

with ``xbar`` and ``s`` (divisor n) the mean and standard deviation of all
``n`` values. For Gi (``star=False``) the sums run over ``j != i`` and
``xbar``, ``s`` and ``n`` are those of the other ``n - 1`` values (Getis &
Ord 1992). For binary weights ``S1_i = W_i`` and this is esda's
``G_Local(..., transform="B").Zs`` exactly. The z-score is unchanged by
row-standardisation (numerator and denominator scale alike); esda's
``transform="R"`` z differs because its variance assumes ``S1_i = W_i``.

The statistic itself, reported as :attr:`GiResult.g`, is esda's ``Gs``:
``G_i = sum_j w_ij x_j / sum_j x_j`` (``j != i`` in both sums for Gi).

Default inference
-----------------
By default the p-values behind ``GiPValueAdjusted`` and ``Gi_Bin`` come from
conditional permutation (Anselin 1995), two-sided, with up to
:data:`DEFAULT_PERMUTATIONS` (49,999) draws, then Benjamini-Hochberg FDR.
Why: event counts on fine units are mostly zeros and the normal approximation
is far too liberal in the upper tail. On 200 maps of 500 events scattered
uniformly at random over 3,997 ``h3:9`` cells (ring-1 neighbours) normal
p-values with FDR flagged a hot or cold spot on 199 maps (44 cells a map);
with the defaults none of those maps, and none of 200 maps of 5,000 events,
show one, while a cluster of 30 extra events on 7 adjacent cells is found on
50 of 50 maps (``tests/spatial/stats/test_calibration.py``,
``benchmarks/RESULTS.md``). Normal inference stays available
(``permutations=0`` or ``inference="normal"``) with a warning.

Why 49,999: with ``R`` draws the smallest two-sided p is ``2 / (R + 1)``, and
over ``m`` units BH at ``alpha`` passes a unit on its own only when that is at
most ``alpha / m``. With 9,999 draws cells at 4,000-cell scale pass only in
groups of at least 8 (90 % bin), and the planted 30-event cluster was found on
28 of 50 maps; with 49,999 groups of 2 suffice. Finer still (99,999 for the
small p-values) random maps of 5,000 events showed a false hot cell on 4.0 %
of maps, because the 90 % bin is BH at 0.10 and the false-map rate drifts
towards that as the p-values become continuous. So R is not raised
automatically to what a lone unit needs (79,999 at 4,000 cells, 999,999 at
50,000): the result states it (``permutations_needed``,
``units_needed_at_smallest_p`` and a warning) and the analyst may ask for it.

The draws run in stages (:func:`spatial.stats.permutation.staged_randomization`):
:data:`DEFAULT_FIRST_STAGE` (999) for every unit, then 9,999 and 49,999 in all
only for units whose p can still be small (at most 4 draws as extreme, i.e.
p at most :data:`DEFAULT_CONTINUE_BELOW` = 0.01 after 999). The p-value stays
valid (Besag & Clifford 1991) and a 4,000-cell map takes about 0.08 s.

Permutation inference uses :mod:`spatial.stats.permutation`, written here
rather than calling esda's ``G_Local``: on 50,311 H3 cells with 999
permutations it uses 30× less CPU warm (0.25 s against 7.6 s) and is 20×
faster from a fresh process, with the same z to 3.6e-15; 1,000,519 cells
take 0.74 s of CPU warm, where ``G_Local`` would need an 8 GB array
(``benchmarks/RESULTS.md``, issue 13).

References
----------
Anselin, L. (1995) Local indicators of spatial association - LISA.
*Geographical Analysis* 27(2), 93-115.
Besag, J. & Clifford, P. (1991) Sequential Monte Carlo p-values.
*Biometrika* 78(2), 301-304.
Getis, A. & Ord, J. K. (1992) The analysis of spatial association by use of
distance statistics. *Geographical Analysis* 24(3), 189-206.
Ord, J. K. & Getis, A. (1995) Local spatial autocorrelation statistics:
distributional issues and an application. *Geographical Analysis* 27(4),
286-306.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse

from spatial.errors import InsufficientDataError, ParameterError
from spatial.stats.inputs import (
    check_binary_weights,
    check_permutations,
    check_transform,
    check_values,
    neighbour_structure,
    require_units,
    resolve_seed,
)
from spatial.stats.permutation import staged_randomization
from spatial.stats.significance import (
    CORRECTIONS,
    DEFAULT_ALPHA_LEVELS,
    FloatArray,
    IntArray,
    adjust,
    check_alpha_levels,
    folded_p_from_counts,
    gi_bins,
    permutation_resolution,
    two_sided_normal_p,
    two_sided_p_from_counts,
)

#: ArcGIS's documented rule of thumb for Hot Spot Analysis.
MIN_FEATURES_RULE_OF_THUMB = 30

#: Permutations when none are given (see the module notes for why).
DEFAULT_PERMUTATIONS = 49_999
#: Draws for every unit in the first stage of the default inference.
DEFAULT_FIRST_STAGE = 999
#: First-stage two-sided p at or below which a unit gets the remaining draws.
DEFAULT_CONTINUE_BELOW = 0.01


@dataclass(frozen=True)
class GiResult:
    """Getis-Ord Gi* (or Gi) for every unit, in the order of ``y``.

    Attributes
    ----------
    z : ndarray of float
        ``GiZScore``: Ord & Getis (1995) z-score. NaN for units with no
        neighbours, and for units that neighbour every other unit (their sum
        is the total, so the z-score is 0/0).
    p : ndarray of float
        ``GiPValue``: two-sided p-value of ``z`` under the normal
        approximation, unadjusted (reported for comparison; the bins use the
        permutation p unless ``parameters["inference"]`` is ``"normal"``).
    p_adjusted : ndarray of float
        The p-value named by ``parameters["inference"]`` (``p`` or
        ``p_sim``) after ``parameters["correction"]``.
    bin : ndarray of int8
        ``Gi_Bin``: ±3/±2/±1 where ``p_adjusted`` is at most the 3rd/2nd/1st
        of ``parameters["alpha_levels"]``, with the sign of ``z``; else 0.
    n_neighbours : ndarray of int
        ``NNeighbors``: neighbours used, including the unit itself for Gi*.
    g : ndarray of float
        The G statistic (esda's ``Gs``; a share of the total, dimensionless).
    p_sim : ndarray of float or None
        Two-sided conditional-permutation pseudo p-value
        (:func:`spatial.stats.significance.pseudo_p_two_sided`), when
        ``permutations > 0``.
    p_sim_folded : ndarray of float or None
        The same simulations summarised as esda's ``p_sim``; for
        cross-checking only.
    z_sim : ndarray of float or None
        ``(G - mean(G_sim)) / sd(G_sim)`` (esda's ``z_sim``).
    parameters : dict
        Everything used: ``star``, ``transform``, ``permutations``,
        ``first_stage_permutations``, ``continue_below``, ``units_continued``,
        ``seed``, ``inference``, ``alternative``, ``p_value``, ``correction``,
        ``alpha_levels``, ``n_units``, ``total``, ``n_islands``; with
        permutations also ``smallest_p``, ``permutations_needed`` and
        ``units_needed_at_smallest_p`` (at the loosest alpha level, see
        :func:`spatial.stats.significance.permutation_resolution`).
    warnings : list of str
    """

    z: FloatArray
    p: FloatArray
    p_adjusted: FloatArray
    bin: npt.NDArray[np.int8]
    n_neighbours: IntArray
    g: FloatArray
    p_sim: FloatArray | None
    p_sim_folded: FloatArray | None
    z_sim: FloatArray | None
    parameters: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def gi_star(y: npt.ArrayLike, w: sparse.spmatrix | sparse.sparray, *, star: bool = True,
            transform: str = "B", permutations: int | None = None, seed: int | None = None,
            correction: str = "fdr_bh", alpha_levels: Sequence[float] = DEFAULT_ALPHA_LEVELS,
            inference: str | None = None, first_stage: int | None = None,
            continue_below: float = DEFAULT_CONTINUE_BELOW) -> GiResult:
    """Getis-Ord Gi* (``star=True``, the default) or Gi for every unit.

    Parameters
    ----------
    y : array_like, shape (n,)
        Value per unit, e.g. event counts; every unit of the study area must
        be present, with 0 where nothing happened (dropping zero units
        changes every z-score).
    w : scipy.sparse matrix, shape (n, n)
        Binary neighbours (1 = neighbour) with a zero diagonal, as
        ``spatial.place.units`` builds them. Gi* adds the unit itself with weight 1.
    star : bool
        Include the unit itself (Gi*, Ord & Getis 1995) or not (Gi).
    transform : {"B", "R"}
        Binary or row-standardised weights. The z-score is the same for
        both (see the module notes); only :attr:`GiResult.g` changes.
    permutations : int, optional
        Conditional randomisations per unit whose p could matter (at least
        99), or 0 for normal inference only. None (the default) means
        :data:`DEFAULT_PERMUTATIONS` in stages (``first_stage`` 999).
    first_stage : int, optional
        Draws for every unit before only units with a first-stage p at most
        ``continue_below`` get more (:func:`spatial.stats.permutation.staged_randomization`).
        None: :data:`DEFAULT_FIRST_STAGE` when ``permutations`` is None, else
        one stage of ``permutations`` draws for every unit.
    continue_below : float
        See ``first_stage``.
    seed : int, optional
        Seed of ``numpy.random.default_rng``; when None a fresh seed is drawn
        and recorded in ``parameters["seed"]`` so the run can be repeated.
    correction : {"fdr_bh", "fdr_by", "bonferroni", "none"}
        Multiple-testing adjustment (:func:`spatial.stats.significance.adjust`).
    alpha_levels : sequence of float
        Significance levels of bins 1, 2, 3 (default 0.10, 0.05, 0.01).
    inference : {"normal", "permutation"}, optional
        Which p-value ``p_adjusted`` and the bins use: default
        ``"permutation"`` when there are permutations, else ``"normal"``.

    Returns
    -------
    GiResult

    Raises
    ------
    ParameterError
        Bad shapes, non-binary weights, NaN values, unknown options.
    InsufficientDataError
        Fewer than 3 units, no unit has a neighbour, or every unit has the
        same value (z undefined).
    """
    x = check_values(y)
    n = x.size
    require_units(n)
    t = check_transform(transform)
    r, first = _check_stages(permutations, first_stage, continue_below)
    levels, inference = _check_options(correction, alpha_levels, inference, r)
    wb = check_binary_weights(w, n)
    star = bool(star)
    degree, islands = neighbour_structure(wb)
    valid = ~islands
    neigh_sum = wb @ x  # exact for integer-valued x
    k_used = degree + (1 if star else 0)  # binary W_i = S1_i
    z, g = _z_and_g(x, neigh_sum, k_used, valid, star, t)
    p = two_sided_normal_p(z)

    seed_used: int | None = None
    p_sim = p_sim_folded = z_sim = None
    continued = 0
    if r:
        seed_used = resolve_seed(seed)
        p_sim, p_sim_folded, z_sim, continued = _permutation_inference(
            x, degree, neigh_sum, valid, r, first, continue_below, seed_used)
    p_use = p_sim if inference == "permutation" else p
    assert p_use is not None
    p_adj = adjust(p_use, correction)
    bins = gi_bins(z, p_adj, levels)

    # A unit whose neighbours are all the other units has the total as its sum.
    n_all = int(np.count_nonzero(degree == n - 1))
    parameters = _parameters(star=star, t=t, r=r, seed=seed_used, inference=inference,
                             correction=correction, levels=levels, x=x,
                             n_islands=int(islands.sum()))
    parameters.update({"first_stage_permutations": first if r else None,
                       "continue_below": continue_below if r and first < r else None,
                       "units_continued": continued if r else None})
    warnings = _warnings(x, n, int(islands.sum()), star, n_all)
    if r:
        m = int(np.count_nonzero(np.isfinite(p_use)))
        info, limit = permutation_resolution(r, m, levels[0], correction)
        parameters.update(info)
        if limit and inference == "permutation":
            warnings.append(f"Gi_Bin: {limit}")
    if inference == "permutation":
        warnings += _concentration_warning(x)
    if inference == "normal" and _is_count(x):
        warnings.append("bins use normal-theory p-values (inference='normal'): on event counts "
                        "they flag false hot spots on most random maps; the default is "
                        "permutation inference")
    return GiResult(z=z, p=p, p_adjusted=p_adj, bin=bins, n_neighbours=k_used, g=g,
                    p_sim=p_sim, p_sim_folded=p_sim_folded, z_sim=z_sim,
                    parameters=parameters, warnings=warnings)


def _parameters(*, star: bool, t: str, r: int, seed: int | None, inference: str,
                correction: str, levels: tuple[float, ...], x: FloatArray,
                n_islands: int) -> dict[str, Any]:
    """What the run used, recorded with the result (JSON-serialisable)."""
    return {
        "method": "getis_ord_gi_star" if star else "getis_ord_gi",
        "star": star,
        "transform": t,
        "self_weight": 1.0 if star else 0.0,
        "permutations": r,
        "seed": seed,
        "randomisation": "conditional (unit fixed, k_i others drawn without replacement)"
        if r else None,
        "inference": inference,
        "alternative": "two-sided",
        "p_value": "p_sim: two-sided, min(1, 2(min(M_ge, M_le)+1)/(R+1)), ties in both tails"
        if inference == "permutation" else "p: two-sided, 2(1 - Phi(|z|))",
        "correction": correction,
        "alpha_levels": list(levels),
        "n_units": x.size,
        "total": float(x.sum()),
        "n_islands": n_islands,
    }


def _check_stages(permutations: int | None, first_stage: int | None,
                  continue_below: float) -> tuple[int, int]:
    """Total draws ``R`` and first-stage draws (``R`` when there is one stage)."""
    if permutations is None:
        r = DEFAULT_PERMUTATIONS
        first_stage = DEFAULT_FIRST_STAGE if first_stage is None else first_stage
    else:
        r = check_permutations(permutations)
    first = r if first_stage is None else check_permutations(first_stage)
    if r and not 0 < first <= r:
        raise ParameterError("first_stage", f"must be between 99 and permutations ({r})")
    if not 0.0 < float(continue_below) <= 1.0:
        raise ParameterError("continue_below", "must be in (0, 1]")
    return r, first


def _is_count(x: FloatArray) -> bool:
    return bool(np.all(x >= 0) and np.all(x == np.round(x)))


def _check_options(correction: str, alpha_levels: Sequence[float], inference: str | None,
                   r: int) -> tuple[tuple[float, ...], str]:
    """Checked alpha levels and the inference actually used."""
    if correction not in CORRECTIONS:
        raise ParameterError("correction", f"{correction!r} is not one of "
                             f"{', '.join(CORRECTIONS)}")
    levels = check_alpha_levels(alpha_levels)
    if inference is None:
        inference = "permutation" if r else "normal"
    if inference not in ("normal", "permutation"):
        raise ParameterError("inference", "expected 'normal' or 'permutation'")
    if inference == "permutation" and not r:
        raise ParameterError("inference", "'permutation' needs permutations > 0")
    return levels, inference


def _z_and_g(x: FloatArray, neigh_sum: FloatArray, k_used: IntArray,
             valid: npt.NDArray[np.bool_], star: bool, t: str) -> tuple[FloatArray, FloatArray]:
    """Ord & Getis (1995) z with binary weights (invariant to row-standardisation), and G.

    NaN for islands and for units that neighbour every other unit;
    :class:`InsufficientDataError` when no unit has a neighbour or every unit has
    the same value.
    """
    n = x.size
    if not valid.any():
        # Checked first: with no neighbours anywhere the values are not the problem.
        raise InsufficientDataError(
            "no unit has a neighbour: Gi* z-scores are undefined (every unit is an island; "
            "check the weights, e.g. a distance band shorter than the spacing of the units)",
            details={"units": n, "islands": n})
    total = float(x.sum())
    if star:
        numer_sum = neigh_sum + x
        n_eff = float(n)
        xbar = np.full(n, x.mean())
        s = np.full(n, x.std())
    else:
        numer_sum = neigh_sum
        n_eff = float(n - 1)
        xbar = (total - x) / n_eff
        # leave-one-out sum of squares: SS - n/(n-1) (x_i - mean)^2
        ss = float(((x - x.mean()) ** 2).sum())
        ss_i = np.maximum(ss - n / (n - 1) * (x - x.mean()) ** 2, 0.0)
        s = np.sqrt(ss_i / n_eff)
    if not np.any(s[valid] > 0):
        raise InsufficientDataError("every unit has the same value: Gi* z-scores are undefined",
                                    details={"units": n, "value": float(x[0])})
    wi = k_used.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (numer_sum - xbar * wi) / (s * np.sqrt((n_eff * wi - wi * wi) / (n_eff - 1.0)))
        denom = total if star else total - x
        row = np.where(k_used > 0, k_used, 1).astype(np.float64) if t == "R" else 1.0
        g = np.asarray((numer_sum / row) / denom, dtype=np.float64)
    # W_i = n (Gi*) or n - 1 (Gi): the variance is exactly 0 and the numerator
    # 0 up to rounding, which would otherwise leak out as +-inf.
    spans_all = wi == n_eff
    z = np.where(valid & (s > 0) & ~spans_all, z, np.nan)
    g = np.where(valid & np.isfinite(g), g, np.nan)
    return z, g


def _permutation_inference(x: FloatArray, degree: IntArray, neigh_sum: FloatArray,
                           valid: npt.NDArray[np.bool_], r: int, first: int,
                           continue_below: float, seed: int
                           ) -> tuple[FloatArray, FloatArray, FloatArray, int]:
    """Two-sided and folded pseudo p-values, the simulation z of the neighbour sums
    (first-stage moments) and the number of units continued past the first stage."""
    rng = np.random.default_rng(seed)
    n = x.size
    counts = staged_randomization(x, degree, neigh_sum, np.ones(n, dtype=np.int8),
                                  permutations=r, first_stage=first,
                                  continue_below=continue_below, rng=rng)
    r_unit = counts.permutations
    p_sim = np.where(valid, two_sided_p_from_counts(counts.n_ge, counts.n_le, r_unit), np.nan)
    p_sim_folded = np.where(valid, folded_p_from_counts(counts.n_ge, r_unit), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        zs = (neigh_sum - counts.mean) / np.sqrt(counts.var)
    return p_sim, p_sim_folded, np.where(valid, zs, np.nan), counts.continued


#: Share of the total in one unit above which the permutation test's blind spot is named.
CONCENTRATION_SHARE = 0.05


def _concentration_warning(x: FloatArray) -> list[str]:
    """Conditional permutation holds a unit's own value fixed and tests its neighbours,
    so events piled in one unit (a police.uk snap point) do not make it a hot spot."""
    total = float(x.sum())
    if not _is_count(x) or total <= 0:
        return []
    big = int(np.count_nonzero(x >= CONCENTRATION_SHARE * total))
    if not big:
        return []
    return [f"{big} unit(s) each hold at least {CONCENTRATION_SHARE:.0%} of the {total:,.0f} "
            f"events (the largest {x.max():,.0f}): permutation inference holds each unit's own "
            "value fixed and tests its neighbours, so a concentration in one unit (e.g. a "
            "police.uk snap point) is not a hot spot by itself; read the counts, or use "
            "larger units"]


def _warnings(x: FloatArray, n: int, n_islands: int, star: bool, n_all: int) -> list[str]:
    name = "Gi*" if star else "Gi"
    total = "the total of all units" if star else "the total of all the other units"
    out: list[str] = []
    if n_islands:
        out.append(f"{n_islands} unit(s) have no neighbours: their {name} statistics are NaN "
                   "(a unit alone says nothing about clustering)")
    if n_all == n:
        out.append(f"every unit neighbours every other unit (a complete graph): each {name} "
                   f"sum is {total}, so no unit can stand out and every {name} z-score is "
                   "undefined (null); use a smaller neighbourhood (fewer neighbours or a "
                   "shorter distance band) or more, smaller units")
    elif n_all:
        out.append(f"{n_all} unit(s) neighbour every other unit: their {name} sum is "
                   f"{total}, so their z-scores are undefined (null)")
    if n < MIN_FEATURES_RULE_OF_THUMB:
        out.append(f"only {n} units: ArcGIS's documentation advises at least "
                   f"{MIN_FEATURES_RULE_OF_THUMB} features for hot spot analysis; a rule of "
                   "thumb, not a guarantee either way: treat the result as indicative")
    if _is_count(x) and x.sum() < n:
        out.append(f"{int(x.sum())} events over {n} units (fewer events than units): most "
                   "units are zero and the normal approximation behind GiPValue is poor; "
                   "prefer permutation inference, larger units or a longer period")
    if np.any(x < 0):
        out.append("some values are negative: G (a share of the total) is not meaningful, "
                   "the z-scores still are")
    return out
