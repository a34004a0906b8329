"""Where within target + buffer the events moved: SPPT over H3 cells and dual kernel density.

References
----------
Andresen, M. A. (2009). Testing for similarity in area-based spatial
    patterns: a nonparametric Monte Carlo approach. *Applied Geography* 29(3).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from spatial.errors import InsufficientDataError
from spatial.evaluation.areas import OperationAreas
from spatial.evaluation.counting import (
    EventArrays,
    MeasuredLayer,
    Placement,
    _distinct,
    _per_point,
)
from spatial.evaluation.sppt import SPPTResult, sppt
from spatial.place import crs
from spatial.place import units as unitsmod

IntArray = npt.NDArray[np.int64]


def sppt_units(areas: OperationAreas, resolution: int) -> unitsmod.UnitSet:
    """H3 cells covering the target and buffer (zeros included)."""
    outer_wgs = crs.geometry_to_wgs84(areas.outer, areas.epsg)[()]
    return unitsmod.h3_units(outer_wgs, resolution, description="operation target + buffer")


def cell_index(events: EventArrays, placed: Placement, units: unitsmod.UnitSet) -> IntArray:
    """The H3 cell (position in ``units.ids``) of every event inside target + buffer in
    the before or after window, ``-1`` for every other event.

    Located once per distinct position (:func:`spatial.place.units.locate` answers
    point by point, so the same as locating each event), for every layer's
    :func:`cell_counts`."""
    out = np.full(len(events), -1, dtype=np.int64)
    sel = np.flatnonzero((placed.area >= 0) & (placed.area <= 1)
                         & ((placed.window == 0) | (placed.window == 2)))
    if sel.size:
        uniq, inverse = _distinct(events.lon[sel], events.lat[sel])
        out[sel] = _per_point(unitsmod.locate(units, uniq.real, uniq.imag), inverse)
    return out


def cell_counts(events: EventArrays, placed: Placement, units: unitsmod.UnitSet,
                spec: MeasuredLayer, *, located: IntArray | None = None) -> dict[str, IntArray]:
    """Before and after counts per H3 cell of events inside target + buffer.

    ``located``: :func:`cell_index` of these events, when known already."""
    cell = located if located is not None else cell_index(events, placed, units)
    mask = spec.matches(events.layer, events.category) & (placed.area >= 0) & (placed.area <= 1)
    out = {}
    for j, name in ((0, "before"), (2, "after")):
        m = mask & (placed.window == j)
        out[name] = unitsmod.count(units, cell[m])
    return out


@dataclass(frozen=True, eq=False)
class CellChange:
    """The SPPT of one layer over the H3 cells of target + buffer, before against after.

    Attributes
    ----------
    cell_ids : numpy.ndarray of str
        H3 cell ids, aligned with the arrays of ``result``.
    result : SPPTResult
        :func:`spatial.evaluation.sppt.sppt` of the before and after counts.
    h3_resolution : int
    """

    cell_ids: npt.NDArray[np.object_]
    result: SPPTResult
    h3_resolution: int

    @property
    def changed(self) -> IntArray:
        """Positions of the cells whose share changed significantly (none if untested)."""
        if self.result.reason is not None:
            return np.zeros(0, dtype=np.int64)
        return np.flatnonzero(self.result.s == 0)


def cell_change(units: unitsmod.UnitSet, before: IntArray, after: IntArray, alpha: float,
                h3_resolution: int) -> CellChange:
    """Andresen's SPPT of before against after counts per cell (see :class:`CellChange`)."""
    return CellChange(cell_ids=np.asarray(units.ids, dtype=object),
                      result=sppt(before, after, alpha=alpha), h3_resolution=h3_resolution)


def density_change(events: EventArrays, placed: Placement, areas: OperationAreas,
                   spec: MeasuredLayer, lengths: Mapping[str, float | None], *,
                   cell_size_m: float = 50.0, bandwidth_m: float = 200.0,
                   include_surface: bool = False) -> dict[str, Any]:
    """After minus before kernel density over target + buffer, events per km² per 30 days.

    Both surfaces use the same grid (the target + buffer bounds padded by
    one bandwidth), the same Gaussian kernel and bandwidth
    (:func:`spatial.stats.density.kde`), and weights 30/L (L the effective window
    length in days), so unequal windows compare as rates.
    """
    from spatial.stats import density

    lb, la = lengths.get("before"), lengths.get("after")
    if not lb or not la:
        return {"available": False, "reason": "a window has no effective length for this layer"}
    minx, miny, maxx, maxy = areas.outer.bounds
    pad = bandwidth_m
    bounds = (minx - pad, miny - pad, maxx + pad, maxy + pad)
    reach = 5.0 * bandwidth_m
    mask = (spec.matches(events.layer, events.category)
            & (events.x >= minx - pad - reach) & (events.x <= maxx + pad + reach)
            & (events.y >= miny - pad - reach) & (events.y <= maxy + pad + reach))
    surfaces = []
    for j, length in ((0, lb), (2, la)):
        m = mask & (placed.window == j)
        try:
            surfaces.append(density.kde(events.x[m], events.y[m], cell_size_m=cell_size_m,
                                        bandwidth_m=bandwidth_m, kernel="gaussian",
                                        bounds=bounds,
                                        weights=np.full(int(m.sum()), 30.0 / float(length))))
        except InsufficientDataError:
            which = "before" if j == 0 else "after"
            return {"available": False,
                    "reason": f"no events near the target and buffer in the {which} window"}
    diff = density.dual(surfaces[1], surfaces[0], mode="difference")
    grid = diff.density
    xc = (diff.x_edges[:-1] + diff.x_edges[1:]) / 2.0
    yc = (diff.y_edges[:-1] + diff.y_edges[1:]) / 2.0
    hi = np.unravel_index(int(np.argmax(grid)), grid.shape)
    lo = np.unravel_index(int(np.argmin(grid)), grid.shape)
    pts_lon, pts_lat = crs.to_wgs84(np.array([xc[hi[1]], xc[lo[1]]]),
                                    np.array([yc[hi[0]], yc[lo[0]]]), areas.epsg)
    means = density.mean_per_unit(diff, [areas.target, areas.buffer])
    out: dict[str, Any] = {
        "available": True,
        "units": "events per km² per 30 days, after minus before",
        "largest_rise": {"value": float(grid[hi]), "lon": float(pts_lon[0]),
                         "lat": float(pts_lat[0])},
        "largest_fall": {"value": float(grid[lo]), "lon": float(pts_lon[1]),
                         "lat": float(pts_lat[1])},
        "mean_change": {"target": float(means[0]), "buffer": float(means[1])},
        "grid": {"rows": int(grid.shape[0]), "columns": int(grid.shape[1]),
                 "cell_size_m": cell_size_m, "bandwidth_m": bandwidth_m, "kernel": "gaussian",
                 "crs": crs.crs_label(areas.epsg),
                 "x_min": float(diff.x_edges[0]), "y_min": float(diff.y_edges[0])},
        "warnings": list(diff.warnings),
    }
    if include_surface:
        out["surface"] = np.round(grid, 4).tolist()
    return out
