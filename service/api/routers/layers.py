"""Event layers with their counts and time ranges."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from service.api.auth import Principal, principal
from service.api.cache import CacheScope, response_cache
from service.api.errors import KEYED_RESPONSES
from service.api.models.layers import Layers
from service.app.disclosure import layers_for

router = APIRouter(prefix="/v1", tags=["layers"],
                   responses=KEYED_RESPONSES)


@router.get("/layers", response_model=Layers,
            response_model_exclude_unset=True,
            summary="Layers with event counts, time ranges and categories")
def list_layers(who: Principal = Depends(principal),
                cache: CacheScope = Depends(response_cache)) -> Any:
    return cache.answer(lambda store: {"layers": layers_for(who.role, store.list_layers())})
