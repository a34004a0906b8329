"""Emerging Hot Spot Analysis: space-time Gi*, a Mann-Kendall trend, ArcGIS's categories.

As ArcGIS Pro's Emerging Hot Spot Analysis does it (Esri, *How Emerging Hot
Spot Analysis works*):

1. **Space-time Gi\\*.** Every bin (unit ``i``, step ``t``) of the cube
   (:mod:`spatial.stats.space_time_cube`) gets a Getis-Ord Gi* z-score over its
   space-time neighbours: the unit's spatial neighbours and the unit itself, at
   this step and the ``time_steps`` previous steps (default 1; ArcGIS's
   "neighborhood time step"). All ``N x T`` bins are one set of values (the
   mean and variance of Gi* are those of the whole cube), as in ArcGIS. The
   weights are built from the unit weights by Kronecker products
   (:func:`space_time_weights`) and :func:`spatial.stats.getis_ord.gi_star`
   does the rest.
2. **Bin significance.** Two-sided p-values with Benjamini-Hochberg FDR over
   all bins by default; a bin is a significant hot (cold) spot where the
   adjusted p is at most ``alpha`` and z > 0 (< 0).
3. **Trend.** The Mann-Kendall test (:mod:`spatial.stats.mann_kendall`) on
   each unit's series of Gi* z-scores; a trend is significant where its
   two-sided p is at most ``alpha``.
4. **Categories** (:func:`classify`), ArcGIS's published rules.

Inference (measured: ``benchmarks/bench_emerging.py``, ``benchmarks/RESULTS.md``,
``tests/spatial/stats/test_emerging_calibration.py``). Three are offered:

* ``randomization`` (the default): total randomisation. Under the null every
  value of the cube could have fallen in any bin, so a bin's Gi* sum (itself
  and its ``m - 1`` space-time neighbours) is compared with sums of ``m``
  values drawn without replacement from all ``N T`` values, two-sided p
  ``min(1, 2 (min(M_ge, M_le) + 1) / (R + 1))``. Draws: enough for a lone bin
  to pass the correction (``2 / (R + 1) <= alpha / (N T)`` for BH), at least
  49,999 and at most 999,999 (:func:`default_permutations`); the result warns
  when that cap leaves a lone bin unable to pass. This is the exact
  distribution whose first two moments the Ord & Getis z uses, so it keeps
  the z-score's meaning without the normal approximation. The draws depend
  only on ``m`` (a handful of sizes), so one block of ``R x m_max`` draws
  serves every bin: cost ``O(R m_max + N T log R)``, whatever the cube's size.
* ``normal``: the Ord & Getis z with normal p-values (what ArcGIS reports).
  On null cubes of sparse counts it is far too liberal in the upper tail: a
  sum of a few Poisson counts is skewed. 331 H3 cells x 24 steps, mean 0.1
  events a bin: units in a category on 18 of 50 null cubes; 1,261 cells x 52
  steps, mean 0.05: on 10 of 10.
* ``conditional``: :func:`spatial.stats.getis_ord.gi_star`'s staged
  conditional permutation (the bin's own value held fixed, its neighbours
  drawn). Calibrated on null cubes too, but slow on ``N x T`` bins (the
  staged engine continues every bin whose first-stage p is small): on the
  demo town's Drugs offences on 341 H3 res-9 cells x 12 months it took 14.3 s
  against 1.9 s for total randomisation (163,679 draws) on a loaded machine,
  finding about the same units (28 against 29 in hot categories; normal
  theory: 35).

Total randomisation is the default: valid on null cubes (no unit in a
category on 50 + 10 null cubes; figures in ``benchmarks/RESULTS.md``), as
powerful as the conditional engine on the demo town, and its cost depends on
the draws and the largest neighbourhood, not on the number of bins. With 24
beats no inference but normal theory finds a hot spot in the demo town's
Drugs offences: a random set of 12 of 288 bins often holds one of the market
beat's own large counts, so its neighbourhood is not extreme; use smaller
units (H3, grid) for emerging hot spots.

References
----------
Esri (2024) *How Emerging Hot Spot Analysis works*; *Emerging Hot Spot
Analysis (Space Time Pattern Mining)*. ArcGIS Pro tool reference.
Getis, A. & Ord, J. K. (1992) The analysis of spatial association by use of
distance statistics. *Geographical Analysis* 24(3), 189-206.
Ord, J. K. & Getis, A. (1995) Local spatial autocorrelation statistics:
distributional issues and an application. *Geographical Analysis* 27(4), 286-306.
Mann, H. B. (1945) Nonparametric tests against trend. *Econometrica* 13(3), 245-259.
Kendall, M. G. (1975) *Rank Correlation Methods*, 4th ed. London: Griffin.
Benjamini, Y. & Hochberg, Y. (1995) Controlling the false discovery rate.
*J. R. Stat. Soc. B* 57(1), 289-300.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse

from spatial.errors import ParameterError
from spatial.stats.getis_ord import gi_star
from spatial.stats.inputs import check_binary_weights, check_permutations, resolve_seed
from spatial.stats.mann_kendall import mann_kendall
from spatial.stats.permutation import draw_index_block
from spatial.stats.significance import (
    CORRECTIONS,
    FloatArray,
    IntArray,
    adjust,
    permutation_resolution,
    permutations_needed,
    two_sided_p_from_counts,
)

BoolArray = npt.NDArray[np.bool_]

#: Categories, in the order of ArcGIS's table (hot, then cold), then no pattern.
KINDS: tuple[str, ...] = ("new", "consecutive", "intensifying", "persistent", "diminishing",
                          "sporadic", "oscillating", "historical")
CATEGORIES: tuple[str, ...] = (tuple(f"{k}_hot" for k in KINDS)
                               + tuple(f"{k}_cold" for k in KINDS) + ("no_pattern",))
#: Display names, as ArcGIS's ``PATTERN`` field spells them.
PATTERN_NAMES: dict[str, str] = {
    **{f"{k}_hot": f"{k.capitalize()} Hot Spot" for k in KINDS},
    **{f"{k}_cold": f"{k.capitalize()} Cold Spot" for k in KINDS},
    "no_pattern": "No Pattern Detected"}
#: Category codes: +1..+8 hot and -1..-8 cold in the table's order, 0 no pattern.
CODES: dict[str, int] = {**{f"{k}_hot": i + 1 for i, k in enumerate(KINDS)},
                         **{f"{k}_cold": -(i + 1) for i, k in enumerate(KINDS)},
                         "no_pattern": 0}
#: Classification schemes: ArcGIS's (default) and sfhotspot's ``hotspot_classify``.
SCHEMES: tuple[str, ...] = ("arcgis", "sfhotspot")
#: sfhotspot's classes (Ashby, ``hotspot_classify``), hot then cold, then mixed and none.
SF_KINDS: tuple[str, ...] = ("persistent", "emerging", "former", "intermittent")
SF_CATEGORIES: tuple[str, ...] = (tuple(f"{k}_hotspot" for k in SF_KINDS)
                                  + tuple(f"{k}_coldspot" for k in SF_KINDS)
                                  + ("mixed", "no_pattern"))
SF_NAMES: dict[str, str] = {**{f"{k}_hotspot": f"{k} hotspot" for k in SF_KINDS},
                            **{f"{k}_coldspot": f"{k} coldspot" for k in SF_KINDS},
                            "mixed": "mixed hot/coldspot", "no_pattern": "no pattern"}
#: sfhotspot codes: +1..+4 hot, -1..-4 cold (persistent, emerging, former, intermittent),
#: 5 mixed, 0 none.
SF_CODES: dict[str, int] = {**{f"{k}_hotspot": i + 1 for i, k in enumerate(SF_KINDS)},
                            **{f"{k}_coldspot": -(i + 1) for i, k in enumerate(SF_KINDS)},
                            "mixed": 5, "no_pattern": 0}
#: ``hotspot_classify_params()`` defaults.
SF_HOTSPOT_PROP = 0.1
SF_PERSISTENT_PROP = 0.8
SF_RECENT_PROP = 0.2
#: The share of steps ArcGIS's rules call "90 percent of the time-step intervals".
NINETY = 0.9
#: Default significance level for bins (after correction) and for the trend.
DEFAULT_ALPHA = 0.05
#: Inferences offered for the bins' p-values (see the module notes).
INFERENCES: tuple[str, ...] = ("randomization", "conditional", "normal")
#: Default inference: total randomisation of the cube's values (see the module notes).
DEFAULT_INFERENCE = "randomization"
#: Draws of the total randomisation when none are given: at least this many (the smallest
#: two-sided p is 4e-5), more when a lone bin could not pass the correction otherwise, up
#: to :data:`MAX_DEFAULT_PERMUTATIONS`.
DEFAULT_PERMUTATIONS = 49_999
#: Most draws chosen by default (smallest p 2e-6; about 1 s on 2 cores).
MAX_DEFAULT_PERMUTATIONS = 999_999
#: Draws per block of the total randomisation (memory: block x largest neighbourhood).
RANDOMIZATION_BLOCK = 50_000
#: Most bins (units x steps) analysed: the space-time weights hold about 14 entries a
#: bin (H3 ring 1, one previous step), some 170 MB at this size.
MAX_BINS = 1_000_000
#: Default time steps of the space-time neighbourhood (ArcGIS's default is 1).
DEFAULT_TIME_STEPS = 1

RULES = """\
Rules (Esri, *How Emerging Hot Spot Analysis works*), on the unit x step
matrix of significant hot bins ``H`` (and cold bins ``C``); "90 %" is a share of
the ``T`` steps of at least 0.9; the trend is the Mann-Kendall test of the
unit's Gi* z-scores, significant at ``alpha``:

