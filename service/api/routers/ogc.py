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

The routes are here; the collections come from the providers listed in
:mod:`service.api.ogc.registry` (events, boundary sets, saved hotspot results), each
collection id being ``<prefix>-<name>``; the documents and their response models are
:mod:`service.api.ogc.documents` and :mod:`service.api.ogc.models`.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import URL

from service.api.auth import Principal, get_store, principal
from service.api.errors import KEYED_RESPONSES, LOOKUP_RESPONSES
from service.api.ogc.documents import (
    CONFORMANCE,
    collection_document,
    items_document,
    landing_document,
    link,
)
from service.api.ogc.models import (
    OgcCollection,
    OgcCollections,
    OgcConformance,
    OgcFeature,
    OgcFeatureCollection,
    OgcLandingPage,
    OgcLink,
)
from service.api.ogc.params import (
    CRS84,
    EPSG_27700,
    GEOJSON,
    ITEM_PARAMETERS,
    ITEMS_PARAMETERS,
    JSON,
    check_parameters,
    parse_bbox,
    parse_crs,
)
from service.api.ogc.providers import Caller, ItemsQuery
from service.api.ogc.registry import REGISTRY
from service.store import Store
from spatial.timewindow import parse_interval

# --------------------------------------------------------------------------- parameters

def items_query(bbox: str | None, bbox_crs: str | None, datetime_: str | None, limit: int,
                offset: int, crs_: str | None, limit_max: int) -> ItemsQuery:
    """Parse the items parameters; ``limit`` above the maximum is served as the maximum."""
    return ItemsQuery(bbox=parse_bbox(bbox, parse_crs(bbox_crs, "bbox-crs")),
                      window=parse_interval(datetime_), limit=min(limit, limit_max),
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


@router.get("", summary="OGC API - Features landing page", name="ogc_landing",
            response_model=OgcLandingPage, response_model_exclude_none=True)
@router.get("/", include_in_schema=False, response_model=OgcLandingPage,
            response_model_exclude_none=True)
def landing(request: Request, _who: Principal = Depends(principal)) -> OgcLandingPage:
    app = request.app
    base = str(request.base_url).rstrip("/")
    return landing_document(request.url, base + app.openapi_url, app.openapi_version,
                            base + app.docs_url if app.docs_url else None,
                            request.url_for("ogc_conformance"),
                            request.url_for("ogc_collections"))


@router.get("/conformance", summary="OGC conformance classes implemented",
            name="ogc_conformance", response_model=OgcConformance)
def conformance(_who: Principal = Depends(principal)) -> OgcConformance:
    return OgcConformance(conformsTo=list(CONFORMANCE))


@router.get("/collections", summary="The feature collections the caller may read",
            name="ogc_collections", response_model=OgcCollections,
            response_model_exclude_none=True)
def collections(request: Request, caller: Caller = Depends(_caller)) -> OgcCollections:
    docs = [collection_document(f"{prefix}-{meta.name}", meta,
                                *_collection_urls(request, f"{prefix}-{meta.name}"))
            for prefix, provider in REGISTRY
            for meta in provider.list_collections(caller)]
    return OgcCollections(links=[OgcLink(**link("self", request.url, JSON, "This document"))],
                       collections=docs)


@router.get("/collections/{collection_id}", summary="One feature collection",
            name="ogc_collection", response_model=OgcCollection,
            response_model_exclude_none=True)
def collection(request: Request, collection_id: str,
               caller: Caller = Depends(_caller)) -> OgcCollection:
    _prefix, provider, name = REGISTRY.resolve(collection_id)
    meta = provider.describe(caller, name)
    return collection_document(collection_id, meta, *_collection_urls(request, collection_id))


@router.get("/collections/{collection_id}/items", name="ogc_items",
            summary="Features of a collection (GeoJSON), filtered and paged",
            response_class=GeoJSONResponse, response_model=OgcFeatureCollection)
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
    # the page goes out as built (items_document): validating every feature would only
    # cost time; the response model documents it
    _prefix, provider, name = REGISTRY.resolve(collection_id)
    check_parameters(request.query_params.keys(), ITEMS_PARAMETERS, f)
    query = items_query(bbox, bbox_crs, datetime_, limit, offset, crs_,
                        request.app.state.settings.page_size_max)
    page = provider.items(caller, name, query)
    return GeoJSONResponse(items_document(page, query, request.url),
                           headers={"Content-Crs": query.crs.header})


@router.get("/collections/{collection_id}/items/{feature_id:path}", name="ogc_item",
            summary="One feature (GeoJSON)", response_class=GeoJSONResponse,
            response_model=OgcFeature)
def item(request: Request, collection_id: str, feature_id: str,
         crs_: str | None = Query(None, alias="crs",
                                  description=f"{CRS84} (default) or {EPSG_27700}"),
         f: str | None = Query(None, description="json (GeoJSON, the only encoding)"),
         caller: Caller = Depends(_caller)) -> GeoJSONResponse:
    _prefix, provider, name = REGISTRY.resolve(collection_id)
    check_parameters(request.query_params.keys(), ITEM_PARAMETERS, f)
    target = parse_crs(crs_, "crs")
    feature = provider.item(caller, name, feature_id, target)
    feature["links"] = [link("self", request.url, GEOJSON, "This feature"),
                        link("collection", _collection_urls(request, collection_id)[0], JSON,
                             "The collection")]
    return GeoJSONResponse(feature, headers={"Content-Crs": target.header})
