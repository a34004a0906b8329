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

import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.background import BackgroundTask
from starlette.datastructures import URL

from service.api.auth import Principal, get_store, principal
from service.api.dependencies import get_settings_dep
from service.api.errors import KEYED_RESPONSES, LOOKUP_RESPONSES
from service.api.ogc.documents import (
    CONFORMANCE,
    collection_document,
    items_body,
    items_document,
    landing_document,
    link,
    queryables_document,
)
from service.api.ogc.download import collection_table
from service.api.ogc.models import (
    OgcCollection,
    OgcCollections,
    OgcConformance,
    OgcFeature,
    OgcFeatureCollection,
    OgcLandingPage,
    OgcLink,
    OgcQueryables,
)
from service.api.ogc.params import (
    CRS84,
    DEFAULT_PAGE_SIZE,
    DOWNLOAD_FORMATS,
    DOWNLOAD_PARAMETERS,
    EPSG_27700,
    GEOJSON,
    ITEM_PARAMETERS,
    ITEMS_PARAMETERS,
    JSON,
    SCHEMA_JSON,
    check_parameters,
    parse_bbox,
    parse_crs,
    parse_download_format,
)
from service.api.ogc.providers import Caller, CollectionMeta, CollectionProvider, ItemsQuery
from service.api.ogc.registry import REGISTRY
from service.app.export import FileCache, download_cache_folder, write_table
from service.settings import Settings
from service.store import Store
from spatial.errors import ParameterError
from spatial.timewindow import parse_interval

# --------------------------------------------------------------------------- parameters

def items_query(bbox: str | None, bbox_crs: str | None, datetime_: str | None, limit: int,
                offset: int, crs_: str | None, limit_max: int, cursor: str | None = None,
                properties: dict[str, str] | None = None) -> ItemsQuery:
    """Parse the items parameters; ``limit`` above the maximum is served as the maximum."""
    return ItemsQuery(bbox=parse_bbox(bbox, parse_crs(bbox_crs, "bbox-crs")),
                      window=parse_interval(datetime_), limit=min(limit, limit_max),
                      offset=offset, crs=parse_crs(crs_, "crs"), cursor=cursor,
                      properties=properties or {})


def provider_queryables(provider: CollectionProvider, caller: Caller,
                        name: str) -> dict[str, dict[str, Any]]:
    """The property filters ``provider`` applies to collection ``name`` (none if it has
    no ``queryables``); raises as ``describe`` does for an unknown or forbidden name."""
    found = getattr(provider, "queryables", None)
    if found is None:
        provider.describe(caller, name)
        return {}
    return dict(found(caller, name))


def property_filters(request: Request, queryables: dict[str, dict[str, Any]]
                     ) -> dict[str, str]:
    """The queryables given as query parameters (each once)."""
    out = {}
    for key in queryables:
        values = request.query_params.getlist(key)
        if len(values) > 1:
            raise ParameterError(key, "give one value")
        if values:
            out[key] = values[0]
    return out


# --------------------------------------------------------------------------- routes

class GeoJSONResponse(JSONResponse):
    media_type = GEOJSON


class SchemaJSONResponse(JSONResponse):
    media_type = SCHEMA_JSON


#: The limit's maximum in the API description: the default of the setting page_size_max
#: (a server run with another maximum still pages correctly, by its next links).
PAGE_SIZE_MAX_ADVERTISED = Settings.model_fields["page_size_max"].default

# declared (not only read from the queryables) so that the API description lists it:
# GDAL then sends an attribute filter such as -where "category = 'Drugs'" to the server
CATEGORY_DOC = ("event layers: only events of this category (a queryable; matched ignoring "
                "case; a category the layer lacks is an error)")

LOG = logging.getLogger("remap.ogc")

router = APIRouter(prefix="/v1/ogc", tags=["ogc"],
                   responses={**KEYED_RESPONSES, **LOOKUP_RESPONSES})


def _caller(request: Request, store: Store = Depends(get_store),
            who: Principal = Depends(principal)) -> Caller:
    return Caller(store=store, who=who, url=str(request.url))


