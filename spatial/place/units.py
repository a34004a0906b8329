"""Spatial units, study areas and neighbours.

A :class:`UnitSet` is the complete list of units an analysis counts over:
every H3 cell, boundary polygon or grid square of the study area, *including
those with no events*. Zeros are data (a cell inside the area with no events
is a zero, not a missing value); dropping them is the most common silent
error in H3 hotspot work, and it biases Gi* and Moran's I.

Three kinds of unit:

``h3``
    Cells of one resolution intersecting the study area, so that every point
    inside the area falls in one of them (h3ronpy ``ContainmentMode.Covers``:
    cells whose boundary intersects the area, plus the cell covering an area
    smaller than a cell). Ids are the 15-character hex cell ids.
``boundary``
    Polygons from a boundary set (beats, neighbourhoods, LSOAs). Ids are
    ``"<set>:<unit_id>"``.
``grid``
    A square fishnet in metres (BNG in Great Britain, else UTM), aligned on
    multiples of the cell size from the CRS origin so the same square has the
    same id in every study area. Ids are ``"grid:<size>:<col>:<row>"`` with
    ``col = floor(x / size)``, ``row = floor(y / size)``.

Inside hot loops units are integer positions in ``UnitSet.ids``; strings only
travel outside. Neighbours are binary ``scipy.sparse.csr_matrix`` (n x n) with a
zero diagonal: Gi* adds the unit itself ("star"), local Moran must not.

References
----------
Getis, A. & Ord, J. K. (1992) The analysis of spatial association by use of
distance statistics. *Geographical Analysis* 24(3), 189-206.
Anselin, L. (1995) Local indicators of spatial association - LISA.
*Geographical Analysis* 27(2), 93-115.
Rey, S. J. & Anselin, L. (2007) PySAL: a Python library of spatial analytical
methods. *Review of Regional Studies* 37(1), 5-27 (queen contiguity, ``lat2W``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from scipy.sparse import csr_matrix

from spatial.errors import ParameterError
from spatial.place import crs, placement

IntArray = npt.NDArray[np.int64]
KINDS = ("h3", "boundary", "grid")
#: Refuse grids with more candidate squares than this (memory guard).
MAX_GRID_CELLS = 4_000_000
#: Refuse H3 unit sets with more cells than this.
MAX_H3_CELLS = 2_000_000


@dataclass(frozen=True, eq=False)
class UnitSet:
    """The units of one analysis, in a fixed order.

    Attributes
    ----------
    kind : str
        ``"h3"``, ``"boundary"`` or ``"grid"``.
    ids : numpy.ndarray of str (object)
        Unit ids (see the module docstring); unique. Position ``i`` is unit ``i``
        in every count vector and weights matrix.
    geometry : geopandas.GeoSeries
        WGS84 polygons aligned with ``ids``.
    epsg : int
        Projected CRS (metres) for metric work on these units.
    parameters : dict
        What defines the set: resolution, cell size, boundary set name and
        version, study-area description. JSON-serialisable.
    labels : numpy.ndarray of str, optional
        Readable names (boundary sets); ``None`` otherwise.
    """

    kind: str
    ids: np.ndarray
    geometry: gpd.GeoSeries
    epsg: int
    parameters: dict[str, Any] = field(default_factory=dict)
    labels: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ParameterError("kind", f"must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if len(self.ids) != len(self.geometry):
            raise ParameterError("ids", f"{len(self.ids)} ids for {len(self.geometry)} geometries")
        if self.labels is not None and len(self.labels) != len(self.ids):
            raise ParameterError("labels", f"{len(self.labels)} labels for {len(self.ids)} ids")
        if len(pd.unique(self.ids)) != len(self.ids):
            raise ParameterError("ids", "unit ids must be unique")

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def n(self) -> int:
        """Number of units."""
        return len(self.ids)

    def to_frame(self) -> gpd.GeoDataFrame:
        """The units as a GeoDataFrame: ``unit_id``, ``label`` (boundary sets),
        ``geometry`` in EPSG:4326, index 0..n-1 (the unit positions)."""
        data: dict[str, Any] = {"unit_id": pd.Series(self.ids, dtype="str")}
        if self.labels is not None:
            data["label"] = pd.Series(self.labels, dtype="str")
        return gpd.GeoDataFrame(
            data, geometry=gpd.GeoSeries(np.asarray(self.geometry.values, dtype=object),
                                         crs=f"EPSG:{crs.WGS84}"))

    def index_of(self, ids: Sequence[str] | npt.ArrayLike) -> IntArray:
        """Positions of unit ids in this set; -1 for ids not in it."""
        lookup = pd.Index(self.ids)
        return np.asarray(lookup.get_indexer(pd.Index(np.asarray(ids, dtype=object))),
                          dtype=np.int64)

    # --- cached lookups (cached_property writes to __dict__, so frozen is fine) --------

    @cached_property
    def _h3_sorted(self) -> tuple[npt.NDArray[np.uint64], IntArray]:
        cells = placement.cells_from_str(self.ids)
        order = np.argsort(cells, kind="stable").astype(np.int64)
        return cells[order], order

    @cached_property
    def _grid_table(self) -> tuple[int, int, IntArray]:
        cols, rows = _grid_colrow(self.ids)
        cmin, rmin = int(cols.min()), int(rows.min())
        table = np.full((int(cols.max()) - cmin + 1, int(rows.max()) - rmin + 1), -1,
                        dtype=np.int64)
        table[cols - cmin, rows - rmin] = np.arange(len(cols), dtype=np.int64)
        return cmin, rmin, table

    @cached_property
    def _metric_geometry(self) -> np.ndarray:
        return crs.geometry_to_metric(np.asarray(self.geometry.values, dtype=object), self.epsg)


# --- building unit sets --------------------------------------------------------------------


def wgs84_polygon(area: Any, name: str = "area") -> Any:
    """Validate a WGS84 area: polygonal (other parts dropped), non-empty, repaired if
    invalid, within lon/lat degrees. Raises :class:`ParameterError` naming ``name``."""
    if isinstance(area, gpd.GeoSeries | gpd.GeoDataFrame):
        area = area.union_all()
    if not isinstance(area, shapely.Geometry) or area.is_empty:
        raise ParameterError(name, "must be a non-empty shapely polygon in WGS84")
    if area.geom_type not in ("Polygon", "MultiPolygon"):
        polys = [g for g in shapely.get_parts(area) if g.geom_type in ("Polygon", "MultiPolygon")]
        if not polys:
            raise ParameterError(name, f"must be polygonal, got {area.geom_type}")
        area = shapely.union_all(polys)
    if not area.is_valid:
        area = shapely.make_valid(area)
    minx, miny, maxx, maxy = area.bounds
    if not crs.in_bounds(np.array([minx, maxx]), np.array([miny, maxy]), crs.WORLD_BOUNDS).all():
        raise ParameterError(name, f"bounds {area.bounds} are not WGS84 lon/lat degrees")
    return area


def _area_epsg(area: Any) -> int:
    p = area.representative_point()
    return crs.metric_epsg(np.array([p.x]), np.array([p.y]))


def _describe(area: Any) -> str:
    return "{} with bounds ({})".format(area.geom_type,
                                       ", ".join(f"{v:.6f}" for v in area.bounds))


def h3_units(area: Any, resolution: int, *, description: str | None = None) -> UnitSet:
    """Every H3 cell of a study area, whether or not it will hold events.

    Parameters
    ----------
    area : shapely Polygon/MultiPolygon (or GeoSeries, unioned), WGS84 lon/lat
        The study area, e.g. the union of a force's neighbourhoods.
    resolution : int
        H3 resolution 0-15 (res 8: ~0.74 km² per cell; res 9: ~0.105 km²).
    description : str, optional
        How the study area was defined, kept in ``parameters["study_area"]``.

    Returns
    -------
    UnitSet
        ``kind="h3"``; ids sorted by H3 index; every cell whose boundary
        intersects the area (or that covers it), so every point of the area
        lies in one of the cells.
    """
    from h3ronpy import ContainmentMode
    from h3ronpy.vector import geometry_to_cells

    res = placement._check_resolution(resolution)
    area = wgs84_polygon(area)
    cells = np.asarray(geometry_to_cells(area, res, containment_mode=ContainmentMode.Covers),
                       dtype=np.uint64)
    cells = np.unique(cells[cells != 0])
    if cells.size > MAX_H3_CELLS:
        raise ParameterError("resolution", f"{cells.size} cells at resolution {res}; "
                             f"choose a coarser resolution (limit {MAX_H3_CELLS})")
    return UnitSet(
        kind="h3",
        ids=placement.cells_to_str(cells),
        geometry=gpd.GeoSeries(crs.h3_polygons_lonlat(cells), crs=f"EPSG:{crs.WGS84}"),
        epsg=_area_epsg(area),
        parameters={"resolution": res, "containment": "covers",
                    "study_area": description or _describe(area)},
    )


def _bbox(bbox_lonlat: Sequence[float]) -> Any:
    try:
        minlon, minlat, maxlon, maxlat = (float(v) for v in bbox_lonlat)
    except (TypeError, ValueError) as exc:
        raise ParameterError("bbox", "must be (min lon, min lat, max lon, max lat)") from exc
    if not (minlon < maxlon and minlat < maxlat):
        raise ParameterError("bbox", f"{tuple(bbox_lonlat)} is empty or not (min, min, max, max)")
    return shapely.box(minlon, minlat, maxlon, maxlat)


def h3_units_from_bbox(bbox_lonlat: Sequence[float], resolution: int) -> UnitSet:
    """H3 units covering a ``(min lon, min lat, max lon, max lat)`` box in degrees."""
    area = _bbox(bbox_lonlat)
    return h3_units(area, resolution,
                    description="bbox ({})".format(", ".join(f"{v:g}" for v in area.bounds)))


def boundary_units(units_gdf: gpd.GeoDataFrame, *, set_name: str,
                   subset: Sequence[str] | None = None, version: str | int | None = None,
                   epsg: int | None = None) -> UnitSet:
    """Units from a boundary set (the ``units`` frame of
    :func:`spatial.io.boundaries.read_boundaries`, or the store's copy).

    Parameters
    ----------
    units_gdf : geopandas.GeoDataFrame
        Columns ``unit_id``, optional ``label``, polygon ``geometry``; any CRS
        (reprojected to WGS84), EPSG:4326 assumed when it has none.
    set_name : str
        Boundary set name, the id prefix (no ``:``).
    subset : sequence of str, optional
        Unit ids (without the prefix) to keep, e.g. the beats of one market
        area; all units when omitted. Set order is kept.
    version : str or int, optional
        Boundary set version, recorded in ``parameters``.
    epsg : int, optional
        Projected CRS for metric work; by default BNG in Great Britain, else UTM.

    Raises
    ------
    ParameterError
        Missing columns, a ``:`` in ``set_name``, unknown ids in ``subset``,
        no units left.
    """
    if not set_name or ":" in set_name:
        raise ParameterError("set_name", f"must be non-empty without ':', got {set_name!r}")
    if "unit_id" not in units_gdf.columns:
        raise ParameterError("units_gdf", "needs a 'unit_id' column")
    frame = units_gdf
    unit_ids = frame["unit_id"].astype(str).to_numpy(dtype=object)
    keep = np.ones(len(frame), dtype=bool)
    if subset is not None:
        wanted = pd.Index([str(s) for s in subset])
        unknown = wanted.difference(pd.Index(unit_ids))
        if len(unknown):
            raise ParameterError("subset", f"not in boundary set {set_name!r}: "
                                 + ", ".join(map(str, unknown[:20])))
        keep = pd.Index(unit_ids).isin(wanted)
    if not keep.any():
        raise ParameterError("subset", "no units selected")
    geoms = np.asarray(frame.geometry.values, dtype=object)[keep]
    src = frame.crs if frame.crs is not None else crs.WGS84
    geoms = crs.reproject_geometries(geoms, src, crs.WGS84)
    labels = (frame["label"].astype(str).to_numpy(dtype=object)[keep]
              if "label" in frame.columns else None)
    if epsg is None:
        pts = shapely.point_on_surface(geoms)
        epsg = crs.metric_epsg(shapely.get_x(pts), shapely.get_y(pts))
    ids = np.asarray([f"{set_name}:{u}" for u in unit_ids[keep]], dtype=object)
    return UnitSet(
        kind="boundary", ids=ids,
        geometry=gpd.GeoSeries(geoms, crs=f"EPSG:{crs.WGS84}"),
        epsg=int(epsg),
        parameters={"set": set_name, "version": version,
                    "subset": None if subset is None else [str(s) for s in subset],
                    "study_area": f"boundary set {set_name!r}"
                    + (f" version {version}" if version is not None else "")
                    + (f", {int(keep.sum())} of {len(frame)} units" if subset is not None else "")},
        labels=labels,
    )


def _fmt_size(cell_size_m: float) -> str:
    return f"{cell_size_m:g}"


def _grid_colrow(ids: npt.ArrayLike) -> tuple[IntArray, IntArray]:
    parts = pd.Series(np.asarray(ids, dtype=object), dtype="str").str.split(":", expand=True)
    if parts.shape[1] != 4 or not (parts[0] == "grid").all():
        raise ParameterError("ids", "grid unit ids must be 'grid:<size>:<col>:<row>'")
    cols = np.asarray(parts[2].astype("int64").to_numpy(), dtype=np.int64)
    rows = np.asarray(parts[3].astype("int64").to_numpy(), dtype=np.int64)
    return cols, rows


def grid_units(area_or_bbox: Any, cell_size_m: float, epsg: int | None = None) -> UnitSet:
    """A square fishnet in metres over a study area: the squares intersecting it.

    Parameters
    ----------
    area_or_bbox : shapely Polygon/MultiPolygon in WGS84, or (min lon, min lat, max lon, max lat)
    cell_size_m : float
        Side of a square, metres (e.g. 100, 250).
    epsg : int, optional
        Projected CRS of the grid; by default BNG (EPSG:27700) in Great
        Britain, else the UTM zone of the area.

    Returns
    -------
    UnitSet
        ``kind="grid"``; ordered by row (south to north) then column (west to
        east), as :func:`libpysal.weights.lat2W` numbers a lattice. Squares are
        aligned on multiples of ``cell_size_m`` from the CRS origin. A square
        touching the area only along an edge is included: a point on that edge
        falls in it under floor division. WGS84 geometry is the projected
        square's four corners.
    """
    size = float(cell_size_m)
    if not np.isfinite(size) or size <= 0:
        raise ParameterError("cell_size_m", f"must be a positive number of metres, got {cell_size_m}")
    if isinstance(area_or_bbox, shapely.Geometry | gpd.GeoSeries | gpd.GeoDataFrame):
        area = wgs84_polygon(area_or_bbox)
        description = _describe(area)
    else:
        area = _bbox(area_or_bbox)
        description = "bbox ({})".format(", ".join(f"{v:g}" for v in area.bounds))
    epsg = int(epsg) if epsg is not None else _area_epsg(area)
    # densify before projecting so long straight lon/lat edges follow their true path
    area_m: Any = crs.geometry_to_metric(shapely.segmentize(area, 0.001), epsg)[()]
    minx, miny, maxx, maxy = area_m.bounds
    c0, c1 = int(np.floor(minx / size)), int(np.floor(maxx / size))
    r0, r1 = int(np.floor(miny / size)), int(np.floor(maxy / size))
    ncand = (c1 - c0 + 1) * (r1 - r0 + 1)
    if ncand > MAX_GRID_CELLS:
        raise ParameterError("cell_size_m", f"{ncand} squares of {size:g} m over this area; "
                             f"use larger squares (limit {MAX_GRID_CELLS})")
    row_grid, col_grid = np.meshgrid(np.arange(r0, r1 + 1, dtype=np.int64),
                                     np.arange(c0, c1 + 1, dtype=np.int64), indexing="ij")
    cols, rows = col_grid.ravel(), row_grid.ravel()  # row-major: row, then column
    boxes = shapely.box(cols * size, rows * size, (cols + 1) * size, (rows + 1) * size)
    shapely.prepare(area_m)
    hit = shapely.intersects(area_m, boxes)
    cols, rows, boxes = cols[hit], rows[hit], boxes[hit]
    prefix = f"grid:{_fmt_size(size)}:"
    ids = (prefix + pd.Series(cols).astype(str) + ":" + pd.Series(rows).astype(str))
    return UnitSet(
        kind="grid", ids=ids.to_numpy(dtype=object),
        geometry=gpd.GeoSeries(crs.geometry_to_wgs84(boxes, epsg), crs=f"EPSG:{crs.WGS84}"),
        epsg=epsg,
        parameters={"cell_size_m": size, "epsg": epsg, "origin": [0.0, 0.0],
                    "study_area": description},
    )


# --- placing points in units ---------------------------------------------------------------


def locate(units: UnitSet, lon: npt.ArrayLike | None, lat: npt.ArrayLike | None,
           x: npt.ArrayLike | None = None, y: npt.ArrayLike | None = None,
           h3_finest: npt.ArrayLike | None = None, *, xy_epsg: int | None = None) -> IntArray:
    """Position in ``units.ids`` of the unit holding each point, vectorised.

    Parameters
    ----------
    units : UnitSet
    lon, lat : array_like of float, or None
        WGS84 degrees (the events frame's ``lon``/``lat``).
    x, y : array_like of float, optional
        Metres in ``xy_epsg`` (the events frame's ``x``/``y``). Used for grid and
        boundary units when their CRS is ``units.epsg``; otherwise ``lon``/``lat``
        are projected.
    h3_finest : array_like of uint64, optional
        Stored H3 cells of the points (0 = none). Used as they are when they are
        at the units' resolution. At a finer resolution they are used (through
        :func:`spatial.place.placement.parent_cells`) only when ``lon``/``lat`` are
        ``None``; see Notes.
    xy_epsg : int, optional
        CRS of ``x``/``y``; assumed to be ``units.epsg`` when omitted.

    Returns
    -------
    numpy.ndarray of int64
        Unit position, or -1 for points outside the study area's units
        (and for missing coordinates).

    Notes
    -----
    H3 is not exactly nested: a res-r cell's seven children do not tile it.
    On 1M random points over Sheffield, the H3 parent at res 7-9 of a point's
    finer cell differs from the res-r cell containing the point for 6-7 % of
    points, and a few points inside the study area get a parent outside the
    unit set. So H3 units are located by indexing ``lon``/``lat`` at the unit
    resolution (h3ronpy, ~2 M points/s), which agrees with the drawn hexagons;
    stored finer cells are only a fallback when coordinates are unavailable.
    """
    n_points = _n_points(lon, x, h3_finest)
    if len(units) == 0:
        return np.full(n_points, -1, dtype=np.int64)
    if units.kind == "h3":
        res = int(units.parameters["resolution"])
        if h3_finest is not None:
            stored = np.asarray(h3_finest, dtype=np.uint64).ravel()
            have = placement.cell_resolutions(stored)
            if lon is None or lat is None or bool(np.all((have == res) | (have < 0))):
                cells = placement.parent_cells(stored, res)
            else:
                cells = placement.h3_cells(lon, lat, res)
        elif lon is None or lat is None:
            raise ParameterError("lon/lat", "needed to locate points in H3 units")
        else:
            cells = placement.h3_cells(lon, lat, res)
        sorted_cells, order = units._h3_sorted
        pos = np.searchsorted(sorted_cells, cells)
        pos_c = np.minimum(pos, len(sorted_cells) - 1)
        found = (cells != 0) & (sorted_cells[pos_c] == cells)
        return np.where(found, order[pos_c], -1).astype(np.int64)

    if x is None or y is None or (xy_epsg is not None and int(xy_epsg) != units.epsg):
        if lon is None or lat is None:
            raise ParameterError("lon/lat", "needed when x/y are missing or in another CRS")
        xa, ya = crs.to_metric(np.asarray(lon, dtype="float64").ravel(),
                               np.asarray(lat, dtype="float64").ravel(), units.epsg)
    else:
        xa = np.asarray(x, dtype="float64").ravel()
        ya = np.asarray(y, dtype="float64").ravel()

    if units.kind == "boundary":
        return placement.assign_polygons(xa, ya, units._metric_geometry)

    size = float(units.parameters["cell_size_m"])
    cmin, rmin, table = units._grid_table
    ok = np.isfinite(xa) & np.isfinite(ya)
    col = np.full(xa.size, -1, dtype=np.int64)
    row = np.full(xa.size, -1, dtype=np.int64)
    col[ok] = np.floor(xa[ok] / size).astype(np.int64) - cmin
    row[ok] = np.floor(ya[ok] / size).astype(np.int64) - rmin
    inside = ok & (col >= 0) & (col < table.shape[0]) & (row >= 0) & (row < table.shape[1])
    out = np.full(xa.size, -1, dtype=np.int64)
    out[inside] = table[col[inside], row[inside]]
    return out


def _n_points(*arrays: npt.ArrayLike | None) -> int:
    for arr in arrays:
        if arr is not None:
            return int(np.asarray(arr).size)
    raise ParameterError("lon/lat", "no coordinates given")


def count(units: UnitSet, index: npt.ArrayLike,
          weights: npt.ArrayLike | None = None) -> npt.NDArray[Any]:
    """Events per unit, zeros kept.

    Parameters
    ----------
    units : UnitSet
    index : array_like of int
        From :func:`locate`; -1 (outside) is ignored.
    weights : array_like of float, optional
        Per-event weights (e.g. harm weights); counts when omitted.

    Returns
    -------
    numpy.ndarray, length ``len(units)``
        int64 counts, or float64 weighted sums.
    """
    idx = np.asarray(index, dtype=np.int64).ravel()
    n = len(units)
    if idx.size and int(idx.max(initial=-1)) >= n:
        raise ParameterError("index", f"positions must be < {n} (the number of units)")
    ok = idx >= 0
    if weights is None:
        return np.bincount(idx[ok], minlength=n).astype(np.int64)
    w = np.asarray(weights, dtype="float64").ravel()
    if w.shape != idx.shape:
        raise ParameterError("weights", f"{w.size} weights for {idx.size} events")
    return np.bincount(idx[ok], weights=w[ok], minlength=n).astype("float64")


# --- neighbours ----------------------------------------------------------------------------


def _binary(rows: IntArray, cols: IntArray, n: int) -> csr_matrix:
    keep = rows != cols
    m = csr_matrix((np.ones(int(keep.sum()), dtype="float64"), (rows[keep], cols[keep])),
                   shape=(n, n))
    m.sum_duplicates()
    m.data[:] = 1.0
    m.sort_indices()
    return m


def h3_neighbours(units: UnitSet, k: int = 1) -> csr_matrix:
    """Cells within ``k`` grid steps (``grid_disk``), restricted to the set.

    Binary, symmetric, zero diagonal. A cell whose neighbours are all outside
    the set is an island (see :func:`islands`).
    """
    import arro3.core as ac
    import h3ronpy

    if units.kind != "h3":
        raise ParameterError("units", f"h3_neighbours needs H3 units, got {units.kind!r}")
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ParameterError("k", f"must be an integer >= 1, got {k!r}")
    n = len(units)
    if n == 0:
        return csr_matrix((0, 0))
    cells = placement.cells_from_str(units.ids)
    disks = h3ronpy.grid_disk(np.ascontiguousarray(cells), int(k))
    offsets = np.asarray(ac.list_offsets(disks), dtype=np.int64)
    flat = np.asarray(ac.list_flatten(disks), dtype=np.uint64)
    origin = np.repeat(np.arange(n, dtype=np.int64), np.diff(offsets))
    sorted_cells, order = units._h3_sorted
    pos = np.minimum(np.searchsorted(sorted_cells, flat), n - 1)
    found = sorted_cells[pos] == flat
    return _binary(origin[found], order[pos[found]], n)


def queen_neighbours(units: UnitSet) -> csr_matrix:
    """Queen contiguity: polygons sharing at least one point.

    Geometric (``STRtree`` query with the ``intersects`` predicate), so units
    touching at a corner count, and so do units whose shared edge is drawn with
    different vertices. Binary, symmetric, zero diagonal. Equals
    ``libpysal.weights.Queen`` (shared vertices) on clean tessellations such as
    the Sheffield neighbourhoods and LSOAs.
    """
    geoms = np.asarray(units.geometry.values, dtype=object)
    n = len(geoms)
    if n == 0:
        return csr_matrix((0, 0))
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="intersects")
    w = _binary(a.astype(np.int64), b.astype(np.int64), n)
    return ((w + w.T) > 0).astype("float64").tocsr()


def grid_neighbours(units: UnitSet) -> csr_matrix:
    """The 8 surrounding squares (queen on a lattice) that are in the set."""
    if units.kind != "grid":
        raise ParameterError("units", f"grid_neighbours needs grid units, got {units.kind!r}")
    n = len(units)
    if n == 0:
        return csr_matrix((0, 0))
    cols, rows = _grid_colrow(units.ids)
    cmin, rmin, table = units._grid_table
    c, r = cols - cmin, rows - rmin
    src_all, dst_all = [], []
    for dc in (-1, 0, 1):  # 8 offsets, each vectorised over all squares
        for dr in (-1, 0, 1):
            if dc == 0 and dr == 0:
                continue
            cc, rr = c + dc, r + dr
            ok = (cc >= 0) & (cc < table.shape[0]) & (rr >= 0) & (rr < table.shape[1])
            src = np.flatnonzero(ok)
            dst = table[cc[ok], rr[ok]]
            hit = dst >= 0
            src_all.append(src[hit])
            dst_all.append(dst[hit])
    return _binary(np.concatenate(src_all).astype(np.int64),
                   np.concatenate(dst_all).astype(np.int64), n)


def neighbours(units: UnitSet, **params: Any) -> csr_matrix:
    """Neighbours for any kind of unit: H3 ``grid_disk(k)`` (``k=1`` by
    default), queen contiguity for boundaries, 8 squares for grids."""
    if units.kind == "h3":
        unknown = set(params) - {"k"}
        if unknown:
            raise ParameterError(", ".join(sorted(unknown)), "not a parameter of H3 neighbours")
        return h3_neighbours(units, k=params.get("k", 1))
    if params:
        raise ParameterError(", ".join(sorted(params)),
                             f"{units.kind} neighbours take no parameters")
    if units.kind == "boundary":
        return queen_neighbours(units)
    return grid_neighbours(units)


def islands(w: csr_matrix) -> IntArray:
    """Positions of units with no neighbours (rows with no stored entry)."""
    degree = np.asarray((csr_matrix(w) != 0).sum(axis=1)).ravel()
    return np.flatnonzero(degree == 0).astype(np.int64)
