"""OGC API - Features (Part 1 Core with GeoJSON, Part 2 CRS by reference) under ``/v1/ogc``.

Using remap from QGIS (3.24 or later): open *Layer > Add Layer > Add WFS / OGC API -
Features Layer*, click *New*, give the connection a name and the URL
``https://<remap host>/v1/ogc``, and set *Version* to *OGC API - Features*. Under
*Authentication* click the green plus to create a configuration, choose the method
*API Header*, add one header with the key ``X-API-Key`` and, as its value, the key that
``remap keys create`` printed (QGIS keeps it encrypted in its authentication database,
behind the master password), save it and select it for the connection. *Connect* then
lists one collection per event layer your key may see as points (``events-crime``, ...)
and one per boundary set (``boundaries-<name>``, latest version). Pick *EPSG:27700* as the
layer's CRS to receive British National Grid metres straight from remap; otherwise
coordinates arrive as longitude/latitude (CRS84). Every request carries the key, and
reads of sensitive layers are audited against it, so give each analyst their own key.

Collections come from *providers* registered by id prefix (``events``, ``boundaries``);
a collection's id is ``<prefix>-<name>``. To publish more (e.g. hotspot results), write a
class with the four methods of :class:`CollectionProvider` and call
:func:`register_collection_provider` at import time.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import URL

from service.api.auth import Principal, get_store, principal
from service.api.dependencies import TimeWindow, parse_time
from service.api.dependencies import parse_bbox as parse_wgs84_bbox
from service.api.errors import KEYED_RESPONSES, LOOKUP_RESPONSES
from service.render.geojson import events_features, geometry_features
from service.store import BoundarySetInfo, Store
from service.store import events as event_table
from spatial.disclosure import may_see_points
from spatial.errors import NotFoundError, ParameterError, PermissionDeniedError
from spatial.events import EVENT_COLUMNS
from spatial.place import crs

GEOJSON = "application/geo+json"
JSON = "application/json"

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_27700 = "http://www.opengis.net/def/crs/EPSG/0/27700"
GREGORIAN = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"

CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
)

#: Query parameters of the items requests; anything else is an error (OGC /req/core/
#: query-param-unknown). ``f`` is accepted for clients that always send it.
ITEMS_PARAMETERS = frozenset({"bbox", "bbox-crs", "datetime", "limit", "offset", "crs", "f"})
ITEM_PARAMETERS = frozenset({"crs", "f"})
FORMATS = frozenset({"json", "geojson", GEOJSON})


# --------------------------------------------------------------------------- CRS and bbox

@dataclass(frozen=True)
class OgcCrs:
    """A CRS remap serves: its OGC URI and the EPSG code used to transform (x first;
    4326 stands for CRS84, i.e. longitude before latitude)."""

    uri: str
    epsg: int

    @property
    def is_crs84(self) -> bool:
        return self.uri == CRS84

    @property
    def header(self) -> str:
        """The ``Content-Crs`` header value."""
        return f"<{self.uri}>"


CRS84_CRS = OgcCrs(CRS84, crs.WGS84)
BNG_CRS = OgcCrs(EPSG_27700, crs.BNG)
SUPPORTED_CRS = (CRS84_CRS, BNG_CRS)

_CRS_SPELLINGS: dict[str, OgcCrs] = {
    **{s.lower(): CRS84_CRS for s in (CRS84, "OGC:CRS84", "CRS84",
                                      "urn:ogc:def:crs:OGC:1.3:CRS84")},
    **{s.lower(): BNG_CRS for s in (EPSG_27700, "EPSG:27700",
                                    "urn:ogc:def:crs:EPSG::27700")},
}


def parse_crs(value: str | None, parameter: str = "crs") -> OgcCrs:
    """A ``crs``/``bbox-crs`` value (URI, ``[EPSG:27700]`` safe CURIE or URN); CRS84 if
    absent."""
    if value is None or not value.strip():
        return CRS84_CRS
    key = value.strip().strip("<>[]").replace("https://", "http://", 1).lower()
    found = _CRS_SPELLINGS.get(key)
    if found is None:
        raise ParameterError(parameter, f"{value!r} is not a supported CRS; use {CRS84} "
                                        f"(longitude/latitude, the default) or {EPSG_27700} "
                                        "(British National Grid, metres)")
    return found


@dataclass(frozen=True)
class BBox:
    """A query bounding box in ``crs`` (x first)."""

    minx: float
    miny: float
    maxx: float
    maxy: float
    crs: OgcCrs

    #: Padding (degrees) of the CRS84 envelope of a projected box: it only pre-selects.
    ENVELOPE_PAD = 1e-3

    @property
    def coords(self) -> tuple[float, float, float, float]:
        return (self.minx, self.miny, self.maxx, self.maxy)

    def crs84_envelope(self) -> tuple[float, float, float, float]:
        """A lon/lat box enclosing this one (itself when it is in CRS84)."""
        if self.crs.is_crs84:
            return self.coords
        t = np.linspace(0.0, 1.0, 33)
        xs = np.concatenate([self.minx + t * (self.maxx - self.minx), np.full(33, self.maxx),
                             self.maxx - t * (self.maxx - self.minx), np.full(33, self.minx)])
        ys = np.concatenate([np.full(33, self.miny), self.miny + t * (self.maxy - self.miny),
                             np.full(33, self.maxy), self.maxy - t * (self.maxy - self.miny)])
        lon, lat = crs.to_wgs84(xs, ys, self.crs.epsg)
        if not (np.isfinite(lon).all() and np.isfinite(lat).all()):
            raise ParameterError("bbox", "lies outside the area its CRS covers")
        p = self.ENVELOPE_PAD
        return (float(lon.min()) - p, float(lat.min()) - p,
                float(lon.max()) + p, float(lat.max()) + p)


def parse_bbox(value: str | None, bbox_crs: OgcCrs) -> BBox | None:
    """``minx,miny,maxx,maxy`` (or the 6-number 3-D form) in ``bbox_crs``."""
    if value is None or value == "":
        return None
    if bbox_crs.is_crs84:
        lonlat = parse_wgs84_bbox(value)
        return None if lonlat is None else BBox(*lonlat, crs=bbox_crs)
    parts = value.split(",")
    try:
        nums = [float(p) for p in parts]
    except ValueError as exc:
        raise ParameterError("bbox", f"not numbers: {value!r}") from exc
    if len(nums) not in (4, 6) or not all(math.isfinite(n) for n in nums):
        raise ParameterError("bbox", "expected four (or six) finite numbers minx,miny,maxx,maxy")
    if len(nums) == 6:
        nums = [nums[0], nums[1], nums[3], nums[4]]
    if nums[0] > nums[2] or nums[1] > nums[3]:
        raise ParameterError("bbox", "min must not exceed max (minx,miny,maxx,maxy)")
    return BBox(nums[0], nums[1], nums[2], nums[3], crs=bbox_crs)


def parse_datetime(value: str | None) -> TimeWindow:
    """An OGC ``datetime``: an instant or a closed interval ``a/b``, ``../b``, ``a/..``.

    A date or month covers all of it (``2019-01`` is the whole of January); an end
    given as a date-time is inclusive, as OGC intervals are closed.
    """
    if value is None or not value.strip():
        return TimeWindow(None, None)
    a, b = value.split("/", 1) if "/" in value else (value, value)
    start = None if a.strip() in ("", "..") else parse_time(a, "datetime")
    end = None if b.strip() in ("", "..") else _inclusive_end(b)
    if start is not None and end is not None and start >= end:
        raise ParameterError("datetime", "the interval ends before it starts")
    return TimeWindow(start, end)


def _inclusive_end(value: str) -> datetime:
    v = value.strip()
    if len(v) in (7, 10):  # YYYY-MM or YYYY-MM-DD: parse_time gives the exclusive end
        return parse_time(v, "datetime", end=True)
    return parse_time(v, "datetime") + timedelta(microseconds=1)


# --------------------------------------------------------------------------- providers

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


@dataclass(frozen=True)
class ItemsPage:
    """GeoJSON features (already in the query's CRS) and how many match in all."""

    features: list[dict[str, Any]]
    number_matched: int


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


_PROVIDERS: dict[str, CollectionProvider] = {}


def register_collection_provider(prefix: str, provider: CollectionProvider, *,
                                 replace: bool = False) -> None:
    """Serve ``provider``'s collections as ``<prefix>-<name>``.

    ``prefix`` is letters, digits and ``_`` (no ``-``: the first ``-`` of an id ends it).
    """
    if not prefix or not prefix.replace("_", "").isalnum():
        raise ParameterError("prefix", f"{prefix!r} must be letters, digits or '_'")
    if prefix in _PROVIDERS and not replace:
        raise ParameterError("prefix", f"{prefix!r} is already registered")
    _PROVIDERS[prefix] = provider


def unregister_collection_provider(prefix: str) -> None:
    _PROVIDERS.pop(prefix, None)


def resolve(collection_id: str) -> tuple[str, CollectionProvider, str]:
    """``(prefix, provider, name)`` of a collection id; NotFoundError if no provider."""
    prefix, sep, name = collection_id.partition("-")
    provider = _PROVIDERS.get(prefix) if sep and name else None
    if provider is None:
        raise NotFoundError(f"collection {collection_id!r} does not exist; ids look like "
                            + " or ".join(f"'{p}-<name>'" for p in _PROVIDERS))
    return prefix, provider, name


def audit_sensitive(caller: Caller, features: Sequence[dict[str, Any]]) -> None:
    """Audit a read that returned events of non-open layers (as ``/v1/events`` does)."""
    sensitive = sorted({f["properties"]["layer"] for f in features
                        if f["properties"].get("sensitivity", "open") != "open"})
    if sensitive:
        caller.store.audit(None, caller.who.actor, "read_points",
                           {"layers": sensitive, "count": len(features), "query": caller.url,
                            "via": "ogc"})


def geometry_features_in(geoms: Any, properties: list[dict[str, Any]], ids: list[Any],
                         target: OgcCrs) -> list[dict[str, Any]]:
    """Features from CRS84 shapely geometries, in ``target`` (vertex order, hence ring
    orientation, is kept)."""
    arr = np.asarray(geoms, dtype=object)
    if not target.is_crs84 and arr.size:
        arr = crs.reproject_geometries(arr, crs.WGS84, target.epsg)
    return geometry_features(arr, properties, ids,
                             units="degrees" if target.is_crs84 else "metres")


# --------------------------------------------------------------------------- events

_EVENT_COLUMNS = (event_table.c.id, *(event_table.c[c] for c in (*EVENT_COLUMNS, "h3")))


def event_conditions(layer: str, window: TimeWindow,
                     bbox: BBox | None) -> list[sa.ColumnElement[bool]]:
    """Rows of ``layer`` in ``window`` whose point lies in ``bbox``.

    A projected bbox is matched exactly on the stored x/y of events stored in its CRS
    (every event in Great Britain), after an indexed lon/lat pre-selection.
    """
    t = event_table.c
    cond: list[sa.ColumnElement[bool]] = [t.layer == layer]
    if window.start is not None:
        cond.append(t.time >= window.start)
    if window.end is not None:
        cond.append(t.time < window.end)
    if bbox is not None:
        minlon, minlat, maxlon, maxlat = bbox.crs84_envelope()
        cond += [t.lon.between(minlon, maxlon), t.lat.between(minlat, maxlat)]
        if not bbox.crs.is_crs84:
            cond += [t.crs_epsg == bbox.crs.epsg, t.x.between(bbox.minx, bbox.maxx),
                     t.y.between(bbox.miny, bbox.maxy)]
    return cond


def select_events(store: Store, cond: list[sa.ColumnElement[bool]], *,
                  limit: int | None = None, offset: int = 0) -> pd.DataFrame:
    """Events matching ``cond`` ordered by id, as a frame like ``Store.query_events``."""
    q = sa.select(*_EVENT_COLUMNS).where(*cond).order_by(event_table.c.id)
    if limit is not None:
        q = q.limit(limit).offset(offset)
    with store.engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(q).all(), columns=[c.name for c in _EVENT_COLUMNS])
    frame["attributes"] = [json.loads(a) for a in frame["attributes"]]
    frame["time"] = pd.to_datetime(frame["time"])
    return frame


