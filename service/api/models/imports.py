"""``POST /v1/imports``: the import report."""

from __future__ import annotations

from pydantic import Field

from service.api.models.choices import ImportFormat
from service.api.models.common import Closed, Rejection


class FileReport(Closed):
    """What one uploaded file gave."""

    file: str
    rows: int
    accepted: int
    rejected: int
    duplicates: int
    inserted: int


class ImportReport(Closed):
    """What an import did: ``accepted + rejected`` equals the rows read."""

    layer: str
    format: ImportFormat
    accepted: int
    rejected: int
    duplicates: int
    inserted: int
    files: list[FileReport]
    rejections: list[Rejection]
    rejections_total: int
    timings_s: dict[str, float] = Field(description="seconds per stage: parse, validate, "
                                                    "place, write")
    h3_resolution: int
    boundary_sets_placed: list[str] = Field(description="e.g. 'beats v1'")
    warnings: list[Rejection] = Field(default_factory=list, description="accepted rows to "
                                      "check, e.g. a postcode read with a letter/digit slip "
                                      "corrected or a terminated postcode (first 1000)")
    warnings_total: int = 0
