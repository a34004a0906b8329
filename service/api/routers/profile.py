"""The problem profile: top streets, repeat locations, concentration and trend."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse

from service.api.auth import Principal, expensive, get_store
from service.api.cache import CacheScope, response_cache
from service.api.dependencies import get_settings_dep
from service.api.errors import KEYED_RESPONSES, LOOKUP_RESPONSES
from service.api.models.profile import ProblemProfileModel
from service.api.routers.counts import counts_request
from service.app.analysis import CountsRequest
from service.app.cost import check_cost, limits_for
from service.app.profile import problem_profile
from service.render.profile import profile_page
from service.settings import Settings
from service.store import Store

router = APIRouter(prefix="/v1", tags=["profile"],
                   responses={**KEYED_RESPONSES, **LOOKUP_RESPONSES})

HTML_PAGE: dict[int | str, dict[str, Any]] = {200: {"description": "an HTML page",
                   "content": {"text/html": {"schema": {"type": "string"}}}}}
TOP = Query(10, ge=1, le=1000, description="streets and repeat locations listed")


@router.get("/profile", response_model=ProblemProfileModel,
            summary="A problem profile of a study area for a layer, categories and window: "
                    "top streets, repeat locations, concentration (top x % of units and "
                    "streets, Gini), monthly trend, day of week and hour where times allow")
def profile(req: CountsRequest = Depends(counts_request),
            top: int = TOP,
            settings: Settings = Depends(get_settings_dep),
            who: Principal = Depends(expensive()),
            cache: CacheScope = Depends(response_cache)) -> Any:
    def work(store: Store) -> dict[str, Any]:
        check_cost(store, req, limits_for(settings, who.role), analysis="counts")
        return problem_profile(store, req, role=who.role, actor=who.actor, top=top)

    return cache.answer(work)


@router.get("/profile/page", response_class=HTMLResponse, responses=HTML_PAGE,
            summary="The problem profile as a printable page: tables and the SVG trend chart")
def profile_html(req: CountsRequest = Depends(counts_request), top: int = TOP,
                 store: Store = Depends(get_store),
                 settings: Settings = Depends(get_settings_dep),
                 who: Principal = Depends(expensive())) -> HTMLResponse:
    check_cost(store, req, limits_for(settings, who.role), analysis="counts")
    return HTMLResponse(profile_page(problem_profile(store, req, role=who.role,
                                                     actor=who.actor, top=top)))
