"""Reading boundary sets: beats, neighbourhoods, wards, LSOAs as polygons.

A *boundary set* is a file of polygons a force or council publishes, one
feature per unit, with an id field and usually a name. Forces redraw beats,
so sets are versioned by the store; this module only reads one file into a
clean, WGS84 :class:`geopandas.GeoDataFrame` and says what it had to change
or leave out.

Formats: GeoJSON, GeoPackage, KML, ESRI shapefile (a ``.shp`` path with its
side-car files, or a ``.zip`` holding them), from a path or an uploaded
byte stream (:mod:`spatial.io.archive` checks zips and finds the file in
them). Reading goes through pyogrio (GDAL).

Rules
-----
* Invalid polygons are repaired with :func:`shapely.make_valid` (the GEOS
  "linework" method), keeping only polygonal parts; each repair is reported.
  The linework method keeps the area a mis-oriented ring encloses: on the
  Sheffield 2011 LSOAs, the alternative "structure" method would drop 99 % of
  E01008111 (a "hole outside shell" that is really an island).
* A feature whose geometry is missing, empty or not polygonal even after
  repair, or whose id is empty, is rejected with a reason; the rest are used.
* Whole-file problems raise :class:`~spatial.errors.InputFormatError` naming
  the file and field: not a vector file, empty, several layers and none
  chosen, id/label field missing, duplicate ids, no CRS with coordinates not
  in degrees, coordinates outside the WGS84 range once reprojected (a wrong
  CRS, typically British National Grid metres in a GeoJSON with no ``crs``
  member, which GDAL must read as WGS84 per RFC 7946), every feature rejected.

References
----------
Butler, H. et al. (2016) *The GeoJSON Format*, RFC 7946 (coordinates are
WGS84 lon/lat). OGC 12-128r18, *GeoPackage Encoding Standard*. OGC 07-147r2,
*KML 2.2*. ESRI (1998) *Shapefile Technical Description*.
"""

from __future__ import annotations

import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyogrio.errors import DataLayerError, DataSourceError

from spatial.errors import InputFormatError, Rejection
from spatial.io.archive import ZIP_MAX_RATIO, ZIP_MAX_UNCOMPRESSED, materialise
from spatial.io.polygons import POLYGONAL, merge_duplicate_ids, repair
from spatial.limits import MAX_LABEL, MAX_UNIT_ID
from spatial.place import crs

#: British National Grid extent in metres (EPSG:27700), used only to word hints.
_BNG_EXTENT = (0.0, 0.0, 700_000.0, 1_300_000.0)


@dataclass
class BoundaryRead:
    """A boundary file as read.

    Attributes
    ----------
    units : geopandas.GeoDataFrame
        Columns ``unit_id`` (str, unique), ``label`` (str; the id when there
        is no label field) and ``geometry`` (valid Polygon/MultiPolygon, 2-D),
        CRS EPSG:4326, one row per usable feature in file order.
    repairs : list of str
        One sentence per repaired feature.
    rejections : list of Rejection
        Features left out, with the 1-based feature number and the reason.
    source_crs : str
        The file's CRS, e.g. ``"EPSG:27700"``.
    warnings : list of str
        Things the reader assumed (e.g. no CRS, read as WGS84).
    """

    units: gpd.GeoDataFrame
    repairs: list[str]
    rejections: list[Rejection]
    source_crs: str
    warnings: list[str] = field(default_factory=list)


