"""Saved hotspot results: list and read over the API (as OGC API collections
``hotspots-<name>``: :mod:`service.api.ogc.results`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from service.api.auth import Principal, get_store, principal
from service.api.errors import KEYED_RESPONSES, LOOKUP_RESPONSES
from service.api.models.analysis import SavedResult, SavedResults
from service.app.results import get_result, list_results
from service.store import Store

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
