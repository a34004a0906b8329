"""Andresen's spatial point pattern test (proportion-difference variant).

Does the distribution of events over small units (H3 cells, say) after an
operation match that before? Per-unit two-proportion tests, adjusted for
multiple testing by :func:`spatial.stats.significance.adjust`, and
Andresen's global similarity index S.

References
----------
Andresen, M. A. (2009). Testing for similarity in area-based spatial patterns:
    a nonparametric Monte Carlo approach. *Applied Geography* 29(3), 333-345.
Benjamini, Y. & Yekutieli, D. (2001). The control of the false discovery rate
    in multiple testing under dependency. *Annals of Statistics* 29(4),
    1165-1188.
Campbell, I. (2007). Chi-squared and Fisher-Irwin tests of two-by-two tables
    with small sample recommendations. *Statistics in Medicine* 26, 3661-3675.
Wheeler, A. P., Steenbeek, W. & Andresen, M. A. (2018). Testing for similarity
    in area-based spatial patterns: alternative methods to Andresen's spatial
    point pattern test. *Transactions in GIS* 22(3), 760-774.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np
from scipy import stats

from spatial.errors import ParameterError
from spatial.evaluation.count_table import check_alpha, jsonable
from spatial.stats.significance import adjust

#: The SPPT's names for the corrections (R package ``sppt``'s vocabulary),
#: mapped to :data:`spatial.stats.significance.CORRECTIONS`.
SPPT_CORRECTIONS: Final[dict[str, str]] = {"by": "fdr_by", "bh": "fdr_bh",
                                           "bonferroni": "bonferroni", "none": "none"}


def adjust_pvalues(p_values: Sequence[float] | np.ndarray, method: str = "by") -> np.ndarray:
    r"""Multiple-testing adjusted p-values (as R's ``p.adjust``), in the SPPT's vocabulary.

    For m p-values sorted ascending p_(1) ≤ … ≤ p_(m):

    - ``"bh"`` (Benjamini-Hochberg): p̃_(i) = min_{j ≥ i} min(1, m/j · p_(j))
    - ``"by"`` (Benjamini & Yekutieli 2001): as BH with m replaced by
      m·c(m), c(m) = Σ_{k=1}^{m} 1/k (valid under any dependence)
    - ``"bonferroni"``: min(1, m·p)
    - ``"none"``: unchanged

    NaN entries are left NaN and not counted in m. The arithmetic is
    :func:`spatial.stats.significance.adjust`'s; this only translates the
    names (:data:`SPPT_CORRECTIONS`).
    """
    if method not in SPPT_CORRECTIONS:
        raise ParameterError("correction", f"unknown method {method!r}; use by, bh, "
                             "bonferroni or none")
    return adjust(p_values, SPPT_CORRECTIONS[method])


@dataclass(frozen=True)
class SPPTResult:
    """Per-unit and global results of :func:`sppt`.

    Arrays are per unit in input order; NaN where undefined. ``s`` is 1 where
    the unit's share did not change significantly, 0 where it did, and −1
    everywhere when the test could not be run (``reason`` says why).
    """

    before: np.ndarray
    after: np.ndarray
    p_before: np.ndarray
    p_after: np.ndarray
    z: np.ndarray
    p_value: np.ndarray
    p_adjusted: np.ndarray
    s: np.ndarray
    global_s: float | None
    global_s_robust: float | None
    n_units: int
    n_units_robust: int
    method: str
    correction: str
    alpha: float
    reason: str | None = None
    too_few: bool = False
    min_unit_events: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return jsonable({k: getattr(self, k) for k in self.__dataclass_fields__})


def _sppt_inputs(before_counts_per_unit: Sequence[float] | np.ndarray,
                 after_counts_per_unit: Sequence[float] | np.ndarray, method: str,
                 correction: str) -> tuple[np.ndarray, np.ndarray]:
    """Checked per-unit counts as float arrays."""
    b = np.asarray(before_counts_per_unit, dtype=float)
    a = np.asarray(after_counts_per_unit, dtype=float)
    if b.ndim != 1 or a.shape != b.shape:
        raise ParameterError("after_counts_per_unit",
                             f"must be 1-D and match before's shape {b.shape}, got {a.shape}")
    if b.size == 0:
        raise ParameterError("before_counts_per_unit", "no units")
    if not (np.all(np.isfinite(b)) and np.all(np.isfinite(a))) or np.any(b < 0) or np.any(a < 0):
        raise ParameterError("counts", "must be finite and >= 0")
    if method not in ("proportion", "fisher"):
        raise ParameterError("method", f"unknown method {method!r}; use proportion or fisher")
    if correction not in SPPT_CORRECTIONS:
        raise ParameterError("correction", f"unknown method {correction!r}")
    return b, a


def _unit_tests(b: np.ndarray, a: np.ndarray, method: str,
                n_minus_1: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per-unit ``(z, p)``: the two-proportion z-test, or Fisher's exact test (z NaN)."""
    nb, na = float(b.sum()), float(a.sum())
    m = b.size
    if method == "fisher":
        p = np.ones(m)
        for i in np.flatnonzero((b + a) > 0):
            table = [[int(round(b[i])), int(round(nb - b[i]))],
                     [int(round(a[i])), int(round(na - a[i]))]]
            p[i] = float(stats.fisher_exact(table).pvalue)
        return np.full(m, np.nan), p
    return _proportion_test(b, a, nb, na, n_minus_1)


def sppt(before_counts_per_unit: Sequence[float] | np.ndarray,
         after_counts_per_unit: Sequence[float] | np.ndarray, *,
         method: Literal["proportion", "fisher"] = "proportion",
         correction: str = "by", alpha: float = 0.05, n_minus_1: bool = False) -> SPPTResult:
    r"""Andresen's spatial point pattern test, proportion-difference variant.

    Does the distribution of events over units after match that before?
    Following Wheeler, Steenbeek & Andresen (2018) and R package ``sppt``
    (``sppt_diff``): for unit i with counts b_i, a_i and totals
    N_b = Σb, N_a = Σa,

    .. math::
        p_{b,i} = b_i/N_b,\quad p_{a,i} = a_i/N_a,\quad
        \bar p_i = \frac{b_i + a_i}{N_b + N_a},\\
        z_i = \frac{p_{a,i} - p_{b,i}}
                   {\sqrt{\bar p_i(1-\bar p_i)(1/N_b + 1/N_a)}}

    with two-sided normal p (equal to the uncorrected 2×2 χ² test). With
    ``n_minus_1=True`` the statistic is Campbell's (2007) N−1 χ²,
    z²·(N−1)/N with N = N_b + N_a (``sppt_diff``'s default since 0.2.0).
    ``method="fisher"`` uses Fisher's exact test on [[b_i, N_b−b_i],
    [a_i, N_a−a_i]] instead (z is then NaN).

    P-values are adjusted over the units with any events (units with none in
    either period are not a test; they get p = 1 and S = 1) by Benjamini &
    Yekutieli (``correction="by"``, the ``sppt_diff`` default; also ``bh``,
    ``bonferroni``, ``none``). S_i = 1 when p̃_i ≥ α (not significantly
    different), else 0.

    Global S: ``global_s`` is the mean of S_i over **all** units (Andresen's
    original index, inflated by empty units); ``global_s_robust`` is the mean
    over units with at least one event in either period (``sppt``'s
    ``globalS.robust``). Both range over [0, 1]; 1 = identical patterns.

    If either period has no events the proportions are undefined: arrays of
    NaN, global S ``None`` and a reason.
    """
    check_alpha(alpha)
    b, a = _sppt_inputs(before_counts_per_unit, after_counts_per_unit, method, correction)
    m = b.size
    nb, na = float(b.sum()), float(a.sum())
    any_events = (b + a) > 0
    n_robust = int(any_events.sum())
    nan = np.full(m, np.nan)
    if nb == 0 or na == 0:
        which = "before" if nb == 0 else "after"
        return SPPTResult(b, a, nan, nan.copy(), nan.copy(), nan.copy(), nan.copy(),
                          np.full(m, -1, dtype=int), None, None, m, n_robust, method,
                          correction, alpha,
                          f"no events {which}: proportions undefined, SPPT not possible")
    z, p = _unit_tests(b, a, method, n_minus_1)
    p_adj = np.ones(m)
    p_adj[any_events] = adjust_pvalues(p[any_events], correction)
    s = (p_adj >= alpha).astype(int)
    too_few, needed = _attainable(b + a, nb, na, method, n_minus_1, correction, alpha, n_robust)
    return SPPTResult(b, a, b / nb, a / na, z, p, p_adj, s, float(s.mean()),
                      float(s[any_events].mean()) if n_robust else None, m, n_robust,
                      method, correction, alpha, None, too_few, needed)


def _extreme_p(t: np.ndarray, nb: float, na: float, method: str, n_minus_1: bool) -> np.ndarray:
    """The smallest p a unit with t events can get: all of them in one period."""
    best = np.ones(t.size)
    for tb, ta in ((np.minimum(t, nb), np.zeros(t.size)), (np.zeros(t.size), np.minimum(t, na))):
        if method == "fisher":
            p = np.array([stats.fisher_exact([[int(x), int(nb - x)], [int(y), int(na - y)]]).pvalue
                          for x, y in zip(tb, ta, strict=True)])
        else:
            p = _proportion_test(tb, ta, nb, na, n_minus_1)[1]
        best = np.minimum(best, p)
    return best


def _proportion_test(b: np.ndarray, a: np.ndarray, nb: float, na: float,
                     n_minus_1: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per-unit two-proportion ``(z, p)`` for counts b, a of totals N_b, N_a."""
    pooled = (b + a) / (nb + na)
    var = pooled * (1.0 - pooled) * (1.0 / nb + 1.0 / na)
    z = np.zeros(b.size)
    pos = var > 0
    z[pos] = (a[pos] / na - b[pos] / nb) / np.sqrt(var[pos])
    zz = z * math.sqrt((nb + na - 1.0) / (nb + na)) if n_minus_1 else z
    return z, np.minimum(1.0, 2.0 * stats.norm.sf(np.abs(zz)))


def _attainable(t: np.ndarray, nb: float, na: float, method: str, n_minus_1: bool,
                correction: str, alpha: float, n_tested: int) -> tuple[bool, int | None]:
    """Whether any unit could be significant at all, and the events one unit needs alone.

    ``too_few``: even with every one of its events in one period, no unit's
    p-value reaches the best threshold the correction could give it (α for
    BH or no correction, α/c(m) for BY, α/m for Bonferroni, where c(m) =
    Σ 1/k): the test could not have found any change, so "similar
    patterns" means nothing. ``min_unit_events``: the fewest events a unit
    needs for a one-period concentration to pass the correction on its own
    (threshold α/m, α/(m·c(m)) for BY); ``None`` when no count up to the
    smaller period's total would do.
    """
    m = max(n_tested, 1)
    harmonic = float(np.sum(1.0 / np.arange(1, m + 1)))
    best = {"fdr_bh": alpha, "none": alpha, "fdr_by": alpha / harmonic,
            "bonferroni": alpha / m}[SPPT_CORRECTIONS[correction]]
    alone = {"fdr_bh": alpha / m, "none": alpha, "fdr_by": alpha / (m * harmonic),
             "bonferroni": alpha / m}[SPPT_CORRECTIONS[correction]]
    units = np.unique(t[t > 0])
    too_few = bool(units.size == 0 or _extreme_p(units, nb, na, method, n_minus_1).min() >= best)
    cap = int(min(nb, na))
    candidates = np.arange(1, cap + 1, dtype=float)
    needed = None
    if candidates.size:
        # the normal approximation, also for method="fisher": a planning figure
        ok = np.flatnonzero(_extreme_p(candidates, nb, na, "proportion", n_minus_1) < alone)
        needed = int(candidates[ok[0]]) if ok.size else None
    return too_few, needed