def read_boundaries(source: str | Path | IO[bytes] | bytes, *, id_field: str,
                    label_field: str | None = None, file_name: str | None = None,
                    layer: str | None = None, merge_duplicates: bool = False,
                    zip_limits: tuple[int, float] | None = None) -> BoundaryRead:
    """Read a boundary set into WGS84 polygons with string ids.

    Parameters
    ----------
    source : str, Path, binary file object or bytes
        A path to a ``.geojson``/``.json``, ``.gpkg``, ``.kml``, ``.shp`` or
        ``.zip`` (shapefile or one of the others zipped), or the uploaded
        bytes of one of them.
    id_field : str
        Field holding the unit id (e.g. ``"nhood_code"``, ``"LSOA11CD"``).
        Integral numbers are written without a decimal part (``7`` not ``7.0``).
    label_field : str, optional
        Field holding a readable name; the id is used when absent or empty.
    file_name : str, optional
        The uploaded file's name, used in messages and to recognise the
        format of a byte stream (sniffed from its first bytes otherwise).
    layer : str, optional
        Layer to read from a multi-layer GeoPackage/KML, or the ``.shp`` to
        read from a zip holding several.
    merge_duplicates : bool, default False
        Features sharing an id are an error unless this is set; then they are
        merged into one (multi)polygon and the merge is reported in
        ``repairs``. KML exports often store a multi-part unit as several
        placemarks (Chicago's district 31 is three).
    zip_limits : (int, float), optional
        Largest total uncompressed size (bytes) and compression ratio of a
        zip; :data:`ZIP_MAX_UNCOMPRESSED` and :data:`ZIP_MAX_RATIO` by default.
        Checked on the declared sizes before anything is extracted.

    Returns
    -------
    BoundaryRead

    Raises
    ------
    InputFormatError
        For whole-file problems (see the module docstring).
    """
    name = file_name or (Path(source).name if isinstance(source, str | Path) else "upload")
    with tempfile.TemporaryDirectory(prefix="remap-boundaries-") as tmp:
        path = materialise(source, name, Path(tmp),
                           zip_limits or (ZIP_MAX_UNCOMPRESSED, ZIP_MAX_RATIO))
        frame = _read_frame(path, name, layer)
        return _clean(frame, name=name, id_field=id_field, label_field=label_field,
                      merge_duplicates=merge_duplicates)


# --- reading -------------------------------------------------------------------------------


def _read_frame(path: str, name: str, layer: str | None) -> gpd.GeoDataFrame:
    try:
        layers = pyogrio.list_layers(path)
    except (DataSourceError, DataLayerError, OSError) as exc:
        raise InputFormatError(
            f"{name}: not a vector file remap can read (GeoJSON, GeoPackage, KML, zipped "
            "shapefile)", file=name) from exc
    names = [str(n) for n in layers[:, 0]]
    spatial_layers = [str(n) for n, g in layers if g is not None]
    if layer is not None:
        if layer not in names:
            raise InputFormatError(
                f"{name}: no layer {layer!r}; layers: {', '.join(names)}", file=name,
                field="layer")
        chosen = layer
    elif len(spatial_layers) == 1:
        chosen = spatial_layers[0]
    elif len(spatial_layers) > 1:
        raise InputFormatError(
            f"{name}: holds {len(spatial_layers)} layers ({', '.join(spatial_layers)}); "
            "choose one", file=name, field="layer")
    elif len(names) == 1:
        chosen = names[0]
    else:
        raise InputFormatError(f"{name}: holds no layer with geometries", file=name)
    try:
        with warnings.catch_warnings():
            # mixed-type fields (ids 7 and "7A") come back as strings: what remap wants
            warnings.filterwarnings("ignore", message="Could not parse column",
                                    category=UserWarning)
            frame = pyogrio.read_dataframe(path, layer=chosen)
    except (DataSourceError, DataLayerError, OSError, ValueError) as exc:
        raise InputFormatError(f"{name}: cannot be read ({exc})", file=name) from exc
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.name not in frame.columns:
        raise InputFormatError(f"{name}: has no geometries (not a boundary file)", file=name)
    if len(frame) == 0:
        raise InputFormatError(f"{name}: holds no features", file=name)
    return frame


def _id_strings(values: pd.Series) -> np.ndarray:
    """Field values as stripped strings; ``None`` where missing or blank.

    Integral floats (how shapefiles and GDAL often store integer codes) lose
    their ``.0``.
    """
    out = np.full(len(values), None, dtype=object)
    present = values.notna().to_numpy()
    if not present.any():
        return out
    kept = values[present]
    text = kept.astype(str).to_numpy(dtype=object)
    if pd.api.types.is_float_dtype(kept.dtype):
        as_float = kept.to_numpy(dtype="float64")
        integral = (np.isfinite(as_float) & (as_float == np.round(as_float))
                    & (np.abs(as_float) < 2.0**53))
        text[integral] = as_float[integral].astype(np.int64).astype(str)
    stripped = np.char.strip(text.astype(str)).astype(object)
    stripped[stripped == ""] = None
    out[present] = stripped
    return out


