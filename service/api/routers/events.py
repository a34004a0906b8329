"""Events as GeoJSON, filtered and paged; point-level access by role."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from service.api.auth import Principal, get_store, principal
from service.api.dependencies import (
    Page,
    bbox_param,
    categories_param,
    csv_list,
    paging,
    time_window,
)
from service.api.errors import KEYED_RESPONSES, LOOKUP_RESPONSES
from service.api.models.events import EventCollection
from service.render.geojson import events_features, feature_collection
from service.store import EventFilter, Store
from spatial.categories import match_categories
from spatial.disclosure import may_see_points
from spatial.errors import PermissionDeniedError
from spatial.timewindow import TimeWindow

router = APIRouter(prefix="/v1", tags=["events"],
                   responses={**KEYED_RESPONSES, **LOOKUP_RESPONSES})


def visible_layers(store: Store, who: Principal, requested: tuple[str, ...]) -> tuple[str, ...]:
    """The layers ``who`` may see as points; asking for a forbidden one is an error."""
    known = store.layer_names()
    if requested:
        for name in requested:
            if name in known and not may_see_points(who.role, name):
                raise PermissionDeniedError(
                    f"role {who.role!r} may not receive point-level events of layer {name!r}; "
                    "use /v1/counts for aggregated, disclosure-controlled figures")
        return requested
    return tuple(sorted(n for n in known if may_see_points(who.role, n)))


@router.get("/events", response_model=EventCollection,
            response_model_exclude_unset=True,
            summary="Events as a GeoJSON FeatureCollection, paged")
def list_events(request: Request,
                layer: str | None = Query(None, description="layer name(s), comma-separated"),
                categories: tuple[str, ...] = Depends(categories_param),
                window: TimeWindow = Depends(time_window),
                bbox: tuple[float, float, float, float] | None = Depends(bbox_param),
                boundary_set: str | None = Query(None, description="boundary set for `unit`"),
                unit: str | None = Query(None, description="unit id(s) in boundary_set"),
                h3: str | None = Query(None, description="H3 cell(s), any resolution"),
                page: Page = Depends(paging),
                store: Store = Depends(get_store),
                who: Principal = Depends(principal)) -> dict[str, Any]:
    layers = visible_layers(store, who, csv_list(layer))
    if categories and layers:
        known = sorted({c for la in layers for c in store.layer_categories(la)})
        if known:
            categories = match_categories(categories, known, layer=",".join(layers))
    f = EventFilter(layers=layers, categories=categories, start=window.start, end=window.end,
                    bbox=bbox, boundary_set=boundary_set, units=csv_list(unit),
                    h3_cells=csv_list(h3))
    store.check_filter(f)
    if not layers:
        frame, total = None, 0
    else:
        total = store.count_events(f)
        frame = store.query_events(f, limit=page.limit, offset=page.offset)
    features = events_features(frame) if frame is not None else []
    sensitive = sorted({ft["properties"]["layer"] for ft in features
                        if ft["properties"]["sensitivity"] != "open"})
    if sensitive:
        store.audit(None, who.actor, "read_points",
                    {"layers": sensitive, "count": len(features), "query": str(request.url)})
    links = [{"rel": "self", "href": str(request.url), "type": "application/geo+json"}]
    if page.offset + page.limit < total:
        links.append({"rel": "next",
                      "href": str(request.url.include_query_params(
                          offset=page.offset + page.limit, limit=page.limit)),
                      "type": "application/geo+json"})
    return feature_collection(features, numberMatched=total, numberReturned=len(features),
                              links=links)