new           hot in the final step and never a significant hot spot before.
consecutive   a single uninterrupted run of at least two hot bins in the final
              steps; never hot before that run; less than 90 % of bins hot.
intensifying  hot in 90 % of the steps, including the final step; the
              intensity of clustering (Gi* z) increases, significantly.
persistent    hot in 90 % of the steps with no significant trend in the
              intensity of clustering.
diminishing   hot in 90 % of the steps, including the final step; the
              intensity decreases, significantly.
sporadic      hot in the final step, with a history of being on-again,
              off-again (a hot bin before the final run of hot bins); less than
              90 % of the steps hot; never a significant cold spot.
oscillating   hot in the final step, and a significant cold spot in a prior
              step; less than 90 % of the steps hot.
historical    not hot in the most recent step, but hot in at least 90 % of the
              steps.

The cold categories are the same with hot and cold exchanged and the trend's
sign reversed (an intensifying cold spot's z decreases). No pattern: none of
the above.

Where two rules are met at once the first in the order above wins, hot
before cold (ArcGIS's table order): e.g. a unit hot in 90 % of steps, not hot
in the last and with no trend is persistent (also historical); one cold before
and hot only in the final step is new (also oscillating).
"""


@dataclass(frozen=True)
class EmergingResult:
    """Emerging hot spot categories of every unit.

    Attributes
    ----------
    category : ndarray of str (object), shape (n,)
        One of :data:`CATEGORIES` per unit.
    code : ndarray of int8, shape (n,)
        :data:`CODES` of the category (+1..+8 hot, -1..-8 cold, 0 none).
    z : ndarray of float, shape (n, T)
        Space-time Gi* z-score of every bin (NaN where undefined).
    p_adjusted : ndarray of float, shape (n, T)
        The bins' two-sided p after the correction.
    hot, cold : ndarray of bool, shape (n, T)
        Significant hot / cold bins.
    trend_z, trend_p, trend_tau, trend_s : ndarray of float, shape (n,)
        Mann-Kendall of each unit's z series (continuity-corrected z, two-sided
        p, Kendall's tau-b, S).
    parameters : dict
        ``alpha``, ``trend_alpha``, ``correction``, ``inference``,
        ``permutations``, ``seed``, ``time_steps``, ``cube_shape``,
        ``space_time_neighbours``, ``rule_order``, ``category_counts`` and the
        Gi* run's ``gi_*``.
    warnings : list of str
    """

    category: npt.NDArray[np.object_]
    code: npt.NDArray[np.int8]
    z: FloatArray
    p_adjusted: FloatArray
    hot: BoolArray
    cold: BoolArray
    trend_z: FloatArray
    trend_p: FloatArray
    trend_tau: FloatArray
    trend_s: FloatArray
    parameters: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


#: Parameters of the Gi* run reported with normal or randomisation inference.
GI_KEPT = ("method", "star", "transform", "self_weight", "n_units", "total", "n_islands")


def default_permutations(bins: int, alpha: float, correction: str) -> int:
    """Draws of the total randomisation when none are given: what lets a lone bin pass
    ``correction`` at ``alpha`` over ``bins`` tests
    (:func:`spatial.stats.significance.permutations_needed`), at least
    :data:`DEFAULT_PERMUTATIONS` and at most :data:`MAX_DEFAULT_PERMUTATIONS`."""
    need = permutations_needed(max(int(bins), 1), alpha, correction)
    return int(min(MAX_DEFAULT_PERMUTATIONS, max(DEFAULT_PERMUTATIONS, need)))


def total_randomization_p(values: FloatArray, sizes: IntArray, observed: FloatArray,
                          permutations: int, rng: np.random.Generator) -> FloatArray:
    """Two-sided total-randomisation p-values of sums over ``sizes`` values.

    For each position ``i`` the null draws ``sizes[i]`` of the ``n`` values without
    replacement and sums them; the p-value is
    ``min(1, 2 (min(M_ge, M_le) + 1) / (R + 1))`` with ``M_ge`` / ``M_le`` the draws
    at least / at most ``observed[i]`` (ties in both tails, exact for counts). Each
    block of uniform ordered samples of ``max(sizes)`` distinct positions
    (:func:`spatial.stats.permutation.draw_index_block`, :data:`RANDOMIZATION_BLOCK`
    rows at a time) serves every size: its first ``m`` columns are a uniform sample
    of ``m``.

    Parameters
    ----------
    values : ndarray, shape (n,)
        Every value that could fall in a bin (the whole cube).
    sizes : ndarray of int, shape (b,)
        Values in each sum (a bin's neighbours plus itself), 1..n.
    observed : ndarray, shape (b,)
        The observed sums.
    permutations : int
        Draws ``R``.
    rng : numpy.random.Generator

    Returns
    -------
    ndarray of float, shape (b,)
    """
    n = values.size
    sizes = np.asarray(sizes, dtype=np.int64)
    if sizes.size and (sizes.min() < 1 or sizes.max() > n):
        raise ParameterError("sizes", f"must be 1..{n}")
    r = int(permutations)
    out = np.full(sizes.size, np.nan)
    if not sizes.size:
        return out
    kmax = int(sizes.max())
    tol = 1e-12 * kmax * float(np.max(np.abs(values), initial=0.0))
    groups = [(int(m), np.flatnonzero(sizes == m)) for m in np.unique(sizes)]
    n_ge = np.zeros(sizes.size, dtype=np.int64)
    n_le = np.zeros(sizes.size, dtype=np.int64)
    done = 0
    while done < r:  # blocks of draws bound the memory to RANDOMIZATION_BLOCK x max(sizes)
        k = min(RANDOMIZATION_BLOCK, r - done)
        idx = draw_index_block(rng, n, kmax, k)
        sims = np.cumsum(values[idx], axis=1)  # column m - 1: the sum of m draws
        for m, sel in groups:
            srt = np.sort(sims[:, m - 1])
            obs = observed[sel]
            n_ge[sel] += k - np.searchsorted(srt, obs - tol, side="left")
            n_le[sel] += np.searchsorted(srt, obs + tol, side="right")
        done += k
    return two_sided_p_from_counts(n_ge, n_le, r)


def space_time_weights(w: sparse.spmatrix | sparse.sparray, n_steps: int,
                       time_steps: int = DEFAULT_TIME_STEPS) -> sparse.csr_matrix:
    """Binary space-time neighbours of the ``N x T`` bins of a cube.

    Bin ``(i, t)`` is row ``t N + i`` (time-major: the cube's columns stacked).
    Its neighbours are the bins ``(j, s)`` with ``j`` a spatial neighbour of
    ``i`` or ``i`` itself and ``t - time_steps <= s <= t``, except the bin
    itself (Gi* adds it with weight 1):

        W_st = kron(B, W + I) - I,    B[t, s] = 1 if 0 <= t - s <= time_steps

    Parameters
    ----------
    w : scipy.sparse matrix, shape (N, N)
        Binary unit neighbours with a zero diagonal
        (:func:`spatial.place.units.neighbours`).
    n_steps : int
        Time steps ``T``.
    time_steps : int
        Previous steps in the neighbourhood (0: this step only).

    Returns
    -------
    scipy.sparse.csr_matrix, shape (N T, N T)
        Binary, zero diagonal, not symmetric when ``time_steps > 0`` (a bin looks
        back in time only).
    """
    n = int(w.shape[0])
    ws = check_binary_weights(w, n)
    t = int(n_steps)
    k = int(time_steps)
    if t < 1:
        raise ParameterError("n_steps", "must be at least 1")
    if not 0 <= k < t:
        raise ParameterError("time_steps", f"must be 0..{t - 1} (the steps before the last)")
    band = sparse.diags([np.ones(t - d) for d in range(k + 1)], [-d for d in range(k + 1)],
                        shape=(t, t), format="csr")
    spatial_self = (ws + sparse.identity(n, format="csr")).tocsr()
    out = sparse.kron(band, spatial_self, format="csr") - sparse.identity(n * t, format="csr")
    out = sparse.csr_matrix(out)
    out.eliminate_zeros()
    out.sort_indices()
    return out


def classify(hot: npt.ArrayLike, cold: npt.ArrayLike, trend_z: npt.ArrayLike,
             trend_p: npt.ArrayLike, trend_alpha: float = DEFAULT_ALPHA
             ) -> npt.NDArray[np.object_]:
    """ArcGIS's emerging hot spot categories from significant bins and trends.

    Each rule is one vectorised boolean expression over the units; the first
    rule met (in :data:`CATEGORIES` order) names the unit.

    Parameters
    ----------
    hot, cold : array_like of bool, shape (n, T)
        Significant hot / cold bins (never both in one bin), oldest step first.
    trend_z, trend_p : array_like of float, shape (n,)
        Mann-Kendall z (its sign is the direction) and two-sided p of each unit's
        Gi* z series; NaN is "no significant trend".
    trend_alpha : float
        Level at which a trend is significant.

    Returns
    -------
    ndarray of str (object), shape (n,)

    Notes
    -----
    """
    h = np.asarray(hot, dtype=bool)
    c = np.asarray(cold, dtype=bool)
    if h.ndim != 2 or h.shape != c.shape:
        raise ParameterError("hot", "hot and cold must be (units, steps) arrays of one shape")
    if np.any(h & c):
        raise ParameterError("cold", "a bin cannot be both a hot and a cold spot")
    tz = np.asarray(trend_z, dtype=float).ravel()
    tp = np.asarray(trend_p, dtype=float).ravel()
    if tz.size != h.shape[0] or tp.size != h.shape[0]:
        raise ParameterError("trend_z", "one trend per unit")
    significant = np.isfinite(tp) & (tp <= trend_alpha) & np.isfinite(tz)
    up = significant & (tz > 0)
    down = significant & (tz < 0)
    rules = {}
    for kind, a, b, rising, falling in (("hot", h, c, up, down), ("cold", c, h, down, up)):
        for name, rule in _rules(a, b, rising, falling, significant).items():
            rules[f"{name}_{kind}"] = rule
    out = np.full(h.shape[0], "no_pattern", dtype=object)
    done = np.zeros(h.shape[0], dtype=bool)
    for name in CATEGORIES[:-1]:
        take = rules[name] & ~done
        out[take] = name
        done |= take
    return out


def _rules(a: BoolArray, b: BoolArray, intensifying: BoolArray, diminishing: BoolArray,
           trend: BoolArray) -> dict[str, BoolArray]:
    """The eight rules for spots ``a`` (hot, or cold) with opposite spots ``b``."""
    t = a.shape[1]
    n_a = a.sum(axis=1)
    share = n_a / t
    ninety = share >= NINETY - 1e-12
    last = a[:, -1]
    rev = a[:, ::-1]
    run = np.where(rev.all(axis=1), t, np.argmin(rev, axis=1))  # final run of a-bins
    before_run = n_a - run  # a-bins before the final run
    b_before_last = b[:, :-1].any(axis=1)
    return {
        "new": last & (n_a == 1),
        "consecutive": last & (run >= 2) & (before_run == 0) & ~ninety,
        "intensifying": ninety & last & intensifying,
        "persistent": ninety & ~trend,
        "diminishing": ninety & last & diminishing,
        "sporadic": last & (before_run > 0) & ~ninety & ~b.any(axis=1),
        "oscillating": last & b_before_last & ~ninety,
        "historical": ~last & ninety,
    }


def classify_sfhotspot(hot: npt.ArrayLike, cold: npt.ArrayLike, *,
                       hotspot_prop: float = SF_HOTSPOT_PROP,
                       persistent_prop: float = SF_PERSISTENT_PROP,
                       recent_prop: float = SF_RECENT_PROP) -> npt.NDArray[np.object_]:
    """sfhotspot's ``hotspot_classify`` classes from significant bins (Ashby, R package
    sfhotspot, ``R/hotspot_classify.R``).

    With ``T`` steps, the last ``r = max(1, floor(recent_prop T))`` are recent and the
    others older; for hot bins (and the same for cold):

    persistent    hot in at least ``persistent_prop`` (0.8) of all steps;
    emerging      hot in less than ``hotspot_prop`` (0.1) of the older steps and in at
                  least ``recent_prop`` (0.2) of the recent ones;
    former        hot in at least ``hotspot_prop`` of the older steps and less than
                  ``hotspot_prop`` of the recent ones;
    intermittent  hot in at least ``hotspot_prop`` of all steps;

    the first that holds names the unit's hot class (likewise its cold class); a
    unit with both a hot and a cold class is ``mixed``, one with neither
    ``no_pattern``. The recent steps are the last ``r`` (sfhotspot's code takes
    ``r + 1`` columns and divides by ``r``; the documented intent is used here).
    sfhotspot tests each period's Gi* on its own; here the bins are those of the
    space-time Gi* of :func:`emerging_hot_spots`.

    Returns
    -------
    ndarray of str (object): one of :data:`SF_CATEGORIES` per unit.
    """
    h = np.asarray(hot, dtype=bool)
    c = np.asarray(cold, dtype=bool)
    if h.ndim != 2 or h.shape != c.shape:
        raise ParameterError("hot", "hot and cold must be (units, steps) arrays of one shape")
    t = h.shape[1]
    r = max(1, int(np.floor(recent_prop * t + 1e-9)))
    if t - r < 1:
        raise ParameterError("steps", "sfhotspot's classes need at least one older step")

    def classes(a: BoolArray, suffix: str) -> npt.NDArray[np.object_]:
        prop = a.mean(axis=1)
        recent = a[:, t - r:].mean(axis=1)
        older = a[:, :t - r].mean(axis=1)
        rules = [("persistent", prop >= persistent_prop),
                 ("emerging", (older < hotspot_prop) & (recent >= recent_prop)),
                 ("former", (older >= hotspot_prop) & (recent < hotspot_prop)),
                 ("intermittent", prop >= hotspot_prop)]
        out = np.full(a.shape[0], "", dtype=object)
        for name, rule in reversed(rules):
            out[rule] = f"{name}_{suffix}"
        return out

    hot_cls, cold_cls = classes(h, "hotspot"), classes(c, "coldspot")
    out = np.where(hot_cls != "", hot_cls, np.where(cold_cls != "", cold_cls, "no_pattern"))
    out[(hot_cls != "") & (cold_cls != "")] = "mixed"
    return out.astype(object)


classify.__doc__ = (classify.__doc__ or "") + "\n" + "\n".join(
    "    " + line if line else "" for line in RULES.splitlines())


def emerging_hot_spots(counts: npt.ArrayLike, w: sparse.spmatrix | sparse.sparray, *,
                       time_steps: int = DEFAULT_TIME_STEPS, alpha: float = DEFAULT_ALPHA,
                       correction: str = "fdr_bh", permutations: int | None = None,
                       seed: int | None = None, inference: str | None = None,
                       scheme: str = "arcgis") -> EmergingResult:
    """Emerging Hot Spot Analysis of a cube of counts.

    Parameters
    ----------
    counts : array_like, shape (N, T)
        Events per unit (rows, the order of ``w``) and time step (columns,
        oldest first), zeros kept (:class:`spatial.stats.space_time_cube.SpaceTimeCube`).
    w : scipy.sparse matrix, shape (N, N)
        Binary unit neighbours, zero diagonal.
    time_steps : int
        Previous steps in each bin's neighbourhood (ArcGIS's neighbourhood time
        step; default 1).
    alpha : float
        Significance level of a bin (after ``correction``) and of a trend.
    correction : {"fdr_bh", "fdr_by", "bonferroni", "none"}
        Over all ``N T`` bins.
    permutations : int, optional
        Draws: None means :data:`DEFAULT_PERMUTATIONS` for ``randomization`` and
        :func:`spatial.stats.getis_ord.gi_star`'s staged default (up to 49,999) for
        ``conditional``; 0 means normal-theory p-values (with a warning).
    seed : int, optional
        Drawn and reported when None.
    inference : {"randomization", "conditional", "normal"}, optional
        How the bins' p-values are made (module notes); default ``randomization``,
        or ``normal`` when ``permutations`` is 0.
    scheme : {"arcgis", "sfhotspot"}
        ArcGIS's categories (:func:`classify`, the default) or sfhotspot's classes
        (:func:`classify_sfhotspot`, with its default proportions).

    Returns
    -------
    EmergingResult
    """
    x = np.asarray(counts, dtype=np.float64)
    if x.ndim != 2:
        raise ParameterError("counts", f"expected a (units, steps) array, got shape {x.shape}")
    if not 0.0 < float(alpha) < 0.5:
        raise ParameterError("alpha", "must be in (0, 0.5)")
    if correction not in CORRECTIONS:
        raise ParameterError("correction", f"{correction!r} is not one of {', '.join(CORRECTIONS)}")
    if scheme not in SCHEMES:
        raise ParameterError("scheme", f"{scheme!r} is not one of {', '.join(SCHEMES)}")
    if inference is None:
        inference = "normal" if permutations == 0 else DEFAULT_INFERENCE
    if inference not in INFERENCES:
        raise ParameterError("inference", f"{inference!r} is not one of {', '.join(INFERENCES)}")
    if inference != "normal" and permutations == 0:
        raise ParameterError("permutations", f"inference {inference!r} needs permutations > 0")
    n, t = x.shape
    if w.shape != (n, n):
        raise ParameterError("w", f"expected shape ({n}, {n}), got {w.shape}")
    if n * t > MAX_BINS:
        raise ParameterError("step", f"{n:,} units x {t:,} steps = {n * t:,} bins, more than "
                                     f"{MAX_BINS:,}: use a coarser step, larger units or a "
                                     "smaller area or window")
    wst = space_time_weights(w, t, time_steps)
    seed_used = resolve_seed(seed)
    y = x.T.ravel()
    extra_warnings: list[str] = []
    if inference == "conditional":
        gi = gi_star(y, wst, permutations=permutations, seed=seed_used, correction=correction,
                     alpha_levels=(float(alpha),))
        p_adj_flat = gi.p_adjusted
        r = int(gi.parameters["permutations"])
        p_text = gi.parameters["p_value"]
    else:
        gi = gi_star(y, wst, permutations=0, correction=correction,
                     alpha_levels=(float(alpha),))
        if inference == "normal":
            p_flat = gi.p
            r = 0
            p_text = "two-sided normal p of the Ord & Getis z"
            if np.all(y >= 0) and np.all(y == np.round(y)):
                extra_warnings.append("bins use normal-theory p-values (inference='normal'): on "
                                      "sparse counts they put units of null cubes into "
                                      "categories; the default is total randomisation")
        else:
            m_bins = int(np.count_nonzero(np.isfinite(gi.z)))
            r = (default_permutations(m_bins, float(alpha), correction) if permutations is None
                 else check_permutations(permutations))
            rng = np.random.default_rng(seed_used)
            sizes = np.diff(wst.indptr).astype(np.int64) + 1
            p_flat = total_randomization_p(y, sizes, wst @ y + y, r, rng)
            p_flat = np.where(np.isfinite(gi.z), p_flat, np.nan)
            p_text = ("two-sided, min(1, 2(min(M_ge, M_le)+1)/(R+1)), against sums of as many "
                      "values drawn without replacement from the whole cube")
            m = int(np.count_nonzero(np.isfinite(p_flat)))
            info, limit = permutation_resolution(r, m, float(alpha), correction)
            extra_warnings += [f"bins: {limit}"] if limit else []
        p_adj_flat = adjust(p_flat, correction)
    z = gi.z.reshape(t, n).T.copy()
    p_adj = p_adj_flat.reshape(t, n).T.copy()
    sig = np.isfinite(z) & np.isfinite(p_adj) & (p_adj <= alpha)
    hot = sig & (z > 0)
    cold = sig & (z < 0)
    mk = mann_kendall(z)
    if scheme == "arcgis":
        category = classify(hot, cold, mk.z, mk.p, alpha)
        codes, all_categories = CODES, CATEGORIES
    else:
        category = classify_sfhotspot(hot, cold)
        codes, all_categories = SF_CODES, SF_CATEGORIES
    code = np.array([codes[c] for c in category], dtype=np.int8)
    names, freq = np.unique(category, return_counts=True)
    tally = {c: 0 for c in all_categories}
    tally.update({str(k): int(v) for k, v in zip(names, freq, strict=True)})
    degree = np.diff(wst.indptr)
    parameters: dict[str, Any] = {
        "method": "emerging_hot_spot_analysis",
        "alpha": float(alpha), "trend_alpha": float(alpha), "correction": correction,
        "inference": inference, "permutations": r, "seed": seed_used,
        "p_value": p_text, "time_steps": int(time_steps), "cube_shape": [n, t],
        "bins": n * t,
        "space_time_neighbours": (f"the unit's neighbours and itself at this step and the "
                                  f"{int(time_steps)} previous step(s); Gi* over all {n * t} "
                                  "bins as one set"),
        "space_time_neighbours_per_bin": {"min": int(degree.min()) + 1,
                                          "max": int(degree.max()) + 1},
        "bin_significance": f"two-sided p after {correction} at most {alpha:g}",
        "trend": "Mann-Kendall on each unit's Gi* z series, two-sided, continuity-corrected",
        "scheme": scheme,
        **({"ninety_percent": NINETY} if scheme == "arcgis" else
           {"hotspot_prop": SF_HOTSPOT_PROP, "persistent_prop": SF_PERSISTENT_PROP,
            "recent_prop": SF_RECENT_PROP}),
        "rule_order": list(all_categories),
        "category_counts": tally,
        "hot_bins": int(hot.sum()), "cold_bins": int(cold.sum()),
        **{f"gi_{k}": v for k, v in gi.parameters.items()
           if inference == "conditional" or k in GI_KEPT},
    }
    warnings = [f"space-time Gi* over {n * t:,} bins (unit x step; 'units' below are bins): "
                f"{w_}" for w_ in gi.warnings if not w_.startswith(("only ", "bins use normal",
                                                                   "Gi_Bin"))
                and (inference == "normal" or "behind GiPValue" not in w_)]
    warnings += extra_warnings
    warnings += [f"trend: {m}" for m in mk.warnings if "tied" not in m]
    if time_steps > 0:
        warnings.append(f"consecutive Gi* z-scores share {int(time_steps)} step(s) of data, so "
                        "each unit's z series is autocorrelated and the Mann-Kendall p-values "
                        "(which assume independence) are somewhat too small: read "
                        "intensifying and diminishing with that in mind")
    return EmergingResult(category=category, code=code, z=z, p_adjusted=p_adj, hot=hot,
                          cold=cold, trend_z=mk.z, trend_p=mk.p, trend_tau=mk.tau, trend_s=mk.s,
                          parameters=parameters, warnings=warnings)
