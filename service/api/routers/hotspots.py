"""Hotspots (counts, kernel density, Gi*, LISA) and global Moran's I."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from service.api.auth import Principal, expensive
from service.api.cache import CacheScope, response_cache
from service.api.dependencies import get_settings_dep
from service.api.errors import KEYED_RESPONSES, LOOKUP_RESPONSES, WRITE_RESPONSES
from service.api.models.analysis import Autocorrelation, HotspotCollection
from service.api.models.choices import Correction, HotspotMethod, Kernel
from service.api.routers.counts import counts_request
from service.app.analysis import CountsRequest
from service.app.cost import check_hotspot_cost, limits_for
from service.app.hotspots import HotspotOptions, autocorrelation, hotspots_collection
from service.app.results import save_result
from service.settings import Settings
from service.store import Store
from spatial.errors import PermissionDeniedError
from spatial.roles import ANALYST_ROLES
from spatial.timewindow import parse_window

#: Methods with a permutation test: a seed is drawn when none is given.
RANDOM_METHODS = ("gistar", "lisa")

router = APIRouter(prefix="/v1", tags=["hotspots"],
                   responses={**KEYED_RESPONSES, **LOOKUP_RESPONSES})


def hotspot_options(
        method: HotspotMethod = Query(HotspotMethod("gistar"),
                                      description="count | kde | gistar | lisa"),
        k: int = Query(1, description="H3 neighbour ring (grid_disk k)"),
        permutations: int | None = Query(None, description="Gi*, LISA: up to 49,999 "
                                         "conditional permutations by default (999 for every "
                                         "unit, more only where p can still be small), "
                                         "two-sided p; 0 for normal-theory p-values (flags "
                                         "false hot spots on sparse counts). Moran's I: 999"),
        seed: int | None = Query(None, description="random seed (one is drawn and reported "
                                                   "when omitted)"),
        correction: Correction = Query(Correction("fdr_bh"),
                                       description="fdr_bh (default) | fdr_by | bonferroni "
                                                   "| none"),
        alpha: float = Query(0.05, description="LISA significance level after correction"),
        bandwidth: str | None = Query(None, description="KDE bandwidth in metres, or a rule "
                                                        "(silverman, scott)"),
        cell_size: float | None = Query(None, description="KDE grid cell in metres"),
        kernel: Kernel = Query(Kernel("gaussian"), description="gaussian | quartic"),
        compare_start: str | None = Query(None, description="KDE dual surface: compare window"),
        compare_end: str | None = Query(None),
        denominator_layer: str | None = Query(None, description="rate = count / count of "
                                                                "this layer per unit"),
) -> HotspotOptions:
    compare = (parse_window(compare_start, compare_end)
               if compare_start or compare_end else None)
    return HotspotOptions(method=method.value, k=k, permutations=permutations, seed=seed,
                          correction=correction.value, alpha=alpha, bandwidth=bandwidth,
                          cell_size_m=cell_size, kernel=kernel.value, compare_window=compare,
                          denominator_layer=denominator_layer)


@router.get("/hotspots", response_model=HotspotCollection,
            response_model_exclude_unset=True, responses=WRITE_RESPONSES,
            summary="Every unit of the study area with its hotspot statistics (GeoJSON, with "
                    "`parameters` and `warnings`)")
def get_hotspots(req: CountsRequest = Depends(counts_request),
                 opts: HotspotOptions = Depends(hotspot_options),
                 save: str | None = Query(None, description="also save the result under this "
                                                            "name (analyst, admin): /v1/results, "
                                                            "OGC collection hotspots-NAME"),
                 settings: Settings = Depends(get_settings_dep),
                 who: Principal = Depends(expensive()),
                 cache: CacheScope = Depends(response_cache)) -> Any:
    if save and who.role not in ANALYST_ROLES:
        raise PermissionDeniedError(f"role {who.role!r} may not save results")

    def work(store: Store) -> dict[str, Any]:
        check_hotspot_cost(store, req, opts, limits_for(settings, who.role))
        fc = hotspots_collection(store, req, opts, role=who.role, actor=who.actor)
        if save:
            fc["saved"] = save_result(store, save, fc, layer=req.layer, method=opts.method,
                                      actor=who.actor)
        return fc

    # a save writes; Gi* and LISA without a seed draw one (service.api.cache)
    return cache.answer(work, deterministic=not save and (
        opts.seed is not None or opts.method not in RANDOM_METHODS))


@router.get("/autocorrelation", response_model=Autocorrelation,
            response_model_exclude_unset=True,
            summary="Global Moran's I with normal, randomisation and permutation inference")
def get_autocorrelation(req: CountsRequest = Depends(counts_request),
                        opts: HotspotOptions = Depends(hotspot_options),
                        settings: Settings = Depends(get_settings_dep),
                        who: Principal = Depends(expensive()),
                        cache: CacheScope = Depends(response_cache)) -> Any:
    def work(store: Store) -> dict[str, Any]:
        check_hotspot_cost(store, req, opts, limits_for(settings, who.role),
                           analysis="autocorrelation")
        return autocorrelation(store, req, opts, role=who.role, actor=who.actor)

    # Moran's I permutations: cached only with an explicit seed
    return cache.answer(work, deterministic=opts.seed is not None)
