"""Reusable query dependencies: bbox, time window, paging, event filters."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Depends, Query, Request

from service.app.analysis import parse_bbox
from service.settings import Settings
from spatial.errors import ParameterError
from spatial.limits import MAX_CATEGORY, check_length
from spatial.timewindow import TimeWindow, parse_window


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


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


__all__ = ["Depends", "Page", "bbox_param", "categories_param", "csv_list",
           "get_settings_dep", "paging", "time_window"]
