"""``POST /v1/displacement/calculate``: every measure from counts."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from service.api.models.common import Closed, Open


class Measure(Closed):
    """A single measure: its value, or ``null`` and the reason it is undefined."""

    name: str
    value: float | None
    reason: str | None
    label: str | None = Field(description="e.g. 'diffusion of benefits' for the WDQ")


class EffectTest(Closed):
    """An estimate with its normal test: SE, z, two-sided p and the 1 - alpha CI."""

    estimate: float | None
    se: float | None
    variance: float | None
    z: float | None
    p: float | None
    ci: list[float] | None = Field(description="[low, high], or null")
    significant: bool | None
    alpha: float
    reason: str | None = Field(description="why it was not tested, or null")


class Verdict(Open):
    """The verdict: a ``code``, its reading (``sentence``) and its ``caveats``. Open:
    the reading is made by the verdict and sentence modules and may carry more."""

    code: str
    sentence: str | None = None
    caveats: list[str]


class Summary(Closed):
    """One count table's measures (:func:`service.render.operation_report.displacement_summary_report`)."""

    sm: Measure
    bdm: Measure
    wdq: Measure
    tne: Measure
    wdd: EffectTest
    local_effect: EffectTest
    displacement_effect: EffectTest
    ratio_tests: dict[str, dict[str, Any]] = Field(
        description="local, displacement and net ratio-of-rate-ratio tests (ratio, ci_low, "
                    "ci_high, p_value, p_adjusted (Holm), percent_change, direction, "
                    "significant): the tests the verdict rests on")
    detectable_rise: dict[str, Any] | None = Field(
        None, description="smallest buffer rise (percent) the displacement test detects "
                          "with power 0.8, or null with a reason")
    verdict: Verdict
    counts: dict[str, float | None] = Field(description="the count table: counts, window "
                                                        "lengths and areas as used")
    harm_weighted_wdd: EffectTest | None = Field(None, description="with harm_weights only")
    parameters: dict[str, Any]
    warnings: list[str]


class Contribution(Closed):
    weight: float
    estimate: float | None
    se: float | None
    weighted_estimate: float | None
    weighted_variance: float | None


class HarmWeightedWDD(Closed):
    """Σ wᵢ·WDDᵢ with SE √Σ wᵢ²·SEᵢ² (Wheeler & Ratcliffe 2018)."""

    estimate: float | None
    se: float | None
    variance: float | None
    z: float | None
    p: float | None
    ci: list[float] | None
    significant: bool | None
    reason: str | None
    contributions: dict[str, Contribution]


class CategoriesAnswer(Closed):
    """Several categories: each one's measures, and the harm-weighted WDD."""

    categories: dict[str, Summary]
    harm_weighted_wdd: HarmWeightedWDD | None
    parameters: dict[str, Any]
    warnings: list[str]


#: One table's summary, or the answer for several categories.
CalculateOut = Summary | CategoriesAnswer
