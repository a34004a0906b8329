"""The crime harm indices (CCHI, ONS CSS) shipped with remap, and their weights."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path

from service.api.auth import Principal, principal
from service.api.errors import KEYED_RESPONSES, LOOKUP_RESPONSES
from service.api.models.harm_indices import HarmIndex, HarmIndices
from service.app.harm_indices import harm_index_detail, harm_index_list

router = APIRouter(prefix="/v1/harm-indices", tags=["harm indices"],
                   responses=KEYED_RESPONSES)


@router.get("", response_model=HarmIndices,
            summary="The harm indices an operation's evaluation can use (`harm_index`): "
                    "name, version, unit and published source")
def list_indices(who: Principal = Depends(principal)) -> dict[str, Any]:
    return {"indices": harm_index_list()}


@router.get("/{name}", response_model=HarmIndex, responses=LOOKUP_RESPONSES,
            summary="One harm index in full: offence weights, the weight each police.uk crime "
                    "type stands for and how it was obtained, and what it excludes")
def get_index(name: str = Path(pattern=r"^[a-z][a-z0-9_-]{0,39}$", max_length=40),
              who: Principal = Depends(principal)) -> dict[str, Any]:
    return harm_index_detail(name)
