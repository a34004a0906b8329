"""Reusable query dependencies: bbox, time window, paging, event filters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd
from fastapi import Depends, Query, Request

from service.settings import Settings
from spatial.errors import ParameterError
from spatial.limits import MAX_CATEGORY, check_length


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def parse_bbox(value: str | None) -> tuple[float, float, float, float] | None:
    """``minlon,minlat,maxlon,maxlat`` in WGS84 degrees."""
    if value is None or value == "":
        return None
    parts = value.split(",")
    if len(parts) not in (4, 6):
        raise ParameterError("bbox", "expected minlon,minlat,maxlon,maxlat")
    try:
        nums = [float(p) for p in parts]
    except ValueError as exc:
        raise ParameterError("bbox", f"not numbers: {value!r}") from exc
    if len(nums) == 6:  # OGC 3-D bbox: drop the heights
        nums = [nums[0], nums[1], nums[3], nums[4]]
    minlon, minlat, maxlon, maxlat = nums
    if not (-180 <= minlon <= 180 and -180 <= maxlon <= 180 and -90 <= minlat <= 90
            and -90 <= maxlat <= 90):
        raise ParameterError("bbox", "outside WGS84 range (lon -180..180, lat -90..90)")
    if minlon > maxlon or minlat > maxlat:
        raise ParameterError("bbox", "min must not exceed max (minlon,minlat,maxlon,maxlat)")
    return (minlon, minlat, maxlon, maxlat)


def parse_time(value: str, name: str, *, end: bool = False) -> datetime:
    """ISO date/time, or ``YYYY-MM`` (a month). An end date is exclusive of the next
    day/month so that ``end=2018-12`` includes all of December."""
    v = value.strip()
    try:
        if len(v) == 7 and v[4] == "-":
            t = pd.Timestamp(v + "-01")
            return (t + pd.DateOffset(months=1)).to_pydatetime() if end else t.to_pydatetime()
        t = pd.Timestamp(v)
    except (ValueError, TypeError) as exc:
        raise ParameterError(name, f"{value!r} is not a date (YYYY-MM, YYYY-MM-DD or ISO "
                                   "date-time)") from exc
    if t.tzinfo is not None:
        t = t.tz_convert("UTC").tz_localize(None)
    if end and len(v) == 10:
        return (t + timedelta(days=1)).to_pydatetime()
    return t.to_pydatetime()


@dataclass(frozen=True)
class TimeWindow:
    start: datetime | None
    end: datetime | None  # exclusive

    def as_dict(self) -> dict[str, str | None]:
        return {"start": self.start.isoformat() if self.start else None,
                "end_exclusive": self.end.isoformat() if self.end else None}


def parse_window(start: str | None, end: str | None, datetime_param: str | None = None
                 ) -> TimeWindow:
    """``start``/``end`` or an OGC ``datetime`` interval (``a/b``, ``../b``, ``a/..``)."""
    if datetime_param:
        if "/" in datetime_param:
            a, b = datetime_param.split("/", 1)
            start = None if a in ("", "..") else a
            end = None if b in ("", "..") else b
        else:
            start = end = datetime_param
    s = parse_time(start, "start") if start else None
    e = parse_time(end, "end", end=True) if end else None
    if s and e and s >= e:
        raise ParameterError("end", "the time window ends before it starts")
    return TimeWindow(s, e)


def time_window(start: str | None = Query(None, description="inclusive: YYYY-MM, YYYY-MM-DD "
                                                             "or ISO date-time"),
                end: str | None = Query(None, description="inclusive date or month "
                                                          "(YYYY-MM covers the whole month)"),
                datetime_: str | None = Query(None, alias="datetime",
                                              description="OGC interval a/b, ../b or a/..")
                ) -> TimeWindow:
    return parse_window(start, end, datetime_)


def bbox_param(bbox: str | None = Query(None, description="minlon,minlat,maxlon,maxlat (WGS84)")
               ) -> tuple[float, float, float, float] | None:
    return parse_bbox(bbox)


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int


def paging(request: Request,
           limit: int = Query(100, ge=1, description="items per page"),
           offset: int = Query(0, ge=0, le=2**62)) -> Page:
    cap = request.app.state.settings.page_size_max
    if limit > cap:
        raise ParameterError("limit", f"at most {cap} per page")
    return Page(limit=limit, offset=offset)


def csv_list(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(v.strip() for v in value.split(",") if v.strip())


def categories_param(category: list[str] | None = Query(
        None, description="category (repeat or comma-separate for several)")) -> tuple[str, ...]:
    out: list[str] = []
    for c in category or []:
        out.extend(csv_list(c))
    for c in out:
        check_length(c, "category", MAX_CATEGORY)
    return tuple(out)


__all__ = ["Depends", "Page", "TimeWindow", "bbox_param", "categories_param", "csv_list",
           "get_settings_dep", "paging", "parse_bbox", "parse_window", "time_window"]
