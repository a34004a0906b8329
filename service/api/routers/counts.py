"""Counts per unit (H3 cells, a boundary set, a square grid), zeros included."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from service.api.auth import Principal, expensive
from service.api.cache import CacheScope, response_cache
from service.api.dependencies import categories_param, get_settings_dep, time_window
from service.api.errors import KEYED_RESPONSES, LOOKUP_RESPONSES
from service.api.models.analysis import CountsCollection
from service.app.analysis import AreaSpec, CountsRequest, UnitSpec, counts_collection
from service.app.cost import check_cost, limits_for
from service.settings import Settings
from service.store import Store
from spatial.limits import MAX_NAME
from spatial.timewindow import TimeWindow

router = APIRouter(prefix="/v1", tags=["counts"],
                   responses={**KEYED_RESPONSES, **LOOKUP_RESPONSES})

UNIT_HELP = ("h3:RES | boundary:SET[@VERSION] | grid:METRES | "
             "street:NETWORK[@VERSION][:SNAP_METRES] | street:policeuk")
AREA_HELP = ("boundary:SET[@VERSION][:UNIT,...] (units by id or name) | "
             "bbox:minlon,minlat,maxlon,maxlat")


def counts_request(layer: str = Query(..., max_length=MAX_NAME, description="layer name"),
                   categories: tuple[str, ...] = Depends(categories_param),
                   window: TimeWindow = Depends(time_window),
                   unit: str = Query(..., description=UNIT_HELP),
                   area: str | None = Query(None, description=AREA_HELP + " (a bbox of at "
                                            "most REMAP_MAX_AREA_KM2 km²)"),
                   snap_m: float | None = Query(
                       None, ge=0, le=1000, description="street units: place an event on its "
                       "nearest segment within this many metres (default REMAP_STREET_SNAP_M)"),
                   settings: Settings = Depends(get_settings_dep)) -> CountsRequest:
    """Layer, categories, window, unit and study area: shared by every analysis route."""
    return CountsRequest(layer=layer, categories=categories, window=window,
                         unit=UnitSpec.parse(unit, snap_m),
                         area=AreaSpec.parse(area, settings.max_area_km2))


@router.get("/counts", response_model=CountsCollection,
            response_model_exclude_unset=True,
            summary="Counts per unit of a study area for a layer, categories and "
                                "window; every unit appears, zeros included")
def counts(req: CountsRequest = Depends(counts_request),
           settings: Settings = Depends(get_settings_dep),
           who: Principal = Depends(expensive()),
           cache: CacheScope = Depends(response_cache)) -> Any:
    def work(store: Store) -> dict[str, Any]:
        check_cost(store, req, limits_for(settings, who.role), analysis="counts")
        return counts_collection(store, req, role=who.role, actor=who.actor)

    return cache.answer(work)
