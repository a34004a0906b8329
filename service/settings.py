"""Settings, read from the environment with the one prefix ``REMAP_``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from spatial.crs import UK_BOUNDS


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
    shared_data: Path = Field(default=Path("../shared/data"))
    offline_assets: bool = Field(
        default=True,
        description="Serve the JavaScript/CSS that maps need from remap itself, not from CDNs.",
    )

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

    @property
    def aoi_bounds(self) -> tuple[float, float, float, float] | None:
        if self.area_of_interest == "none":
            return None
        a, b, c, d = (float(p) for p in self.area_of_interest.split(","))
        return (a, b, c, d)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
