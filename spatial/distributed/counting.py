"""Counts per unit and window over a batch dataset, exactly the single-machine counts.

Each Parquet part is read with the window and category filter applied, its
events are located with :func:`spatial.place.units.locate_points` (the function
the single-machine counts use, with the same lon/lat, x/y and stored H3 cell),
and the per-unit counts of the parts are summed. Integer sums do not depend
on the order they are added in, so the counts are exactly those of locating
every event at once.

A first pass (:func:`scan`) gives what the study area and the units depend on:
the selected events' lon/lat bounding box (the default study area of the
single-machine counts), their CRS codes, and their time and location precisions
(for the warnings).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from spatial.errors import ParameterError
from spatial.place import units as unitsmod

from . import dataset as ds

_SCAN_COLUMNS = ("time", "category", "lon", "lat", "crs_epsg", "time_precision",
                 "location_precision")
_COUNT_COLUMNS = ("time", "category", "lon", "lat", "x", "y", "crs_epsg", "h3")


@dataclass(frozen=True)
class Selection:
    """Events of one layer, categories (all when empty) and window ``[start, end)``."""

    layer: str
    categories: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None

    def parts(self, folder: str | Path) -> list[str]:
        return ds.parts(Path(folder), self.layer, self.start, self.end)

    def read(self, path: str, columns: tuple[str, ...]) -> pd.DataFrame:
        return ds.read_part(path, columns, self.start, self.end, self.categories)


@dataclass
class Extent:
    """What the first pass found about the selected events."""

    events: int
    bbox: tuple[float, float, float, float] | None  # lon/lat degrees
    epsg_counts: dict[int, int]
    month_precision: bool
    snapped: bool
    rounded: bool
    partitions: int
    seconds: float = 0.0

    @property
    def epsg(self) -> int | None:
        """The most common CRS of x/y (the smallest code on a tie), None without events."""
        if not self.epsg_counts:
            return None
        return min(self.epsg_counts, key=lambda e: (-self.epsg_counts[e], e))


@dataclass
class UnitTally:
    """Events per unit summed over the parts.

    ``counts``: events inside the study area per unit (edge units clipped);
    ``whole_unit_counts``: per unit ignoring the study area (for callers that may
    count only whole units); ``clipped``: events in an edge unit but outside the area.
    """

    counts: np.ndarray
    whole_unit_counts: np.ndarray
    clipped: int
    selected: int
    partitions: int
    seconds: float = 0.0
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def counted(self) -> int:
        return int(self.counts.sum())


def groups(client: Any, paths: list[str], per_thread: int = 4) -> list[list[str]]:
    """``paths`` in about ``per_thread`` groups per worker thread, consecutive paths
    together: one task reads a group, so many small parts cost few tasks."""
    if not paths:
        return []
    threads = sum(int(w.get("nthreads", 1)) for w in
                  client.scheduler_info().get("workers", {}).values()) or 1
    n = min(len(paths), max(1, per_thread * threads))
    bounds = np.linspace(0, len(paths), n + 1).round().astype(int)
    return [paths[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]


def read_group(sel: Selection, paths: list[str], columns: tuple[str, ...]) -> pd.DataFrame:
    """The selected events of several parts as one frame."""
    frames = [sel.read(p, columns) for p in paths]
    frames = [f for f in frames if len(f)] or frames[:1]
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def _scan_part(paths: list[str], sel: Selection) -> dict[str, Any]:
    frame = read_group(sel, paths, _SCAN_COLUMNS)
    if frame.empty:
        return {"events": 0}
    return {"events": len(frame),
            "bbox": (float(frame["lon"].min()), float(frame["lat"].min()),
                     float(frame["lon"].max()), float(frame["lat"].max())),
            "epsg": {int(str(k)): int(v) for k, v in frame["crs_epsg"].value_counts().items()},
            "month": bool((frame["time_precision"] == "month").any()),
            "snapped": bool((frame["location_precision"] == "snapped").any()),
            "rounded": bool((frame["location_precision"] == "rounded").any())}


def scan(client: Any, folder: str | Path, sel: Selection) -> Extent:
    """The selected events' number, lon/lat bounds, CRS codes and precisions."""
    t0 = time.perf_counter()
    paths = sel.parts(folder)
    found = client.gather(client.map(_scan_part, groups(client, paths), sel=sel, pure=False))
    got = [f for f in found if f["events"]]
    epsg: dict[int, int] = {}
    for f in got:
        for k, v in f["epsg"].items():
            epsg[k] = epsg.get(k, 0) + v
    bbox = None
    if got:
        boxes = np.array([f["bbox"] for f in got], dtype=np.float64)
        bbox = (float(boxes[:, 0].min()), float(boxes[:, 1].min()),
                float(boxes[:, 2].max()), float(boxes[:, 3].max()))
    return Extent(events=sum(f["events"] for f in got), bbox=bbox, epsg_counts=epsg,
                  month_precision=any(f["month"] for f in got),
                  snapped=any(f["snapped"] for f in got), rounded=any(f["rounded"] for f in got),
                  partitions=len(paths), seconds=time.perf_counter() - t0)


def _count_part(paths: list[str], sel: Selection, units: unitsmod.UnitSet
                ) -> tuple[np.ndarray, np.ndarray, int, int]:
    n = len(units)
    frame = read_group(sel, paths, _COUNT_COLUMNS)
    if frame.empty:
        return np.zeros(n, np.int64), np.zeros(n, np.int64), 0, 0
    located = locate(units, frame)
    return (unitsmod.count(units, located.index), unitsmod.count(units, located.in_units),
            located.clipped, len(frame))


def locate(units: unitsmod.UnitSet, frame: pd.DataFrame) -> unitsmod.Located:
    """:func:`spatial.place.units.locate_points` of a part's events, as the
    single-machine counts call it (x/y where their CRS is the units', stored cells)."""
    epsg = frame["crs_epsg"].to_numpy()
    same = bool(len(epsg)) and bool((epsg == epsg[0]).all())
    return unitsmod.locate_points(
        units, frame["lon"].to_numpy(np.float64), frame["lat"].to_numpy(np.float64),
        frame["x"].to_numpy(np.float64), frame["y"].to_numpy(np.float64),
        h3_finest=frame["h3"].to_numpy(np.uint64),
        xy_epsg=int(epsg[0]) if same else -1)


def count_units(client: Any, folder: str | Path, sel: Selection,
                units: unitsmod.UnitSet) -> UnitTally:
    """Selected events per unit of ``units``, summed over the dataset's parts."""
    t0 = time.perf_counter()
    if len(units) == 0:
        raise ParameterError("unit", "the study area has no units")
    paths = sel.parts(folder)
    n = len(units)
    counts = np.zeros(n, np.int64)
    whole = np.zeros(n, np.int64)
    clipped = selected = 0
    if paths:
        [shared] = client.scatter([units], broadcast=True, hash=False)
        futures = client.map(_count_part, groups(client, paths), sel=sel, units=shared,
                             pure=False)
        for c, w, k, s in client.gather(futures):
            counts += c
            whole += w
            clipped += k
            selected += s
    return UnitTally(counts=counts, whole_unit_counts=whole, clipped=clipped,
                     selected=selected, partitions=len(paths),
                     seconds=time.perf_counter() - t0)
