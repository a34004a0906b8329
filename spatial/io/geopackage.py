"""A point layer of a GeoPackage, in any CRS, read through pyogrio (GDAL).

References
----------
OGC 12-128r18, *GeoPackage Encoding Standard* (``application_id`` and layers).
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Mapping
from time import perf_counter
from typing import Any, Final

import numpy as np
import pandas as pd

from spatial.errors import InputFormatError
from spatial.io.assemble import finish_geometry_points
from spatial.io.mapping import ColumnMapping
from spatial.io.options import ReadOptions
from spatial.io.result import Bounds, FloatArray, ObjArray, ReadResult, Source
from spatial.io.source import load_source, sniff
from spatial.io.validation import join
from spatial.place.crs import UK_BOUNDS

#: SQLite ``application_id`` (header bytes 68-71) of GeoPackage 1.2+ and of 1.0/1.1
GPKG_APPLICATION_IDS: Final = (b"GPKG", b"GP10", b"GP11")


def read_geopackage(source: Source, *, layer: str, mapping: ColumnMapping | str
                    | Mapping[str, Any] | None = None, gpkg_layer: str | None = None,
                    file_name: str | None = None, source_name: str = "gpkg",
                    sensitivity: str | None = None, location_precision: str = "exact",
                    area_of_interest: Bounds | None = UK_BOUNDS, timezone: str = "UTC",
                    category_default: str | None = None) -> ReadResult:
    """Read a point layer of a GeoPackage, in any CRS.

    Parameters
    ----------
    gpkg_layer : str, optional
        Layer inside the GeoPackage. ``None``: the only layer, else the only
        point layer; otherwise the file is rejected with the list of layers.

    Other parameters are as for :func:`spatial.io.geojson.read_geojson`. The layer's CRS must
    have an EPSG code (or, with no CRS, ``mapping.crs`` declares one); points
    are converted to WGS84 by :mod:`spatial.place.crs`. Date/time fields are read
    as ISO-8601 text and parsed like CSV values.

    Raises
    ------
    InputFormatError
        Not a GeoPackage, layer missing/ambiguous, no usable CRS, a mapping
        naming absent fields.
    """
    import pyogrio  # local: GDAL is only needed for this format
    import shapely
    from pyogrio.errors import DataLayerError, DataSourceError

    mapping = ColumnMapping.parse(mapping or ColumnMapping())
    options = ReadOptions.make(layer, source_name, sensitivity, location_precision,
                               area_of_interest, timezone, category_default)
    t0 = perf_counter()
    data, name = load_source(source, file_name)
    sniff(data, name, "a GeoPackage", allow_sqlite=True)
    if not data.startswith(b"SQLite format 3\x00"):
        raise InputFormatError(f"{name} is not a GeoPackage (no SQLite header)", file=name)
    if data[68:72] not in GPKG_APPLICATION_IDS:
        raise InputFormatError(f"{name} is an SQLite database but not a GeoPackage (its "
                               "application id is not 'GPKG')", file=name)
    buffer = io.BytesIO(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            listed = pyogrio.list_layers(buffer)
            layers = [(str(r[0]), str(r[1])) for r in listed]
            chosen = _choose_gpkg_layer(layers, gpkg_layer, name)
            buffer.seek(0)
            gdf = pyogrio.read_dataframe(buffer, layer=chosen, datetime_as_string=True)
    except (DataSourceError, DataLayerError) as exc:
        raise InputFormatError(f"{name}: cannot read the GeoPackage: {exc}", file=name) from None
    if getattr(gdf, "geometry", None) is None or not hasattr(gdf, "crs"):
        raise InputFormatError(f"{name}: layer {chosen!r} has no geometry column",
                               file=name, field="gpkg_layer")
    epsg = _gdf_epsg(gdf, mapping.crs, name, chosen)
    n = len(gdf)
    geoms = np.asarray(gdf.geometry.array, dtype=object)
    x, y, problem = _shapely_points(geoms, shapely)
    frame = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    frame.columns = [str(c) for c in frame.columns]
    frame.index = pd.RangeIndex(n)
    keysrc = frame.astype(str)
    keysrc["__geometry__"] = shapely.to_wkb(geoms, hex=True)
    return finish_geometry_points(
        name=name, frame=frame, x=x, y=y, problem=problem, epsg=epsg, keysrc=keysrc,
        crs_hint="the layer's CRS looks wrong; fix it or pass crs=...",
        mapping=mapping, options=options, t0=t0)


def _choose_gpkg_layer(layers: list[tuple[str, str]], wanted: str | None, name: str) -> str:
    names = [nm for nm, _ in layers]
    listing = ", ".join(f"{nm} ({gt})" for nm, gt in layers) or "none"
    if wanted is not None:
        if wanted not in names:
            raise InputFormatError(f"{name} has no layer {wanted!r}; layers: {listing}",
                                   file=name, field="gpkg_layer")
        return wanted
    if len(layers) == 1:
        return names[0]
    points = [nm for nm, gt in layers if "point" in gt.lower()]
    if len(points) == 1:
        return points[0]
    raise InputFormatError(f"{name} has {len(layers)} layers; choose one with gpkg_layer=... "
                           f"(layers: {listing})", file=name, field="gpkg_layer")


def _gdf_epsg(gdf: Any, declared: int | None, name: str, layer: str) -> int:
    if gdf.crs is None:
        if declared is None:
            raise InputFormatError(f"{name}: layer {layer!r} has no CRS; declare it with crs=...",
                                   file=name, field="crs")
        return declared
    epsg = gdf.crs.to_epsg()
    if epsg is None:
        epsg = gdf.crs.to_epsg(min_confidence=70)
    if epsg is None:
        raise InputFormatError(f"{name}: layer {layer!r} has a CRS without an EPSG code "
                               f"({gdf.crs.name}); reproject it to a standard CRS",
                               file=name, field="crs")
    if declared is not None and declared != epsg:
        raise InputFormatError(f"{name}: layer {layer!r} is in EPSG:{epsg} but crs={declared} "
                               "was given", file=name, field="crs")
    return int(epsg)


def _shapely_points(geoms: ObjArray, shapely: Any) -> tuple[FloatArray, FloatArray, ObjArray]:
    """x, y of point geometries (single-part multipoints too), and per-row problems."""
    n = len(geoms)
    missing = shapely.is_missing(geoms)
    type_id = np.where(missing, -1, shapely.get_type_id(geoms))
    empty = ~missing & shapely.is_empty(geoms)
    parts = np.where(missing, 0, shapely.get_num_geometries(geoms))
    single_multi = (type_id == 4) & (parts == 1) & ~empty
    pts = np.where(single_multi, shapely.get_geometry(geoms, 0), geoms)
    is_point = (type_id == 0) | single_multi
    x = np.full(n, np.nan)
    y = np.full(n, np.nan)
    usable = is_point & ~empty
    x[usable] = shapely.get_x(pts[usable])
    y[usable] = shapely.get_y(pts[usable])
    problem = np.full(n, None, dtype=object)
    problem[missing] = "feature has no geometry"
    problem[~missing & empty] = "geometry is empty"
    other = ~missing & ~empty & ~is_point
    if other.any():
        kinds = shapely.get_type_id(geoms[other])
        names = np.array(["Point", "LineString", "LinearRing", "Polygon", "MultiPoint",
                          "MultiLineString", "MultiPolygon", "GeometryCollection"], dtype=object)
        problem[other] = join("geometry is ", names[kinds], ", not Point")
        multi = other & (type_id == 4)
        problem[multi] = join("geometry is a MultiPoint of ", parts[multi],
                              " points; only single points are read")
    return x, y, problem
