"""Saved hotspot results: list and read over the API, and as OGC API collections
``hotspots-<name>`` for QGIS and any OGC client."""

from __future__ import annotations

from typing import Any

import shapely
from fastapi import APIRouter, Depends

from service.api.auth import Principal, get_store, principal
from service.api.errors import KEYED_RESPONSES, LOOKUP_RESPONSES
from service.api.models.analysis import SavedResult, SavedResults
from service.api.routers.ogc import (
    Caller,
    CollectionMeta,
    ItemsPage,
    ItemsQuery,
    OgcCrs,
    geometry_features_in,
    register_collection_provider,
)
from service.app.results import get_result, list_results
from service.store import Store
from spatial.errors import NotFoundError
from spatial.place import crs

router = APIRouter(prefix="/v1", tags=["hotspots"],
                   responses={**KEYED_RESPONSES, **LOOKUP_RESPONSES})


@router.get("/results", response_model=SavedResults,
            response_model_exclude_unset=True, summary="Saved hotspot results the caller may read")
def results_list(store: Store = Depends(get_store),
                 who: Principal = Depends(principal)) -> dict[str, Any]:
    return {"results": list_results(store, who.role)}


@router.get("/results/{name}", response_model=SavedResult,
            response_model_exclude_unset=True,
            summary="One saved result: GeoJSON with its parameters")
def results_get(name: str, store: Store = Depends(get_store),
                who: Principal = Depends(principal)) -> dict[str, Any]:
    return get_result(store, name, who.role)


class SavedResultsProvider:
    """OGC collections ``hotspots-<name>``: one per saved result."""

    def list_collections(self, caller: Caller) -> list[CollectionMeta]:
        return [self.describe(caller, r["name"])
                for r in list_results(caller.store, caller.who.role)]

    def _load(self, caller: Caller, name: str) -> tuple[dict[str, Any], Any]:
        fc = get_result(caller.store, name, caller.who.role)
        return fc, [shapely.geometry.shape(f["geometry"]) for f in fc["features"]]

    def describe(self, caller: Caller, name: str) -> CollectionMeta:
        fc, geoms = self._load(caller, name)
        bbox = tuple(float(v) for v in shapely.total_bounds(geoms)) if len(geoms) else None
        p = fc.get("parameters", {})
        return CollectionMeta(
            name=name, title=f"{fc['method']} hotspots of {fc['layer']} ({name})",
            description=(f"Saved {fc['created_at']}: unit {p.get('unit')}, area "
                         f"{p.get('area')}, categories {p.get('categories')}, window "
                         f"{p.get('window')}"),
            bbox=bbox)  # type: ignore[arg-type]

    def items(self, caller: Caller, name: str, query: ItemsQuery) -> ItemsPage:
        fc, geoms = self._load(caller, name)
        keep = list(range(len(geoms)))
        if query.bbox is not None:
            b = query.bbox
            box = shapely.box(b.minx, b.miny, b.maxx, b.maxy)
            if not b.crs.is_crs84:
                box = crs.reproject_geometries([box], b.crs.epsg, crs.WGS84)[0]
            keep = [i for i in keep if shapely.intersects(geoms[i], box)]
        page = keep[query.offset:query.offset + query.limit]
        feats = geometry_features_in([geoms[i] for i in page],
                                     [fc["features"][i]["properties"] for i in page],
                                     [fc["features"][i].get("id") for i in page], query.crs)
        return ItemsPage(feats, len(keep))

    def item(self, caller: Caller, name: str, feature_id: str,
             target: OgcCrs) -> dict[str, Any]:
        fc, geoms = self._load(caller, name)
        for i, f in enumerate(fc["features"]):
            if str(f.get("id")) == feature_id:
                return geometry_features_in([geoms[i]], [f["properties"]], [f.get("id")],
                                            target)[0]
        raise NotFoundError(f"no feature {feature_id!r} in hotspots-{name}")


register_collection_provider("hotspots", SavedResultsProvider(), replace=True)