def count_events(store: Store, cond: list[sa.ColumnElement[bool]]) -> int:
    q = sa.select(sa.func.count()).select_from(event_table).where(*cond)
    with store.engine.connect() as conn:
        return int(conn.execute(q).scalar() or 0)


def layer_extents(store: Store) -> dict[str, tuple[tuple[float, float, float, float],
                                                   tuple[datetime, datetime]]]:
    """Per layer with events: CRS84 bbox and first/last event time."""
    t = event_table.c
    q = (sa.select(t.layer, sa.func.min(t.lon), sa.func.min(t.lat), sa.func.max(t.lon),
                   sa.func.max(t.lat), sa.func.min(t.time), sa.func.max(t.time))
         .group_by(t.layer))
    with store.engine.connect() as conn:
        rows = conn.execute(q).all()
    return {r[0]: ((float(r[1]), float(r[2]), float(r[3]), float(r[4])),
                   (pd.Timestamp(r[5]).to_pydatetime(), pd.Timestamp(r[6]).to_pydatetime()))
            for r in rows}


def features_in_crs(frame: pd.DataFrame, target: OgcCrs) -> list[dict[str, Any]]:
    """Event features in ``target``: stored x/y where stored in it, else transformed."""
    if target.is_crs84:
        return events_features(frame)
    x = frame["x"].to_numpy(dtype=float).copy()
    y = frame["y"].to_numpy(dtype=float).copy()
    other = frame["crs_epsg"].to_numpy() != target.epsg
    if other.any():
        x[other], y[other] = crs.to_metric(frame["lon"].to_numpy(dtype=float)[other],
                                           frame["lat"].to_numpy(dtype=float)[other],
                                           target.epsg)
    return events_features(frame.assign(x=x, y=y), metric=True)


