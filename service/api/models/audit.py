"""``/v1/audit``: entries of the hash-chained audit log, and its verification."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from service.api.models.common import Closed


class AuditEntry(Closed):
    id: int
    at: str = Field(description="ISO 8601, UTC")
    actor: str = Field(description="e.g. key:3, cli, anonymous")
    action: str = Field(description="e.g. refused, read_points, import")
    detail: Any = Field(description="what the action concerned: a JSON object (open: it "
                                    "differs by action), or the stored text of an edited row")
    prev_hash: str
    row_hash: str


class AuditPage(Closed):
    entries: list[AuditEntry]
    numberMatched: int
    numberReturned: int
    limit: int
    offset: int
    next: str | None = Field(description="the next page, or null")


class AuditVerification(Closed):
    """The recomputed hash chain: intact, or the first row that does not fit and why."""

    ok: bool
    rows: int = Field(description="rows checked (up to the first broken one)")
    first_broken: int | None
    reason: str | None
    head_id: int | None = Field(description="when intact: the last row")
    head_hash: str | None = Field(description="when intact: the last row's hash")
