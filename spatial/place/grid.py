"""Square grids in metres: ids, the squares over an area, and point look-up.

A grid square is ``"grid:<size>:<col>:<row>"`` with ``col = floor(x / size)``
and ``row = floor(y / size)`` in a projected CRS (metres), so squares are
aligned on multiples of the size from the CRS origin and the same square has
the same id in every study area.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from spatial.errors import ParameterError

IntArray = npt.NDArray[np.int64]


def _fmt_size(cell_size_m: float) -> str:
    return f"{cell_size_m:g}"


def grid_colrow(ids: npt.ArrayLike) -> tuple[IntArray, IntArray]:
    parts = pd.Series(np.asarray(ids, dtype=object), dtype="str").str.split(":", expand=True)
    if parts.shape[1] != 4 or not (parts[0] == "grid").all():
        raise ParameterError("ids", "grid unit ids must be 'grid:<size>:<col>:<row>'")
    cols = np.asarray(parts[2].astype("int64").to_numpy(), dtype=np.int64)
    rows = np.asarray(parts[3].astype("int64").to_numpy(), dtype=np.int64)
    return cols, rows


def grid_table(ids: npt.ArrayLike) -> tuple[int, int, IntArray]:
    """``(col_min, row_min, table)`` with ``table[col - col_min, row - row_min]`` the
    position of the square in ``ids``, -1 where there is none."""
    cols, rows = grid_colrow(ids)
    cmin, rmin = int(cols.min()), int(rows.min())
    table = np.full((int(cols.max()) - cmin + 1, int(rows.max()) - rmin + 1), -1,
                    dtype=np.int64)
    table[cols - cmin, rows - rmin] = np.arange(len(cols), dtype=np.int64)
    return cmin, rmin, table


def squares_over(area_m: Any, size: float, max_cells: int
                 ) -> tuple[IntArray, IntArray, npt.NDArray[np.object_]]:
    """Columns, rows and boxes (metres) of the squares of side ``size`` intersecting
    ``area_m``, ordered by row (south to north) then column (west to east)."""
    minx, miny, maxx, maxy = area_m.bounds
    c0, c1 = int(np.floor(minx / size)), int(np.floor(maxx / size))
    r0, r1 = int(np.floor(miny / size)), int(np.floor(maxy / size))
    ncand = (c1 - c0 + 1) * (r1 - r0 + 1)
    if ncand > max_cells:
        raise ParameterError("cell_size_m", f"{ncand} squares of {size:g} m over this area; "
                             f"use larger squares (limit {max_cells})")
    row_grid, col_grid = np.meshgrid(np.arange(r0, r1 + 1, dtype=np.int64),
                                     np.arange(c0, c1 + 1, dtype=np.int64), indexing="ij")
    cols, rows = col_grid.ravel(), row_grid.ravel()  # row-major: row, then column
    boxes = shapely.box(cols * size, rows * size, (cols + 1) * size, (rows + 1) * size)
    shapely.prepare(area_m)
    hit = shapely.intersects(area_m, boxes)
    return cols[hit], rows[hit], boxes[hit]


def grid_ids(size: float, cols: IntArray, rows: IntArray) -> npt.NDArray[np.object_]:
    """``"grid:<size>:<col>:<row>"`` ids."""
    prefix = f"grid:{_fmt_size(size)}:"
    ids = (prefix + pd.Series(cols).astype(str) + ":" + pd.Series(rows).astype(str))
    return np.asarray(ids.to_numpy(dtype=object), dtype=object)


def locate_in_grid(xa: npt.NDArray[np.float64], ya: npt.NDArray[np.float64], size: float,
                   cmin: int, rmin: int, table: IntArray) -> IntArray:
    """Position of the square holding each point (metres), -1 outside or non-finite."""
    ok = np.isfinite(xa) & np.isfinite(ya)
    col = np.full(xa.size, -1, dtype=np.int64)
    row = np.full(xa.size, -1, dtype=np.int64)
    col[ok] = np.floor(xa[ok] / size).astype(np.int64) - cmin
    row[ok] = np.floor(ya[ok] / size).astype(np.int64) - rmin
    inside = ok & (col >= 0) & (col < table.shape[0]) & (row >= 0) & (row < table.shape[1])
    out = np.full(xa.size, -1, dtype=np.int64)
    out[inside] = table[col[inside], row[inside]]
    return out
