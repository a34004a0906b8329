"""``/v1/streets``: road networks for street units, and their import report."""

from __future__ import annotations

from pydantic import Field

from service.api.models.common import Closed, Rejection


class StreetNetwork(Closed):
    """One version of a named road network."""

    id: int
    name: str
    version: int
    source_file: str
    source_layer: str | None
    fields: dict[str, str | None] = Field(description="field -> column of the file")
    rejected: int = Field(description="links of the file left out (see the import report)")
    created_at: str
    segment_count: int


class StreetNetworks(Closed):
    street_networks: list[StreetNetwork]


class StreetImport(Closed):
    """What a road network import stored."""

    name: str
    version: int
    network_id: int
    segments: int
    named_segments: int
    rejected: int
    fields: dict[str, str | None]
    rejections: list[Rejection] = Field(description="the first 200, by feature number")
    seconds: float