class EventLayerProvider:
    """``events-<layer>``: the layers the caller may receive as points."""

    def list_collections(self, caller: Caller) -> list[CollectionMeta]:
        return self._metas(caller, None)

    def describe(self, caller: Caller, name: str) -> CollectionMeta:
        self._check(caller, name)
        return self._metas(caller, name)[0]

    def items(self, caller: Caller, name: str, query: ItemsQuery) -> ItemsPage:
        self._check(caller, name)
        cond = event_conditions(name, query.window, query.bbox)
        total = count_events(caller.store, cond)
        frame = select_events(caller.store, cond, limit=query.limit, offset=query.offset)
        features = features_in_crs(frame, query.crs)
        audit_sensitive(caller, features)
        return ItemsPage(features, total)

    def item(self, caller: Caller, name: str, feature_id: str,
             target: OgcCrs) -> dict[str, Any]:
        self._check(caller, name)
        try:
            event_id = int(feature_id)
        except ValueError:
            event_id = -1
        frame = select_events(caller.store, [event_table.c.layer == name,
                                             event_table.c.id == event_id])
        if frame.empty:
            raise NotFoundError(f"no feature {feature_id!r} in collection 'events-{name}'")
        features = features_in_crs(frame, target)
        audit_sensitive(caller, features)
        return features[0]

    @staticmethod
    def _check(caller: Caller, name: str) -> None:
        if name not in caller.store.layer_names():
            raise NotFoundError(f"collection 'events-{name}' does not exist: no layer {name!r}")
        if not may_see_points(caller.who.role, name):
            raise PermissionDeniedError(
                f"role {caller.who.role!r} may not receive point-level events of layer "
                f"{name!r}; use /v1/counts for aggregated, disclosure-controlled figures")

    @staticmethod
    def _metas(caller: Caller, only: str | None) -> list[CollectionMeta]:
        extents = layer_extents(caller.store)
        out = []
        for layer in caller.store.list_layers():
            name = layer["name"]
            if (only is not None and name != only) or not may_see_points(caller.who.role, name):
                continue
            bbox, interval = extents.get(name, (None, None))
            out.append(CollectionMeta(
                name=name, title=f"{name} events",
                description=f"{layer['description']} (sensitivity {layer['sensitivity']}, "
                            f"{layer['count']} events)",
                bbox=bbox, interval=interval))
        return out


