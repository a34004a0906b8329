"""Counts, hotspots, global Moran's I and saved results."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from service.api.models.common import Closed, Open, ShownCount, Window
from service.api.models.geojson import CollectionType, FeatureType, Geometry


class AnalysisParameters(Open):
    """Everything an analysis used. The keys below are always there, followed by
    ``unit_*`` (which depend on the unit kind), ``small_number_suppression`` (``none``
    or how protected counts are shown), then keys that depend on the method
    (``method``, ``gi_*``, ``lisa_*``, ``kde_*``, ``neighbours``, ``p_values``, ...) and
    the options given: so the object is open."""

    layer: str
    categories: list[str] | str = Field(description="the categories, or 'all'")
    window: Window
    unit: str = Field(description="h3:RES | boundary:SET[@VERSION] | grid:METRES | "
                                  "street:NETWORK[@VERSION][:SNAP_METRES] | street:policeuk")
    area: str
    units: int = Field(description="units in the study area")
    zero_units: int
    events_selected: ShownCount
    events_counted: ShownCount
    events_outside_area: ShownCount


class CountProperties(Closed):
    unit_id: str
    label: str | None
    count: ShownCount


class CountFeature(Closed):
    type: FeatureType
    geometry: Geometry
    properties: CountProperties
    id: str


class CountsCollection(Closed):
    """Every unit of the study area with its count, zeros included."""

    type: CollectionType
    features: list[CountFeature]
    parameters: AnalysisParameters
    warnings: list[str]


class HotspotProperties(Open):
    """A unit's figures. Open: beyond ``unit_id``, ``label`` and ``count`` the keys
    depend on the method (Gi*: ``GiZScore``, ``GiPValue`` (normal theory),
    ``GiPValuePermutation`` (two-sided conditional permutation, which the bins use by
    default), ``GiPValueAdjusted``, ``Gi_Bin``, ``NNeighbors``; LISA: ``Is``, ``z``, ``p``, ``p_adjusted``,
    ``quadrant``, ``cluster``; KDE: ``density``, ``density_compare``,
    ``density_difference``) and on ``denominator_layer`` (``rate``)."""

    unit_id: str
    label: str | None
    count: ShownCount


class HotspotFeature(Closed):
    type: FeatureType
    geometry: Geometry
    properties: HotspotProperties
    id: str


class DensityGrid(Closed):
    """The KDE surface's grid (``method=kde``), in the metric CRS named."""

    crs: str
    cell_size_m: float
    x_min: float
    y_min: float
    shape: list[int] = Field(description="rows, columns")
    max: float = Field(description="events per km²")
    min: float


class SavedRef(Closed):
    """Where ``save=NAME`` stored the result."""

    name: str
    layer: str
    method: str
    owner: str
    created_at: str


class HotspotCollection(Closed):
    """Every unit of the study area with its hotspot statistics."""

    type: CollectionType
    features: list[HotspotFeature]
    parameters: AnalysisParameters
    warnings: list[str]
    grid: DensityGrid | None = Field(None, description="method=kde only")
    saved: SavedRef | None = Field(None, description="with save=NAME only")


class MoranTest(Closed):
    variance: float | None
    z: float | None
    p: float | None = Field(description="two-sided")


class MoranPermutation(Closed):
    p: float | None = Field(description="two-sided pseudo p-value, min(1, 2 (1 + draws as "
                                        "extreme in the nearer tail) / (R + 1))")
    z: float | None
    mean: float | None
    variance: float | None


class Autocorrelation(Closed):
    """Global Moran's I with normal, randomisation and permutation inference."""

    statistic: str
    I: float | None  # noqa: E741 - the statistic's name
    expected_I: float | None
    normal: MoranTest
    randomisation: MoranTest
    permutation: MoranPermutation | None = Field(description="null with permutations=0")
    parameters: AnalysisParameters
    warnings: list[str]


class SavedResultSummary(Closed):
    name: str
    layer: str
    method: str
    created_at: str | None
    parameters: dict[str, Any] = Field(description="as in the result (see AnalysisParameters)")


class SavedResults(Closed):
    results: list[SavedResultSummary]


class SavedResult(Open):
    """A saved hotspot FeatureCollection with ``name``, ``layer``, ``method`` and
    ``created_at``. Open: it is stored as it was answered when saved, so its members
    are those of the version of remap that saved it."""

    type: CollectionType
    features: list[dict[str, Any]]
    parameters: dict[str, Any]
    warnings: list[str]
    grid: dict[str, Any] | None = Field(None, description="method=kde only")
    name: str
    layer: str
    method: str
    created_at: str
