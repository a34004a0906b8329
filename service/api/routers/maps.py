"""Folium maps and tasking packs as HTML pages."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from service.api.auth import Principal, expensive, get_store
from service.api.dependencies import get_settings_dep
from service.api.errors import KEYED_RESPONSES, LOOKUP_RESPONSES
from service.api.proxy import url_prefix
from service.api.routers.counts import counts_request
from service.api.routers.hotspots import hotspot_options
from service.app.analysis import CountsRequest
from service.app.cost import check_hotspot_cost, limits_for
from service.app.hotspots import HotspotOptions
from service.render.area_pack import area_pack_html
from service.render.hotspot_page import hotspot_map_html
from service.render.map_base import MapOptions
from service.render.operation_map import operation_map_html
from service.render.operation_pack import operation_pack_html
from service.settings import Settings
from service.store import Store

#: ``?layer=`` of the operation map and pack.
OPERATION_LAYER = Query(None, description="the operation layer mapped, e.g. crime/Drugs "
                                          "(default: the operation's first layer)")

router = APIRouter(prefix="/v1", tags=["maps"],
                   responses={**KEYED_RESPONSES, **LOOKUP_RESPONSES})

#: Every route here answers one self-contained HTML page.
HTML_PAGE: dict[int | str, dict[str, Any]] = {200: {"description": "an HTML page",
                   "content": {"text/html": {"schema": {"type": "string"}}}}}


def map_options(request: Request) -> MapOptions:
    offline = request.app.state.settings.offline_assets
    # served pages link the vendored assets under /static (no CDN); with
    # REMAP_OFFLINE_ASSETS=false they use the CDNs and OpenStreetMap tiles
    # (behind a proxy under a prefix, both start with it: service/api/proxy.py)
    prefix = url_prefix(request)
    return MapOptions(offline=offline,
                      asset_base_url=f"{prefix}/static/vendor" if offline else None,
                      route_prefix=prefix)


@router.get("/maps/hotspots", response_class=HTMLResponse, responses=HTML_PAGE,
            summary="A Folium map: counts, Gi*, LISA, density, monthly slider, boundaries, "
                    "context layers as the key's role allows")
def hotspot_map(req: CountsRequest = Depends(counts_request),
                opts: HotspotOptions = Depends(hotspot_options),
                options: MapOptions = Depends(map_options),
                store: Store = Depends(get_store),
                settings: Settings = Depends(get_settings_dep),
                who: Principal = Depends(expensive())) -> HTMLResponse:
    check_hotspot_cost(store, req, opts, limits_for(settings, who.role), analysis="map")
    return HTMLResponse(hotspot_map_html(store, req, opts, role=who.role, options=options,
                                         actor=who.actor))


@router.get("/packs/area", response_class=HTMLResponse, responses=HTML_PAGE,
            summary="A tasking pack for an area: one self-contained page that prints to A4")
def area_pack(req: CountsRequest = Depends(counts_request),
              opts: HotspotOptions = Depends(hotspot_options),
              store: Store = Depends(get_store),
              settings: Settings = Depends(get_settings_dep),
              who: Principal = Depends(expensive())) -> HTMLResponse:
    check_hotspot_cost(store, req, opts, limits_for(settings, who.role), analysis="pack")
    return HTMLResponse(area_pack_html(store, req, opts, role=who.role, actor=who.actor))


@router.get("/maps/operations/{op_id}", response_class=HTMLResponse, responses=HTML_PAGE,
            summary="An operation's map: target, buffer rings, control, before/after counts, "
                    "the density change, context layers as the key's role allows")
def operation_map(op_id: int, options: MapOptions = Depends(map_options),
                  layer: str | None = OPERATION_LAYER,
                  store: Store = Depends(get_store),
                  who: Principal = Depends(expensive())) -> HTMLResponse:
    return HTMLResponse(operation_map_html(store, op_id, role=who.role, actor=who.actor,
                                           options=options, layer=layer))


@router.get("/operations/{op_id}/pack", response_class=HTMLResponse, responses=HTML_PAGE,
            summary="An operation's tasking pack: one self-contained page that prints to A4")
def operation_pack(op_id: int, layer: str | None = OPERATION_LAYER,
                   store: Store = Depends(get_store),
                   who: Principal = Depends(expensive())) -> HTMLResponse:
    return HTMLResponse(operation_pack_html(store, op_id, role=who.role, actor=who.actor,
                                            layer=layer))