# --------------------------------------------------------------------------- boundaries

class BoundarySetProvider:
    """``boundaries-<set>``: the latest version of each boundary set, as polygons.

    Units have no time, so ``datetime`` does not filter them (OGC leaves that to the server).
    """

    def list_collections(self, caller: Caller) -> list[CollectionMeta]:
        latest = {s.name: s for s in caller.store.boundary_sets_list()}  # by version
        return [self._meta(info, self._geoms(caller.store, info)[1])
                for info in latest.values()]

    def describe(self, caller: Caller, name: str) -> CollectionMeta:
        info = caller.store.boundary_set(name)
        return self._meta(info, self._geoms(caller.store, info)[1])

    def items(self, caller: Caller, name: str, query: ItemsQuery) -> ItemsPage:
        info = caller.store.boundary_set(name)
        units, geoms = self._geoms(caller.store, info)
        if query.bbox is not None:
            box = shapely.box(*query.bbox.coords)
            tested = (geoms if query.bbox.crs.is_crs84
                      else crs.reproject_geometries(geoms, crs.WGS84, query.bbox.crs.epsg))
            keep = np.flatnonzero(shapely.intersects(tested, box))
        else:
            keep = np.arange(len(units))
        page = keep[query.offset:query.offset + query.limit]
        return ItemsPage(self._features(info, units, geoms, page, query.crs), len(keep))

    def item(self, caller: Caller, name: str, feature_id: str,
             target: OgcCrs) -> dict[str, Any]:
        info = caller.store.boundary_set(name)
        units, geoms = self._geoms(caller.store, info)
        found = np.flatnonzero(units["unit_id"].to_numpy() == feature_id)
        if not found.size:
            raise NotFoundError(f"no feature {feature_id!r} in collection 'boundaries-{name}'")
        return self._features(info, units, geoms, found[:1], target)[0]

    @staticmethod
    def _geoms(store: Store, info: BoundarySetInfo) -> tuple[pd.DataFrame, np.ndarray]:
        units = store.boundary_units_frame(info.id)
        return units, np.asarray(shapely.from_wkb(units["wkb"].to_numpy()), dtype=object)

    @staticmethod
    def _features(info: BoundarySetInfo, units: pd.DataFrame, geoms: np.ndarray,
                  rows: np.ndarray, target: OgcCrs) -> list[dict[str, Any]]:
        sub = units.iloc[rows]
        props = [{"unit_id": u, "label": lab, "area_m2": a, "boundary_set": info.name,
                  "version": info.version}
                 for u, lab, a in zip(sub["unit_id"], sub["label"], sub["area_m2"], strict=True)]
        return geometry_features_in(geoms[rows], props, sub["unit_id"].tolist(), target)

    @staticmethod
    def _meta(info: BoundarySetInfo, geoms: np.ndarray) -> CollectionMeta:
        b = shapely.total_bounds(geoms) if len(geoms) else None
        return CollectionMeta(
            name=info.name, title=f"{info.name} (version {info.version})",
            description=f"Boundary set {info.name!r} version {info.version}: "
                        f"{info.unit_count} units from {info.source_file}",
            bbox=None if b is None else (float(b[0]), float(b[1]), float(b[2]), float(b[3])))