def _clean(frame: gpd.GeoDataFrame, *, name: str, id_field: str,
           label_field: str | None, merge_duplicates: bool) -> BoundaryRead:
    fields = [c for c in frame.columns if c != frame.geometry.name]
    for role, fname in (("id_field", id_field), ("label_field", label_field)):
        if fname is not None and fname not in fields:
            raise InputFormatError(
                f"{name}: no field {fname!r} ({role}); fields available: "
                f"{', '.join(map(str, fields)) or 'none'}", file=name, field=fname)

    ids = _id_strings(frame[id_field])
    labels = _id_strings(frame[label_field]) if label_field is not None else ids.copy()
    labels = np.where(pd.isna(labels), ids, labels)
    if not merge_duplicates:
        _refuse_duplicates(ids, name, id_field)

    geoms = np.asarray(shapely.force_2d(frame.geometry.values), dtype=object)
    usable = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    source_crs, notes = _to_wgs84(frame, geoms, usable, name)
    keep, repairs, rejections = _check_features(ids, labels, geoms, usable, name=name,
                                                id_field=id_field, label_field=label_field)
    if not keep.any():
        reasons = "; ".join(r.reason for r in rejections[:5])
        raise InputFormatError(f"{name}: no usable polygon in {len(frame)} features: {reasons}",
                               file=name)

    units = gpd.GeoDataFrame(
        {"unit_id": pd.Series(ids[keep], dtype="str"),
         "label": pd.Series(labels[keep], dtype="str")},
        geometry=gpd.GeoSeries(geoms[keep], crs=f"EPSG:{crs.WGS84}"),
    ).reset_index(drop=True)
    if merge_duplicates and units["unit_id"].duplicated().any():
        units, merged = merge_duplicate_ids(units, np.flatnonzero(keep) + 1)
        repairs.extend(merged)
    return BoundaryRead(units=units, repairs=repairs, rejections=rejections,
                        source_crs=source_crs, warnings=notes)


def _refuse_duplicates(ids: np.ndarray, name: str, id_field: str) -> None:
    present = np.flatnonzero(~pd.isna(ids))
    id_series = pd.Series(ids[present], index=present)
    dup_mask = id_series.duplicated(keep=False)
    if not dup_mask.any():
        return
    groups = id_series[dup_mask].groupby(id_series[dup_mask], sort=True)
    described = [f"{uid!r} (features {', '.join(str(i + 1) for i in idx.index)})"
                 for uid, idx in groups]
    raise InputFormatError(
        f"{name}: duplicate unit ids in field {id_field!r}: " + "; ".join(described[:20])
        + (f"; and {len(described) - 20} more" if len(described) > 20 else ""),
        file=name, field=id_field)


def _extent(geoms: np.ndarray) -> tuple[float, float, float, float] | None:
    """Overall bounds of ``geoms`` (NaN-ignoring), or ``None`` when there are none."""
    b = shapely.bounds(geoms) if len(geoms) else np.empty((0, 4))
    if not len(b):
        return None
    return (np.nanmin(b[:, 0]), np.nanmin(b[:, 1]), np.nanmax(b[:, 2]), np.nanmax(b[:, 3]))


