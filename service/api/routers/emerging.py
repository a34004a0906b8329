"""Emerging hot spots: space-time Gi*, Mann-Kendall trends and ArcGIS's categories."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from service.api.auth import Principal, expensive, get_store
from service.api.dependencies import get_settings_dep
from service.api.errors import KEYED_RESPONSES, LOOKUP_RESPONSES
from service.api.models.choices import Correction
from service.api.models.emerging import EmergingCollection
from service.api.proxy import url_prefix
from service.api.routers.counts import counts_request
from service.app.analysis import CountsRequest
from service.app.cost import check_cost, limits_for
from service.app.emerging import EmergingOptions, emerging_collection
from service.settings import Settings
from service.store import Store

router = APIRouter(prefix="/v1", tags=["hotspots"],
                   responses={**KEYED_RESPONSES, **LOOKUP_RESPONSES})

HTML_PAGE: dict[int | str, dict[str, Any]] = {200: {"description": "an HTML page",
                   "content": {"text/html": {"schema": {"type": "string"}}}}}


def emerging_options(
        step: str | None = Query(None, description="week | 28d | month | quarter; default "
                                 "from the data's time precision (month-precision data: "
                                 "month) and the span (the finest step giving 10-60 steps)"),
        time_steps: int = Query(1, description="previous steps in each bin's space-time "
                                               "neighbourhood (ArcGIS's neighbourhood time "
                                               "step)"),
        k: int = Query(1, description="H3 neighbour ring (grid_disk k)"),
        permutations: int | None = Query(None, description="Gi* conditional permutations: up "
                                         "to 49,999 by default, staged; 0 for normal-theory "
                                         "p-values (flags false hot spots on sparse counts)"),
        seed: int | None = Query(None, description="random seed (drawn and reported when "
                                                   "omitted)"),
        correction: Correction = Query(Correction("fdr_bh"),
                                       description="fdr_bh (default) | fdr_by | bonferroni "
                                                   "| none, over all bins"),
        alpha: float = Query(0.05, description="significance of a bin after the correction, "
                                               "and of a trend"),
        scheme: str = Query("arcgis", description="arcgis (ArcGIS's categories) | sfhotspot "
                                                  "(sfhotspot's hotspot_classify classes)"),
) -> EmergingOptions:
    return EmergingOptions(step=step, time_steps=time_steps, k=k, permutations=permutations,
                           seed=seed, correction=correction.value, alpha=alpha, scheme=scheme)


@router.get("/hotspots/emerging", response_model=EmergingCollection,
            summary="Emerging hot spots (ArcGIS's Emerging Hot Spot Analysis): every unit of "
                    "the study area with its category (new, consecutive, intensifying, "
                    "persistent, diminishing, sporadic, oscillating, historical hot or cold "
                    "spot, or no pattern), its Mann-Kendall trend and counts per time step")
def get_emerging(req: CountsRequest = Depends(counts_request),
                 opts: EmergingOptions = Depends(emerging_options),
                 store: Store = Depends(get_store),
                 settings: Settings = Depends(get_settings_dep),
                 who: Principal = Depends(expensive())) -> dict[str, Any]:
    check_cost(store, req, limits_for(settings, who.role), analysis="hotspots",
               method="gistar", permutations=opts.permutations)
    return emerging_collection(store, req, opts, role=who.role, actor=who.actor)


@router.get("/hotspots/emerging/map", response_class=HTMLResponse, responses=HTML_PAGE,
            summary="The emerging hot spots as a map page in ArcGIS's emerging colours, with "
                    "a legend that prints")
def get_emerging_map(request: Request, req: CountsRequest = Depends(counts_request),
                     opts: EmergingOptions = Depends(emerging_options),
                     store: Store = Depends(get_store),
                     settings: Settings = Depends(get_settings_dep),
                     who: Principal = Depends(expensive())) -> HTMLResponse:
    from service.render.emerging_layer import emerging_map_html
    from service.render.map_base import MapOptions

    check_cost(store, req, limits_for(settings, who.role), analysis="hotspots",
               method="gistar", permutations=opts.permutations)
    fc = emerging_collection(store, req, opts, role=who.role, actor=who.actor)
    title = f"remap: emerging hot spots, {req.layer} by {req.unit.describe()}"
    prefix = url_prefix(request)  # behind a proxy under a path prefix: service/api/proxy.py
    options = MapOptions(asset_base_url=f"{prefix}/static/vendor", route_prefix=prefix)
    return HTMLResponse(emerging_map_html(fc, title=title, options=options))
