"""Requests and answers of the batch routes (the Dask path over a batch dataset)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from service.api.models.common import Closed, Open, ShownCount


class BatchBoundaries(Closed):
    """A boundary file under ``REMAP_BATCH_ROOT`` giving the units of ``boundary:NAME``."""

    file: str = Field(max_length=500, description="path relative to the batch root")
    name: str = Field(max_length=100, description="NAME in unit/area boundary:NAME")
    id_field: str = Field(max_length=200)
    label_field: str | None = Field(default=None, max_length=200)


class BatchCountsIn(Closed):
    """Layer, categories, window, unit and study area over a batch dataset."""

    dataset: str = Field(max_length=500,
                         description="dataset folder, relative to REMAP_BATCH_ROOT")
    layer: str = Field(default="crime", max_length=100)
    category: list[str] = Field(default_factory=list, max_length=50)
    start: str | None = Field(default=None, max_length=40,
                              description="inclusive: YYYY-MM or YYYY-MM-DD")
    end: str | None = Field(default=None, max_length=40,
                            description="inclusive: YYYY-MM or YYYY-MM-DD")
    unit: str = Field(max_length=200, description="h3:RES | grid:METRES | boundary:NAME")
    area: str | None = Field(default=None, max_length=2000,
                             description="bbox:minlon,minlat,maxlon,maxlat | "
                                         "boundary:NAME[:UNIT,...]; default the events' box")
    boundaries: BatchBoundaries | None = None


class BatchHotspotsIn(BatchCountsIn):
    method: Literal["gistar", "lisa"] = "gistar"
    k: int = Field(default=1, ge=1, le=5)
    permutations: int | None = Field(default=None, ge=0, le=99_999)
    seed: int | None = None
    correction: str = "fdr_bh"
    alpha: float = Field(default=0.05, ge=1e-6, le=0.5)


class BatchKdeIn(BatchCountsIn):
    bandwidth: float | Literal["silverman", "scott"] = "silverman"
    cell_size_m: float | None = Field(default=None, ge=1, le=10_000)
    kernel: Literal["gaussian", "quartic"] = "gaussian"
    tile_cells: int = Field(default=256, ge=16, le=4096)


class BatchCluster(Closed):
    requested: str
    scheduler: str
    workers: int
    threads: int
    memory_limit_bytes: int


class BatchUnit(Open):
    """A unit and its count; hotspot answers add the statistic's keys (GiZScore,
    GiPValue, ... or Is, z, p, ...), density answers ``density``: so it is open."""

    unit_id: str
    label: str | None
    count: ShownCount


class BatchAnswer(Closed):
    """Every unit of the study area, zeros included, with what was used and where."""

    dataset: str
    cluster: BatchCluster
    parameters: dict[str, Any]
    warnings: list[str]
    timings_s: dict[str, float]
    units: list[BatchUnit]
