"""Boundary sets: list, import (versioned), and their units as GeoJSON."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile

from service.api.auth import Principal, expensive, get_store, principal
from service.api.dependencies import get_settings_dep
from service.api.errors import KEYED_RESPONSES, LOOKUP_RESPONSES, UPLOAD_RESPONSES
from service.api.models.boundaries import (
    BoundaryImport,
    BoundarySets,
    BoundaryUnitNames,
    BoundaryUnits,
)
from service.api.uploads import run_off_loop, save_upload, upload_folder
from service.app.importer import import_boundaries
from service.app.unit_names import boundary_unit_list
from service.render.geojson import feature_collection, geometry_features
from service.settings import Settings
from service.store import Store
from spatial.io.polygons import geometries_from_wkb
from spatial.roles import ANALYST_ROLES
from spatial.timewindow import parse_effective_date

router = APIRouter(prefix="/v1", tags=["boundaries"],
                   responses={**KEYED_RESPONSES, **LOOKUP_RESPONSES})


@router.get("/boundaries", response_model=BoundarySets,
            response_model_exclude_unset=True, summary="Boundary sets and their versions")
def list_boundary_sets(store: Store = Depends(get_store),
                       _who: Principal = Depends(principal)) -> dict[str, Any]:
    return {"boundary_sets": [s.as_dict() for s in store.boundary_sets_list()]}


@router.post("/boundaries", response_model=BoundaryImport,
             response_model_exclude_unset=True, responses=UPLOAD_RESPONSES,
             summary="Import a polygon set (GeoJSON, GeoPackage, KML, zipped shapefile) as a "
                     "new version of a named set")
async def create_boundary_set(request: Request,
                              file: UploadFile = File(...),
                              name: str = Form(...),
                              id_field: str = Form(...),
                              label_field: str | None = Form(None),
                              effective_date: str | None = Form(None,
                                                                description="YYYY-MM-DD"),
                              layer: str | None = Form(None, description="layer in a "
                                                       "multi-layer file"),
                              store: Store = Depends(get_store),
                              settings: Settings = Depends(get_settings_dep),
                              who: Principal = Depends(expensive(*ANALYST_ROLES))
                              ) -> dict[str, Any]:
    eff = parse_effective_date(effective_date)
    async with upload_folder() as folder:
        path = await save_upload(file, folder, settings)
        report = await run_off_loop(
            request, import_boundaries, store, path, file_name=file.filename or "upload",
            name=name, id_field=id_field, label_field=label_field or None,
            effective_date=eff, layer=layer or None, actor=who.actor,
            zip_limits=(settings.zip_max_uncompressed_bytes, settings.zip_max_ratio))
    return report.as_dict()


@router.get("/boundaries/{name}", response_model=BoundaryUnits,
            response_model_exclude_unset=True, summary="The units of a boundary set as GeoJSON")
def boundary_set_units(name: str, version: int | None = Query(None, ge=1, le=2**31),
                       store: Store = Depends(get_store),
                       _who: Principal = Depends(principal)) -> dict[str, Any]:
    info = store.boundary_set(name, version)
    units = store.boundary_units_frame(info.id)
    geoms = geometries_from_wkb(units["wkb"].to_numpy())
    props = [{"unit_id": u, "label": lab, "area_m2": a}
             for u, lab, a in zip(units["unit_id"], units["label"], units["area_m2"],
                                  strict=True)]
    return feature_collection(geometry_features(geoms, props, ids=units["unit_id"].tolist()),
                              boundary_set=info.as_dict())


@router.get("/boundaries/{name}/units", response_model=BoundaryUnitNames,
            response_model_exclude_unset=True,
            summary="Ids and names of a boundary set's units (targets and areas take either)")
def boundary_unit_names(name: str, version: int | None = Query(None, ge=1, le=2**31),
                        store: Store = Depends(get_store),
                        _who: Principal = Depends(principal)) -> dict[str, Any]:
    return boundary_unit_list(store, name, version)
