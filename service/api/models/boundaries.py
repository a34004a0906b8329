"""``/v1/boundaries``: boundary sets, their import report and their units."""

from __future__ import annotations

from pydantic import Field

from service.api.models.common import Closed, Rejection
from service.api.models.geojson import CollectionType, FeatureType, Geometry


class BoundarySet(Closed):
    """One version of a named boundary set."""

    id: int
    name: str
    version: int
    id_field: str
    label_field: str | None
    effective_date: str | None = Field(description="YYYY-MM-DD")
    source_file: str | None
    repairs: list[str] = Field(description="geometry repairs made on import")
    created_at: str
    unit_count: int


class BoundarySets(Closed):
    boundary_sets: list[BoundarySet]


class BoundaryImport(Closed):
    """What a boundary import stored, and how many stored events it placed."""

    name: str
    version: int
    id: int
    units: int
    repairs: list[str]
    rejections: list[Rejection]
    events_placed: int
    events_outside: int


class UnitProperties(Closed):
    unit_id: str
    label: str | None
    area_m2: float


class UnitFeature(Closed):
    type: FeatureType
    geometry: Geometry | None
    properties: UnitProperties
    id: str


class BoundaryUnits(Closed):
    """The units of a boundary set as a GeoJSON FeatureCollection."""

    type: CollectionType
    features: list[UnitFeature]
    boundary_set: BoundarySet


class UnitName(Closed):
    """A unit's id and name: what a target or area may name it by."""

    unit_id: str
    label: str | None
    area_km2: float


class BoundaryUnitNames(Closed):
    """The ids and names of a boundary set's units, by name."""

    boundary_set: BoundarySet
    units: list[UnitName]