def _collection_urls(request: Request, collection_id: str) -> tuple[URL, URL]:
    return (request.url_for("ogc_collection", collection_id=collection_id),
            request.url_for("ogc_items", collection_id=collection_id))


def _collection_document(request: Request, collection_id: str,
                         meta: CollectionMeta) -> OgcCollection:
    return collection_document(
        collection_id, meta, *_collection_urls(request, collection_id),
        queryables_url=request.url_for("ogc_queryables", collection_id=collection_id),
        download_url=request.url_for("ogc_download", collection_id=collection_id))


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
    docs = [_collection_document(request, f"{prefix}-{meta.name}", meta)
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
    return _collection_document(request, collection_id, meta)


@router.get("/collections/{collection_id}/queryables", name="ogc_queryables",
            summary="The properties the items can be filtered by (JSON Schema)",
            response_class=SchemaJSONResponse, response_model=OgcQueryables)
def queryables(request: Request, collection_id: str,
               caller: Caller = Depends(_caller)) -> SchemaJSONResponse:
    _prefix, provider, name = REGISTRY.resolve(collection_id)
    props = provider_queryables(provider, caller, name)
    return SchemaJSONResponse(queryables_document(collection_id, props, request.url))


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
          limit: int = Query(DEFAULT_PAGE_SIZE, ge=1,
                             description="features per page; above the server's maximum "
                                         "(setting page_size_max), the maximum",
                             # GDAL 3.8+ pages by the advertised maximum
                             json_schema_extra={"maximum": PAGE_SIZE_MAX_ADVERTISED}),
          offset: int = Query(0, ge=0, le=2**62,
                              description="features to skip; the next links use cursor"),
          cursor: str | None = Query(None, description="where the page starts: the value "
                                                        "a next link carries (keyset)"),
          category: str | None = Query(None, description=CATEGORY_DOC),
          crs_: str | None = Query(None, alias="crs",
                                   description=f"CRS of the response: {CRS84} (default) or "
                                               f"{EPSG_27700}"),
          f: str | None = Query(None, description="json (GeoJSON, the only encoding)"),
          caller: Caller = Depends(_caller)) -> Response:
    # the page goes out as built (items_document): validating every feature would only
    # cost time; the response model documents it
    _prefix, provider, name = REGISTRY.resolve(collection_id)
    filters = provider_queryables(provider, caller, name)
    check_parameters(request.query_params.keys(), ITEMS_PARAMETERS | set(filters), f)
    query = items_query(bbox, bbox_crs, datetime_, limit, offset, crs_,
                        request.app.state.settings.page_size_max, cursor,
                        property_filters(request, filters))
    page = provider.items(caller, name, query)
    return Response(items_body(items_document(page, query, request.url), page),
                    media_type=GEOJSON, headers={"Content-Crs": query.crs.header})


@dataclass(frozen=True)
class DownloadFilters:
    bbox: str | None
    bbox_crs: str | None
    datetime: str | None
    crs: str | None


def download_filters(
        bbox: str | None = Query(None, description="minx,miny,maxx,maxy in bbox-crs"),
        bbox_crs: str | None = Query(None, alias="bbox-crs"),
        datetime_: str | None = Query(None, alias="datetime"),
        category: str | None = Query(None, description=CATEGORY_DOC),
        crs_: str | None = Query(None, alias="crs",
                                 description=f"{CRS84} (default) or {EPSG_27700}"),
) -> DownloadFilters:
    # category is read with the collection's other queryables (property_filters)
    return DownloadFilters(bbox, bbox_crs, datetime_, crs_)


_FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {fmt.media_type: {"schema": {"type": "string", "format": "binary"}}
                      for fmt in DOWNLOAD_FORMATS.values()},
          "description": "the file"}}


@router.api_route("/collections/{collection_id}/download", methods=["GET"],
                  name="ogc_download",
                  summary="Every feature of a collection as one GeoPackage or FlatGeobuf file",
                  response_class=FileResponse, responses=_FILE_RESPONSES)
