"""Significance for local and global spatial statistics.

Normal p-values, permutation (pseudo) p-values, multiple-testing adjustment
(:data:`CORRECTIONS`, the one list of corrections the API and the CLI offer)
and ArcGIS-style confidence bins. The conditional-randomisation engine that
produces the permutation counts is :mod:`spatial.stats.permutation`; input
checks shared by the local statistics are :mod:`spatial.stats.inputs`.

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

import numpy as np
import numpy.typing as npt
from scipy import stats

from spatial.errors import ParameterError
from spatial.stats.corrections import CORRECTION_ALIASES, CORRECTIONS

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


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


def folded_p_from_counts(n_ge: npt.ArrayLike, permutations: int | npt.ArrayLike) -> FloatArray:
    """esda's ``p_sim`` from ``n_ge = #{sim >= observed}``: see :func:`p_sim_folded`."""
    ge = np.asarray(n_ge, dtype=np.float64)
    r = np.asarray(permutations, dtype=np.float64)
    m = np.minimum(ge, r - ge)
    return np.asarray((m + 1.0) / (r + 1.0), dtype=np.float64)


def two_sided_p_from_counts(n_ge: npt.ArrayLike, n_le: npt.ArrayLike,
                            permutations: int | npt.ArrayLike) -> FloatArray:
    """Two-sided pseudo p-value ``min(1, 2 (min(M_ge, M_le) + 1) / (R + 1))``
    (``R`` may differ by unit, as after :func:`spatial.stats.permutation.staged_randomization`)."""
    m = np.minimum(np.asarray(n_ge, dtype=np.float64), np.asarray(n_le, dtype=np.float64))
    r = np.asarray(permutations, dtype=np.float64)
    return np.asarray(np.minimum(1.0, 2.0 * (m + 1.0) / (r + 1.0)), dtype=np.float64)


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


def smallest_p(permutations: int) -> float:
    """Smallest two-sided pseudo p-value ``R`` permutations can give: ``min(1, 2 / (R + 1))``."""
    return min(1.0, 2.0 / (int(permutations) + 1.0))


def lone_unit_threshold(m: int, alpha: float, correction: str) -> float:
    """The unadjusted p a unit needs to pass ``correction`` at ``alpha`` over ``m``
    tests when it is the only one to pass: ``alpha / m`` for BH and Bonferroni
    (BH's first step), ``alpha / (m c(m))`` for BY, ``alpha`` for none."""
    name = CORRECTION_ALIASES.get(correction, correction)
    m = max(int(m), 1)
    if name == "none":
        return float(alpha)
    if name == "fdr_by":
        return float(alpha) / (m * float(np.sum(1.0 / np.arange(1, m + 1))))
    return float(alpha) / m


def permutations_needed(m: int, alpha: float, correction: str) -> int:
    """Fewest permutations whose smallest two-sided p (``2 / (R + 1)``) lets a unit
    pass ``correction`` at ``alpha`` over ``m`` tests on its own."""
    return max(99, int(np.ceil(2.0 / lone_unit_threshold(m, alpha, correction) - 1e-9)) - 1)


def permutation_resolution(permutations: int, m: int, alpha: float,
                           correction: str) -> tuple[dict[str, object], str | None]:
    """What ``permutations`` can and cannot show over ``m`` tests at ``alpha``.

    Returns the parameters to report (``smallest_p``, ``permutations_needed``,
    ``units_needed_at_smallest_p``) and a warning when a unit cannot pass the
    correction on its own; with BH it can still pass as one of at least
    ``ceil(smallest_p m / alpha)`` units at the smallest p (BH's k-th step).
    """
    p_min = smallest_p(permutations)
    need = permutations_needed(m, alpha, correction)
    name = CORRECTION_ALIASES.get(correction, correction)
    k: int | None
    if p_min <= lone_unit_threshold(m, alpha, correction):
        k = 1
    elif name in ("fdr_bh", "fdr_by"):
        k = int(np.ceil(p_min / lone_unit_threshold(m, alpha, correction) - 1e-9))
        k = k if k <= m else None
    else:
        k = None
    info: dict[str, object] = {"smallest_p": p_min, "permutations_needed": need,
                               "units_needed_at_smallest_p": k, "resolution_alpha": alpha}
    if k == 1:
        return info, None
    reach = ("no unit can pass it" if k is None else
             f"a unit can pass only as one of at least {k} units at that p")
    return info, (f"with {permutations:,} permutations the smallest two-sided p is "
                  f"{p_min:.2g}: over {m:,} units, {name} at alpha {alpha:g} needs "
                  f"p <= {lone_unit_threshold(m, alpha, correction):.2g} for a unit on its own, "
                  f"so {reach}; a unit on its own would need {need:,} permutations")


# ---------------------------------------------------------------------------
# Multiple testing
# ---------------------------------------------------------------------------


def adjust(p: npt.ArrayLike, method: str = "fdr_bh") -> FloatArray:
    """Adjust p-values for multiple testing.

    NaN p-values (units with no test, e.g. no neighbours) are kept as NaN and
    do not count towards the number of tests ``m``.

    Parameters
    ----------
    p : array_like
        Unadjusted p-values in ``[0, 1]``.
    method : {"fdr_bh", "fdr_by", "bonferroni", "none"}
        One of :data:`CORRECTIONS`; ``"bh"`` and ``"by"`` are accepted for
        the two FDR corrections (:data:`CORRECTION_ALIASES`).

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

        Both FDR corrections are :func:`scipy.stats.false_discovery_control`
        (``method="bh"`` / ``"by"``) over the finite p-values.

    Returns
    -------
    numpy.ndarray of float
        Adjusted p-values, same shape as ``p``.
    """
    arr = np.asarray(p, dtype=np.float64)
    name = CORRECTION_ALIASES.get(method, method) if isinstance(method, str) else method
    if name not in CORRECTIONS:
        raise ParameterError("correction", f"{method!r} is not one of {', '.join(CORRECTIONS)}")
    finite = np.isfinite(arr)
    if np.any((arr[finite] < 0) | (arr[finite] > 1)):
        raise ParameterError("p", "p-values must lie in [0, 1]")
    out = arr.astype(np.float64, copy=True)
    pf = arr[finite]
    m = pf.size
    if name == "none" or m == 0:
        return out
    if name == "bonferroni":
        out[finite] = np.minimum(pf * m, 1.0)
    else:
        out[finite] = stats.false_discovery_control(pf, method=name.removeprefix("fdr_"))
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
    levels = check_alpha_levels(alpha_levels)
    z = np.asarray(z, dtype=np.float64)
    p = np.asarray(p_adjusted, dtype=np.float64)
    if z.shape != p.shape:
        raise ParameterError("p_adjusted", "must have the same shape as z")
    level = np.zeros(z.shape, dtype=np.int8)
    ok = np.isfinite(z) & np.isfinite(p)
    for b, a in enumerate(levels, start=1):
        level[ok & (p <= a)] = b
    return (np.sign(np.where(ok, z, 0.0)).astype(np.int8) * level).astype(np.int8)


def check_alpha_levels(alpha_levels: Sequence[float]) -> tuple[float, ...]:
    levels = tuple(float(a) for a in alpha_levels)
    if not levels or any(not 0.0 < a < 1.0 for a in levels):
        raise ParameterError("alpha_levels", "each level must be in (0, 1)")
    if any(b >= a for a, b in zip(levels, levels[1:], strict=False)):
        raise ParameterError("alpha_levels", "levels must be strictly decreasing, "
                             "e.g. (0.10, 0.05, 0.01)")
    return levels
