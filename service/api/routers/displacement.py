"""The displacement calculator over HTTP; the calculation is :mod:`service.app.displacement`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from service.api.auth import Principal, principal
from service.api.errors import KEYED_RESPONSES
from service.api.models.displacement import CalculateOut
from service.app.displacement import CalculateIn, calculate

router = APIRouter(prefix="/v1/displacement", tags=["displacement"],
                   responses=KEYED_RESPONSES)


@router.post("/calculate", response_model=CalculateOut, response_model_exclude_unset=True,
             summary="SM, BDM, WDQ, TNE and WDD {estimate, se, z, p, ci}, local and "
                     "displacement effects and a verdict, from counts")
def calculate_route(body: CalculateIn, _who: Principal = Depends(principal)) -> dict[str, Any]:
    return calculate(body)
