"""The Mann-Kendall trend test on a batch of series, vectorised over the series.

For one series ``x_1 .. x_n`` (equally spaced steps, e.g. a unit's Gi* z-score
per month) the statistic is

    S = sum_{i < j} sign(x_j - x_i)

(Mann 1945). Under the null of no monotonic trend (the values exchangeable in
time) ``E[S] = 0`` and, with ``g`` groups of tied values of sizes ``t_k``,

    Var(S) = [n (n - 1) (2n + 5) - sum_k t_k (t_k - 1) (2 t_k + 5)] / 18

(Kendall 1975, ch. 4, the tie correction). The normal deviate uses the
continuity correction

    Z = (S - 1) / sqrt(Var(S))   if S > 0
        0                        if S = 0
        (S + 1) / sqrt(Var(S))   if S < 0

and the two-sided p-value is ``2 (1 - Phi(|Z|))``. Kendall's tau against the
time index (which has no ties) is reported as tau-b,
``tau = S / sqrt(n0 (n0 - n1))`` with ``n0 = n (n - 1) / 2`` and
``n1 = sum_k t_k (t_k - 1) / 2`` (equal to ``scipy.stats.kendalltau(range(n), x)``),
and as tau-a, ``S / n0``.

The normal approximation is the one ArcGIS's Emerging Hot Spot Analysis and
R's ``Kendall::MannKendall`` use; it is adequate from about 10 values (Kendall
1975), which is one reason :mod:`spatial.stats.space_time_cube` asks for at
least 10 time steps.

Cost: ``n - 1`` vectorised passes over an ``(m, n)`` array (one per lag), so
``O(m n^2)`` operations and ``O(m n)`` memory; no Python loop over series.

References
----------
Mann, H. B. (1945) Nonparametric tests against trend. *Econometrica* 13(3),
245-259.
Kendall, M. G. (1975) *Rank Correlation Methods*, 4th ed. London: Charles
Griffin.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from spatial.errors import ParameterError
from spatial.stats.significance import FloatArray, two_sided_normal_p

#: Fewest values for which the test is computed at all (S has one possible value below).
MIN_VALUES = 3


@dataclass(frozen=True)
class MannKendallResult:
    """The Mann-Kendall test of each series (row) of a batch.

    Attributes
    ----------
    s : ndarray of float, shape (m,)
        Mann's S (an integer; float so that series with NaN give NaN).
    var_s : ndarray of float, shape (m,)
        Var(S) under the null with Kendall's tie correction.
    z : ndarray of float, shape (m,)
        Normal deviate with continuity correction (0 where S = 0; NaN where the
        variance is 0, i.e. every value tied, or the series has NaN).
    p : ndarray of float, shape (m,)
        Two-sided p-value ``2 (1 - Phi(|z|))``.
    tau : ndarray of float, shape (m,)
        Kendall's tau-b between the series and the time index, in [-1, 1].
    tau_a : ndarray of float, shape (m,)
        ``S / (n (n - 1) / 2)``.
    n : int
        Values per series.
    parameters : dict
    warnings : list of str
    """

    s: FloatArray
    var_s: FloatArray
    z: FloatArray
    p: FloatArray
    tau: FloatArray
    tau_a: FloatArray
    n: int
    parameters: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def mann_kendall(x: npt.ArrayLike) -> MannKendallResult:
    """The Mann-Kendall trend test on every row of ``x``.

    Parameters
    ----------
    x : array_like, shape (m, n) or (n,)
        ``m`` series of ``n`` equally spaced values in time order (any unit;
        only their order matters). A row with a NaN gets NaN results.

    Returns
    -------
    MannKendallResult

    Raises
    ------
    ParameterError
        ``x`` is not 1-D or 2-D, or has fewer than :data:`MIN_VALUES` values per series.
    """
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise ParameterError("x", f"expected series as rows of a 2-D array, got shape {arr.shape}")
    m, n = arr.shape
    if n < MIN_VALUES:
        raise ParameterError("x", f"{n} values per series: the Mann-Kendall test needs at "
                                  f"least {MIN_VALUES}")
    bad = ~np.all(np.isfinite(arr), axis=1)
    a = np.where(bad[:, None], 0.0, arr)
    s = np.zeros(m, dtype=np.float64)
    for lag in range(1, n):
        s += np.sign(a[:, lag:] - a[:, :-lag]).sum(axis=1)
    ties, tie_pairs = _tie_terms(a)
    n0 = n * (n - 1) / 2.0
    var_s = (n * (n - 1) * (2 * n + 5) - ties) / 18.0
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(s > 0, (s - 1.0) / np.sqrt(var_s),
                     np.where(s < 0, (s + 1.0) / np.sqrt(var_s), 0.0))
        tau = s / np.sqrt(n0 * (n0 - tie_pairs))
    z = np.where(var_s > 0, z, np.nan)
    tau = np.where(n0 - tie_pairs > 0, tau, np.nan)
    s = np.where(bad, np.nan, s)
    var_s = np.where(bad, np.nan, var_s)
    z = np.where(bad, np.nan, z)
    tau = np.where(bad, np.nan, tau)
    p = two_sided_normal_p(z)
    warnings: list[str] = []
    if n < 10:
        warnings.append(f"{n} values per series: the normal approximation of Mann-Kendall's S "
                        "is coarse below 10 values (Kendall 1975)")
    if bad.any():
        warnings.append(f"{int(bad.sum())} series have missing values: their test is NaN")
    flat = int(np.count_nonzero(~bad & ~(var_s > 0)))
    if flat:
        warnings.append(f"{flat} series have every value tied: no trend can be tested (NaN)")
    parameters = {"method": "mann_kendall", "n": n, "series": m,
                  "variance": "Kendall (1975) tie-corrected",
                  "continuity_correction": True, "alternative": "two-sided",
                  "tau": "tau-b against the time index"}
    return MannKendallResult(s=s, var_s=var_s, z=z, p=p, tau=tau, tau_a=s / n0, n=n,
                             parameters=parameters, warnings=warnings)


def _tie_terms(a: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Per row: ``sum_k t_k (t_k - 1) (2 t_k + 5)`` and ``sum_k t_k (t_k - 1) / 2`` over
    the groups of tied values, vectorised (sort each row, number the runs, bincount)."""
    m, n = a.shape
    srt = np.sort(a, axis=1)
    starts = np.ones((m, n), dtype=bool)
    starts[:, 1:] = srt[:, 1:] != srt[:, :-1]
    group = np.cumsum(starts.ravel()) - 1  # run id over the whole batch, rows never share
    sizes = np.bincount(group).astype(np.float64)
    row_of_group = np.repeat(np.arange(m), starts.sum(axis=1))
    ties = np.bincount(row_of_group, weights=sizes * (sizes - 1) * (2 * sizes + 5), minlength=m)
    pairs = np.bincount(row_of_group, weights=sizes * (sizes - 1) / 2.0, minlength=m)
    return ties.astype(np.float64), pairs.astype(np.float64)
