"""Re-emergence watches: create one on an operation, list, read, check now."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from service.api.auth import Principal, expensive, get_store, principal, require_role
from service.api.errors import KEYED_RESPONSES, LOOKUP_RESPONSES, WRITE_RESPONSES
from service.api.models.watches import Watch, WatchCheck, WatchList
from service.app.watches import WatchIn, check_watch, create_watch, get_watch, list_watches
from service.store import Store
from spatial.roles import ANALYST_ROLES

router = APIRouter(prefix="/v1/watches", tags=["watches"],
                   responses={**KEYED_RESPONSES, **LOOKUP_RESPONSES})


@router.post("", status_code=201, response_model=Watch, response_model_exclude_unset=True,
             responses=WRITE_RESPONSES,
             summary="Watch an operation's target, buffer and known dealing sites for a "
                     "market's return (Poisson CUSUM against the post-operation level)")
def create(body: WatchIn, store: Store = Depends(get_store),
           who: Principal = Depends(require_role(*ANALYST_ROLES))) -> dict[str, Any]:
    return create_watch(store, body, actor=who.actor)


@router.get("", response_model=WatchList, response_model_exclude_unset=True,
            summary="The watches the caller may see (partners and viewers: of operations "
                    "shared with them)")
def index(operation_id: int | None = Query(None, ge=1, lt=2**63),
          store: Store = Depends(get_store),
          who: Principal = Depends(principal)) -> dict[str, Any]:
    return {"watches": list_watches(store, role=who.role, operation_id=operation_id)}


@router.get("/{watch_id}", response_model=Watch, response_model_exclude_unset=True,
            summary="A watch's definition")
def get(watch_id: int, store: Store = Depends(get_store),
        who: Principal = Depends(principal)) -> dict[str, Any]:
    return get_watch(store, watch_id, role=who.role)


@router.post("/{watch_id}/check", response_model=WatchCheck,
             response_model_exclude_unset=True, responses=WRITE_RESPONSES,
             summary="Check the watch now: counts per period, the CUSUM of every series, "
                     "alarms (recorded, append only), stated false-alarm rate and detection "
                     "delay; protected series as the role may see them")
def check(watch_id: int, store: Store = Depends(get_store),
          who: Principal = Depends(expensive())) -> dict[str, Any]:
    return check_watch(store, watch_id, role=who.role, actor=who.actor)
