"""Placing events: H3 cells and exact point-in-polygon, vectorised.

Every function here works on whole arrays; there is no per-event Python loop.

* H3 indexing goes through h3ronpy (Rust, Arrow arrays), which indexes about
  3-4 times as many points per second as calling :func:`h3.latlng_to_cell` in a
  loop (see ``benchmarks/bench_placement.py``).
* Cells are ``uint64`` H3 indexes; ``0`` (never a valid H3 index) marks "no
  cell" (missing or invalid coordinates).
* Each distinct point is indexed once and each distinct cell spelt once
  (:func:`distinct_points`): police.uk snaps its locations to map points, so
  178,243 events are about 90,000 points and far fewer cells. A cell is a
  function of the point, so the answer is the same as indexing every row.
* Polygon assignment is exact. It never goes through H3 cell centres: a cell
  straddling a beat boundary would put about one point in ten in the wrong beat.

References
----------
Uber Technologies, *H3: a hexagonal hierarchical geospatial indexing system*,
https://h3geo.org/docs/core-library/h3Indexing (index bit layout, resolutions).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from spatial.errors import ParameterError
from spatial.place import crs

UInt64Array = npt.NDArray[np.uint64]
IntArray = npt.NDArray[np.int64]

#: Finest H3 resolution.
MAX_RESOLUTION = 15


def _check_resolution(resolution: int) -> int:
    if isinstance(resolution, bool) or not isinstance(resolution, int | np.integer):
        raise ParameterError("resolution", f"must be an integer 0-15, got {resolution!r}")
    if not 0 <= int(resolution) <= MAX_RESOLUTION:
        raise ParameterError("resolution", f"must be 0-15, got {resolution}")
    return int(resolution)


def h3_cells(lon: npt.ArrayLike, lat: npt.ArrayLike, resolution: int) -> UInt64Array:
    """H3 cells of WGS84 points, vectorised.

    Parameters
    ----------
    lon, lat : array_like of float
        WGS84 longitude and latitude in degrees (x before y, the remap order;
        :func:`spatial.place.crs.h3_latlng` swaps them for H3).
    resolution : int
        H3 resolution, 0-15 (res 8: cells of about 0.74 km²; res 9: 0.1 km²).

    Returns
    -------
    numpy.ndarray of uint64
        The H3 index of each point; ``0`` where a coordinate is NaN/inf or
        outside -90..90 / -180..180.
    """
    res = _check_resolution(resolution)
    lon_a = np.asarray(lon, dtype="float64").ravel()
    lat_a = np.asarray(lat, dtype="float64").ravel()
    if lon_a.shape != lat_a.shape:
        raise ParameterError("lon/lat", f"lengths differ ({lon_a.size} and {lat_a.size})")
    out = np.zeros(lon_a.size, dtype=np.uint64)
    ok = np.isfinite(lon_a) & np.isfinite(lat_a) & crs.in_bounds(lon_a, lat_a, crs.WORLD_BOUNDS)
    if not ok.any():
        return out
    from h3ronpy.vector import coordinates_to_cells

    lon_ok, lat_ok = lon_a[ok], lat_a[ok]
    first, inverse = distinct_points(lon_ok, lat_ok)
    h3_lat, h3_lng = crs.h3_latlng(lon_ok[first], lat_ok[first])
    cells = coordinates_to_cells(np.ascontiguousarray(h3_lat), np.ascontiguousarray(h3_lng), res)
    out[ok] = np.asarray(cells, dtype=np.uint64).take(inverse)
    return out


def distinct_points(x: npt.NDArray[np.float64],
                    y: npt.NDArray[np.float64]) -> tuple[IntArray, IntArray]:
    """The distinct ``(x, y)`` points: first row of each, and each row's point.

    Points are told apart by their bits (``-0.0`` is not ``0.0``), so a
    function of the point computed on ``x[first], y[first]`` and taken by
    ``inverse`` gives every row exactly what it would get alone.

    Returns
    -------
    first : numpy.ndarray of int64
        Row of the first occurrence of each distinct point, in order of appearance.
    inverse : numpy.ndarray of int64
        Index into ``first`` of each row's point.
    """
    xa = np.ascontiguousarray(x, dtype=np.float64)
    ya = np.ascontiguousarray(y, dtype=np.float64)
    x_codes, x_values = pd.factorize(xa.view(np.int64), sort=False)
    y_codes, y_values = pd.factorize(ya.view(np.int64), sort=False)
    pair = x_codes.astype(np.int64) * max(len(y_values), 1) + y_codes
    inverse, distinct = pd.factorize(pair, sort=False)
    first = np.empty(len(distinct), dtype=np.int64)
    first[inverse[::-1]] = np.arange(len(pair) - 1, -1, -1, dtype=np.int64)
    return first, inverse.astype(np.int64, copy=False)


def _valid(cells: UInt64Array) -> npt.NDArray[np.bool_]:
    """Element-wise validity of H3 cell indexes (0 and garbage are invalid)."""
    import h3ronpy

    if cells.size == 0:
        return np.zeros(0, dtype=bool)
    return np.asarray(h3ronpy.cells_valid(cells, booleanarray=True), dtype=bool)


def cells_to_str(cells: npt.ArrayLike) -> npt.NDArray[np.object_]:
    """H3 indexes as their 15-character hexadecimal strings.

    Parameters
    ----------
    cells : array_like of uint64

    Returns
    -------
    numpy.ndarray of object
        ``str`` per cell (e.g. ``'88195a2a5dfffff'``); ``None`` where the
        index is 0 or not a valid H3 cell.
    """
    import h3ronpy

    arr = np.ascontiguousarray(np.asarray(cells, dtype=np.uint64).ravel())
    codes, distinct = pd.factorize(arr, sort=False)  # each distinct cell spelt once
    distinct = np.ascontiguousarray(np.asarray(distinct, dtype=np.uint64))
    spelt = np.full(distinct.size, None, dtype=object)
    ok = _valid(distinct)
    if ok.any():
        spelt[ok] = np.asarray(h3ronpy.cells_to_string(np.ascontiguousarray(distinct[ok])),
                               dtype=object)
    return np.asarray(spelt.take(codes), dtype=object)


def cells_to_arrow(cells: npt.ArrayLike) -> Any:
    """:func:`cells_to_str` as an Arrow string array (h3ronpy's own output, with no
    ``str`` per cell); null where the index is 0 or not a valid H3 cell."""
    import h3ronpy
    import pyarrow as pa

    arr = np.ascontiguousarray(np.asarray(cells, dtype=np.uint64).ravel())
    ok = _valid(arr) if arr.size else np.zeros(0, dtype=bool)
    if not ok.all():
        return pa.array(cells_to_str(arr), type=pa.string())
    return pa.array(h3ronpy.cells_to_string(arr)).cast(pa.string())


def cells_from_str(cells: Sequence[str | None] | npt.ArrayLike) -> UInt64Array:
    """H3 hexadecimal strings to uint64 indexes.

    Parameters
    ----------
    cells : sequence of str
        Hexadecimal H3 ids; ``None``, ``''`` and NaN give 0.

    Raises
    ------
    ParameterError
        If a non-empty string is not a valid H3 cell (the first such is named).
    """
    import h3ronpy

    values = pd.array(np.asarray(cells, dtype=object).ravel(), dtype="string")
    out = np.zeros(len(values), dtype=np.uint64)
    present = np.asarray((~values.isna()) & (values != ""), dtype=bool)
    if not present.any():
        return out
    strings = values[present].to_numpy(dtype=object).tolist()
    try:
        parsed = h3ronpy.cells_parse(strings)
        parsed_u64 = np.asarray(parsed, dtype=np.uint64)
    except (ValueError, TypeError) as exc:
        bad = next((s for s in strings if not _parses(s)), strings[0])
        raise ParameterError("cells", f"{bad!r} is not an H3 cell id") from exc
    ok = _valid(parsed_u64)
    if not ok.all():
        bad = strings[int(np.flatnonzero(~ok)[0])]
        raise ParameterError("cells", f"{bad!r} is not an H3 cell id")
    out[present] = parsed_u64
    return out


def _parses(value: str) -> bool:
    import h3

    try:
        return bool(h3.is_valid_cell(value))
    except (ValueError, TypeError):
        return False


def cell_resolutions(cells: npt.ArrayLike) -> npt.NDArray[np.int8]:
    """Resolution of each H3 index (bits 52-55 of the index); -1 for 0."""
    arr = np.asarray(cells, dtype=np.uint64)
    res = ((arr >> np.uint64(52)) & np.uint64(0xF)).astype(np.int8)
    return np.where(arr == 0, np.int8(-1), res).astype(np.int8)


def parent_cells(cells: npt.ArrayLike, resolution: int) -> UInt64Array:
    """Ancestors at a coarser ``resolution`` of stored (finest) cells.

    Events are indexed once at the finest resolution any analysis needs; a
    coarser analysis derives its cells from them instead of re-indexing.

    Parameters
    ----------
    cells : array_like of uint64
        H3 indexes at a resolution >= ``resolution``; 0 means no cell.
    resolution : int
        Target resolution, 0-15.

    Returns
    -------
    numpy.ndarray of uint64
        Parent of each cell (the cell itself when already at ``resolution``);
        0 where the input is 0.

    Raises
    ------
    ParameterError
        If a cell is coarser than ``resolution`` (a parent cannot be finer).
    """
    import h3ronpy

    res = _check_resolution(resolution)
    arr = np.ascontiguousarray(np.asarray(cells, dtype=np.uint64).ravel())
    out = np.zeros(arr.size, dtype=np.uint64)
    ok = arr != 0
    if not ok.any():
        return out
    have = cell_resolutions(arr[ok])
    if int(have.min()) < res:
        raise ParameterError(
            "resolution",
            f"cells are at resolution {int(have.min())}, coarser than the {res} asked for")
    out[ok] = np.asarray(h3ronpy.change_resolution(np.ascontiguousarray(arr[ok]), res),
                         dtype=np.uint64)
    return out


def assign_polygons(x: npt.ArrayLike, y: npt.ArrayLike, polygons: npt.ArrayLike) -> IntArray:
    """Index of the polygon containing each point: exact point-in-polygon.

    Parameters
    ----------
    x, y : array_like of float
        Point coordinates in the same CRS as ``polygons`` (metres in the
        projected CRS for remap's events: ``x``/``y`` of the events frame).
    polygons : array_like of shapely Polygon/MultiPolygon
        The units, e.g. beats projected to the same CRS. ``None``/empty
        entries never receive points.

    Returns
    -------
    numpy.ndarray of int64
        Position in ``polygons`` of the polygon that intersects (contains or
        touches) each point; ``-1`` outside every polygon or for NaN
        coordinates. A point on a border shared by several polygons goes to
        the lowest index, so the answer is deterministic.

    Notes
    -----
    Points are sorted by x once; each polygon whose bounding box meets the
    points' box then tests only the points in its bounding box (a binary
    search on x, a comparison on y) with ``shapely.intersects_xy`` on the
    prepared polygon. The Python loop runs over those polygons, never over
    points. Cost ~ O(n log n + sum of candidates).

    Kept rather than a spatial join because it is faster with the same
    answer: 8.8× faster than building a points GeoDataFrame and
    ``geopandas.sjoin(predicate="intersects")`` for the 178,243 police.uk
    points in the 345 Sheffield LSOAs (0.034 s against 0.301 s), 13.3× for
    1,000,000 synthetic Sheffield points (0.354 s against 4.713 s), identical
    assignments (``benchmarks/bench_placement.py``, ``benchmarks/RESULTS.md``).
    """
    xa = np.asarray(x, dtype="float64").ravel()
    ya = np.asarray(y, dtype="float64").ravel()
    if xa.shape != ya.shape:
        raise ParameterError("x/y", f"lengths differ ({xa.size} and {ya.size})")
    geoms = np.asarray(polygons, dtype=object).ravel()
    out = np.full(xa.size, -1, dtype=np.int64)
    if xa.size == 0 or geoms.size == 0:
        return out
    finite = np.isfinite(xa) & np.isfinite(ya)
    order = np.flatnonzero(finite)
    order = order[np.argsort(xa[order], kind="stable")]
    xs, ys = xa[order], ya[order]
    assigned = np.full(order.size, -1, dtype=np.int64)
    usable = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    bounds = shapely.bounds(geoms)
    if xs.size:  # only polygons whose box meets the points' box (a chunk covers one area)
        usable &= ((bounds[:, 0] <= xs[-1]) & (bounds[:, 2] >= xs[0])
                   & (bounds[:, 1] <= ys.max()) & (bounds[:, 3] >= ys.min()))
    for i in np.flatnonzero(usable):
        minx, miny, maxx, maxy = bounds[i]
        lo = int(np.searchsorted(xs, minx, side="left"))
        hi = int(np.searchsorted(xs, maxx, side="right"))
        if lo >= hi:
            continue
        cand = lo + np.flatnonzero((assigned[lo:hi] < 0) & (ys[lo:hi] >= miny)
                                   & (ys[lo:hi] <= maxy))
        if cand.size == 0:
            continue
        geom = geoms[i]
        shapely.prepare(geom)
        hit = shapely.intersects_xy(geom, xs[cand], ys[cand])
        assigned[cand[hit]] = i
    out[order] = assigned
    return out
