"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from service.api.auth import get_store
from service.api.models.health import Health
from service.store import Store

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health,
            response_model_exclude_unset=True, summary="Is the service up and its store reachable?")
def healthz(store: Store = Depends(get_store)) -> dict[str, Any]:
    return {"status": "ok", "store": store.dialect, "schema_version": store.schema_version()}
