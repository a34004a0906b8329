"""Gazetteers for geocoding: list, and import a new version (analysts and admins)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile

from service.api.auth import Principal, expensive, get_store, principal
from service.api.dependencies import get_settings_dep
from service.api.errors import KEYED_RESPONSES, UPLOAD_RESPONSES
from service.api.models.gazetteers import GazetteerImport, Gazetteers
from service.api.uploads import run_off_loop, save_upload, upload_folder
from service.app.geocoding import gazetteer_list, import_gazetteer
from service.settings import Settings
from service.store import Store
from spatial.roles import ANALYST_ROLES

router = APIRouter(prefix="/v1", tags=["gazetteers"], responses=KEYED_RESPONSES)


@router.get("/gazetteers", response_model=Gazetteers, summary="Gazetteers and their versions")
def list_gazetteers(store: Store = Depends(get_store),
                    _who: Principal = Depends(principal)) -> dict[str, Any]:
    return {"gazetteers": gazetteer_list(store)}


@router.post("/gazetteers", response_model=GazetteerImport, responses=UPLOAD_RESPONSES,
             summary="Import an ONS Postcode Directory CSV, a Code-Point Open CSV or an "
                     "address extract as a new version of a named gazetteer")
async def create_gazetteer(request: Request,
                           file: UploadFile = File(...),
                           kind: Literal["onspd", "codepoint", "addresses"] = Form(...),
                           name: str | None = Form(None, description="default: the kind"),
                           map: str | None = Form(None, description="addresses only: "
                                                  "uprn=..,address=..,easting=..,northing=.."),
                           store: Store = Depends(get_store),
                           settings: Settings = Depends(get_settings_dep),
                           who: Principal = Depends(expensive(*ANALYST_ROLES))
                           ) -> dict[str, Any]:
    async with upload_folder() as folder:
        path = await save_upload(file, folder, settings)
        report = await run_off_loop(request, import_gazetteer, store, path, kind=kind,
                                    name=name or None, file_name=file.filename or "upload",
                                    address_map=map or None, actor=who.actor)
    return report.as_dict()