register_collection_provider("events", EventLayerProvider(), replace=True)
register_collection_provider("boundaries", BoundarySetProvider(), replace=True)


# --------------------------------------------------------------------------- documents

def _rfc3339(t: datetime | None) -> str | None:
    return None if t is None else t.strftime("%Y-%m-%dT%H:%M:%SZ")


def link(rel: str, href: str | URL, type_: str, title: str | None = None) -> dict[str, str]:
    out = {"rel": rel, "type": type_, "href": str(href)}
    if title:
        out["title"] = title
    return out


def landing_document(self_url: str | URL, openapi_url: str, openapi_version: str,
                     docs_url: str | None, conformance_url: str | URL,
                     collections_url: str | URL) -> dict[str, Any]:
    links = [link("self", self_url, JSON, "This document"),
             link("service-desc", openapi_url,
                  f"application/vnd.oai.openapi+json;version={openapi_version}",
                  "The API definition"),
             link("conformance", conformance_url, JSON, "Conformance classes implemented"),
             link("data", collections_url, JSON, "The feature collections")]
    if docs_url:
        links.insert(2, link("service-doc", docs_url, "text/html", "The API documentation"))
    return {"title": "remap OGC API - Features",
            "description": "Event layers and boundary sets of remap as OGC API - Features "
                           "collections (GeoJSON; CRS84 or British National Grid).",
            "links": links}


