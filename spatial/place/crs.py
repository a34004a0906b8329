"""Coordinate reference systems and axis order: the only module that knows them.

Conventions everywhere else in remap:

* WGS84 coordinates travel as ``(lon, lat)`` arrays, x before y, as GeoJSON
  and shapely expect. H3 wants ``(lat, lng)``: :func:`h3_latlng` is the one
  place that swaps them.
* Distance work (buffers, bandwidths, rings, grids) happens in metres: British
  National Grid (EPSG:27700) for data in Great Britain, else the local UTM
  zone. WGS84 only at the edges.
* Transformers are built with ``always_xy=True`` so that pyproj never applies
  the authority axis order (EPSG:4326 is lat/lon by authority).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import numpy.typing as npt
from pyproj import CRS, Transformer

from spatial.errors import ParameterError

WGS84: int = 4326
BNG: int = 27700

#: Where BNG is the right projection: Great Britain and its islands, lon/lat degrees.
GB_BOUNDS: tuple[float, float, float, float] = (-8.75, 49.8, 1.8, 60.9)

#: The default area of interest for validation: the United Kingdom, lon/lat degrees.
UK_BOUNDS: tuple[float, float, float, float] = (-8.75, 49.8, 1.8, 60.9)

FloatArray = npt.NDArray[np.float64]


@lru_cache(maxsize=32)
def transformer(src_epsg: int, dst_epsg: int) -> Transformer:
    """A cached transformer that always takes and returns x (lon/easting) first."""
    return Transformer.from_crs(CRS.from_epsg(src_epsg), CRS.from_epsg(dst_epsg), always_xy=True)


def utm_epsg(lon: float, lat: float) -> int:
    """EPSG code of the WGS84 UTM zone containing ``(lon, lat)``."""
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise ParameterError("lon/lat", f"({lon}, {lat}) is not a WGS84 position")
    zone = int((lon + 180.0) // 6.0) % 60 + 1
    return (32600 if lat >= 0 else 32700) + zone


def in_bounds(lon: FloatArray, lat: FloatArray,
              bounds: tuple[float, float, float, float]) -> npt.NDArray[np.bool_]:
    """Element-wise: is ``(lon, lat)`` inside ``(minlon, minlat, maxlon, maxlat)``?"""
    minlon, minlat, maxlon, maxlat = bounds
    return (lon >= minlon) & (lon <= maxlon) & (lat >= minlat) & (lat <= maxlat)


def metric_epsg(lon: FloatArray, lat: FloatArray) -> int:
    """The projected CRS remap uses for a set of WGS84 points.

    BNG when the points' median lies in Great Britain, else the UTM zone of
    the median. One CRS for a whole set, so distances inside it are comparable.
    """
    lon = np.asarray(lon, dtype="float64")
    lat = np.asarray(lat, dtype="float64")
    ok = np.isfinite(lon) & np.isfinite(lat)
    if not ok.any():
        return BNG
    mlon, mlat = float(np.median(lon[ok])), float(np.median(lat[ok]))
    if in_bounds(np.array([mlon]), np.array([mlat]), GB_BOUNDS)[0]:
        return BNG
    return utm_epsg(mlon, mlat)


def to_metric(lon: FloatArray, lat: FloatArray, epsg: int) -> tuple[FloatArray, FloatArray]:
    """WGS84 ``(lon, lat)`` to metres in ``epsg``; returns ``(x, y)``."""
    x, y = transformer(WGS84, epsg).transform(np.asarray(lon, dtype="float64"),
                                              np.asarray(lat, dtype="float64"))
    return np.asarray(x, dtype="float64"), np.asarray(y, dtype="float64")


def to_wgs84(x: FloatArray, y: FloatArray, epsg: int) -> tuple[FloatArray, FloatArray]:
    """Metres in ``epsg`` to WGS84; returns ``(lon, lat)``."""
    lon, lat = transformer(epsg, WGS84).transform(np.asarray(x, dtype="float64"),
                                                  np.asarray(y, dtype="float64"))
    return np.asarray(lon, dtype="float64"), np.asarray(lat, dtype="float64")


def h3_latlng(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Reorder ``(lon, lat)`` into the ``(lat, lng)`` order H3 takes."""
    return np.asarray(lat, dtype="float64"), np.asarray(lon, dtype="float64")


