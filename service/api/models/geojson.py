"""GeoJSON (RFC 7946) geometries and features, WGS84 lon/lat."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from service.api.models.common import Open


class Geometry(Open):
    """An RFC 7946 geometry object. Open: its members depend on ``type``
    (``coordinates``, or ``geometries`` for a GeometryCollection)."""

    type: str = Field(description="Point, Polygon, MultiPolygon, ...")
    coordinates: Any = None


FeatureType = Literal["Feature"]
CollectionType = Literal["FeatureCollection"]
