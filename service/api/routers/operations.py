"""Operations: define, lock the baseline, evaluate; and plan one before it happens."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from service.api.auth import Principal, expensive, get_store, principal, require_role
from service.api.errors import KEYED_RESPONSES, LOOKUP_RESPONSES, WRITE_RESPONSES
from service.api.models.operations import Operation, OperationReport, Plan
from service.app.harm_indices import check_shipped
from service.app.operation_definitions import OperationIn, PlanIn
from service.app.operations import (
    create_operation,
    get_operation,
    operation_report,
    plan_operation,
    share_operation,
    start_operation,
)
from service.store import Store
from spatial.roles import ANALYST_ROLES

router = APIRouter(prefix="/v1/operations", tags=["operations"],
                   responses={**KEYED_RESPONSES, **LOOKUP_RESPONSES})



@router.post("", status_code=201, response_model=Operation,
             response_model_exclude_unset=True, responses=WRITE_RESPONSES,
             summary="Create an operation: target, buffer, control (or a suggested one), "
                     "windows and the layers to evaluate, each an output or an outcome")
def create(body: OperationIn, store: Store = Depends(get_store),
           who: Principal = Depends(require_role(*ANALYST_ROLES))) -> dict[str, Any]:
    check_shipped(body.options.harm_index)
    return create_operation(store, body, actor=who.actor)


@router.post("/plan", response_model=Plan, response_model_exclude_unset=True,
             summary="Planning figures for a proposed operation before it is created: the "
                     "minimum detectable change per layer and the after window needed")
def plan(body: PlanIn, store: Store = Depends(get_store),
         who: Principal = Depends(require_role(*ANALYST_ROLES))) -> dict[str, Any]:
    return plan_operation(store, body, actor=who.actor)


@router.get("/{op_id}", response_model=Operation,
            response_model_exclude_unset=True,
            summary="An operation's definition, resolved areas and status")
def get(op_id: int, store: Store = Depends(get_store),
        who: Principal = Depends(principal)) -> dict[str, Any]:
    return get_operation(store, op_id, role=who.role)


@router.post("/{op_id}/start", response_model=Operation,
             response_model_exclude_unset=True, responses=WRITE_RESPONSES,
             summary="Mark the operation started and lock its baseline (before-window counts "
                     "with a sha256 fingerprint)")
def start(op_id: int, store: Store = Depends(get_store),
          who: Principal = Depends(require_role(*ANALYST_ROLES))) -> dict[str, Any]:
    return start_operation(store, op_id, actor=who.actor)


@router.post("/{op_id}/share", response_model=Operation, response_model_exclude_unset=True,
             summary="Share the operation with partners and viewers (`shared=true`) or withdraw "
                     "it (`shared=false`); they see it only once it is started")
def share(op_id: int, shared: bool = True, store: Store = Depends(get_store),
          who: Principal = Depends(require_role(*ANALYST_ROLES))) -> dict[str, Any]:
    return share_operation(store, op_id, shared=shared, actor=who.actor)


@router.get("/{op_id}/report", response_model=OperationReport, response_model_exclude_unset=True,
            summary="The evaluation: per layer, counts, SM/BDM/WDQ/TNE, WDD with SE, z, p and "
                    "CI, the verdict, rings, distance decay, SPPT, density change, planning; "
                    "the overdose watch and the dealing-site re-map (analysts only: it holds "
                    "small-area health and intelligence figures)")
def report(op_id: int,
           harm_index: str | None = Query(
               None, pattern=r"^[a-z][a-z0-9_-]{0,39}$",
               description="weigh harm with a shipped index (cchi, css; see "
                           "/v1/harm-indices): adds the `harm` section"),
           include_police_generated: bool | None = Query(
               None, description="weight Drugs and Possession of weapons too (left out of "
                                 "harm by default: their counts measure police activity)"),
           store: Store = Depends(get_store),
           who: Principal = Depends(expensive(*ANALYST_ROLES))) -> dict[str, Any]:
    check_shipped(harm_index)
    return operation_report(store, op_id, actor=who.actor, harm_index=harm_index,
                            include_police_generated=include_police_generated)