def collection_document(collection_id: str, meta: CollectionMeta, self_url: str | URL,
                        items_url: str | URL) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": collection_id, "title": meta.title, "description": meta.description,
        "links": [link("self", self_url, JSON, "This collection"),
                  link("items", items_url, GEOJSON, "Its features")],
        "itemType": "feature",
        "crs": [c.uri for c in SUPPORTED_CRS],
        "storageCrs": CRS84,
    }
    extent: dict[str, Any] = {}
    if meta.bbox is not None:
        extent["spatial"] = {"bbox": [list(meta.bbox)], "crs": CRS84}
    if meta.interval is not None:
        extent["temporal"] = {"interval": [[_rfc3339(meta.interval[0]),
                                            _rfc3339(meta.interval[1])]], "trs": GREGORIAN}
    if extent:
        doc["extent"] = extent
    return doc


def items_document(page: ItemsPage, query: ItemsQuery, url: URL) -> dict[str, Any]:
    """The FeatureCollection of one page, with self/next/prev links keeping the query."""
    links = [link("self", url, GEOJSON, "This page")]
    if query.offset + query.limit < page.number_matched:
        links.append(link("next", url.include_query_params(
            offset=query.offset + query.limit, limit=query.limit), GEOJSON, "Next page"))
    if query.offset > 0:
        links.append(link("prev", url.include_query_params(
            offset=max(0, query.offset - query.limit), limit=query.limit), GEOJSON,
            "Previous page"))
    return {"type": "FeatureCollection", "features": page.features,
            "numberMatched": page.number_matched, "numberReturned": len(page.features),
            "timeStamp": _rfc3339(datetime.now(UTC)), "links": links}


def check_parameters(names: Iterable[str], allowed: frozenset[str], f: str | None) -> None:
    unknown = sorted(set(names) - allowed)
    if unknown:
        raise ParameterError(unknown[0], "is not a query parameter of this resource; "
                                         f"known: {', '.join(sorted(allowed))}")
    if f is not None and f not in FORMATS:
        raise ParameterError("f", f"{f!r} is not available; features are served as GeoJSON "
                                  "(f=json)")


def items_query(bbox: str | None, bbox_crs: str | None, datetime_: str | None, limit: int,
                offset: int, crs_: str | None, limit_max: int) -> ItemsQuery:
    """Parse the items parameters; ``limit`` above the maximum is served as the maximum."""
    return ItemsQuery(bbox=parse_bbox(bbox, parse_crs(bbox_crs, "bbox-crs")),
                      window=parse_datetime(datetime_), limit=min(limit, limit_max),
                      offset=offset, crs=parse_crs(crs_, "crs"))


# --------------------------------------------------------------------------- routes

class GeoJSONResponse(JSONResponse):
    media_type = GEOJSON


router = APIRouter(prefix="/v1/ogc", tags=["ogc"],
                   responses={**KEYED_RESPONSES, **LOOKUP_RESPONSES})


def _caller(request: Request, store: Store = Depends(get_store),
            who: Principal = Depends(principal)) -> Caller:
    return Caller(store=store, who=who, url=str(request.url))


def _collection_urls(request: Request, collection_id: str) -> tuple[URL, URL]:
    return (request.url_for("ogc_collection", collection_id=collection_id),
            request.url_for("ogc_items", collection_id=collection_id))


