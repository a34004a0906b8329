"""H3 cells as units: covering a study area and finding the cell of each point.

Cells of one resolution intersecting the study area, so that every point
inside the area falls in one of them (h3ronpy ``ContainmentMode.Covers``:
cells whose boundary intersects the area, plus the cell covering an area
smaller than a cell). Ids are the 15-character hex cell ids.

H3 is not exactly nested: a res-r cell's seven children do not tile it. On
1M random points over Sheffield, the H3 parent at res 7-9 of a point's finer
cell differs from the res-r cell containing the point for 6-7 % of points,
and a few points inside the study area get a parent outside the unit set. So
points are located by indexing ``lon``/``lat`` at the unit resolution
(h3ronpy, ~2 M points/s), which agrees with the drawn hexagons; stored finer
cells are only a fallback when coordinates are unavailable.

References
----------
Uber Technologies (2018-) *H3: a hexagonal hierarchical geospatial indexing
system*, https://h3geo.org (resolutions, ``grid_disk``, containment).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from spatial.errors import ParameterError
from spatial.place import placement

IntArray = npt.NDArray[np.int64]
UInt64Array = npt.NDArray[np.uint64]

#: Refuse H3 unit sets with more cells than this.
MAX_H3_CELLS = 2_000_000


def covering_cells(area: Any, res: int) -> UInt64Array:
    """Sorted unique H3 cells (uint64) at resolution ``res`` covering a WGS84 polygon."""
    from h3ronpy import ContainmentMode
    from h3ronpy.vector import geometry_to_cells

    cells = np.asarray(geometry_to_cells(area, res, containment_mode=ContainmentMode.Covers),
                       dtype=np.uint64)
    cells = np.unique(cells[cells != 0])
    if cells.size > MAX_H3_CELLS:
        raise ParameterError("resolution", f"{cells.size} cells at resolution {res}; "
                             f"choose a coarser resolution (limit {MAX_H3_CELLS})")
    return cells


def point_cells(res: int, lon: npt.ArrayLike | None, lat: npt.ArrayLike | None,
                h3_finest: npt.ArrayLike | None) -> UInt64Array:
    """The res-``res`` cell of each point: from ``lon``/``lat`` when given (see the
    module notes), from stored cells when they are at ``res`` or coordinates are
    missing (0 = none)."""
    if h3_finest is not None:
        stored = np.asarray(h3_finest, dtype=np.uint64).ravel()
        have = placement.cell_resolutions(stored)
        if lon is None or lat is None or bool(np.all((have == res) | (have < 0))):
            return placement.parent_cells(stored, res)
        return placement.h3_cells(lon, lat, res)
    if lon is None or lat is None:
        raise ParameterError("lon/lat", "needed to locate points in H3 units")
    return placement.h3_cells(lon, lat, res)


def positions(sorted_cells: UInt64Array, order: IntArray, cells: UInt64Array) -> IntArray:
    """Position in the unit set of each cell (binary search), -1 when not in it."""
    pos = np.searchsorted(sorted_cells, cells)
    pos_c = np.minimum(pos, len(sorted_cells) - 1)
    found = (cells != 0) & (sorted_cells[pos_c] == cells)
    return np.asarray(np.where(found, order[pos_c], -1), dtype=np.int64)
