"""Near-repeat patterns: the Knox test over distance bands x time bands.

Do events that are close in space also fall close in time, more often than
chance would make them? Knox (1964) counted the pairs of events that are close
in both; Johnson & Bowers (2004) used the test to show that burglaries
"communicate" risk to nearby homes for a few weeks; Ratcliffe's Near Repeat
Calculator (NRC, 2009) made it the analyst's tool, with a table of pair counts
over several distance bands and several time bands, each cell compared with
what a Monte Carlo permutation of the event times gives. This module gives the
NRC's table with the significance rules remap uses everywhere.

The table (the NRC's layout)
----------------------------
Every unordered pair of events ``{i, j}`` falls in one cell: its distance band
(row) and its time band (column). With a distance bandwidth ``b_d`` metres and
``n_d`` bands, and a time bandwidth ``b_t`` days and ``n_t`` bands:

* rows: **same location** (distance 0 m, reported on its own as the NRC does),
  then "up to ``b_d`` m", "``b_d`` to ``2 b_d`` m", ... -- band ``k`` holds
  ``(k-1) b_d < d <= k b_d`` -- and **beyond** ``n_d b_d`` m;
* columns: ``0 to b_t`` days, ``b_t+1 to 2 b_t``, ... -- band ``k`` holds
  ``(k-1) b_t < dt <= k b_t`` except the first, which holds ``0 <= dt <= b_t``
  -- and **beyond** ``n_t b_t`` days.

Defaults: five distance bands of 100 m (to 500 m) and five time bands of
7 days (to 35 days), so a 7 x 6 table. Times are whole days (the date of each
event: ``dt`` is the difference of the two dates, as the NRC counts it), so
events known to the second are used at day precision, and events known to the
month only are refused (a month says nothing about which week). Distances are
Euclidean (default) or Manhattan (``|dx| + |dy|`` along the axes of the
projected CRS) in metres: British National Grid (EPSG:27700) in Great Britain,
else the local UTM zone (:func:`spatial.place.crs.metric_epsg`).

Expected counts and significance
--------------------------------
The null hypothesis is no space-time interaction: given where events happened
and when, which event happened when is random. Each of ``R`` permutations
(default 999, ``np.random.default_rng(seed)``) shuffles the dates among the
events, keeping every location and the set of dates. For each cell:

* ``expected`` = the mean simulated count (the NRC's expected value);
  ``expected_exact`` = ``row total x column total / all pairs``, the exact
  mean over every permutation (Knox 1964): a uniformly random permutation
  gives a pair of events a uniformly random pair of the dates. Row totals are
  fixed by the locations and column totals by the dates, so each
  simulated table keeps the observed margins and the expected table's row and
  column totals equal the observed ones;
* ``ratio`` = observed / expected, the NRC's "Knox ratio" (> 1: more pairs
  close in space and time than chance);
* ``p_one_sided`` = ``(n_ge + 1) / (R + 1)``, with ``n_ge`` the simulations
  at least as large as the observed count: the NRC's p-value, for comparison;
* ``p_two_sided`` = ``min(1, 2 (min(n_ge, n_le) + 1) / (R + 1))`` (remap's
  default everywhere, :func:`spatial.stats.significance.two_sided_p_from_counts`),
  adjusted by Benjamini-Hochberg over the *tested cells*: every cell whose
  distance band and time band are both finite (same location and the
  ``n_d`` distance bands x the ``n_t`` time bands; the "beyond" row and
  column are the complements of the others and are shown, not tested) and
  where some pair can fall (row and column totals above 0: a cell that holds
  no pair in every permutation is no test). A cell is *significant* when its
  adjusted p is at most ``alpha``.

The words: a **near-repeat pattern** is a significant excess (ratio > 1) in
some distance band from 1 m up and a finite time band; a **repeat** pattern
is one at the same location only. The extent reported is the farthest
distance band and the longest time band holding a significant excess.

Cost
----
Pairs closer than the largest finite distance band are found once with
:class:`scipy.spatial.cKDTree` (``query_pairs``); the pairs farther away are
never listed: the beyond row is each column's total (every pair's date
difference, counted from the sorted dates in ``O(n log n)``) less the rows
above it. Each permutation is a gather of the permuted dates over the
candidate pairs and a 2-D ``bincount``; permutations run in chunks of at most
:data:`CHUNK_ELEMENTS` pair-permutations, so memory is bounded by the pair
count. More than :data:`MAX_PAIRS` candidate pairs is refused before any
list is made (``cKDTree.count_neighbors`` counts them).

References
----------
Knox, E. G. (1964). The detection of space-time interactions. *Journal of the
Royal Statistical Society C (Applied Statistics)* 13(1), 25-30.
Johnson, S. D. & Bowers, K. J. (2004). The burglary as clue to the future: the
beginnings of prospective hot-spotting. *European Journal of Criminology*
1(2), 237-255.
Ratcliffe, J. H. (2009). *Near Repeat Calculator* (version 1.3). Temple
University, Philadelphia, and the National Institute of Justice, Washington DC.
Johnson, S. D., Bernasco, W., Bowers, K. J. et al. (2007). Space-time patterns
of risk: a cross national assessment of residential burglary victimization.
*Journal of Quantitative Criminology* 23, 201-219 (the Monte Carlo Knox test).
Benjamini, Y. & Hochberg, Y. (1995). Controlling the false discovery rate.
*J. R. Stat. Soc. B* 57(1), 289-300.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

from spatial.errors import InsufficientDataError, ParameterError, TooLargeError
from spatial.place import crs
from spatial.stats.significance import adjust, permutation_resolution, two_sided_p_from_counts

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Default distance bandwidth (metres) and number of distance bands.
DEFAULT_DISTANCE_BAND_M: Final = 100.0
DEFAULT_DISTANCE_BANDS: Final = 5
#: Default time bandwidth (days) and number of time bands.
DEFAULT_TIME_BAND_DAYS: Final = 7
DEFAULT_TIME_BANDS: Final = 5
DEFAULT_PERMUTATIONS: Final = 999
DEFAULT_ALPHA: Final = 0.05
METRICS: Final = ("euclidean", "manhattan")
#: Most candidate pairs (closer than the largest finite distance band) analysed;
#: at 16 bytes a pair plus the chunked work arrays this stays under about 1 GB.
MAX_PAIRS: Final = 5_000_000
#: Pair-permutations held in memory at once (int32 work arrays of this size).
CHUNK_ELEMENTS: Final = 4_000_000
#: Most bands of either kind, and the limits of the other parameters.
MAX_BANDS: Final = 20
MAX_PERMUTATIONS: Final = 9_999
MIN_EVENTS: Final = 3
#: Distances this close above a band edge (metres) count as on it; this close to 0, as 0.
EDGE_TOLERANCE_M: Final = 1e-6
#: Time precisions the test accepts (spatial.events.TIME_PRECISIONS less "month").
DAY_PRECISIONS: Final = ("instant", "day")

#: Pattern codes (see :func:`pattern_code`).
PATTERNS: Final = ("near_repeat", "repeat_only", "none")


@dataclass(frozen=True)
class Band:
    """One row or column of the table: ``low < value <= high`` (the first time band
    includes 0; the same-location row is exactly 0; ``high`` None: beyond)."""

    label: str
    low: float
    high: float | None
    kind: str  # "same" | "band" | "beyond"


@dataclass(frozen=True)
class NearRepeatResult:
    """The Knox table in the NRC's layout: arrays of shape (distance rows, time columns).

    Attributes
    ----------
    distance_bands, time_bands : tuple of Band
        Rows (same location, the bands, beyond) and columns (the bands, beyond).
    observed : int array
        Pairs of events in each cell.
    expected : float array
        Mean count over the permutations (the NRC's expected value).
    expected_exact : float array
        ``row total x column total / all pairs``: the exact permutation mean.
    ratio : float array
        ``observed / expected`` (the NRC's Knox ratio); NaN where expected is 0.
    n_ge, n_le : int arrays
        Permutations with a count at least / at most the observed one.
    p_one_sided : float array
        ``(n_ge + 1) / (R + 1)`` (the NRC's p-value).
    p_two_sided : float array
        ``min(1, 2 (min(n_ge, n_le) + 1) / (R + 1))``.
    p_adjusted : float array
        ``p_two_sided`` adjusted over the tested cells; NaN for untested cells.
    tested, significant : bool arrays
        Which cells are in the multiple-testing family; which pass it at alpha.
    pattern : str
        ``near_repeat``, ``repeat_only`` or ``none`` (:data:`PATTERNS`).
    extent_m, extent_days : float or None
        The upper edge of the farthest distance band / longest time band holding a
        significant excess (None without one).
    events, pairs, candidate_pairs : int
        Events analysed, all pairs ``n (n - 1) / 2``, pairs closer than the largest
        finite distance band.
    """

    distance_bands: tuple[Band, ...]
    time_bands: tuple[Band, ...]
    observed: IntArray
    expected: FloatArray
    expected_exact: FloatArray
    ratio: FloatArray
    n_ge: IntArray
    n_le: IntArray
    p_one_sided: FloatArray
    p_two_sided: FloatArray
    p_adjusted: FloatArray
    tested: npt.NDArray[np.bool_]
    significant: npt.NDArray[np.bool_]
    pattern: str
    extent_m: float | None
    extent_days: float | None
    events: int
    pairs: int
    candidate_pairs: int
    parameters: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


def _num(v: float) -> str:
    return f"{v:g}"


def distance_bands(bandwidth_m: float, bands: int) -> tuple[Band, ...]:
    """The rows: same location, ``bands`` bands of ``bandwidth_m`` metres, beyond."""
    out = [Band("same location", 0.0, 0.0, "same")]
    for k in range(1, bands + 1):
        low = (k - 1) * bandwidth_m
        label = (f"up to {_num(bandwidth_m)} m" if k == 1
                 else f"{_num(low)} to {_num(k * bandwidth_m)} m")
        out.append(Band(label, low, k * bandwidth_m, "band"))
    top = bands * bandwidth_m
    out.append(Band(f"more than {_num(top)} m", top, None, "beyond"))
    return tuple(out)


def time_bands(bandwidth_days: int, bands: int) -> tuple[Band, ...]:
    """The columns: ``bands`` bands of ``bandwidth_days`` days (the first from 0), beyond."""
    out = []
    for k in range(1, bands + 1):
        low = (k - 1) * bandwidth_days
        first = 0 if k == 1 else low + 1
        out.append(Band(f"{first} to {k * bandwidth_days} days", float(low),
                        float(k * bandwidth_days), "band"))
    top = bands * bandwidth_days
    out.append(Band(f"more than {top} days", float(top), None, "beyond"))
    return tuple(out)


def day_numbers(times: Any, time_precision: Any) -> IntArray:
    """Whole days since 1970-01-01 of each event's date.

    Raises
    ------
    ParameterError
        (``time_precision``) Some events are known to the month only, naming
        how many and the precision found.
    """
    prec = np.asarray(time_precision, dtype=object)
    t = np.asarray(times, dtype="datetime64[ns]")
    if len(prec) != len(t):
        raise ParameterError("time_precision", "one value per event is needed")
    bad = ~np.isin(prec, DAY_PRECISIONS)
    if bad.any():
        found = sorted({str(v) for v in prec[bad]})
        raise ParameterError(
            "time_precision",
            f"{int(bad.sum()):,} of {len(prec):,} events have time precision "
            f"{', '.join(repr(f) for f in found)}; the near-repeat (Knox) test needs each "
            "event's date (precision 'day' or 'instant'): a month says nothing about which "
            "week an event fell in (police.uk publishes months only)")
    if np.isnat(t).any():
        raise ParameterError("time", f"{int(np.isnat(t).sum()):,} events have no time")
    return t.astype("datetime64[D]").astype(np.int64)


def _check(bandwidth_m: float, n_d: int, bandwidth_days: int, n_t: int, metric: str,
           permutations: int, alpha: float) -> None:
    if not (np.isfinite(bandwidth_m) and 1 <= bandwidth_m <= 10_000):
        raise ParameterError("distance_band", f"{bandwidth_m:g} m is not in 1..10000 metres")
    if not 1 <= n_d <= MAX_BANDS:
        raise ParameterError("distance_bands", f"{n_d} is not in 1..{MAX_BANDS}")
    if int(bandwidth_days) != bandwidth_days or not 1 <= bandwidth_days <= 365:
        raise ParameterError("time_band", f"{bandwidth_days} is not a whole number of days "
                                          "in 1..365")
    if not 1 <= n_t <= MAX_BANDS:
        raise ParameterError("time_bands", f"{n_t} is not in 1..{MAX_BANDS}")
    if metric not in METRICS:
        raise ParameterError("metric", f"{metric!r} is not one of {', '.join(METRICS)}")
    if not 19 <= permutations <= MAX_PERMUTATIONS:
        raise ParameterError("permutations", f"{permutations} is not in 19..{MAX_PERMUTATIONS}")
    if not 0 < alpha < 1:
        raise ParameterError("alpha", f"{alpha:g} is not in (0, 1)")


def pair_distances(x: FloatArray, y: FloatArray, i: IntArray, j: IntArray,
                   metric: str) -> FloatArray:
    """Distances (metres) of the pairs ``(i, j)``."""
    dx, dy = x[i] - x[j], y[i] - y[j]
    if metric == "manhattan":
        return np.asarray(np.abs(dx) + np.abs(dy), dtype=np.float64)
    return np.asarray(np.hypot(dx, dy), dtype=np.float64)


def distance_row(d: FloatArray, bandwidth_m: float, n_d: int) -> IntArray:
    """Row of each distance: 0 same location (d == 0), k for ``(k-1) b < d <= k b``,
    ``n_d + 1`` beyond; a distance within :data:`EDGE_TOLERANCE_M` above an edge is on
    it (a point on a 400 m grid is 400.0000001 m from its neighbour after projection)."""
    shifted = (np.asarray(d, dtype=np.float64) - EDGE_TOLERANCE_M) / bandwidth_m
    k = np.maximum(np.ceil(shifted), 0).astype(np.int64)
    return np.asarray(np.minimum(k, n_d + 1), dtype=np.int64)


def time_column(dt: IntArray, bandwidth_days: int, n_t: int) -> IntArray:
    """Column of each whole-day difference: 0 for ``0 <= dt <= b``, k - 1 for
    ``(k-1) b < dt <= k b``, ``n_t`` beyond."""
    dt = np.abs(np.asarray(dt, dtype=np.int64))
    return np.asarray(np.minimum((np.maximum(dt, 1) - 1) // bandwidth_days, n_t),
                      dtype=np.int64)


def column_totals(days: IntArray, bandwidth_days: int, n_t: int) -> IntArray:
    """Pairs of events (all of them) in each time column, from the sorted dates."""
    s = np.sort(np.asarray(days, dtype=np.int64))
    n = len(s)
    idx = np.arange(n, dtype=np.int64)
    # pairs with dt <= edge for each finite band edge, then differences
    at_most = np.array([int((np.searchsorted(s, s + k * bandwidth_days, side="right")
                             - idx - 1).sum()) for k in range(1, n_t + 1)], dtype=np.int64)
    total = n * (n - 1) // 2
    return np.diff(np.concatenate([[0], at_most, [total]])).astype(np.int64)


def count_candidate_pairs(tree: cKDTree, radius: float, p: float) -> int:
    """Unordered pairs of distinct points within ``radius``, without listing them."""
    n = int(tree.n)
    ordered = int(tree.count_neighbors(tree, radius, p=p))
    return (ordered - n) // 2


def _tables(rows: np.ndarray, i: np.ndarray, j: np.ndarray, days_batch: np.ndarray,
            lut: np.ndarray, n_rows_within: int, n_cols: int) -> IntArray:
    """Within-distance counts of each permutation of a batch: shape (B, rows, cols)."""
    b = days_batch.shape[0]
    cells = n_rows_within * n_cols
    dt = np.abs(days_batch[:, i] - days_batch[:, j])
    cell = (rows * n_cols)[None, :] + lut[dt]
    cell += (np.arange(b, dtype=np.int32) * cells)[:, None]
    counts = np.bincount(cell.ravel(), minlength=b * cells)
    return counts.reshape(b, n_rows_within, n_cols).astype(np.int64)


def knox_table(x: FloatArray, y: FloatArray, days: IntArray, *,
               distance_band_m: float = DEFAULT_DISTANCE_BAND_M,
               n_distance_bands: int = DEFAULT_DISTANCE_BANDS,
               time_band_days: int = DEFAULT_TIME_BAND_DAYS,
               n_time_bands: int = DEFAULT_TIME_BANDS, metric: str = "euclidean",
               permutations: int = DEFAULT_PERMUTATIONS, seed: int = 0,
               alpha: float = DEFAULT_ALPHA, epsg: int | None = None,
               chunk_elements: int = CHUNK_ELEMENTS) -> NearRepeatResult:
    """The Knox test on projected points (metres) and whole-day dates.

    Parameters
    ----------
    x, y : arrays of float
        Positions in metres (a projected CRS).
    days : array of int
        Each event's date as a whole day number.
    distance_band_m : float
        Distance bandwidth, metres (1..10,000).
    n_distance_bands : int
        Finite distance bands after "same location" (1..20).
    time_band_days : int
        Time bandwidth, whole days (1..365).
    n_time_bands : int
        Finite time bands (1..20).
    metric : {"euclidean", "manhattan"}
    permutations : int
        Monte Carlo permutations of the dates (19..9,999).
    seed : int
        Seed of ``np.random.default_rng``.
    alpha : float
        Level of the Benjamini-Hochberg FDR over the tested cells.
    epsg : int, optional
        The CRS of ``x``/``y``, only reported.
    chunk_elements : int
        Pair-permutations held at once (memory bound).

    Returns
    -------
    NearRepeatResult

    Raises
    ------
    ParameterError
        A parameter out of range, or arrays of different lengths.
    InsufficientDataError
        Fewer than 3 events.
    TooLargeError
        More than :data:`MAX_PAIRS` pairs of events closer than the largest band.
    """
    _check(distance_band_m, n_distance_bands, time_band_days, n_time_bands, metric,
           permutations, alpha)
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    days = np.asarray(days, dtype=np.int64)
    n = len(x)
    if not len(y) == len(days) == n:
        raise ParameterError("events", "x, y and days must have one value per event")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ParameterError("events", "every event needs a finite position")
    if n < MIN_EVENTS:
        raise InsufficientDataError(f"{n} events: the Knox test needs at least {MIN_EVENTS}")
    b_d, n_d, b_t, n_t = float(distance_band_m), int(n_distance_bands), int(time_band_days), \
        int(n_time_bands)
    rows_all, cols_all = n_d + 2, n_t + 1
    within_rows = n_d + 1  # same location + the finite bands
    p_norm = 1.0 if metric == "manhattan" else 2.0
    max_d = n_d * b_d

    tree = cKDTree(np.column_stack([x, y]))
    # a hair more than the largest band, so float rounding at the edge loses no pair;
    # pairs that land beyond it are dropped below by their computed distance
    radius = max_d * (1 + 1e-9) + EDGE_TOLERANCE_M
    candidates = count_candidate_pairs(tree, radius, p_norm)
    if candidates > MAX_PAIRS:
        raise TooLargeError(
            f"{candidates:,} pairs of events lie within {max_d:g} m of each other, above the "
            f"limit of {MAX_PAIRS:,}: use fewer or narrower distance bands, a smaller area "
            "or a shorter window", details={"parameter": "distance_bands",
                                            "pairs": candidates, "limit": MAX_PAIRS})
    pairs = tree.query_pairs(radius, p=p_norm, output_type="ndarray")
    i = pairs[:, 0].astype(np.int64)
    j = pairs[:, 1].astype(np.int64)
    d = pair_distances(x, y, i, j, metric)
    row = distance_row(d, b_d, n_d)
    keep = row <= n_d
    i, j, row = i[keep], j[keep], row[keep]
    n_pairs = len(i)

    total_pairs = n * (n - 1) // 2
    col_tot = column_totals(days, b_t, n_t)
    span = int(days.max() - days.min()) if n else 0
    lut = time_column(np.arange(span + 1), b_t, n_t).astype(np.int32)
    day0 = (days - days.min()).astype(np.int32)
    i32, j32, row32 = i.astype(np.int32), j.astype(np.int32), row.astype(np.int32)

    def full(within: IntArray) -> IntArray:
        """Within-distance tables (B, rows, cols) with the beyond row appended."""
        beyond = col_tot[None, :] - within.sum(axis=1)
        return np.concatenate([within, beyond[:, None, :]], axis=1)

    observed = full(_tables(row32, i32, j32, day0[None, :], lut, within_rows, cols_all))[0]

    rng = np.random.default_rng(seed)
    batch = max(1, min(permutations, chunk_elements // max(n_pairs, 1)))
    total = np.zeros((rows_all, cols_all), dtype=np.float64)
    n_ge = np.zeros((rows_all, cols_all), dtype=np.int64)
    n_le = np.zeros((rows_all, cols_all), dtype=np.int64)
    done = 0
    while done < permutations:
        b = min(batch, permutations - done)
        shuffled = rng.permuted(np.broadcast_to(day0, (b, n)), axis=1)
        sims = full(_tables(row32, i32, j32, shuffled, lut, within_rows, cols_all))
        total += sims.sum(axis=0)
        n_ge += (sims >= observed[None]).sum(axis=0)
        n_le += (sims <= observed[None]).sum(axis=0)
        done += b

    expected = total / permutations
    row_tot = observed.sum(axis=1)
    expected_exact = (np.outer(row_tot, col_tot) / total_pairs if total_pairs
                      else np.zeros_like(expected))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(expected > 0, observed / np.where(expected > 0, expected, 1.0), np.nan)
    p_one = np.asarray((n_ge + 1.0) / (permutations + 1.0), dtype=np.float64)
    p_two = two_sided_p_from_counts(n_ge, n_le, permutations)
    tested = np.zeros((rows_all, cols_all), dtype=bool)
    tested[:within_rows, :n_t] = True
    tested &= expected_exact > 0  # no pair can fall there: the same in every permutation
    p_adj = np.full((rows_all, cols_all), np.nan)
    p_adj[tested] = adjust(p_two[tested], "fdr_bh")
    significant = tested & (p_adj <= alpha)
    excess = significant & (observed > expected)
    code, extent_m, extent_days = pattern_code(excess, b_d, b_t)

    warnings: list[str] = []
    m = int(tested.sum())
    resolution, why = permutation_resolution(permutations, m, alpha, "fdr_bh")
    if why is not None:
        warnings.append(why.replace("units", "cells").replace("unit ", "cell "))
    sparse = int((tested & (expected_exact < 5)).sum())
    if sparse:
        warnings.append(f"{sparse} of {m} tested cells expect fewer than 5 pairs: their ratios "
                        "are unstable and their tests weak")
    params: dict[str, Any] = {
        "distance_band_m": b_d, "distance_bands": n_d, "time_band_days": b_t,
        "time_bands": n_t, "same_location": "distance 0 m (identical positions; band edges and 0 with a "
                         f"tolerance of {EDGE_TOLERANCE_M:g} m for projection rounding)",
        "distance_rows": [b.label for b in distance_bands(b_d, n_d)],
        "time_columns": [b.label for b in time_bands(b_t, n_t)],
        "metric": metric, "crs": f"EPSG:{epsg}" if epsg is not None else "given in metres",
        "time_unit": "whole days (the date of each event)",
        "permutations": permutations, "seed": seed, "alpha": alpha,
        "correction": "fdr_bh", "p_value": "two-sided permutation p, "
                      "min(1, 2 (min(n_ge, n_le) + 1) / (R + 1)); the NRC's one-sided "
                      "(n_ge + 1) / (R + 1) also reported",
        "null": "dates permuted among events (locations and dates kept)",
        "tested_cells": m,
        "tested": "same location and the finite distance bands x the finite time bands, "
                  "where some pair can fall (row and column totals above 0); the beyond row "
                  "and column are complements, shown but not tested",
        "expected": "mean of the permutation counts (expected_exact: row x column / pairs)",
        "events": n, "pairs": total_pairs, "candidate_pairs": n_pairs,
        "max_pairs": MAX_PAIRS, **resolution,
    }
    return NearRepeatResult(
        distance_bands=distance_bands(b_d, n_d), time_bands=time_bands(b_t, n_t),
        observed=observed, expected=expected, expected_exact=expected_exact, ratio=ratio,
        n_ge=n_ge, n_le=n_le, p_one_sided=p_one, p_two_sided=p_two, p_adjusted=p_adj,
        tested=tested, significant=significant, pattern=code, extent_m=extent_m,
        extent_days=extent_days, events=n, pairs=total_pairs, candidate_pairs=n_pairs,
        parameters=params, warnings=tuple(warnings))


def pattern_code(excess: npt.NDArray[np.bool_], distance_band_m: float,
                 time_band_days: int) -> tuple[str, float | None, float | None]:
    """The pattern and its extent from the cells with a significant excess.

    ``near_repeat`` when some finite distance band from 1 m up (rows 1..) has one,
    ``repeat_only`` when only the same-location row has, else ``none``; the
    extent is the upper edge of the farthest such row and longest such column.
    """
    rows, cols = np.nonzero(excess)
    if len(rows) == 0:
        return "none", None, None
    code = "near_repeat" if (rows >= 1).any() else "repeat_only"
    return (code, float(rows.max() * distance_band_m),
            float((cols.max() + 1) * time_band_days))


def near_repeat(lon: FloatArray, lat: FloatArray, times: Any, time_precision: Any, *,
                distance_band_m: float = DEFAULT_DISTANCE_BAND_M,
                n_distance_bands: int = DEFAULT_DISTANCE_BANDS,
                time_band_days: int = DEFAULT_TIME_BAND_DAYS,
                n_time_bands: int = DEFAULT_TIME_BANDS, metric: str = "euclidean",
                permutations: int = DEFAULT_PERMUTATIONS, seed: int = 0,
                alpha: float = DEFAULT_ALPHA, epsg: int | None = None) -> NearRepeatResult:
    """The Knox near-repeat test on WGS84 events (see the module notes).

    Parameters
    ----------
    lon, lat : arrays of float
        WGS84 degrees; projected to metres in ``epsg`` (default: BNG in Great
        Britain, else the UTM zone of the events' median,
        :func:`spatial.place.crs.metric_epsg`).
    times : datetimes
        Each event's time (its date is used).
    time_precision : array of str
        ``instant``, ``day`` or ``month`` per event; any ``month`` is refused.
    Other parameters as :func:`knox_table`.

    Raises
    ------
    ParameterError
        (``time_precision``) Events known to the month only; a parameter out of range.
    InsufficientDataError, TooLargeError
        As :func:`knox_table`.
    """
    days = day_numbers(times, time_precision)
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    if len(lon) != len(days) or len(lat) != len(days):
        raise ParameterError("events", "lon, lat and times must have one value per event")
    code = epsg if epsg is not None else crs.metric_epsg(lon, lat)
    x, y = crs.to_metric(lon, lat, code)
    return knox_table(x, y, days, distance_band_m=distance_band_m,
                      n_distance_bands=n_distance_bands, time_band_days=time_band_days,
                      n_time_bands=n_time_bands, metric=metric, permutations=permutations,
                      seed=seed, alpha=alpha, epsg=code)
