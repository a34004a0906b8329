"""The displacement calculator: every measure from counts an analyst already has.

Shared by ``POST /v1/displacement/calculate`` and ``remap displacement calc``. The
input models validate the body (bounded counts, weights and windows); the answer
is :func:`service.render.operation_report.displacement_summary_report` per table, and for
several categories a harm-weighted WDD (Wheeler & Ratcliffe 2018).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from service.render.operation_report import displacement_summary_report as displacement_summary
from spatial.errors import ParameterError
from spatial.evaluation.count_table import CountTable
from spatial.evaluation.verdict import DEFAULT_DISPLACEMENT_SIZE

#: counts and weights are bounded so that no product or quotient of them can overflow a
#: float: a count is 0 or in MIN_COUNT..MAX_COUNT (a control of 1e-300 events made the
#: control's change 1e312-fold, infinite, and the sentence writer failed on it)
MAX_COUNT = 1e12
MIN_COUNT = 1e-6
Count = Field(ge=0, le=MAX_COUNT, allow_inf_nan=False,
              description="events: 0, or 1e-6 to 1e12 (pro-rated counts may be fractional)")


HarmWeight = Annotated[float, Field(ge=0, le=1e6, allow_inf_nan=False)]


class Pair(BaseModel):
    """Counts before and after."""

    model_config = ConfigDict(extra="forbid")
    before: float = Count
    after: float = Count

    @field_validator("before", "after")
    @classmethod
    def _not_vanishing(cls, value: float) -> float:
        if 0 < value < MIN_COUNT:
            raise ValueError(f"a count is 0 or at least {MIN_COUNT:g} events, got {value:g}")
        return value


class TimeWeights(BaseModel):
    """Window lengths in days: counts are divided by them (Wheeler & Ratcliffe 2018), and
    the verdict gives rates per 30 days when they differ."""

    model_config = ConfigDict(extra="forbid")
    before: float = Field(ge=1e-6, le=1e9, allow_inf_nan=False)
    after: float = Field(ge=1e-6, le=1e9, allow_inf_nan=False)


class AreaWeights(BaseModel):
    """Areas (e.g. km²) of target, buffer, control (and buffer control)."""

    model_config = ConfigDict(extra="forbid")
    target: float = Field(ge=1e-6, le=1e9, allow_inf_nan=False)
    buffer: float = Field(ge=1e-6, le=1e9, allow_inf_nan=False)
    control: float = Field(ge=1e-6, le=1e9, allow_inf_nan=False)
    buffer_control: float | None = Field(None, ge=1e-6, le=1e9, allow_inf_nan=False)


class Counts(BaseModel):
    model_config = ConfigDict(extra="forbid")
    target: Pair
    buffer: Pair
    control: Pair
    buffer_control: Pair | None = None


class CalculateIn(BaseModel):
    """One count table (``target``, ``buffer``, ``control``, optional ``buffer_control``),
    or several ``categories`` with ``harm_weights`` for a harm-weighted WDD."""

    model_config = ConfigDict(extra="forbid")
    target: Pair | None = None
    buffer: Pair | None = None
    control: Pair | None = None
    buffer_control: Pair | None = Field(None, description="absent: the control serves both")
    categories: dict[str, Counts] | None = None
    time_weights: TimeWeights | None = None
    area_weights: AreaWeights | None = None
    harm_weights: HarmWeight | dict[str, HarmWeight] | None = Field(
        None, description="a weight for the single table, or one per category")
    alpha: float = Field(0.05, ge=1e-6, le=0.5, allow_inf_nan=False,
                         description="significance level (1e-6 to 0.5)")
    min_count: int | None = Field(None, ge=0, description="verdict floor (default 35 at 5 %)")
    role: Literal["outcome", "output"] = Field(
        "outcome", description="outcome (harm) or output (police activity: activity words)")
    displacement_size: float = Field(
        DEFAULT_DISPLACEMENT_SIZE, gt=0, le=10, allow_inf_nan=False,
        description="buffer rise (fraction, 0.3 = 30 %) the design must be able to detect "
                    "before the verdict says 'no displacement'")


def _table(c: Counts | CalculateIn, body: CalculateIn) -> CountTable:
    assert c.target is not None and c.buffer is not None and c.control is not None
    bc = c.buffer_control
    return CountTable.from_pairs(
        target=(c.target.before, c.target.after), buffer=(c.buffer.before, c.buffer.after),
        control=(c.control.before, c.control.after),
        buffer_control=None if bc is None else (bc.before, bc.after),
        time_weights=(None if body.time_weights is None
                      else (body.time_weights.before, body.time_weights.after)),
        area_weights=(None if body.area_weights is None else
                      {k: v for k, v in body.area_weights.model_dump().items()
                       if v is not None}))


def calculate(body: CalculateIn | dict[str, Any]) -> dict[str, Any]:
    """The calculator, shared by the API and ``remap displacement calc``."""
    if not isinstance(body, CalculateIn):
        body = CalculateIn.model_validate(body)
    single = [body.target, body.buffer, body.control]
    if body.categories is None:
        for name, v in zip(("target", "buffer", "control"), single, strict=True):
            if v is None:
                raise ParameterError(name, "required (before and after counts)")
        if isinstance(body.harm_weights, dict):
            raise ParameterError("harm_weights", "one number for a single table; a mapping "
                                                 "needs 'categories'")
        if body.harm_weights is not None and body.harm_weights < 0:
            raise ParameterError("harm_weights", "must be >= 0")
        return displacement_summary(_table(body, body), alpha=body.alpha,
                                    harm_weight=body.harm_weights, min_count=body.min_count,
                                    role=body.role, displacement_size=body.displacement_size)
    if any(v is not None for v in single + [body.buffer_control]):
        raise ParameterError("categories", "give either one table (target, buffer, control) "
                                           "or 'categories', not both")
    if not body.categories:
        raise ParameterError("categories", "give at least one category")
    weights = body.harm_weights
    if weights is not None and not isinstance(weights, dict):
        raise ParameterError("harm_weights", "with categories, give a weight per category")
    weights = weights or {}
    unknown = sorted(set(weights) - set(body.categories))
    if unknown:
        raise ParameterError("harm_weights", f"unknown categories: {', '.join(unknown)}")
    for k, w in weights.items():
        if w < 0:
            raise ParameterError(f"harm_weights.{k}", "must be >= 0")
    from spatial.evaluation.wdd import harm_weighted_wdd, wdd

    out: dict[str, Any] = {"categories": {}}
    components = {}
    for name, counts in body.categories.items():
        table = _table(counts, body)
        out["categories"][name] = displacement_summary(
            table, alpha=body.alpha, min_count=body.min_count, role=body.role,
            displacement_size=body.displacement_size)
        if name in weights:
            components[name] = (wdd(table, body.alpha), float(weights[name]))
    if components:
        hw = harm_weighted_wdd(components, body.alpha)
        t = hw.total
        out["harm_weighted_wdd"] = {
            "estimate": t.estimate, "se": t.se, "variance": t.variance, "z": t.z,
            "p": t.p_value, "ci": None if t.ci_low is None else [t.ci_low, t.ci_high],
            "significant": t.significant, "reason": t.reason,
            "contributions": hw.as_dict()["contributions"]}
    else:
        out["harm_weighted_wdd"] = None
    out["parameters"] = {"alpha": body.alpha, "harm_weights": weights or None,
                         "role": body.role, "displacement_size": body.displacement_size,
                         "harm_weighted_wdd": "Σ wᵢ·WDDᵢ, SE √Σ wᵢ²·SEᵢ² (Wheeler & "
                                              "Ratcliffe 2018)"}
    out["warnings"] = ([] if components else
                       ["no harm weights given: no harm-weighted WDD"])
    return out
