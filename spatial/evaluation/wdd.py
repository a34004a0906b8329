"""Wheeler & Ratcliffe's weighted displacement difference and its two components.

- :func:`local_effect` -- the target against its control, ΔT − ΔCt;
- :func:`displacement_effect` -- the buffer against its control, ΔD − ΔCd;
- :func:`wdd` -- their sum, the weighted displacement difference;
- :func:`harm_weighted_wdd` -- Σ wᵢ·WDDᵢ across crime types.

Each is a normal-approximation test of a signed sum of Poisson counts
(:class:`EffectTest`), with counts divided by their weights (window length ×
area) as Wheeler & Ratcliffe describe.

References
----------
Wheeler, A. P. & Ratcliffe, J. H. (2018). A simple weighted displacement
    difference test to evaluate place based crime interventions. *Crime
    Science* 7:11.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Final

from spatial.errors import ParameterError
from spatial.evaluation.count_table import CountTable, check_alpha, check_count, jsonable
from spatial.evaluation.normal import two_sided_p, z_crit


@dataclass(frozen=True)
class EffectTest:
    """A normal-approximation (Poisson) test of a linear combination of counts.

    ``z``, ``p_value`` and the interval are ``None`` (with ``reason``) when the
    variance is 0, i.e. every count in the comparison is 0.
    """

    name: str
    estimate: float
    variance: float
    se: float
    z: float | None
    p_value: float | None
    ci_low: float | None
    ci_high: float | None
    alpha: float
    reason: str | None = None

    @property
    def significant(self) -> bool:
        """Two-sided p < α."""
        return self.p_value is not None and self.p_value < self.alpha

    @property
    def direction(self) -> int:
        """−1 significantly negative, +1 significantly positive, else 0."""
        if not self.significant:
            return 0
        return -1 if self.estimate < 0 else 1

    def as_dict(self) -> dict[str, Any]:
        out = jsonable(asdict(self))
        out["significant"] = self.significant
        return out


#: Alias: what :func:`wdd` returns.
WDDResult = EffectTest


def _normal_test(name: str, estimate: float, variance: float, alpha: float) -> EffectTest:
    check_alpha(alpha)
    se = math.sqrt(variance) if variance > 0 else 0.0
    if variance <= 0:
        return EffectTest(name, estimate, 0.0, 0.0, None, None, None, None, alpha,
                          "every count in the comparison is 0: variance is 0, no test possible")
    z = estimate / se
    half = z_crit(alpha) * se
    return EffectTest(name, estimate, variance, se, z, two_sided_p(z),
                      estimate - half, estimate + half, alpha)


def _combination(table: CountTable, terms: Sequence[tuple[float, str, str]]) -> tuple[float, float]:
    """Estimate Σ c·x/w and variance Σ c²·x/w² of a signed sum of cells.

    Terms on the same physical cell (the control standing in for the buffer
    control) are merged first, so the shared control's variance gets the
    squared combined coefficient.
    """
    merged: dict[tuple[str, str], float] = {}
    for coef, area, period in terms:
        key = (table.resolve(area), period)
        merged[key] = merged.get(key, 0.0) + coef
    estimate = 0.0
    variance = 0.0
    for (area, period), coef in merged.items():
        x = table.count(area, period)
        w = table.weight(area, period)
        estimate += coef * x / w
        variance += coef * coef * x / (w * w)
    return estimate, variance


_LOCAL_TERMS: Final = ((1.0, "target", "after"), (-1.0, "target", "before"),
                       (-1.0, "control", "after"), (1.0, "control", "before"))
_DISPLACEMENT_TERMS: Final = ((1.0, "buffer", "after"), (-1.0, "buffer", "before"),
                              (-1.0, "buffer_control", "after"),
                              (1.0, "buffer_control", "before"))


def local_effect(table: CountTable, alpha: float = 0.05) -> EffectTest:
    r"""Local effect: the target against its control (Wheeler & Ratcliffe 2018).

    .. math:: L = \Delta T - \Delta C_t
              = (R_a/w - R_b/w) - (C_a/w - C_b/w), \qquad
              \operatorname{Var} L = \sum x/w^2

    over its four counts (unweighted: R_a + R_b + C_a + C_b). Negative: the
    target fell relative to the control. z = L/√Var, two-sided normal p, CI
    L ± z_{1−α/2}·√Var.
    """
    est, var = _combination(table, _LOCAL_TERMS)
    return _normal_test("local_effect", est, var, alpha)


def displacement_effect(table: CountTable, alpha: float = 0.05) -> EffectTest:
    r"""Displacement effect: the buffer against its control (Wheeler & Ratcliffe 2018).

    .. math:: D = \Delta B - \Delta C_d, \qquad \operatorname{Var} D = \sum x/w^2

    over its four counts. Positive: displacement into the buffer; negative:
    diffusion of benefits. When the table has no buffer control, the control
    C is used (Cd = C).
    """
    est, var = _combination(table, _DISPLACEMENT_TERMS)
    return _normal_test("displacement_effect", est, var, alpha)


def wdd(table: CountTable, alpha: float = 0.05) -> EffectTest:
    r"""Weighted displacement difference test (Wheeler & Ratcliffe 2018, Crime Science 7:11).

    .. math::
        WDD = \Delta T - \Delta C_t + \Delta D - \Delta C_d, \qquad
        \operatorname{Var}(WDD) = \sum_{8\ \text{cells}} x

    (Δ = after − before; T target, Ct its control, D buffer, Cd its control),
    z = WDD/√Var, two-sided p from the normal, CI = WDD ± z_{1−α/2}√Var.

    Weights: each count x becomes x/w and its Poisson variance x/w², where
    w = window length × area (see
    :class:`~spatial.evaluation.count_table.CountTable`), so the estimate is a
    difference in rates (e.g. events per day per km²).

    Shared control: when the table has no buffer control the same counts
    stand in for Ct and Cd, so WDD = ΔT + ΔD − 2ΔC and, the two terms being
    one random variable, its variance enters with coefficient 2² = 4:
    Var = R_a + R_b + B_a + B_b + 4(C_a + C_b).

    The normal approximation to the Poisson is poor for very small counts;
    :mod:`spatial.evaluation.verdict` refuses a verdict below a stated minimum.

    The model is additive: without the operation, target and control are
    assumed to change by the same number of events (per unit weight). If a
    force-wide trend instead multiplies every rate by r and the target and
    control start from different levels, the expected local effect is
    (r − 1)(R_b − C_b), not 0 (:func:`spatial.evaluation.verdict.trend_bias`); area
    weights that bring the areas to comparable levels reduce this.

    Examples
    --------
    Wheeler & Ratcliffe's example: control 308→318, treated 207→110,
    displacement control 150→140, displacement 178→157 gives WDD = −118,
    Var = 1568, SE = 39.598, z = −2.98, 95 % CI [−196, −40].
    """
    est, var = _combination(table, _LOCAL_TERMS + _DISPLACEMENT_TERMS)
    return _normal_test("wdd", est, var, alpha)


@dataclass(frozen=True)
class HarmWeightedResult:
    """Σ wᵢ·WDDᵢ over categories, its test, and each category's contribution."""

    total: EffectTest
    contributions: dict[str, dict[str, Any]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"total": self.total.as_dict(), "contributions": jsonable(self.contributions)}


