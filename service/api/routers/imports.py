"""Import events by upload; the answer is the import report.

Uploads are streamed to temporary files (:mod:`service.api.uploads`) and the
import runs in the import worker pool, never on the event loop.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile

from service.api.auth import Principal, expensive, get_store
from service.api.dependencies import get_settings_dep
from service.api.errors import KEYED_RESPONSES, UPLOAD_RESPONSES
from service.api.models.choices import ImportFormat
from service.api.models.imports import ImportReport
from service.api.uploads import run_off_loop, save_upload, upload_folder
from service.app.importer import FORMATS, import_events
from service.settings import Settings
from service.store import Store
from spatial.io.mapping import ColumnMapping
from spatial.roles import ANALYST_ROLES

router = APIRouter(prefix="/v1", tags=["imports"],
                   responses=KEYED_RESPONSES)


@router.post("/imports", response_model=ImportReport,
             response_model_exclude_unset=True, responses=UPLOAD_RESPONSES,
             summary="Import event files (police.uk CSV, mapped CSV, GeoJSON, "
                                 "GeoPackage); answers the import report")
async def create_import(request: Request,
                        files: list[UploadFile] = File(..., description="one or more files"),
                        format: ImportFormat = Form(ImportFormat("policeuk"),
                                                    description=" | ".join(FORMATS)),
                        layer: str = Form("crime"),
                        map: str | None = Form(None, description="column mapping for csv/"
                                               "geojson/gpkg: id=..,time=..,lon=..,lat=.. or "
                                               "easting=..,northing=..,crs=27700,category=.."),
                        category_default: str | None = Form(
                            None, description="the category of every row, when the mapping "
                                              "names no category column"),
                        store: Store = Depends(get_store),
                        settings: Settings = Depends(get_settings_dep),
                        who: Principal = Depends(expensive(*ANALYST_ROLES))
                        ) -> dict[str, Any]:
    mapping = ColumnMapping.parse(map) if map else None
    async with upload_folder() as folder:
        sources = [(f.filename or f"upload-{i + 1}",
                    await save_upload(f, folder, settings, index=i))
                   for i, f in enumerate(files)]
        report = await run_off_loop(request, import_events, store, sources,
                                    fmt=format.value,
                                    layer=layer, mapping=mapping,
                                    area_of_interest=settings.aoi_bounds, actor=who.actor,
                                    **({} if category_default is None
                                       else {"category_default": category_default}))
    return report.as_dict()
