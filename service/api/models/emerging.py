"""Emerging hot spots (``GET /v1/hotspots/emerging``)."""

from __future__ import annotations

from pydantic import Field

from service.api.models.analysis import AnalysisParameters
from service.api.models.common import Closed, ShownCount
from service.api.models.geojson import CollectionType, FeatureType, Geometry


class EmergingParameters(AnalysisParameters):
    """Everything the analysis used: the counts request's keys, then the cube's (``step``,
    ``steps``, ``step_labels``, ``step_reason``, ...), the method's (``alpha``,
    ``correction``, ``permutations``, ``seed``, ``time_steps``, ``category_counts``,
    ...) and the Gi* run's (``gi_*``). Open, as every analysis's parameters."""

    step: str = Field(description="week | 28d | month | quarter")
    steps: int = Field(description="time steps in the cube")
    step_labels: list[str] = Field(description="first day (week, 28d), YYYY-MM (month) or "
                                               "YYYY-Qn (quarter) of each step, oldest first")
    step_reason: str = Field(description="why this step: given, or chosen from the data's "
                                         "time precision and span")
    cube_shape: list[int] = Field(description="units, steps")
    alpha: float = Field(description="significance of a bin (after the correction) and of a "
                                     "trend")
    correction: str
    permutations: int = Field(description="Gi* conditional permutations (0: normal theory)")
    seed: int
    time_steps: int = Field(description="previous steps in each bin's neighbourhood")
    category_counts: dict[str, int] = Field(description="units per category")


class EmergingProperties(Closed):
    unit_id: str
    label: str | None
    category: str = Field(description="scheme arcgis: new_hot, consecutive_hot, "
                                      "intensifying_hot, persistent_hot, diminishing_hot, "
                                      "sporadic_hot, oscillating_hot, historical_hot, the same "
                                      "_cold, or no_pattern; scheme sfhotspot: persistent_, "
                                      "emerging_, former_, intermittent_ hotspot or coldspot, "
                                      "mixed, no_pattern")
    pattern: str = Field(description="the category's name, e.g. ArcGIS's 'New Hot Spot'")
    code: int = Field(description="arcgis: +1..+8 hot, -1..-8 cold (ArcGIS's table order); "
                                  "sfhotspot: +1..+4 hot, -1..-4 cold, 5 mixed; 0 none")
    trend_z: float | None = Field(description="Mann-Kendall z of the unit's Gi* z-scores "
                                              "(continuity-corrected)")
    trend_p: float | None = Field(description="two-sided")
    trend_tau: float | None = Field(description="Kendall's tau-b against time")
    hot_steps: int = Field(description="steps in which the unit is a significant hot spot")
    cold_steps: int
    bins: list[int] = Field(description="per step, oldest first: +1 significant hot, -1 cold, "
                                        "0 neither")
    count: ShownCount = Field(description="events in all steps")
    counts: list[ShownCount] = Field(description="events per step, oldest first")


class EmergingFeature(Closed):
    type: FeatureType
    geometry: Geometry
    properties: EmergingProperties
    id: str


class EmergingCollection(Closed):
    """Every unit of the study area with its emerging hot spot category."""

    type: CollectionType
    features: list[EmergingFeature]
    parameters: EmergingParameters
    warnings: list[str]
