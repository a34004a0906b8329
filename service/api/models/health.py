"""``GET /healthz``."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from service.api.models.common import Closed


class Health(Closed):
    """The service is up and its store answered."""

    status: Literal["ok"]
    store: str = Field(description="the database dialect, e.g. sqlite, postgresql")
    schema_version: int = Field(description="the last migration applied")
