"""Reading boundary sets: beats, neighbourhoods, wards, LSOAs as polygons.

A *boundary set* is a file of polygons a force or council publishes, one
feature per unit, with an id field and usually a name. Forces redraw beats,
so sets are versioned by the store; this module only reads one file into a
clean, WGS84 :class:`geopandas.GeoDataFrame` and says what it had to change
or leave out.

Formats: GeoJSON, GeoPackage, KML, ESRI shapefile (a ``.shp`` path with its
side-car files, or a ``.zip`` holding them), from a path or an uploaded
byte stream. Reading goes through pyogrio (GDAL).

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
import zipfile
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
from spatial.limits import MAX_LABEL, MAX_UNIT_ID
from spatial.place import crs

#: Extensions remap reads, in the order they are tried inside a zip.
VECTOR_SUFFIXES = (".shp", ".gpkg", ".geojson", ".json", ".kml")
POLYGONAL = ("Polygon", "MultiPolygon")
#: Zip-bomb guards, checked on the declared sizes before anything is extracted;
#: extraction then stops at the declared size, so a lying header cannot exceed them.
ZIP_MAX_UNCOMPRESSED = 1024 * 1024 * 1024
ZIP_MAX_RATIO = 200.0
ZIP_MAX_MEMBERS = 1000
#: members smaller than this are not held to the ratio (tiny files compress oddly)
_ZIP_RATIO_FLOOR = 1024 * 1024
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
        path = _materialise(source, name, Path(tmp),
                            zip_limits or (ZIP_MAX_UNCOMPRESSED, ZIP_MAX_RATIO))
        frame = _read_frame(path, name, layer)
        return _clean(frame, name=name, id_field=id_field, label_field=label_field,
                      merge_duplicates=merge_duplicates)


# --- getting a GDAL-readable path ---------------------------------------------------------


def _materialise(source: str | Path | IO[bytes] | bytes, name: str, tmp: Path,
                 zip_limits: tuple[int, float] = (ZIP_MAX_UNCOMPRESSED, ZIP_MAX_RATIO)
                 ) -> str:
    """A path GDAL can open (zips are checked, then their vector file extracted)."""
    if isinstance(source, str | Path):
        path = Path(source)
        if not path.is_file():
            raise InputFormatError(f"{name}: no such file", file=name)
        if path.stat().st_size == 0:
            raise InputFormatError(f"{name}: the file is empty", file=name)
        suffix = path.suffix.lower()
        if suffix not in (*VECTOR_SUFFIXES, ".zip"):
            # an upload saved under its own (unknown) name: recognise it by its bytes
            with path.open("rb") as fh:
                sniffed = _sniff(fh.read(64))
            if sniffed and sniffed != suffix:
                if sniffed == ".shp":
                    raise InputFormatError(
                        f"{name}: a shapefile upload must be a .zip holding the .shp, .shx, "
                        ".dbf and .prj files", file=name)
                link = tmp / f"upload{sniffed}"
                link.symlink_to(path.resolve())
                path, suffix = link, sniffed
    else:
        data = source if isinstance(source, bytes) else source.read()
        if not data:
            raise InputFormatError(f"{name}: the file is empty", file=name)
        suffix = Path(name).suffix.lower() if _known_suffix(name) else _sniff(data)
        if suffix == ".shp":
            raise InputFormatError(
                f"{name}: a shapefile upload must be a .zip holding the .shp, .shx, .dbf "
                "and .prj files", file=name)
        path = tmp / f"upload{suffix or '.bin'}"
        path.write_bytes(data)
    if suffix == ".zip" or (not suffix and zipfile.is_zipfile(path)):
        return _zip_member(path, name, tmp, zip_limits)
    return str(path)


def _known_suffix(name: str) -> bool:
    """Whether ``name`` ends in an extension remap recognises (or ``.zip``)."""
    return Path(name).suffix.lower() in (*VECTOR_SUFFIXES, ".zip")


def _sniff(data: bytes) -> str:
    head = data[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"PK"):
        return ".zip"
    if head.startswith(b"SQLite format 3\x00"):
        return ".gpkg"
    if head.startswith((b"{", b"[")):
        return ".geojson"
    if head.startswith(b"<"):
        return ".kml"
    return ""


def check_zip(zf: zipfile.ZipFile, name: str, max_total: int = ZIP_MAX_UNCOMPRESSED,
              max_ratio: float = ZIP_MAX_RATIO) -> None:
    """Refuse a zip bomb from its directory alone (nothing is decompressed):
    too many members, a total declared size above ``max_total`` bytes, or a
    member (over 1 MiB) compressed more than ``max_ratio`` times."""
    infos = zf.infolist()
    if len(infos) > ZIP_MAX_MEMBERS:
        raise InputFormatError(f"{name}: the zip holds {len(infos)} members, more than "
                               f"{ZIP_MAX_MEMBERS}", file=name)
    total = sum(i.file_size for i in infos)
    if total > max_total:
        raise InputFormatError(
            f"{name}: the zip would expand to {total:,} bytes, more than the limit of "
            f"{max_total:,} (REMAP_ZIP_MAX_UNCOMPRESSED_BYTES)", file=name)
    for i in infos:
        if i.file_size > _ZIP_RATIO_FLOOR and i.file_size > max_ratio * max(i.compress_size, 1):
            raise InputFormatError(
                f"{name}: zip member {i.filename!r} is compressed "
                f"{i.file_size / max(i.compress_size, 1):,.0f} times (limit {max_ratio:g}, "
                "REMAP_ZIP_MAX_RATIO): refused as a possible zip bomb", file=name)


def _extract(zf: zipfile.ZipFile, members: list[str], dest: Path, name: str) -> None:
    """Extract ``members`` under ``dest``; each stops at its declared (checked) size."""
    for m in members:
        parts = Path(m).parts
        if Path(m).is_absolute() or ".." in parts:
            raise InputFormatError(f"{name}: zip member {m!r} has an unsafe path", file=name)
        target = dest.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        with zf.open(m) as src, target.open("wb") as out:
            while chunk := src.read(1024 * 1024):  # zipfile stops at the declared size
                out.write(chunk)


def _zip_member(path: Path, name: str, tmp: Path | None = None,
                limits: tuple[int, float] = (ZIP_MAX_UNCOMPRESSED, ZIP_MAX_RATIO)) -> str:
    """The single vector file (or shapefile folder) of a zip, checked against zip
    bombs and extracted into ``tmp``."""
    dest = (tmp or path.parent) / "unzipped"
    try:
        with zipfile.ZipFile(path) as zf:
            check_zip(zf, name, *limits)
            members = [m for m in zf.namelist()
                       if not m.endswith("/") and not Path(m).name.startswith((".", "__MACOSX"))
                       and "__MACOSX" not in m]
            for suffix in VECTOR_SUFFIXES:
                found = sorted(m for m in members if m.lower().endswith(suffix))
                if not found:
                    continue
                if suffix == ".shp":
                    folders = {str(Path(m).parent) for m in found}
                    if len(folders) == 1:
                        folder = folders.pop()
                        _extract(zf, [m for m in members if str(Path(m).parent) == folder],
                                 dest, name)
                        return str(dest if folder == "." else dest / folder)
                if len(found) > 1:
                    raise InputFormatError(
                        f"{name}: the zip holds several {suffix} files ({', '.join(found)}); "
                        "upload one boundary set per file", file=name)
                _extract(zf, [found[0]], dest, name)
                return str(dest / found[0])
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError) as exc:
        raise InputFormatError(f"{name}: not a readable zip file ({exc})", file=name) from exc
    raise InputFormatError(
        f"{name}: the zip holds no vector file ({', '.join(VECTOR_SUFFIXES)}); "
        f"it holds: {', '.join(members[:10]) or 'nothing'}", file=name)


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


def _polygonal_part(geom: Any) -> Any:
    """Union of the polygonal parts of ``geom``; an empty polygon if none."""
    if geom.geom_type in POLYGONAL:
        return geom
    parts = shapely.get_parts(geom)
    polys = [p for p in parts if p.geom_type in POLYGONAL]
    nested = [p for p in parts if p.geom_type == "GeometryCollection"]
    polys.extend(_polygonal_part(p) for p in nested)
    polys = [p for p in polys if not p.is_empty]
    if not polys:
        return shapely.Polygon()
    return shapely.union_all(polys) if len(polys) > 1 else polys[0]


def _has_non_polygonal(geom: Any) -> bool:
    if geom.geom_type in POLYGONAL:
        return False
    if geom.geom_type != "GeometryCollection":
        return True
    return any(_has_non_polygonal(p) for p in shapely.get_parts(geom))


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

    present = np.flatnonzero(~pd.isna(ids))
    id_series = pd.Series(ids[present], index=present)
    dup_mask = id_series.duplicated(keep=False)
    if dup_mask.any() and not merge_duplicates:
        groups = id_series[dup_mask].groupby(id_series[dup_mask], sort=True)
        described = [f"{uid!r} (features {', '.join(str(i + 1) for i in idx.index)})"
                     for uid, idx in groups]
        raise InputFormatError(
            f"{name}: duplicate unit ids in field {id_field!r}: " + "; ".join(described[:20])
            + (f"; and {len(described) - 20} more" if len(described) > 20 else ""),
            file=name, field=id_field)

    notes: list[str] = []
    geoms = np.asarray(shapely.force_2d(frame.geometry.values), dtype=object)
    usable = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    bounds = shapely.bounds(geoms[usable]) if usable.any() else np.empty((0, 4))
    total = (np.nanmin(bounds[:, 0]), np.nanmin(bounds[:, 1]),
             np.nanmax(bounds[:, 2]), np.nanmax(bounds[:, 3])) if len(bounds) else None

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

    if usable.any():
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

    repairs: list[str] = []
    rejections: list[Rejection] = []
    keep = np.zeros(len(frame), dtype=bool)
    types = shapely.get_type_id(geoms)
    valid = shapely.is_valid(geoms)
    for i in range(len(frame)):  # per feature (hundreds), never per event
        uid = ids[i]
        who = f"unit {uid!r} (feature {i + 1})" if uid is not None else f"feature {i + 1}"
        if uid is None:
            rejections.append(Rejection(name, i + 1, id_field, f"{who}: no unit id"))
            continue
        if len(uid) > MAX_UNIT_ID:
            rejections.append(Rejection(name, i + 1, id_field, f"feature {i + 1}: unit id "
                                        f"longer than {MAX_UNIT_ID} characters ({len(uid)})"))
            continue
        if labels[i] is not None and len(str(labels[i])) > MAX_LABEL:
            rejections.append(Rejection(name, i + 1, label_field or id_field,
                                        f"{who}: label longer than {MAX_LABEL} characters "
                                        f"({len(str(labels[i]))})"))
            continue
        if not usable[i]:
            rejections.append(Rejection(name, i + 1, "geometry", f"{who}: no geometry"))
            continue
        geom = geoms[i]
        gtype = geom.geom_type
        if types[i] not in (3, 6, 7):  # Polygon, MultiPolygon, GeometryCollection
            rejections.append(Rejection(name, i + 1, "geometry",
                                        f"{who}: not a polygon ({gtype})"))
            continue
        if valid[i] and gtype in POLYGONAL:
            keep[i] = True
            continue
        reason = shapely.is_valid_reason(geom) if not valid[i] else "mixed geometry types"
        made = shapely.make_valid(geom) if not valid[i] else geom
        fixed = _polygonal_part(made)
        if fixed.is_empty or fixed.area <= 0 or not fixed.is_valid:
            rejections.append(Rejection(
                name, i + 1, "geometry",
                f"{who}: invalid polygon ({reason}) has no polygonal area after make_valid"))
            continue
        what = (f"invalid polygon ({reason}) repaired with make_valid" if not valid[i]
                else f"{gtype} holding other geometry types: polygonal parts kept")
        dropped = ""
        if not valid[i] and _has_non_polygonal(made):
            dropped = ", non-polygonal parts dropped"
        repairs.append(f"{who}: {what}{dropped}")
        geoms[i] = fixed
        keep[i] = True

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
        units, merged = _merge(units, np.flatnonzero(keep) + 1)
        repairs.extend(merged)
    return BoundaryRead(units=units, repairs=repairs, rejections=rejections,
                        source_crs=source_crs, warnings=notes)


def _merge(units: gpd.GeoDataFrame,
           feature_numbers: np.ndarray) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Merge rows sharing a ``unit_id`` (first label, union of geometries)."""
    notes: list[str] = []
    first = ~units["unit_id"].duplicated(keep="first").to_numpy()
    geoms = np.asarray(units.geometry.values, dtype=object)
    for uid, rows in units.groupby("unit_id", sort=False).indices.items():
        if len(rows) < 2:
            continue
        merged = _polygonal_part(shapely.make_valid(shapely.union_all(geoms[rows])))
        geoms[rows[0]] = merged
        notes.append(f"unit {uid!r}: features {', '.join(str(int(feature_numbers[r])) for r in rows)}"
                     " share this id and were merged into one polygon")
    out = units.copy()
    out["geometry"] = gpd.GeoSeries(geoms, crs=units.crs, index=units.index)
    return out[first].reset_index(drop=True), notes


def _inside(box: tuple[float, float, float, float],
            bounds: tuple[float, float, float, float]) -> bool:
    return bool(box[0] >= bounds[0] and box[1] >= bounds[1] and box[2] <= bounds[2]
                and box[3] <= bounds[3])


def _fmt(box: tuple[float, float, float, float]) -> str:
    return "(" + ", ".join(f"{v:.6g}" for v in box) + ")"

