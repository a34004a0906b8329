"""The problem profile (``GET /v1/profile``)."""

from __future__ import annotations

from pydantic import Field

from service.api.models.analysis import AnalysisParameters
from service.api.models.common import Closed, ShownCount


class StreetCount(Closed):
    street: str = Field(description="police.uk Location without 'On or near'")
    count: int
    share: float = Field(description="share of the profile's events, 0..1")


class RepeatLocationModel(Closed):
    lon: float = Field(description="WGS84 degrees (a police.uk snap point)")
    lat: float
    street: str | None
    count: int = Field(description="events at this point (at least 2)")
    share: float = Field(description="share of the profile's events, 0..1")


class TopShareModel(Closed):
    percent: float = Field(description="share of units, per cent")
    top: int = Field(description="units with most events: ceil(units x percent / 100)")
    share: float | None = Field(description="share of events in them, 0..1 (null without "
                                            "events)")


class Curve(Closed):
    percents: list[int] = Field(description="shares of units, per cent (0, 5, ..., 100)")
    shares: list[float] = Field(description="share of events in that top share of units, "
                                            "0..1; both lists empty without events")


class ConcentrationModel(Closed):
    kind: str = Field(description="units (every unit of the area, zeros included) or "
                                  "streets (streets with events)")
    units: int
    units_with_events: int
    events: int
    top_shares: list[TopShareModel]
    half_share: float | None = Field(description="least share of units holding half the "
                                                 "events")
    eighty_share: float | None = Field(description="least share of units holding 80 % of the "
                                                   "events (the 80/20 rule)")
    gini: float | None
    curve: Curve


class ConcentrationPair(Closed):
    units: ConcentrationModel
    streets: ConcentrationModel


class Trend(Closed):
    months: list[str] = Field(description="YYYY-MM, every month of the window")
    counts: list[ShownCount]


class DayOfWeek(Closed):
    days: list[str]
    counts: list[ShownCount]


class ProblemProfileModel(Closed):
    """Top streets, repeat locations, concentration and trend of one area, layer and
    window. Parts withheld by disclosure control are null and ``withheld`` says why."""

    events: ShownCount
    top_streets: list[StreetCount] | None
    streets: int | None
    events_without_street: int | None
    repeat_locations: list[RepeatLocationModel] | None
    repeat_location_count: int | None
    events_at_repeat_locations: int | None
    concentration: ConcentrationPair | None
    trend: Trend
    day_of_week: DayOfWeek | None
    hour: list[ShownCount] | None = Field(description="events per hour 0-23, from events "
                                                      "with a time of day")
    time_statement: str
    withheld: list[str]
    parameters: AnalysisParameters
    warnings: list[str]
