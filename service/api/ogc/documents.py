"""The OGC API documents: landing page, conformance, collections, feature collections."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import URL

from service.api.ogc.models import (
    OgcCollection,
    OgcExtent,
    OgcLandingPage,
    OgcLink,
    OgcSpatialExtent,
    OgcTemporalExtent,
)
from service.api.ogc.params import (
    CRS84,
    DOWNLOAD_FORMATS,
    GEOJSON,
    JSON,
    SCHEMA_JSON,
    SUPPORTED_CRS,
)
from service.api.ogc.providers import CollectionMeta, EncodedFeatures, ItemsPage, ItemsQuery

GREGORIAN = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"

CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
)

QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"


def _rfc3339(t: datetime | None) -> str | None:
    return None if t is None else t.strftime("%Y-%m-%dT%H:%M:%SZ")


def link(rel: str, href: str | URL, type_: str, title: str | None = None) -> dict[str, str]:
    out = {"rel": rel, "type": type_, "href": str(href)}
    if title:
        out["title"] = title
    return out


def landing_document(self_url: str | URL, openapi_url: str, openapi_version: str,
                     docs_url: str | None, conformance_url: str | URL,
                     collections_url: str | URL) -> OgcLandingPage:
    links = [link("self", self_url, JSON, "This document"),
             link("service-desc", openapi_url,
                  f"application/vnd.oai.openapi+json;version={openapi_version}",
                  "The API definition"),
             link("conformance", conformance_url, JSON, "Conformance classes implemented"),
             link("data", collections_url, JSON, "The feature collections")]
    if docs_url:
        links.insert(2, link("service-doc", docs_url, "text/html", "The API documentation"))
    return OgcLandingPage(
        title="remap OGC API - Features",
        description="Event layers and boundary sets of remap as OGC API - Features "
                    "collections (GeoJSON; CRS84 or British National Grid).",
        links=[OgcLink(**lk) for lk in links])


def collection_document(collection_id: str, meta: CollectionMeta, self_url: str | URL,
                        items_url: str | URL, queryables_url: str | URL | None = None,
                        download_url: URL | None = None) -> OgcCollection:
    """The collection; with the URLs given, links to its queryables and to its bulk
    downloads (``rel=enclosure``, one per file format)."""
    extra = []
    if queryables_url is not None:
        extra.append(OgcLink(**link(QUERYABLES_REL, queryables_url, SCHEMA_JSON,
                                    "The properties items can be filtered by")))
    if download_url is not None:
        extra += [OgcLink(**link("enclosure", download_url.include_query_params(f=f),
                                 fmt.media_type, f"Every feature as one {fmt.driver} file"))
                  for f, fmt in DOWNLOAD_FORMATS.items()]
    spatial = temporal = None
    if meta.bbox is not None:
        spatial = OgcSpatialExtent(bbox=[list(meta.bbox)], crs=CRS84)
    if meta.interval is not None:
        temporal = OgcTemporalExtent(interval=[[_rfc3339(meta.interval[0]),
                                             _rfc3339(meta.interval[1])]], trs=GREGORIAN)
    return OgcCollection(
        id=collection_id, title=meta.title, description=meta.description,
        links=[OgcLink(**link("self", self_url, JSON, "This collection")),
               OgcLink(**link("items", items_url, GEOJSON, "Its features")), *extra],
        itemType="feature", crs=[c.uri for c in SUPPORTED_CRS], storageCrs=CRS84,
        extent=OgcExtent(spatial=spatial, temporal=temporal) if spatial or temporal else None)


def items_document(page: ItemsPage, query: ItemsQuery, url: URL) -> dict[str, Any]:
    """The FeatureCollection of one page, with self/next/prev links keeping the query.

    ``next`` carries the provider's keyset cursor where it gives one, else an offset;
    ``prev`` exists on offset pages only (a keyset runs forwards).

    A plain dict, shaped as :class:`~service.api.ogc.models.OgcFeatureCollection`: a page may
    hold thousands of features, and validating each would only cost time.
    """
    links = [link("self", url, GEOJSON, "This page")]
    if page.next_cursor is not None:
        # keyset: the next page starts after this one's last key, at any depth
        links.append(link("next", url.remove_query_params("offset").include_query_params(
            cursor=page.next_cursor, limit=query.limit), GEOJSON, "Next page"))
    elif query.cursor is None and query.offset + query.limit < page.number_matched:
        links.append(link("next", url.include_query_params(
            offset=query.offset + query.limit, limit=query.limit), GEOJSON, "Next page"))
    if query.cursor is None and query.offset > 0:
        links.append(link("prev", url.include_query_params(
            offset=max(0, query.offset - query.limit), limit=query.limit), GEOJSON,
            "Previous page"))
    features = [] if isinstance(page.features, EncodedFeatures) else page.features
    return {"type": "FeatureCollection", "features": features,
            "numberMatched": page.number_matched, "numberReturned": page.number_returned,
            "timeStamp": _rfc3339(datetime.now(UTC)), "links": links}


def items_body(document: dict[str, Any], page: ItemsPage) -> bytes:
    """The page's JSON text; features a provider encoded itself are spliced in as they
    are (the rest is small)."""
    if not isinstance(page.features, EncodedFeatures):
        return _dumps(document)
    rest = _dumps({k: v for k, v in document.items() if k not in ("type", "features")})
    return (b'{"type":"FeatureCollection","features":' + page.features.text.encode()
            + b"," + rest[1:])


def _dumps(content: Any) -> bytes:
    # as Starlette's JSONResponse renders
    return json.dumps(content, ensure_ascii=False, allow_nan=False, indent=None,
                      separators=(",", ":")).encode("utf-8")


def queryables_document(collection_id: str, properties: dict[str, dict[str, Any]],
                        self_url: str | URL) -> dict[str, Any]:
    """The JSON Schema of the properties ``collection_id``'s items can be filtered by
    (OGC API - Features Part 3, queryables); each is a query parameter of the items."""
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": str(self_url),
            "type": "object", "title": f"Queryables of {collection_id}",
            "properties": properties, "additionalProperties": False}
