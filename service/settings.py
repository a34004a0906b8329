"""Settings, read from the environment with the one prefix ``REMAP_``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from spatial.place.crs import UK_BOUNDS


class Settings(BaseSettings):
    """Everything configurable, e.g. ``REMAP_DATABASE_URL=postgresql://...``."""

    model_config = SettingsConfigDict(env_prefix="REMAP_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///remap.db",
        description="SQLAlchemy URL of the store: a SQLite file (default, in the working "
                    "directory) or postgresql://... (PostGIS is enabled when available).",
    )
    h3_resolution: int = Field(
        default=11, ge=0, le=15,
        description="Finest H3 resolution stored per event; coarser ones come from cell parents.",
    )
    area_of_interest: str = Field(
        default=",".join(str(v) for v in UK_BOUNDS),
        description="minlon,minlat,maxlon,maxlat (WGS84 degrees) outside which events are "
                    "rejected, or 'none' to accept any valid position.",
    )
    page_size_max: int = Field(default=10_000, ge=1)
    max_area_km2: float = Field(
        default=20_000, gt=0,
        description="Largest bbox study area of an analysis (counts, hotspots, maps, packs), "
                    "in km²; event listing by bbox is not limited.",
    )
    upload_max_bytes: int = Field(default=512 * 1024 * 1024, ge=1)
    upload_request_max_bytes: int = Field(
        default=2 * 1024 * 1024 * 1024, ge=1,
        description="Largest whole upload request (all files), enforced while it streams.")
    zip_max_uncompressed_bytes: int = Field(
        default=1024 * 1024 * 1024, ge=1,
        description="Largest total uncompressed size of a zip upload (declared sizes, "
                    "checked before anything is extracted).")
    zip_max_ratio: float = Field(
        default=200.0, gt=1,
        description="Largest compression ratio of any zip member (zip-bomb guard).")
    # streaming import (issue 13): chunked reading and writing in one transaction
    import_chunk_rows: int = Field(
        default=100_000, ge=1,
        description="Records of a police.uk/CSV file read, and events placed and written, at a "
                    "time by an import (all in one transaction): peak memory follows it.")
    import_rejections_kept: int = Field(
        default=100_000, ge=0,
        description="Rejections an import report lists (the first ones, about 200 bytes "
                    "each); all are counted.")
    import_workers: int = Field(
        default=2, ge=1, le=32,
        description="Worker threads for imports and boundary uploads (off the event loop); "
                    "requests beyond this wait their turn.")
    # cost limits of analyses, by role tier: partner (partner, viewer) and analyst
    # (analyst, admin, the CLI). Units = H3 cells / grid squares / boundary units of
    # the study area (estimated before any is built); unit-permutations = units x
    # (permutations + 1) summed over the statistics a request computes.
    max_units_partner: int = Field(default=20_000, ge=1)
    max_units_analyst: int = Field(default=500_000, ge=1)
    max_unit_permutations_partner: int = Field(default=10_000_000, ge=1)
    max_unit_permutations_analyst: int = Field(default=500_000_000, ge=1)
    max_response_mb_partner: float = Field(default=32.0, gt=0)
    max_response_mb_analyst: float = Field(default=512.0, gt=0)
    # rate limits (in-process sliding windows of 60 s)
    auth_failures_per_minute: int = Field(
        default=20, ge=1,
        description="Failed API-key attempts per client address per minute; beyond it "
                    "a failed attempt answers 429 with Retry-After (valid keys still work).")
    expensive_requests_per_minute: int = Field(
        default=60, ge=1,
        description="Requests per key per minute to expensive routes (counts, hotspots, "
                    "autocorrelation, maps, packs, imports, boundary uploads, operation "
                    "reports); beyond it 429 with Retry-After.")
    shared_data: Path = Field(default=Path("../shared/data"))
    download_cache_mb: int = Field(
        default=2048, ge=0,
        description="Disk kept for finished bulk downloads (OGC /download), reused until the "
                    "events change; 0 writes each download afresh.")
    response_cache_mb: int = Field(
        default=256, ge=0,
        description="Memory kept for answers of GET analysis routes (counts, hotspots, "
                    "profile, autocorrelation, layers), reused while the data are unchanged "
                    "and sent with an ETag; 0 turns the cache off.")
    # fastscan (issue 13 items 2-3): the columnar event cache of operation reports
    event_cache_mb: int = Field(
        default=512, ge=0,
        description="Memory kept by the API server for the columns of the events operation "
                    "reports scan (per layer, about 62 bytes an event), reused until an "
                    "import changes the events; 0 turns it off (every report reads the "
                    "store).")
    download_cache_dir: Path | None = Field(
        default=None,
        description="Folder of the download cache (default: a folder for this store under "
                    "the system's temporary folder).")
    offline_assets: bool = Field(
        default=True,
        description="Serve the JavaScript/CSS that maps need from remap itself, not from CDNs.",
    )
    basemap: str = Field(
        default="",
        description="Base layer of every map: empty (default) for none, so maps request "
                    "nothing; an XYZ URL template of the force's tile server "
                    "(https://tiles.force.local/{z}/{x}/{y}.png); or a local .mbtiles file, "
                    "served by remap at /v1/tiles/{z}/{x}/{y}.png and embedded in "
                    "self-contained pages.")

    # the Dask batch path (remap batch, /v1/batch): where it runs and what it serves
    dask_address: str = Field(
        default="local",
        description="Dask scheduler of remap batch and /v1/batch: 'local' starts a "
                    "LocalCluster (2 workers, 1 thread and 3 GiB each), or an address such "
                    "as tcp://host:8786 (started with 'dask scheduler' and 'dask worker').")
    dask_local_processes: bool = Field(
        default=True,
        description="Local cluster workers as processes (true) or as threads of remap itself.")
    batch_root: Path | None = Field(
        default=None,
        description="Folder of the batch datasets /v1/batch requests name (unset: the batch "
                    "routes answer 422).")

    disclosure_h3_resolution: int = Field(
        default=8, ge=0, le=15,
        description="Partners and viewers: the one H3 resolution of health layers.")
    disclosure_grid_m: int = Field(
        default=500, ge=1,
        description="Partners and viewers: the one grid side (metres) of health layers.")
    disclosure_period: Literal["month", "quarter", "year"] = Field(
        default="month",
        description="Partners and viewers: health layers one calendar period at a time.")
    disclosure_min_category_events: int = Field(
        default=10, ge=1,
        description="Partners and viewers: a category filter on a health layer must select "
                    "at least this many events.")
    disclosure_rounding_base: int = Field(
        default=5, ge=2,
        description="Partners and viewers: health counts below it show as '<N', others are "
                    "rounded to a multiple of it.")
    disclosure_restricted_h3_resolution: int | None = Field(
        default=None, ge=0, le=15,
        description="Partners and viewers: restricted layers (dealing sites) as counts on H3 "
                    "cells of this one resolution; unset: no counts at all.")

    # deployment (issue 15): first key, reverse proxy --------------------------------------
    bootstrap_admin_key_file: Path | None = Field(
        default=None,
        description="At start (the image's entrypoint, or `remap keys bootstrap`): if no "
                    "active admin key exists, make one and write it to this file only "
                    "(mode 0600), never to the log or stdout. Unset: no key is made.")
    root_path: str = Field(
        default="",
        description="Path prefix under which a reverse proxy serves remap, e.g. /remap "
                    "(the proxy strips it before passing requests on). Every absolute link "
                    "(OGC self/next/alternate, map assets and tiles, docs) starts with it. "
                    "A trusted proxy's X-Forwarded-Prefix overrides it per request.")
    forwarded_allow_ips: str = Field(
        default="",
        description="Comma-separated addresses or networks (CIDR) of reverse proxies whose "
                    "X-Forwarded-Proto/-Host/-Prefix/-For headers are believed; empty "
                    "(default): none, so the headers are ignored; '*': any peer (only when "
                    "nothing but the proxy can reach remap).")

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _check_forwarded_allow_ips(cls, value: str) -> str:
        from service.api.proxy import TrustedProxies

        TrustedProxies(value)  # a ValueError names the entry that is not an address
        return value.strip()

    @field_validator("root_path")
    @classmethod
    def _check_root_path(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and (not value.startswith("/") or any(c in value for c in "?#\\ ")):
            raise ValueError("root_path must be empty or a path like /remap")
        return value
    # street segments as units (issue 14): placement of events on a road network
    street_snap_m: float = Field(
        default=30.0, ge=0, le=1000,
        description="Street units: an event is placed on its nearest segment within this "
                    "many metres (EPSG:27700); farther events are counted as off network.")
    street_chain_m: float = Field(
        default=250.0, gt=0, le=5000,
        description="street:policeuk: snap points of one street name within this many "
                    "metres of each other (directly or in a chain) make one unit.")

    @field_validator("area_of_interest")
    @classmethod
    def _check_aoi(cls, value: str) -> str:
        if value.strip().lower() in ("none", ""):
            return "none"
        parts = value.split(",")
        if len(parts) != 4:
            raise ValueError("area_of_interest must be 'minlon,minlat,maxlon,maxlat' or 'none'")
        minlon, minlat, maxlon, maxlat = (float(p) for p in parts)
        if not (-180 <= minlon < maxlon <= 180 and -90 <= minlat < maxlat <= 90):
            raise ValueError("area_of_interest is not a WGS84 box with min < max")
        return value

    @field_validator("basemap")
    @classmethod
    def _check_basemap(cls, value: str) -> str:
        from service.render.basemap import parse_basemap

        parse_basemap(value)  # a BasemapError (a ValueError) names the problem
        return value.strip()

    @property
    def aoi_bounds(self) -> tuple[float, float, float, float] | None:
        if self.area_of_interest == "none":
            return None
        a, b, c, d = (float(p) for p in self.area_of_interest.split(","))
        return (a, b, c, d)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
