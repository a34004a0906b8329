"""What a source of OGC collections implements, and what it is given.

A provider serves the collections ``<prefix>-<name>`` for its prefix
(:mod:`service.api.ogc.registry` lists them). To publish more (e.g. another kind
of result), write a class with the four methods of :class:`CollectionProvider`
and add it to that list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import numpy as np

from service.api.auth import Principal
from service.api.ogc.params import BBox, OgcCrs
from service.app.export import audit_points
from service.render.geojson import geometry_features
from service.store import Store
from spatial.place import crs
from spatial.timewindow import TimeWindow


@dataclass(frozen=True)
class Caller:
    """Who is asking, and where: what a provider needs besides its own data."""

    store: Store
    who: Principal
    url: str  # the request, for the audit log


@dataclass(frozen=True)
class CollectionMeta:
    """One collection as its provider describes it; ``name`` follows ``<prefix>-``."""

    name: str
    title: str
    description: str
    bbox: tuple[float, float, float, float] | None = None  # CRS84
    interval: tuple[datetime | None, datetime | None] | None = None


@dataclass(frozen=True)
class ItemsQuery:
    bbox: BBox | None
    window: TimeWindow
    limit: int
    offset: int
    crs: OgcCrs
    #: the ``cursor`` of a ``next`` link (keyset paging), as the provider wrote it
    cursor: str | None = None
    #: property filters, by queryable name (only names the provider's queryables list)
    properties: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class EncodedFeatures:
    """Features already written as one JSON array text (large pages of events)."""

    text: str
    count: int


@dataclass(frozen=True)
class ItemsPage:
    """GeoJSON features (already in the query's CRS) and how many match in all.

    ``features`` may be :class:`EncodedFeatures`, sent as they are.
    """

    features: list[dict[str, Any]] | EncodedFeatures
    number_matched: int
    #: set by a provider that pages by keyset when more features follow: the ``next``
    #: link carries it as ``cursor`` instead of an offset
    next_cursor: str | None = None

    @property
    def number_returned(self) -> int:
        f = self.features
        return f.count if isinstance(f, EncodedFeatures) else len(f)


class CollectionProvider(Protocol):
    """A source of OGC collections. Raise :class:`NotFoundError` for an unknown name and
    :class:`PermissionDeniedError` for one the caller may not read; audit sensitive
    reads yourself (:func:`audit_sensitive`)."""

    def list_collections(self, caller: Caller) -> list[CollectionMeta]:
        """The collections ``caller`` may read."""
        ...

    def describe(self, caller: Caller, name: str) -> CollectionMeta: ...

    def items(self, caller: Caller, name: str, query: ItemsQuery) -> ItemsPage: ...

    def item(self, caller: Caller, name: str, feature_id: str,
             target: OgcCrs) -> dict[str, Any]: ...

    # Optional, looked up with getattr by the router:
    #   queryables(caller, name) -> {property: JSON Schema}: property filters it applies;
    #   table(caller, name, query) -> GeoDataFrame: every matching feature at once (bulk
    #   download; without it the router asks items() for all features).


def audit_sensitive(caller: Caller, features: Sequence[dict[str, Any]]) -> None:
    """Audit a read that returned events of non-open layers (as ``/v1/events`` does)."""
    sensitive = sorted({f["properties"]["layer"] for f in features
                        if f["properties"].get("sensitivity", "open") != "open"})
    audit_sensitive_layers(caller, sensitive, len(features))


def audit_sensitive_layers(caller: Caller, sensitive: Sequence[str], count: int) -> None:
    """Audit a read of ``count`` events of the non-open layers ``sensitive`` (if any)."""
    audit_points(caller.store, caller.who.actor, list(sensitive), count, via="ogc",
                 query=caller.url)


def geometry_features_in(geoms: Any, properties: list[dict[str, Any]], ids: list[Any],
                         target: OgcCrs) -> list[dict[str, Any]]:
    """Features from CRS84 shapely geometries, in ``target`` (vertex order, hence ring
    orientation, is kept)."""
    arr = np.asarray(geoms, dtype=object)
    if not target.is_crs84 and arr.size:
        arr = crs.reproject_geometries(arr, crs.WGS84, target.epsg)
    return geometry_features(arr, properties, ids,
                             units="degrees" if target.is_crs84 else "metres")
