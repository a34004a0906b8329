"""The Dask path over the API: counts, hotspots and density of a batch dataset.

Datasets live under ``REMAP_BATCH_ROOT`` (made by ``remap batch import``);
requests name one by its path under that folder. Analysts and admins only:
the answers are whole-dataset tables, and protected layers would need the
partner rules of every count.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from service.api.auth import Principal, expensive, get_store
from service.api.dependencies import get_settings_dep
from service.api.errors import KEYED_RESPONSES, LOOKUP_RESPONSES
from service.api.models.batch import BatchAnswer, BatchCountsIn, BatchHotspotsIn, BatchKdeIn
from service.app import batch
from service.settings import Settings
from service.store import Store
from spatial.roles import ANALYST_ROLES

router = APIRouter(prefix="/v1/batch", tags=["batch"],
                   responses={**KEYED_RESPONSES, **LOOKUP_RESPONSES})

BATCH_ROLES = ANALYST_ROLES


def _request(body: BatchCountsIn, settings: Settings) -> batch.BatchRequest:
    folder = batch.dataset_path(body.dataset, settings.batch_root, "dataset")
    source = None
    if body.boundaries is not None:
        b = body.boundaries
        source = batch.BoundarySource(
            b.name, batch.dataset_path(b.file, settings.batch_root, "boundaries.file"),
            b.id_field, b.label_field)
    return batch.BatchRequest.parse(folder=folder, layer=body.layer, unit=body.unit,
                                    categories=body.category, start=body.start, end=body.end,
                                    area=body.area, boundaries=source)


def _answer(bc: batch.BatchCounts, rows: list[dict[str, Any]], dataset: str) -> dict[str, Any]:
    return {"dataset": dataset, **bc.meta(), "units": rows}


def _client(settings: Settings) -> tuple[Any, str]:
    address = batch.dask_address(settings.dask_address)
    return batch.shared_client(address, processes=settings.dask_local_processes), address


@router.post("/counts", response_model=BatchAnswer,
             summary="Counts per unit of a batch dataset, summed on the Dask cluster; "
                     "every unit appears, zeros included")
def batch_counts(body: BatchCountsIn, settings: Settings = Depends(get_settings_dep),
                 store: Store = Depends(get_store),
                 who: Principal = Depends(expensive(*BATCH_ROLES))) -> dict[str, Any]:
    req = _request(body, settings)
    client, address = _client(settings)
    bc = batch.batch_counts(client, req, role=who.role, actor=who.actor, audit_store=store,
                            requested=address)
    return _answer(bc, bc.rows(), body.dataset)


@router.post("/hotspots", response_model=BatchAnswer,
             summary="Gi* or local Moran per unit of a batch dataset: counts summed on the "
                     "cluster, the statistic on the unit table")
def batch_hotspots(body: BatchHotspotsIn, settings: Settings = Depends(get_settings_dep),
                   store: Store = Depends(get_store),
                   who: Principal = Depends(expensive(*BATCH_ROLES))) -> dict[str, Any]:
    req = _request(body, settings)
    opts = batch.BatchHotspotOptions(method=body.method, k=body.k,
                                     permutations=body.permutations, seed=body.seed,
                                     correction=body.correction, alpha=body.alpha)
    client, address = _client(settings)
    bc, rows = batch.batch_hotspots(client, req, opts, role=who.role, actor=who.actor,
                                    audit_store=store, requested=address)
    return _answer(bc, rows, body.dataset)


@router.post("/kde", response_model=BatchAnswer,
             summary="Kernel density by tiles with halos on the cluster; the mean density "
                     "(events per km²) of every unit")
def batch_kde(body: BatchKdeIn, settings: Settings = Depends(get_settings_dep),
              store: Store = Depends(get_store),
              who: Principal = Depends(expensive(*BATCH_ROLES))) -> dict[str, Any]:
    req = _request(body, settings)
    client, address = _client(settings)
    bc, rows, _surface = batch.batch_kde(client, req, bandwidth=body.bandwidth,
                                         cell_size_m=body.cell_size_m, kernel=body.kernel,
                                         tile_cells=body.tile_cells, role=who.role,
                                         actor=who.actor, audit_store=store,
                                         requested=address)
    return _answer(bc, rows, body.dataset)
