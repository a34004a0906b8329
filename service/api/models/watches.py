"""``/v1/watches``: a re-emergence watch's record and a check's result.

A check's series are typed here; each series' design is the CUSUM's parameters
(:class:`spatial.evaluation.reemergence.CusumDesign`), and the check's
parameters are documented with :func:`spatial.evaluation.reemergence.watch_charts`.
Fields a role may not see are null (see ``protected`` and ``withheld``).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from service.api.models.common import Closed

Blob = dict[str, Any]


class WatchedArea(Closed):
    name: str
    kind: str = Field(description="target, buffer or site (a circle around a known "
                                  "dealing site; analysts and admins only)")
    centre: list[float] | None = Field(None, description="site: lon, lat")
    radius_m: float | None = None


class Watch(Closed):
    """A watch as the caller's role may see it."""

    id: int
    operation_id: int
    name: str
    created_by: str
    created_at: str
    layers: list[str]
    areas: list[WatchedArea]
    period: str
    arl0: float | None
    false_alarms_per_year: float | None
    mu1_rule: str
    rise: float
    baseline_periods: int | None
    site_radius_m: float
    max_sites: int
    withheld: list[str] | None = None


class WatchList(Closed):
    """The watches the caller may see."""

    watches: list[Watch]


class WatchedSeries(Closed):
    """One layer in one area, charted (null where the role may not see it)."""

    name: str
    layer: str
    area: str
    area_kind: str
    alarm: bool = Field(description="an alarm shown (for protected data: 'no alarm shown')")
    alarm_periods: list[str] = Field(description="starts of the periods that alarmed")
    first_alarm: str | None
    alarm_months: list[str]
    counts: list[int] | None = Field(description="monitored periods' counts")
    baseline_counts: list[int] | None
    cusum: list[float] | None = Field(description="S_t after each monitored period")
    pre_level: float | None = Field(description="pre-operation counts per period")
    mu0_interval: list[float] | None = Field(description="exact 95 % interval of the "
                                                         "post-operation level")
    mu1_rule: str
    design: Blob | None = Field(description="mu0, mu1, k_exact, k, h, lattice, arl0, "
                                            "arl0_predictive, arl0_target, arl1")
    warnings: list[str]
    protected: str | None = None


class RecordedAlarm(Closed):
    series: str
    layer: str
    area: str
    period_start: str
    recorded_at: str


class WatchCheck(Closed):
    """A check of a watch, computed now; its alarms were recorded."""

    watch: Watch
    checked_at: str
    parameters: Blob = Field(description="period, ARL0 per series, expected false alarms a "
                                         "year across the watch, baseline and monitored "
                                         "periods, as_of, method")
    series: list[WatchedSeries]
    alarming: list[str]
    new_alarms_recorded: int
    recorded_alarms: list[RecordedAlarm]
    withheld: list[str]
    warnings: list[str]
