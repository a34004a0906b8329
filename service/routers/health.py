"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from ..auth import get_store
from ..store import Store

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Is the service up and its store reachable?")
def healthz(store: Store = Depends(get_store)) -> dict[str, Any]:
    return {"status": "ok", "store": store.dialect, "schema_version": store.schema_version()}