def h3_boundary_lonlat(latlng_ring: tuple[tuple[float, float], ...]) -> list[tuple[float, float]]:
    """An H3 cell boundary, given by h3 as ``(lat, lng)`` pairs, as a closed
    ``(lon, lat)`` ring for GeoJSON/shapely."""
    ring = [(lng, lat) for lat, lng in latlng_ring]
    if ring and ring[0] != ring[-1]:
        ring.append(ring[0])
    return ring


def looks_swapped(lon: FloatArray, lat: FloatArray,
                  bounds: tuple[float, float, float, float]) -> npt.NDArray[np.bool_]:
    """Element-wise: is the point outside ``bounds`` but inside them once
    latitude and longitude are exchanged? (A common export mistake.)"""
    return ~in_bounds(lon, lat, bounds) & in_bounds(lat, lon, bounds)


# --- geometries (additions for placement, boundaries and units) -------------------------

#: The whole WGS84 domain, lon/lat degrees: coordinates outside it mean a wrong CRS.
WORLD_BOUNDS: tuple[float, float, float, float] = (-180.0, -90.0, 180.0, 90.0)


def _as_crs(value: int | str | CRS) -> CRS:
    if isinstance(value, CRS):
        return value
    if isinstance(value, int):
        return CRS.from_epsg(value)
    return CRS.from_user_input(value)


def crs_label(value: int | str | CRS) -> str:
    """A short human label for a CRS: ``"EPSG:27700"`` when it has an EPSG code,
    else its name (e.g. a custom transverse Mercator read from a ``.prj``)."""
    crs = _as_crs(value)
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg is not None else str(crs.name)


def reproject_geometries(geoms: object, src: int | str | CRS, dst: int | str | CRS) -> np.ndarray:
    """Reproject shapely geometries from ``src`` to ``dst``, x (lon/easting) first.

    Parameters
    ----------
    geoms : shapely geometry or array-like of shapely geometries
        Coordinates in ``src``; a single geometry gives a 0-d array.
    src, dst : int, str or pyproj.CRS
        EPSG code, any string pyproj understands, or a CRS.

    Returns
    -------
    numpy.ndarray of shapely geometries (``object`` dtype), same shape as ``geoms``.
    Positions a projection cannot map come back as ``inf`` coordinates, which
    callers check for (:func:`in_bounds` is False for them).

    Notes
    -----
    Vertices are transformed one by one (``shapely.transform`` with
    ``interleaved=False``); edges are not densified, so long straight edges stay
    straight in the target CRS. Z coordinates are dropped.
    """
    import shapely

    arr = np.asarray(geoms, dtype=object)
    src_crs, dst_crs = _as_crs(src), _as_crs(dst)
    if src_crs == dst_crs:
        return arr.copy()
    src_epsg, dst_epsg = src_crs.to_epsg(), dst_crs.to_epsg()
    if src_epsg is not None and dst_epsg is not None and src_crs == CRS.from_epsg(src_epsg):
        tr = transformer(src_epsg, dst_epsg)
    else:
        tr = Transformer.from_crs(src_crs, dst_crs, always_xy=True)

    def _xy(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
        xx, yy = tr.transform(x, y)
        return np.asarray(xx, dtype="float64"), np.asarray(yy, dtype="float64")

    return np.asarray(shapely.transform(arr, _xy, interleaved=False), dtype=object)


def geometry_to_metric(geoms: object, epsg: int) -> np.ndarray:
    """WGS84 ``(lon, lat)`` shapely geometries to metres in ``epsg``."""
    return reproject_geometries(geoms, WGS84, epsg)


def geometry_to_wgs84(geoms: object, epsg: int) -> np.ndarray:
    """Shapely geometries in metres (``epsg``) to WGS84 ``(lon, lat)``."""
    return reproject_geometries(geoms, epsg, WGS84)


def h3_polygons_lonlat(cells: npt.NDArray[np.uint64]) -> np.ndarray:
    """Boundaries of H3 cells as shapely polygons in ``(lon, lat)`` degrees.

    Vectorised through h3ronpy (``cells_to_wkb_polygons``), whose WKB already
    puts longitude in x: no swap is needed here, unlike the ``(lat, lng)``
    tuples of :func:`h3.cell_to_boundary` (see :func:`h3_boundary_lonlat`).
    Cells must be valid (no 0 / null ids).
    """
    import shapely
    from h3ronpy.vector import cells_to_wkb_polygons

    cells = np.ascontiguousarray(cells, dtype=np.uint64)
    if cells.size == 0:
        return np.empty(0, dtype=object)
    wkb = np.asarray(cells_to_wkb_polygons(cells), dtype=object)
    return np.asarray(shapely.from_wkb(wkb), dtype=object)

