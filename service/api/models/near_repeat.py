"""The near-repeat (Knox) table (``GET /v1/nearrepeat``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from service.api.models.common import Closed, Open, ShownCount, Window


class DistanceBand(Closed):
    label: str
    kind: Literal["same", "band", "beyond"] = Field(
        description="same: distance exactly 0 m; band: low_m < d <= high_m; beyond: d > low_m")
    low_m: float
    high_m: float | None = Field(description="null for the beyond row")


class TimeBand(Closed):
    label: str
    kind: Literal["band", "beyond"] = Field(
        description="band: low_days < days apart <= high_days (the first includes 0); "
                    "beyond: more than low_days")
    low_days: float
    high_days: float | None = Field(description="null for the beyond column")


class KnoxCell(Closed):
    observed: int = Field(description="pairs of events in this distance and time band")
    expected: float = Field(description="mean count over the permutations (the NRC's expected)")
    expected_exact: float = Field(description="row total x column total / all pairs: the "
                                              "exact permutation mean")
    ratio: float | None = Field(description="observed / expected (the NRC's Knox ratio); "
                                            "null where expected is 0")
    p_one_sided: float = Field(description="(n_ge + 1) / (R + 1): the NRC's p-value")
    p_two_sided: float = Field(description="min(1, 2 (min(n_ge, n_le) + 1) / (R + 1))")
    p_adjusted: float | None = Field(description="p_two_sided adjusted over the tested cells "
                                                 "(Benjamini-Hochberg); null when untested")
    tested: bool = Field(description="in the multiple-testing family")
    significant: bool = Field(description="p_adjusted <= alpha")


class NearRepeatParameters(Open):
    """Everything the test used; open: the keys below are always there."""

    layer: str
    categories: list[str] | str
    window: Window
    area: str
    events_selected: ShownCount
    events_analysed: int
    distance_band_m: float
    distance_bands: int
    time_band_days: int
    time_bands: int
    metric: Literal["euclidean", "manhattan"]
    crs: str = Field(description="the projected CRS of the distances (EPSG:27700 in "
                                 "Great Britain, else the local UTM zone)")
    permutations: int
    seed: int
    alpha: float
    correction: str
    tested_cells: int


class NearRepeatModel(Closed):
    """The Knox table in the Near Repeat Calculator's layout: ``cells[row][column]``, rows
    the distance bands (same location, the bands, beyond), columns the time bands."""

    pattern: Literal["near_repeat", "repeat_only", "none"] = Field(
        description="near_repeat: a significant excess of pairs in a distance band from 1 m "
                    "up; repeat_only: only at the same location; none")
    extent_m: float | None = Field(description="upper edge of the farthest distance band with "
                                               "a significant excess")
    extent_days: float | None = Field(description="upper edge of the longest time band with a "
                                                  "significant excess")
    events: int
    pairs: int = Field(description="all pairs of events, n (n - 1) / 2")
    candidate_pairs: int = Field(description="pairs closer than the largest finite band")
    distance_bands: list[DistanceBand]
    time_bands: list[TimeBand]
    cells: list[list[KnoxCell]]
    parameters: NearRepeatParameters
    warnings: list[str]