def download(request: Request, collection_id: str,
             f: str = Query(..., description="gpkg (GeoPackage) or fgb (FlatGeobuf)"),
             filters: DownloadFilters = Depends(download_filters),
             caller: Caller = Depends(_caller),
             settings: Settings = Depends(get_settings_dep)) -> Response:
    """The items' features without paging, written by GDAL (pyogrio); the same filters,
    disclosure rule and audit as the items. An event layer's file is kept and sent
    again until the events change (``X-Remap-Cache: hit``, an ``ETag``, and 304 to an
    ``If-None-Match`` that names it); other collections are written afresh."""
    return _send_file(request, collection_id, f, filters, caller, settings,
                      DOWNLOAD_PARAMETERS)


@router.api_route("/collections/{collection_id}/download.{suffix}", methods=["GET"],
                  name="ogc_download_file",
                  summary="The same file under a name ending .gpkg or .fgb (for GDAL's "
                          "/vsicurl/, whose drivers know a file by its extension)",
                  response_class=FileResponse, responses=_FILE_RESPONSES)
def download_file(request: Request, collection_id: str, suffix: str,
                  filters: DownloadFilters = Depends(download_filters),
                  caller: Caller = Depends(_caller),
                  settings: Settings = Depends(get_settings_dep)) -> Response:
    return _send_file(request, collection_id, suffix, filters, caller, settings,
                      DOWNLOAD_PARAMETERS - {"f"})


# HEAD too, outside the API description (one operation per path there): GDAL's
# /vsicurl/ asks for the size first, then reads byte ranges (206)
for _path, _endpoint in (("/collections/{collection_id}/download", download),
                         ("/collections/{collection_id}/download.{suffix}", download_file)):
    router.add_api_route(_path, _endpoint, methods=["HEAD"], include_in_schema=False,
                         response_class=FileResponse)


def _send_file(request: Request, collection_id: str, f: str, given: DownloadFilters,
               caller: Caller, settings: Settings, allowed: frozenset[str]) -> Response:
    _prefix, provider, name = REGISTRY.resolve(collection_id)
    filters = provider_queryables(provider, caller, name)
    check_parameters(request.query_params.keys(), allowed | set(filters), None)
    fmt = parse_download_format(f)
    query = items_query(given.bbox, given.bbox_crs, given.datetime, 2**62, 0, given.crs,
                        2**62, None, property_filters(request, filters))
    cached_file = getattr(provider, "cached_file", None)
    if cached_file is not None and settings.download_cache_mb > 0:
        cache = FileCache(download_cache_folder(settings.database_url,
                                                settings.download_cache_dir),
                          settings.download_cache_mb * 1024 * 1024)
        try:
            path, key, state = cached_file(caller, name, query, fmt, cache,
                                           audit=request.method != "HEAD")
        except OSError as exc:  # the cache folder cannot be written: send a file anyway
            LOG.warning("download cache %s unusable (%s); writing %s afresh (set "
                        "REMAP_DOWNLOAD_CACHE_DIR)", cache.folder, exc, collection_id)
        else:
            headers = {"ETag": f'"{key}"', "X-Remap-Cache": state,
                       "Cache-Control": "private, no-cache"}
            if request.headers.get("if-none-match") == headers["ETag"]:
                return Response(status_code=304, headers=headers)
            return FileResponse(path, media_type=fmt.media_type, headers=headers,
                                filename=f"{collection_id}{fmt.suffix}")
    table = collection_table(provider, caller, name, query)
    fd, path = tempfile.mkstemp(suffix=fmt.suffix, prefix="remap-ogc-")
    os.close(fd)
    try:
        os.unlink(path)  # GDAL creates the file itself
        write_table(table, path, fmt, layer=collection_id)
    except BaseException:
        Path(path).unlink(missing_ok=True)
        raise
    return FileResponse(path, media_type=fmt.media_type,
                        filename=f"{collection_id}{fmt.suffix}",
                        background=BackgroundTask(Path(path).unlink, missing_ok=True))


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
