"""``GET /v1/layers``."""

from __future__ import annotations

from pydantic import Field

from service.api.models.choices import Detail, Sensitivity
from service.api.models.common import Closed, ShownCount


class LayerInfo(Closed):
    """A layer as the caller's role may see it: protected layers have rounded totals,
    small categories as ``"<N"`` and months only; withheld layers by name only."""

    name: str
    sensitivity: Sensitivity
    description: str | None
    count: ShownCount | None = Field(description="events: exact, rounded, or null when "
                                                 "withheld")
    time_min: str | None = Field(description="first event: ISO date-time, or YYYY-MM")
    time_max: str | None = Field(description="last event: ISO date-time, or YYYY-MM")
    categories: dict[str, ShownCount] = Field(description="events per category")
    detail: Detail


class Layers(Closed):
    layers: list[LayerInfo]
