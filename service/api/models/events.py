"""``GET /v1/events``: events as a paged GeoJSON FeatureCollection."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from service.api.models.choices import Sensitivity
from service.api.models.common import Closed, Link
from service.api.models.geojson import CollectionType, FeatureType, Geometry


class EventProperties(Closed):
    layer: str
    event_key: str
    source_id: str | None
    time_precision: str | None = Field(description="e.g. exact, day, month (police.uk)")
    location_precision: str | None = Field(description="e.g. exact, snapped, rounded")
    category: str | None
    source: str | None
    sensitivity: Sensitivity
    h3: str | None = Field(description="the H3 cell at the stored resolution")
    time: str = Field(description="ISO 8601, naive UTC")
    attributes: dict[str, Any] = Field(description="the source's other columns, as read "
                                                   "(open: they differ by source)")


class EventFeature(Closed):
    type: FeatureType
    id: int
    geometry: Geometry
    properties: EventProperties


class EventCollection(Closed):
    type: CollectionType
    features: list[EventFeature]
    numberMatched: int
    numberReturned: int
    links: list[Link]
