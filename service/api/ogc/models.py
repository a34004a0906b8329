"""Response models of the OGC API - Features routes (what ``/openapi.json`` shows).

Member names are the standard's (``conformsTo``, ``numberMatched``, ...). A
feature's ``properties`` are open: each collection has its own.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class OgcLink(BaseModel):
    rel: str = Field(description="relation: self, next, prev, items, data, conformance, ...")
    type: str = Field(description="media type of the target")
    href: str
    title: str | None = None


class OgcLandingPage(BaseModel):
    title: str
    description: str
    links: list[OgcLink]


class OgcConformance(BaseModel):
    conformsTo: list[str] = Field(description="URIs of the conformance classes implemented")


class OgcSpatialExtent(BaseModel):
    bbox: list[list[float]] = Field(description="one box minx,miny,maxx,maxy")
    crs: str


class OgcTemporalExtent(BaseModel):
    interval: list[list[str | None]] = Field(description="one interval [first, last], RFC 3339")
    trs: str


class OgcExtent(BaseModel):
    spatial: OgcSpatialExtent | None = None
    temporal: OgcTemporalExtent | None = None


class OgcCollection(BaseModel):
    id: str = Field(description="<prefix>-<name>, e.g. events-crime, boundaries-beats")
    title: str
    description: str
    links: list[OgcLink]
    itemType: Literal["feature"] = "feature"
    crs: list[str] = Field(description="the CRS features can be served in")
    storageCrs: str
    extent: OgcExtent | None = None


class OgcCollections(BaseModel):
    links: list[OgcLink]
    collections: list[OgcCollection]


class OgcGeometry(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str = Field(description="Point, Polygon, MultiPolygon, ...")
    coordinates: Any = None


class OgcFeature(BaseModel):
    type: Literal["Feature"] = "Feature"
    id: int | str | None = None
    geometry: OgcGeometry | None
    properties: dict[str, Any] = Field(description="the collection's own properties")
    links: list[OgcLink] | None = Field(None, description="on a single feature: self, collection")


class OgcFeatureCollection(BaseModel):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[OgcFeature]
    numberMatched: int = Field(description="features matching the query, on all pages")
    numberReturned: int = Field(description="features on this page")
    timeStamp: str = Field(description="when the page was made, RFC 3339")
    links: list[OgcLink] = Field(description="self, and next/prev when there are more pages")


class OgcQueryables(BaseModel):
    """The properties items can be filtered by, as a JSON Schema (Features Part 3)."""

    model_config = ConfigDict(populate_by_name=True)

    schema_: str = Field(alias="$schema", description="the JSON Schema dialect")
    id_: str = Field(alias="$id", description="this document's URL")
    type: Literal["object"] = "object"
    title: str
    properties: dict[str, dict[str, Any]] = Field(
        description="queryable name -> its JSON Schema (type, enum); each is also a query "
                    "parameter of the items and the download")
    additionalProperties: bool = False
