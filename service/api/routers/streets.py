"""Road networks for street units: list and import (versioned)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile

from service.api.auth import Principal, expensive, get_store, principal
from service.api.dependencies import get_settings_dep
from service.api.errors import KEYED_RESPONSES, LOOKUP_RESPONSES, UPLOAD_RESPONSES
from service.api.models.streets import StreetImport, StreetNetworks
from service.api.uploads import run_off_loop, save_upload, upload_folder
from service.app.streets import import_network, network_list, parse_field_map
from service.settings import Settings
from service.store import Store
from spatial.roles import ANALYST_ROLES

router = APIRouter(prefix="/v1", tags=["streets"],
                   responses={**KEYED_RESPONSES, **LOOKUP_RESPONSES})


@router.get("/streets", response_model=StreetNetworks,
            summary="Road networks for street units (unit=street:NETWORK) and their versions")
def list_street_networks(store: Store = Depends(get_store),
                         _who: Principal = Depends(principal)) -> dict[str, Any]:
    return {"street_networks": network_list(store)}


@router.post("/streets", response_model=StreetImport, responses=UPLOAD_RESPONSES,
             summary="Import road links (GeoPackage in the OS Open Roads layout) as a new "
                     "version of a named network")
async def create_street_network(request: Request,
                                file: UploadFile = File(...),
                                name: str = Form(...),
                                layer: str = Form("road_link",
                                                  description="layer holding the links"),
                                map: str | None = Form(  # noqa: A002 - the CLI's --map
                                    None, description="FIELD=COLUMN,... for columns not in "
                                    "the OS Open Roads layout"),
                                store: Store = Depends(get_store),
                                settings: Settings = Depends(get_settings_dep),
                                who: Principal = Depends(expensive(*ANALYST_ROLES))
                                ) -> dict[str, Any]:
    mapping = parse_field_map(map)
    async with upload_folder() as folder:
        path = await save_upload(file, folder, settings)
        report = await run_off_loop(request, import_network, store, path,
                                    file_name=file.filename or "upload", name=name,
                                    layer=layer or None, mapping=mapping, actor=who.actor)
    return report.as_dict()
