"""Import events by upload; the answer is the import report."""

from __future__ import annotations

import io
from typing import Any

from fastapi import APIRouter, Depends, File, Form, UploadFile

from spatial.errors import ParameterError, PayloadTooLargeError
from spatial.ingest import ColumnMapping

from ..auth import Principal, get_store, require_role
from ..dependencies import get_settings_dep
from ..errors import KEYED_RESPONSES, UPLOAD_RESPONSES
from ..importer import FORMATS, import_events
from ..settings import Settings
from ..store import Store

router = APIRouter(prefix="/v1", tags=["imports"],
                   responses=KEYED_RESPONSES)


async def read_upload(upload: UploadFile, settings: Settings) -> io.BytesIO:
    data = await upload.read(settings.upload_max_bytes + 1)
    if len(data) > settings.upload_max_bytes:
        raise PayloadTooLargeError(f"upload larger than {settings.upload_max_bytes} bytes",
                               file=upload.filename or "upload")
    return io.BytesIO(data)


@router.post("/imports", responses=UPLOAD_RESPONSES, summary="Import event files (police.uk CSV, mapped CSV, GeoJSON, "
                                 "GeoPackage); answers the import report")
async def create_import(files: list[UploadFile] = File(..., description="one or more files"),
                        format: str = Form("policeuk", description=" | ".join(FORMATS)),
                        layer: str = Form("crime"),
                        map: str | None = Form(None, description="column mapping for csv/"
                                               "geojson/gpkg: id=..,time=..,lon=..,lat=.. or "
                                               "easting=..,northing=..,crs=27700,category=.."),
                        store: Store = Depends(get_store),
                        settings: Settings = Depends(get_settings_dep),
                        who: Principal = Depends(require_role("admin", "analyst"))
                        ) -> dict[str, Any]:
    if format not in FORMATS:
        raise ParameterError("format", f"{format!r} is not one of {', '.join(FORMATS)}")
    mapping = ColumnMapping.parse(map) if map else None
    sources = [(f.filename or f"upload-{i + 1}", await read_upload(f, settings))
               for i, f in enumerate(files)]
    report = import_events(store, sources, fmt=format, layer=layer, mapping=mapping,
                           area_of_interest=settings.aoi_bounds, actor=who.actor)
    return report.as_dict()
