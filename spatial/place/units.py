"""Spatial units, study areas and neighbours.

A :class:`UnitSet` is the complete list of units an analysis counts over:
every H3 cell, boundary polygon or grid square of the study area, *including
those with no events*. Zeros are data (a cell inside the area with no events
is a zero, not a missing value); dropping them is the most common silent
error in H3 hotspot work, and it biases Gi* and Moran's I.

Four kinds of unit: ``h3`` cells covering the study area
(:mod:`spatial.place.h3_units`), ``boundary`` polygons of a boundary set
(:mod:`spatial.place.boundary_units`), ``grid`` squares in metres (BNG in
Great Britain, else UTM; :mod:`spatial.place.grid`) and ``street`` segments
of a road network or of police.uk street names (:mod:`spatial.place.streets`).

Inside hot loops units are integer positions in ``UnitSet.ids``; strings only
travel outside. Neighbours (:func:`neighbours`, built in
:mod:`spatial.place.contiguity`) are binary ``scipy.sparse.csr_matrix``
(n x n) with a zero diagonal: Gi* adds the unit itself ("star"), local Moran
must not. Square-grid arithmetic is in :mod:`spatial.place.grid`.

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
from spatial.place import boundary_units as _boundary
from spatial.place import crs, placement
from spatial.place import streets as _streets
from spatial.place.contiguity import grid_neighbours, h3_neighbours, queen_neighbours
from spatial.place.grid import grid_ids, grid_table, locate_in_grid, squares_over
from spatial.place.h3_units import covering_cells, point_cells, positions

IntArray = npt.NDArray[np.int64]
KINDS = ("h3", "boundary", "grid", "street")
#: Refuse grids with more candidate squares than this (memory guard).
MAX_GRID_CELLS = 4_000_000
#: Recorded in ``UnitSet.parameters`` of units clipped to a study area.
CLIPPED = {"edge_units": "count only events inside the study area"}


@dataclass(frozen=True, eq=False)
class UnitSet:
    """The units of one analysis, in a fixed order.

    Attributes
    ----------
    kind : str
        ``"h3"``, ``"boundary"``, ``"grid"`` or ``"street"``.
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
    area : shapely Polygon/MultiPolygon in WGS84, optional
        The study area when units reach beyond it (H3 cells and grid squares
        over an area, boundary units chosen because they touch it). A point
        outside it is in no unit (:func:`locate`), even inside an edge unit:
        only events of the study area are counted. ``None`` when the units
        are the study area.
    metric_geometry : numpy.ndarray of shapely geometries, optional
        The units in ``epsg`` as given (street segments: EPSG:27700 links, so
        that nearest-segment distances are not measured on a reprojected copy).
    street_points : pandas.DataFrame, optional
        police.uk street units only: ``street``, ``lon``, ``lat``, ``unit`` of
        every snap point (:func:`spatial.place.streets.locate_by_street`).
    """

    kind: str
    ids: np.ndarray
    geometry: gpd.GeoSeries
    epsg: int
    parameters: dict[str, Any] = field(default_factory=dict)
    labels: np.ndarray | None = None
    area: Any = None
    metric_geometry: Any = None
    street_points: Any = None

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
        return grid_table(self.ids)

    @cached_property
    def _metric_geometry(self) -> np.ndarray:
        if self.metric_geometry is not None:
            return np.asarray(self.metric_geometry, dtype=object)
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
        lies in one of the cells. ``area`` is kept: an edge cell counts only
        the events inside the area (:func:`locate`).
    """
    res = placement._check_resolution(resolution)
    area = wgs84_polygon(area)
    cells = covering_cells(area, res)
    return UnitSet(
        kind="h3",
        ids=placement.cells_to_str(cells),
        geometry=gpd.GeoSeries(crs.h3_polygons_lonlat(cells), crs=f"EPSG:{crs.WGS84}"),
        epsg=_area_epsg(area),
        parameters={"resolution": res, "containment": "covers",
                    "study_area": description or _describe(area), **CLIPPED},
        area=area,
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
                   epsg: int | None = None, area: Any = None) -> UnitSet:
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
    area : shapely Polygon/MultiPolygon in WGS84, optional
        A study area other than the units themselves (e.g. the beats touching
        a bbox): events outside it are not counted, even inside a unit.

    Raises
    ------
    ParameterError
        Missing columns, a ``:`` in ``set_name``, unknown ids in ``subset``,
        no units left.
    """
    ids, geoms, labels, kept = _boundary.select(units_gdf, set_name, subset)
    if area is not None:
        area = wgs84_polygon(area)
    if epsg is None:
        pts = shapely.point_on_surface(geoms)
        epsg = crs.metric_epsg(shapely.get_x(pts), shapely.get_y(pts))
    return UnitSet(
        kind="boundary", ids=ids,
        geometry=gpd.GeoSeries(geoms, crs=f"EPSG:{crs.WGS84}"),
        epsg=int(epsg),
        parameters={"set": set_name, "version": version,
                    "subset": None if subset is None else [str(s) for s in subset],
                    "study_area": f"boundary set {set_name!r}"
                    + (f" version {version}" if version is not None else "")
                    + kept + ("" if area is None else f", within {_describe(area)}"),
                    **({} if area is None else CLIPPED)},
        labels=labels, area=area,
    )


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
        square's four corners. ``area`` is kept: an edge square counts only
        the events inside the area (:func:`locate`).
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
    cols, rows, boxes = squares_over(area_m, size, MAX_GRID_CELLS)
    return UnitSet(
        kind="grid", ids=grid_ids(size, cols, rows),
        geometry=gpd.GeoSeries(crs.geometry_to_wgs84(boxes, epsg), crs=f"EPSG:{crs.WGS84}"),
        epsg=epsg,
        parameters={"cell_size_m": size, "epsg": epsg, "origin": [0.0, 0.0],
                    "study_area": description, **CLIPPED},
        area=area,
    )


# --- placing points in units ---------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Located:
    """Where points fall in a unit set, and how many its study area left out.

    Attributes
    ----------
    index : numpy.ndarray of int64
        Position in ``units.ids`` of each point's unit; -1 for a point outside
        the study area (also inside an edge unit), outside every unit, or
        without coordinates.
    clipped : int
        Points inside an edge unit but outside the study area ``units.area``:
        not counted (before the clip they were counted in the edge unit).
        0 when the units have no separate study area.
    in_units : numpy.ndarray of int64
        Position of each point's unit ignoring the study area (whole edge units),
        for callers that may only count whole units (disclosure control).
    """

    index: IntArray
    clipped: int
    in_units: IntArray

    @property
    def counted(self) -> int:
        """Points in a unit of the study area."""
        return int((self.index >= 0).sum())

    @property
    def not_counted(self) -> int:
        """Points in no unit: outside the study area or without coordinates."""
        return int((self.index < 0).sum())


def locate(units: UnitSet, lon: npt.ArrayLike | None, lat: npt.ArrayLike | None,
           x: npt.ArrayLike | None = None, y: npt.ArrayLike | None = None,
           h3_finest: npt.ArrayLike | None = None, *, xy_epsg: int | None = None) -> IntArray:
    """Position in ``units.ids`` of the unit holding each point, vectorised.

    The ``index`` of :func:`locate_points` (see there).
    """
    return locate_points(units, lon, lat, x, y, h3_finest, xy_epsg=xy_epsg).index


def locate_points(units: UnitSet, lon: npt.ArrayLike | None, lat: npt.ArrayLike | None,
                  x: npt.ArrayLike | None = None, y: npt.ArrayLike | None = None,
                  h3_finest: npt.ArrayLike | None = None, *,
                  xy_epsg: int | None = None) -> Located:
    """The unit holding each point, counting only points of the study area.

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
    Located
        Unit position of each point (-1 outside the study area, also in an
        edge unit, and for missing coordinates) and the number of points the
        study area left out of edge units.

    Raises
    ------
    ParameterError
        ``lon/lat`` when only ``h3_finest`` is given for units with a study
        area: a stored cell cannot say which side of the area's edge its
        point is.

    Notes
    -----
    H3 is not exactly nested, so H3 units are located by indexing
    ``lon``/``lat`` at the unit resolution; stored finer cells are only a
    fallback (measurements in :mod:`spatial.place.h3_units`).

    H3 cells and grid squares over a study area reach beyond it (every cell
    touching it is a unit, so that every point of the area has one). Without
    the clip an edge cell would count events from beyond the area: on the
    police.uk Drugs events of South Yorkshire and Derbyshire with the
    Sheffield neighbourhoods as the area, 8 Rotherham and Derbyshire events
    at ``h3:8`` (29 at ``h3:7``). The clip is an exact point-in-polygon test
    (``shapely.intersects_xy`` on the prepared area, so a point on its edge
    is inside), run only on the points that landed in a unit: 1,000,000
    random points over the Sheffield neighbourhoods (a 10,812-vertex polygon)
    at ``h3:9`` took 0.93 s against 0.73 s unclipped.
    """
    raw = _unit_positions(units, lon, lat, x, y, h3_finest, xy_epsg)
    if units.area is None:
        return Located(raw, 0, raw)
    cand = np.flatnonzero(raw >= 0)
    if cand.size == 0:
        return Located(raw, 0, raw)
    if lon is not None and lat is not None:
        lon_c = np.asarray(lon, dtype="float64").ravel()[cand]
        lat_c = np.asarray(lat, dtype="float64").ravel()[cand]
    elif x is not None and y is not None:
        lon_c, lat_c = crs.to_wgs84(np.asarray(x, dtype="float64").ravel()[cand],
                                    np.asarray(y, dtype="float64").ravel()[cand],
                                    units.epsg if xy_epsg is None else int(xy_epsg))
    else:
        raise ParameterError("lon/lat", "needed to keep points inside the study area: its "
                                        "edge units reach beyond it")
    shapely.prepare(units.area)
    outside = cand[~shapely.intersects_xy(units.area, lon_c, lat_c)]
    index = raw.copy()
    index[outside] = -1
    return Located(index, int(outside.size), raw)


def _unit_positions(units: UnitSet, lon: npt.ArrayLike | None, lat: npt.ArrayLike | None,
                    x: npt.ArrayLike | None, y: npt.ArrayLike | None,
                    h3_finest: npt.ArrayLike | None, xy_epsg: int | None) -> IntArray:
    """Unit of each point, ignoring the study area (-1: in no unit)."""
    n_points = _n_points(lon, x, h3_finest)
    if len(units) == 0:
        return np.full(n_points, -1, dtype=np.int64)
    if units.kind == "h3":
        cells = point_cells(int(units.parameters["resolution"]), lon, lat, h3_finest)
        return positions(*units._h3_sorted, cells)

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
    if units.kind == "street":
        if units.street_points is not None:
            raise ParameterError("unit", "police.uk street units place events by their street "
                                         "name: use spatial.place.streets.locate_by_street")
        return _streets.nearest_segments(xa, ya, units._metric_geometry,
                                         float(units.parameters["snap_m"]))[0]

    return locate_in_grid(xa, ya, float(units.parameters["cell_size_m"]), *units._grid_table)


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


def neighbours(units: UnitSet, **params: Any) -> csr_matrix:
    """Neighbours for any kind of unit: H3 ``grid_disk(k)`` (``k=1`` by
    default), queen contiguity for boundaries, 8 squares for grids (see
    :mod:`spatial.place.contiguity`), touching segments for streets
    (:func:`spatial.place.streets.touching_neighbours`)."""
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
    if units.kind == "street":
        return _streets.touching_neighbours(units._metric_geometry,
                                            float(units.parameters.get("chain_m") or 0.0)
                                            if units.street_points is not None else 0.0)
    return grid_neighbours(units)


def islands(w: csr_matrix) -> IntArray:
    """Positions of units with no neighbours (rows with no stored entry)."""
    degree = np.asarray((csr_matrix(w) != 0).sum(axis=1)).ravel()
    return np.flatnonzero(degree == 0).astype(np.int64)
