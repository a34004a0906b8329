"""``/v1/gazetteers``: stored gazetteer versions and import reports."""

from __future__ import annotations

from pydantic import Field

from service.api.models.common import Closed, Rejection


class Gazetteer(Closed):
    """One stored gazetteer version."""

    id: int
    kind: str = Field(description="onspd | codepoint | addresses")
    name: str
    version: int
    imported_at: str | None
    imported_by: str
    source_file: str
    rows: int = Field(description="rows stored")
    rejected: int = Field(description="rows of the file rejected at import")
    sha256: str = Field(description="SHA-256 of the imported file")


class Gazetteers(Closed):
    gazetteers: list[Gazetteer]


class GazetteerImport(Gazetteer):
    """What a gazetteer import stored, and the rows it rejected (first 1000)."""

    rows_read: int
    sectors: int = Field(description="postcode sectors with a centroid (0 for addresses)")
    districts: int = Field(description="postcode districts with a centroid (0 for addresses)")
    rejections: list[Rejection]
    rejections_total: int