def _to_wgs84(frame: gpd.GeoDataFrame, geoms: np.ndarray, usable: np.ndarray,
              name: str) -> tuple[str, list[str]]:
    """Reproject usable ``geoms`` to WGS84 in place; the source CRS label and notes.

    Refuses a file without a CRS whose coordinates are not degrees, and one whose
    coordinates leave the WGS84 range once reprojected (a wrong CRS).
    """
    notes: list[str] = []
    total = _extent(geoms[usable]) if usable.any() else None
    if frame.crs is None:
        if total is not None and not _inside(total, crs.WORLD_BOUNDS):
            hint = (" They look like British National Grid metres (EPSG:27700)."
                    if _inside(total, _BNG_EXTENT) else "")
            raise InputFormatError(
                f"{name}: has no CRS and its coordinates are not degrees "
                f"(extent {_fmt(total)}).{hint} Supply the file with its CRS "
                "(e.g. the shapefile's .prj).", file=name)
        source_crs = crs.crs_label(crs.WGS84)
        notes.append(f"{name}: no CRS in the file; coordinates are in degrees, "
                     "read as WGS84 (EPSG:4326)")
        src: Any = crs.WGS84
    else:
        source_crs = crs.crs_label(frame.crs)
        src = frame.crs
    if not usable.any():
        return source_crs, notes
    geoms[usable] = crs.reproject_geometries(geoms[usable], src, crs.WGS84)
    b = shapely.bounds(geoms[usable])
    finite = np.isfinite(b).all(axis=1)
    out_total = (np.nanmin(b[:, 0]), np.nanmin(b[:, 1]), np.nanmax(b[:, 2]),
                 np.nanmax(b[:, 3])) if finite.any() else None
    if not finite.all() or out_total is None or not _inside(out_total, crs.WORLD_BOUNDS):
        hint = ""
        if total is not None and _inside(total, _BNG_EXTENT) and \
                source_crs == crs.crs_label(crs.WGS84):
            hint = (" The coordinates look like British National Grid metres "
                    "(EPSG:27700) in a file that declares (or, as GeoJSON, implies) "
                    "WGS84.")
        raise InputFormatError(
            f"{name}: wrong CRS: coordinates fall outside the WGS84 range once read as "
            f"{source_crs} (extent {_fmt(total) if total else 'not finite'}).{hint}",
            file=name)
    return source_crs, notes


def _check_features(ids: np.ndarray, labels: np.ndarray, geoms: np.ndarray,
                    usable: np.ndarray, *, name: str, id_field: str,
                    label_field: str | None) -> tuple[np.ndarray, list[str], list[Rejection]]:
    """Which features are kept (``geoms`` repaired in place), the repairs, the rejections."""
    repairs: list[str] = []
    rejections: list[Rejection] = []
    keep = np.zeros(len(ids), dtype=bool)
    types = shapely.get_type_id(geoms)
    valid = shapely.is_valid(geoms)
    for i in range(len(ids)):  # per feature (hundreds), never per event
        uid = ids[i]
        who = f"unit {uid!r} (feature {i + 1})" if uid is not None else f"feature {i + 1}"
        problem = _feature_problem(uid, labels[i], usable[i], types[i], geoms[i], who,
                                   i + 1, name, id_field, label_field)
        if problem is not None:
            rejections.append(problem)
            continue
        if valid[i] and geoms[i].geom_type in POLYGONAL:
            keep[i] = True
            continue
        fixed, note = repair(geoms[i], bool(valid[i]))
        if note is None:
            rejections.append(Rejection(name, i + 1, "geometry", f"{who}: " + fixed))
            continue
        repairs.append(f"{who}: {note}")
        geoms[i] = fixed
        keep[i] = True
    return keep, repairs, rejections


def _feature_problem(uid: Any, label: Any, usable: bool, type_id: int, geom: Any, who: str,
                     number: int, name: str, id_field: str,
                     label_field: str | None) -> Rejection | None:
    """The rejection of a feature with no id, an over-long id or label, or no polygon."""
    if uid is None:
        return Rejection(name, number, id_field, f"{who}: no unit id")
    if len(uid) > MAX_UNIT_ID:
        return Rejection(name, number, id_field, f"feature {number}: unit id "
                         f"longer than {MAX_UNIT_ID} characters ({len(uid)})")
    if label is not None and len(str(label)) > MAX_LABEL:
        return Rejection(name, number, label_field or id_field,
                         f"{who}: label longer than {MAX_LABEL} characters "
                         f"({len(str(label))})")
    if not usable:
        return Rejection(name, number, "geometry", f"{who}: no geometry")
    if type_id not in (3, 6, 7):  # Polygon, MultiPolygon, GeometryCollection
        return Rejection(name, number, "geometry", f"{who}: not a polygon ({geom.geom_type})")
    return None


def _inside(box: tuple[float, float, float, float],
            bounds: tuple[float, float, float, float]) -> bool:
    return bool(box[0] >= bounds[0] and box[1] >= bounds[1] and box[2] <= bounds[2]
                and box[3] <= bounds[3])


def _fmt(box: tuple[float, float, float, float]) -> str:
    return "(" + ", ".join(f"{v:.6g}" for v in box) + ")"
