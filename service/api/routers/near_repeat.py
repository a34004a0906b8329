"""Near-repeat patterns: the Knox test over distance bands x time bands (the NRC's table)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse

from service.api.auth import Principal, expensive, get_store
from service.api.dependencies import categories_param, get_settings_dep, time_window
from service.api.errors import KEYED_RESPONSES, LOOKUP_RESPONSES
from service.api.models.near_repeat import NearRepeatModel
from service.api.routers.counts import AREA_HELP
from service.app.analysis import AreaSpec, CountsRequest, UnitSpec
from service.app.cost import check_cost, limits_for
from service.app.near_repeat import AREA_UNIT, NearRepeatOptions, near_repeat_table
from service.render.near_repeat import near_repeat_page
from service.settings import Settings
from service.store import Store
from spatial.limits import MAX_NAME
from spatial.stats import near_repeat as knox
from spatial.timewindow import TimeWindow

router = APIRouter(prefix="/v1", tags=["near-repeat"],
                   responses={**KEYED_RESPONSES, **LOOKUP_RESPONSES})

HTML_PAGE: dict[int | str, dict[str, Any]] = {200: {"description": "an HTML page",
                   "content": {"text/html": {"schema": {"type": "string"}}}}}


def near_repeat_request(layer: str = Query(..., max_length=MAX_NAME, description="layer name"),
                        categories: tuple[str, ...] = Depends(categories_param),
                        window: TimeWindow = Depends(time_window),
                        area: str | None = Query(None, description=AREA_HELP + " (default: "
                                                 "the extent of the events)"),
                        settings: Settings = Depends(get_settings_dep)) -> CountsRequest:
    return CountsRequest(layer=layer, categories=categories, window=window,
                         unit=UnitSpec.parse(AREA_UNIT),
                         area=AreaSpec.parse(area, settings.max_area_km2))


def near_repeat_options(
        distance_band: float = Query(knox.DEFAULT_DISTANCE_BAND_M, ge=1, le=10_000,
                                     description="distance bandwidth, metres"),
        distance_bands: int = Query(knox.DEFAULT_DISTANCE_BANDS, ge=1, le=knox.MAX_BANDS,
                                    description="distance bands after 'same location'"),
        time_band: int = Query(knox.DEFAULT_TIME_BAND_DAYS, ge=1, le=365,
                               description="time bandwidth, whole days"),
        time_bands: int = Query(knox.DEFAULT_TIME_BANDS, ge=1, le=knox.MAX_BANDS),
        metric: Literal["euclidean", "manhattan"] = Query("euclidean"),
        permutations: int = Query(knox.DEFAULT_PERMUTATIONS, ge=19,
                                  le=knox.MAX_PERMUTATIONS,
                                  description="Monte Carlo permutations of the dates"),
        seed: int | None = Query(None, ge=0, le=2**31 - 1,
                                 description="drawn and reported if omitted"),
        alpha: float = Query(knox.DEFAULT_ALPHA, gt=0, lt=1,
                             description="level of the Benjamini-Hochberg FDR")
) -> NearRepeatOptions:
    return NearRepeatOptions(distance_band_m=distance_band, distance_bands=distance_bands,
                             time_band_days=time_band, time_bands=time_bands, metric=metric,
                             permutations=permutations, seed=seed, alpha=alpha)


@router.get("/nearrepeat", response_model=NearRepeatModel,
            summary="Near-repeat patterns: the Knox test over distance bands x time bands "
                    "(the Near Repeat Calculator's table), with Monte Carlo permutations of "
                    "the dates, two-sided p-values and Benjamini-Hochberg FDR; events known "
                    "to the day or better only")
def near_repeat(req: CountsRequest = Depends(near_repeat_request),
                opts: NearRepeatOptions = Depends(near_repeat_options),
                store: Store = Depends(get_store),
                settings: Settings = Depends(get_settings_dep),
                who: Principal = Depends(expensive())) -> dict[str, Any]:
    check_cost(store, req, limits_for(settings, who.role), analysis="counts")
    return near_repeat_table(store, req, opts, role=who.role, actor=who.actor)


@router.get("/nearrepeat/page", response_class=HTMLResponse, responses=HTML_PAGE,
            summary="The near-repeat table as a printable page (ratios with significance "
                    "marks, observed and expected pairs, p-values)")
def near_repeat_html(req: CountsRequest = Depends(near_repeat_request),
                     opts: NearRepeatOptions = Depends(near_repeat_options),
                     store: Store = Depends(get_store),
                     settings: Settings = Depends(get_settings_dep),
                     who: Principal = Depends(expensive())) -> HTMLResponse:
    check_cost(store, req, limits_for(settings, who.role), analysis="counts")
    return HTMLResponse(near_repeat_page(near_repeat_table(store, req, opts, role=who.role,
                                                           actor=who.actor)))