def harm_weighted_wdd(components: Mapping[str, tuple[EffectTest, float]],
                      alpha: float = 0.05) -> HarmWeightedResult:
    r"""Harm-weighted WDD across crime types (Wheeler & Ratcliffe 2018).

    .. math::
        WDD_h = \sum_i w_i\,WDD_i, \qquad
        SE_h = \sqrt{\sum_i w_i^2\,SE_i^2}

    with z = WDD_h/SE_h, two-sided normal p and CI WDD_h ± z_{1−α/2}·SE_h.
    The categories are treated as independent Poisson counts. Weights are
    harms per event (e.g. Cambridge Crime Harm Index days), finite and ≥ 0.

    Parameters
    ----------
    components : mapping of category → (EffectTest, weight)
        Typically each from :func:`wdd` (or :func:`local_effect`).
    """
    if not components:
        raise ParameterError("components", "give at least one category")
    estimate = 0.0
    variance = 0.0
    contributions: dict[str, dict[str, Any]] = {}
    for category, pair in components.items():
        if len(pair) != 2 or not isinstance(pair[0], EffectTest):
            raise ParameterError("components", f"{category!r}: expected (EffectTest, weight)")
        result, weight = pair
        check_count(f"weight[{category}]", weight)
        weight = float(weight)
        estimate += weight * result.estimate
        variance += weight * weight * result.variance
        contributions[category] = {"weight": weight, "estimate": result.estimate,
                                   "se": result.se, "weighted_estimate": weight * result.estimate,
                                   "weighted_variance": weight * weight * result.variance}
    return HarmWeightedResult(_normal_test("harm_weighted_wdd", estimate, variance, alpha),
                              contributions)
