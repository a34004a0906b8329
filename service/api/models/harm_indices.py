"""``/v1/harm-indices``: the crime harm indices an evaluation can weight harm with."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from service.api.models.common import Closed


class HarmIndexSummary(Closed):
    """A shipped harm index: its name, version, unit and published source."""

    name: str = Field(description="what `harm_index` takes (e.g. cchi, css)")
    title: str
    version: str | None
    unit: str | None
    source: str | None = Field(description="the publisher and URL of the published weights")
    citation: str | None
    shipped: bool
    offences: int = Field(description="offence rows (Home Office offences or subgroups)")
    categories: int = Field(description="police.uk crime types with a weight")


class HarmIndices(Closed):
    indices: list[HarmIndexSummary]


class HarmIndex(HarmIndexSummary):
    """A harm index in full: every weight and how it was obtained."""

    meta: dict[str, str] = Field(description="the table's header: index, version, unit, "
                                             "source, stored copy read, gaps, ...")
    offence_rows: list[dict[str, Any]] = Field(
        description="kind, ho_code, offence, police_uk_category, weight, volume, basis")
    police_uk: list[dict[str, Any]] = Field(
        description="the weight each police.uk crime type stands for, and its basis")
    excluded: list[dict[str, Any]] = Field(
        description="police.uk crime types the index gives no weight, with the reason")
    police_generated: dict[str, str] = Field(
        description="categories left out of harm unless asked for, with the reason")