@router.get("", summary="OGC API - Features landing page", name="ogc_landing")
@router.get("/", include_in_schema=False)
def landing(request: Request, _who: Principal = Depends(principal)) -> dict[str, Any]:
    app = request.app
    base = str(request.base_url).rstrip("/")
    return landing_document(request.url, base + app.openapi_url, app.openapi_version,
                            base + app.docs_url if app.docs_url else None,
                            request.url_for("ogc_conformance"),
                            request.url_for("ogc_collections"))


@router.get("/conformance", summary="OGC conformance classes implemented",
            name="ogc_conformance")
def conformance(_who: Principal = Depends(principal)) -> dict[str, Any]:
    return {"conformsTo": list(CONFORMANCE)}


@router.get("/collections", summary="The feature collections the caller may read",
            name="ogc_collections")
def collections(request: Request, caller: Caller = Depends(_caller)) -> dict[str, Any]:
    docs = [collection_document(f"{prefix}-{meta.name}", meta,
                                *_collection_urls(request, f"{prefix}-{meta.name}"))
            for prefix, provider in _PROVIDERS.items()
            for meta in provider.list_collections(caller)]
    return {"links": [link("self", request.url, JSON, "This document")],
            "collections": docs}


@router.get("/collections/{collection_id}", summary="One feature collection",
            name="ogc_collection")
def collection(request: Request, collection_id: str,
               caller: Caller = Depends(_caller)) -> dict[str, Any]:
    _prefix, provider, name = resolve(collection_id)
    meta = provider.describe(caller, name)
    return collection_document(collection_id, meta, *_collection_urls(request, collection_id))


@router.get("/collections/{collection_id}/items", name="ogc_items",
            summary="Features of a collection (GeoJSON), filtered and paged",
            response_class=GeoJSONResponse)
def items(request: Request, collection_id: str,
          bbox: str | None = Query(None, description="minx,miny,maxx,maxy in bbox-crs"),
          bbox_crs: str | None = Query(None, alias="bbox-crs",
                                       description=f"CRS of bbox: {CRS84} (default) or "
                                                   f"{EPSG_27700}"),
          datetime_: str | None = Query(None, alias="datetime",
                                        description="instant or interval a/b, ../b, a/.."),
          limit: int = Query(100, ge=1, description="features per page; above the server's "
                                                    "maximum, the maximum"),
          offset: int = Query(0, ge=0, le=2**62),
          crs_: str | None = Query(None, alias="crs",
                                   description=f"CRS of the response: {CRS84} (default) or "
                                               f"{EPSG_27700}"),
          f: str | None = Query(None, description="json (GeoJSON, the only encoding)"),
          caller: Caller = Depends(_caller)) -> GeoJSONResponse:
    _prefix, provider, name = resolve(collection_id)
    check_parameters(request.query_params.keys(), ITEMS_PARAMETERS, f)
    query = items_query(bbox, bbox_crs, datetime_, limit, offset, crs_,
                        request.app.state.settings.page_size_max)
    page = provider.items(caller, name, query)
    return GeoJSONResponse(items_document(page, query, request.url),
                           headers={"Content-Crs": query.crs.header})


@router.get("/collections/{collection_id}/items/{feature_id:path}", name="ogc_item",
            summary="One feature (GeoJSON)", response_class=GeoJSONResponse)
def item(request: Request, collection_id: str, feature_id: str,
         crs_: str | None = Query(None, alias="crs",
                                  description=f"{CRS84} (default) or {EPSG_27700}"),
         f: str | None = Query(None, description="json (GeoJSON, the only encoding)"),
         caller: Caller = Depends(_caller)) -> GeoJSONResponse:
    _prefix, provider, name = resolve(collection_id)
    check_parameters(request.query_params.keys(), ITEM_PARAMETERS, f)
    target = parse_crs(crs_, "crs")
    feature = provider.item(caller, name, feature_id, target)
    feature["links"] = [link("self", request.url, GEOJSON, "This feature"),
                        link("collection", _collection_urls(request, collection_id)[0], JSON,
                             "The collection")]
    return GeoJSONResponse(feature, headers={"Content-Crs": target.header})
