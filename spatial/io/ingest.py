"""Event readers: police.uk CSV, mapped CSV, GeoJSON and GeoPackage.

Every reader returns a :class:`ReadResult`: an *events frame* with exactly
:data:`spatial.events.EVENT_COLUMNS` (accepted rows) and one
:class:`~spatial.errors.Rejection` per rejected row. A whole input that is
unusable (empty, not the format it claims, wrong header, a mapping that names
missing columns, coordinates that are plainly in the wrong CRS) raises
:class:`~spatial.errors.InputFormatError` and nothing is returned.

Design
------
* Pure functions: bytes in, frame out. No database, no web.
* Vectorised. CSV text is tokenised by the pandas C parser; record boundaries
  and field counts come from one numpy pass over the bytes; every validation
  rule and the idempotency key are array operations. (GeoJSON features are
  Python objects once ``json`` has parsed them, so turning them into arrays
  is a comprehension; validation after that is vectorised too.)
* One rejection per rejected row: the first rule it fails, in the order
  row shape, coordinates, time, category.
* Coordinates: all CRS and axis-order knowledge lives in :mod:`spatial.place.crs`.
  Projected input is converted to WGS84 there and then checked like any
  lon/lat; ``x``/``y`` are metres in one CRS per file chosen by
  :func:`spatial.place.crs.metric_epsg` over the accepted rows.
* ``row`` in a rejection is the row number a spreadsheet shows (header = 1,
  first data row = 2; a quoted field spanning lines is still one row); for
  GeoJSON and GeoPackage it is the 1-based feature number.

Idempotency key
---------------
``event_key`` is stable across re-imports of the same file and distinct for
every row of it, including rows identical in every field: two 64-bit
``pandas.util.hash_pandas_object`` hashes with different keys over the row's
raw text (128 bits, 32 hex digits), then ``-{n}`` where ``n`` is the row's
occurrence index among rows with the same hash in the file. For police.uk
the hash leaves out ``Last outcome category`` and ``Context``, the two fields
police.uk updates when it re-publishes a month, so a re-downloaded month keeps
its keys (the ``-{n}`` index still separates rows that differ only there).
Where the source has an id column the key is the id, plus ``-{n}`` for its
second and later occurrences in the file.
"""

from __future__ import annotations

import csv
import io
import json
import re
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path
from time import perf_counter
from typing import IO, Any, ClassVar, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import numpy.typing as npt
import pandas as pd

from spatial.errors import InputFormatError, ParameterError, Rejection
from spatial.events import (
    EVENT_COLUMNS,
    LOCATION_PRECISIONS,
    SENSITIVITIES,
    TIME_PRECISIONS,
    empty_events_frame,
    layer_spec,
)
from spatial.limits import MAX_CATEGORY, check_length, check_name
from spatial.place import crs as _crs
from spatial.place.crs import UK_BOUNDS, WGS84

__all__ = [
    "FORMATS",
    "POLICEUK_COLUMNS",
    "ColumnMapping",
    "ReadResult",
    "detect_format",
    "read_events",
    "read_geojson",
    "read_geopackage",
    "read_mapped_csv",
    "read_policeuk",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]
ObjArray = npt.NDArray[np.object_]
Bounds = tuple[float, float, float, float]
Source = str | Path | IO[bytes] | bytes

#: Formats :func:`read_events` dispatches on (``"auto"`` sniffs one of them).
FORMATS: Final = ("policeuk", "csv", "geojson", "gpkg")

#: The police.uk street-level crime download header, in order.
POLICEUK_COLUMNS: Final = (
    "Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude",
    "Location", "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context",
)
#: police.uk columns kept in ``attributes`` (empty values omitted).
POLICEUK_ATTRIBUTES: Final = (
    "Crime ID", "Reported by", "Falls within", "Location", "LSOA code", "LSOA name",
    "Last outcome category", "Context",
)
#: police.uk columns the idempotency hash covers (not the ones police.uk revises).
POLICEUK_KEY_COLUMNS: Final = tuple(c for c in POLICEUK_COLUMNS
                                    if c not in ("Last outcome category", "Context"))

_HASH_KEYS: Final = ("remap-event-key1", "remap-event-key2")  # 16 characters each
_HEX: Final = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_BOM: Final = b"\xef\xbb\xbf"
_JSON_TYPES: Final = (str, int, float, bool, list, dict)
_TIME_MIN: Final = pd.Timestamp("1678-01-01")
_TIME_MAX: Final = pd.Timestamp("2261-12-31")

_LON_NAMES: Final = ("longitude", "lon", "lng", "long")
_LAT_NAMES: Final = ("latitude", "lat")
_TIME_NAMES: Final = ("time", "datetime", "date_time", "timestamp", "date", "month")

_MAGIC: Final = (
    (b"SQLite format 3\x00", "an SQLite database (a GeoPackage? use fmt=gpkg)"),
    (b"PK\x03\x04", "a ZIP archive (an Excel .xlsx workbook? export it as CSV; or unzip it)"),
    (b"\x1f\x8b", "a gzip-compressed file (decompress it first)"),
    (b"%PDF", "a PDF document"),
    (b"\xd0\xcf\x11\xe0", "an old Office document (an Excel .xls workbook? export it as CSV)"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xfe", "UTF-16 text (save it as UTF-8)"),
    (b"\xfe\xff", "UTF-16 text (save it as UTF-8)"),
    (b"\xff\xd8\xff", "a JPEG image"),
)

# A time value that carries its own UTC offset: ...HH:MM[:SS[.fff]] then Z or +HH[:MM].
_AWARE_RE: Final = r"\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:Z|z|[+-]\d{2}(?::?\d{2})?)$"


# --------------------------------------------------------------------------- API types


@dataclass(frozen=True)
class ColumnMapping:
    """Which source columns (or GeoJSON/GeoPackage properties) mean what.

    Attributes
    ----------
    id : str or None
        Source id column; ``None`` derives the key from the row's content.
    time : str or None
        Time column. ``None``: a column named ``time``, ``datetime``,
        ``timestamp``, ``date`` or ``month`` (any case), else the file is
        rejected.
    time_format : str or None
        ``strptime`` format. ``None``: ISO-8601 only (``YYYY-MM``,
        ``YYYY-MM-DD``, ``YYYY-MM-DDTHH:MM[:SS][±HH:MM|Z]``); anything else is
        rejected rather than guessed (no day-first/month-first guessing).
    time_precision : {"instant", "day", "month"} or None
        ``None`` infers it per row (``YYYY-MM`` -> month, date only -> day,
        else instant; from ``time_format`` when one is given). When given,
        times are floored to the start of the day/month.
    lon, lat : str or None
        WGS84 longitude/latitude columns, degrees. ``None`` (and no
        easting/northing): columns named ``longitude``/``lon``/``lng``/``long``
        and ``latitude``/``lat``, any case.
    easting, northing : str or None
        Projected coordinate columns, in the units of ``crs`` (metres).
    crs : int or None
        EPSG code of easting/northing (e.g. 27700). For GeoJSON/GeoPackage the
        CRS to assume when the file declares none.
    category : str or None
        Category column; when mapped, rows with an empty category are rejected.
    attributes : tuple of str or None
        Columns kept in ``attributes``; ``None`` keeps every column not mapped
        above, ``()`` keeps none. Empty values are omitted.
    """

    id: str | None = None
    time: str | None = None
    time_format: str | None = None
    time_precision: str | None = None
    lon: str | None = None
    lat: str | None = None
    easting: str | None = None
    northing: str | None = None
    crs: int | None = None
    category: str | None = None
    attributes: tuple[str, ...] | None = None

    #: Keys accepted by :meth:`parse`.
    KEYS: ClassVar[tuple[str, ...]] = (
        "id", "time", "time_format", "time_precision", "lon", "lat", "easting", "northing",
        "crs", "category", "attributes")
    #: Mapping roles that name columns.
    ROLES: ClassVar[tuple[str, ...]] = (
        "id", "time", "lon", "lat", "easting", "northing", "category")

    def __post_init__(self) -> None:
        if (self.lon is None) != (self.lat is None):
            raise ParameterError("mapping", "map both lon and lat, or neither")
        if (self.easting is None) != (self.northing is None):
            raise ParameterError("mapping", "map both easting and northing, or neither")
        if self.lon is not None and self.easting is not None:
            raise ParameterError("mapping", "map lon/lat or easting/northing, not both")
        if self.easting is not None and self.crs is None:
            raise ParameterError("mapping", "easting/northing need crs=<EPSG code>, e.g. crs=27700")
        if self.lon is not None and self.crs not in (None, WGS84):
            raise ParameterError("mapping", f"lon/lat are WGS84 (EPSG:4326), not EPSG:{self.crs}; "
                                            "map projected columns as easting=/northing=")
        if self.crs is not None and (isinstance(self.crs, bool) or not isinstance(self.crs, int)
                                     or self.crs <= 0):
            raise ParameterError("mapping", f"crs must be a positive EPSG code, not {self.crs!r}")
        if self.time_precision is not None and self.time_precision not in TIME_PRECISIONS:
            raise ParameterError("mapping", f"time_precision must be one of "
                                            f"{', '.join(TIME_PRECISIONS)}, "
                                            f"not {self.time_precision!r}")
        if self.attributes is not None and not isinstance(self.attributes, tuple):
            object.__setattr__(self, "attributes", tuple(self.attributes))
        for role in self.ROLES:
            value = getattr(self, role)
            if value is not None and (not isinstance(value, str) or not value):
                raise ParameterError("mapping", f"{role} must be a non-empty column name")

    @classmethod
    def parse(cls, spec: str | Mapping[str, Any] | ColumnMapping) -> ColumnMapping:
        """Build a mapping from the CLI form or a dict.

        Parameters
        ----------
        spec : str or mapping
            ``"id=ref,time=date,lon=x,lat=y,category=offence"``; ``crs`` as
            ``27700`` or ``EPSG:27700``; ``attributes`` as a ``|``- or
            ``;``-separated list (``attributes=`` for none). Values cannot
            contain commas in this form (e.g. a ``time_format`` with a comma):
            use a dict, with the same keys and ``attributes`` as a list.

        Raises
        ------
        ParameterError
            Unknown or repeated keys, items without ``=``, bad values.
        """
        if isinstance(spec, ColumnMapping):
            return spec
        items: dict[str, Any] = {}
        if isinstance(spec, str):
            for part in (p.strip() for p in spec.split(",")):
                if not part:
                    continue
                key, sep, value = part.partition("=")
                key = key.strip().lower()
                if not sep:
                    raise ParameterError("mapping", f"{part!r} is not key=value")
                if key in items:
                    raise ParameterError("mapping", f"key {key!r} given twice")
                items[key] = value.strip()
        elif isinstance(spec, Mapping):
            items = {str(k).strip().lower(): v for k, v in spec.items()}
        else:
            raise ParameterError("mapping", f"expected a string or a dict, "
                                            f"not {type(spec).__name__}")
        unknown = sorted(set(items) - set(cls.KEYS))
        if unknown:
            raise ParameterError("mapping", f"unknown key(s) {', '.join(map(repr, unknown))}; "
                                            f"known keys: {', '.join(cls.KEYS)}")
        kwargs: dict[str, Any] = {}
        for key, value in items.items():
            if key == "crs":
                kwargs[key] = None if value in (None, "") else _parse_epsg(value)
            elif key == "attributes":
                if value is None:
                    kwargs[key] = None
                elif isinstance(value, str):
                    kwargs[key] = tuple(v.strip() for v in re.split(r"[|;]", value) if v.strip())
                else:
                    kwargs[key] = tuple(str(v) for v in value)
            else:
                if value is not None and not isinstance(value, str):
                    raise ParameterError("mapping", f"{key} must be a string, not {value!r}")
                if value == "":
                    raise ParameterError("mapping", f"{key} has an empty value")
                kwargs[key] = value
        return cls(**kwargs)

    def columns(self) -> dict[str, str]:
        """``{role: column}`` for the roles that are mapped."""
        return {r: getattr(self, r) for r in self.ROLES if getattr(self, r) is not None}


@dataclass
class ReadResult:
    """What a reader returns.

    Attributes
    ----------
    file : str
        The name rejections carry (``file_name`` or the path's base name).
    layer : str
        Layer the events belong to.
    rows_read : int
        Data rows (features) in the input, blank lines not counted;
        ``rows_accepted + rows_rejected == rows_read``.
    events : pandas.DataFrame
        Accepted rows, columns exactly :data:`spatial.events.EVENT_COLUMNS`.
    rejections : list of Rejection
        One per rejected row, in row order.
    timings : dict
        Seconds spent in ``"parse"`` (bytes to raw table) and ``"validate"``
        (everything after).
    """

    file: str
    layer: str
    rows_read: int
    events: pd.DataFrame
    rejections: list[Rejection]
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def rows_accepted(self) -> int:
        return len(self.events)

    @property
    def rows_rejected(self) -> int:
        return len(self.rejections)


# --------------------------------------------------------------------------- readers


def read_policeuk(source: Source, *, file_name: str | None = None, layer: str = "crime",
                  area_of_interest: Bounds | None = UK_BOUNDS) -> ReadResult:
    """Read a police.uk street-level crime CSV exactly as downloaded.

    Parameters
    ----------
    source : path, bytes or binary file-like
        The CSV (a UTF-8 byte-order mark is tolerated).
    file_name : str, optional
        Name used in rejections; default the path's base name.
    layer : str
        Layer name; its sensitivity comes from :func:`spatial.events.layer_spec`.
    area_of_interest : (minlon, minlat, maxlon, maxlat) or None
        Degrees; points outside are rejected. ``None`` accepts anywhere.

    Returns
    -------
    ReadResult
        ``time`` is the first day of ``Month`` (precision ``month``),
        locations are ``snapped``, ``category`` is ``Crime type``,
        ``source`` is ``"police.uk"``; ``source_id`` is the Crime ID when
        present, else the derived key. Rows without coordinates are rejected
        (field ``Longitude``, or ``Latitude`` when only that is empty).

    Raises
    ------
    InputFormatError
        Empty or non-CSV input, any header other than
        :data:`POLICEUK_COLUMNS`, unparseable quoting, projected coordinates.
    """
    aoi = _check_bounds(area_of_interest)
    _check_layer(layer)
    t0 = perf_counter()
    data, name = _load(source, file_name)
    table = _read_csv(data, name, encoding="utf-8", what="a police.uk CSV")
    _check_policeuk_header(table.header, name)
    _require_rows(table, name)
    t1 = perf_counter()

    frame = table.frame
    rej = _Rejector(name, table.rows)
    _reject_shape(rej, table)
    raw_lon = _col(frame, "Longitude")
    raw_lat = _col(frame, "Latitude")
    lon, lat = _numeric_pair(rej, raw_lon, raw_lat, "Longitude", "Latitude")
    _check_wgs84(rej, lon, lat, lon_field="Longitude", lat_field="Latitude",
                 pair_field="Longitude/Latitude", aoi=aoi,
                 crs_hint="police.uk downloads are WGS84; to read this file anyway, read it as a "
                          "mapped CSV with easting=Longitude,northing=Latitude,crs=27700")
    times = _parse_month(rej, _col(frame, "Month"), "Month")
    category = _col(frame, "Crime type")
    rej.add(category == "", "Crime type", "Crime type is empty")
    _reject_long(rej, category, "Crime type", MAX_CATEGORY)

    keys = _derived_keys(frame.loc[:, list(POLICEUK_KEY_COLUMNS)])
    crime_id = _col(frame, "Crime ID")
    source_id = np.where(crime_id != "", crime_id, keys)

    ok = rej.ok
    events = _assemble(
        layer=layer, ok=ok, keys=keys, source_id=source_id, time=times,
        time_precision="month", lon=lon, lat=lat, location_precision="snapped",
        category=category, source="police.uk", sensitivity=layer_spec(layer).sensitivity,
        attributes=_attributes(frame.loc[ok, list(POLICEUK_ATTRIBUTES)]),
    )
    t2 = perf_counter()
    return ReadResult(file=name, layer=layer, rows_read=len(table.rows), events=events,
                      rejections=rej.rejections(), timings={"parse": t1 - t0, "validate": t2 - t1})


def read_mapped_csv(source: Source, *, layer: str,
                    mapping: ColumnMapping | str | Mapping[str, Any],
                    file_name: str | None = None, source_name: str = "csv",
                    sensitivity: str | None = None, location_precision: str = "exact",
                    area_of_interest: Bounds | None = UK_BOUNDS, encoding: str = "utf-8",
                    na_values: tuple[str, ...] = (), timezone: str = "UTC",
                    category_default: str | None = None) -> ReadResult:
    """Read a generic CSV whose columns are named by a :class:`ColumnMapping`.

    Parameters
    ----------
    source : path, bytes or binary file-like
        The CSV (comma-separated, ``"``-quoted, header on the first line).
    layer : str
        Layer name.
    mapping : ColumnMapping, str or dict
        Which columns mean what (see :meth:`ColumnMapping.parse`).
    file_name : str, optional
        Name used in rejections.
    source_name : str
        Value of the ``source`` column.
    sensitivity : {"open", "restricted", "health"} or None
        ``None``: the layer's default (:func:`spatial.events.layer_spec`).
    location_precision : {"exact", "snapped", "rounded"}
        How precise the locations are (Tempe EMS: ``rounded``).
    area_of_interest : (minlon, minlat, maxlon, maxlat) or None
        Degrees; ``None`` accepts anywhere.
    encoding : str
        Text encoding (``"cp1252"`` for some Excel exports).
    na_values : tuple of str
        Extra cell values meaning "empty" (e.g. ``("NA",)``); ``""`` always is.
    timezone : str
        IANA zone of instants written without a UTC offset (default UTC);
        they are converted to naive UTC. Dates and months are not shifted.
    category_default : str or None
        ``category`` for every row when no category column is mapped.

    Returns
    -------
    ReadResult

    Raises
    ------
    InputFormatError
        Empty/non-CSV input, unparseable quoting, a mapping naming columns the
        file does not have (the message lists the columns it does have), no
        coordinate or time column, coordinates plainly in another CRS.
    ParameterError
        Bad option values.
    """
    mapping = ColumnMapping.parse(mapping)
    options = _Options.make(layer, source_name, sensitivity, location_precision,
                            area_of_interest, timezone, category_default)
    t0 = perf_counter()
    data, name = _load(source, file_name)
    table = _read_csv(data, name, encoding=encoding, what="a CSV file")
    roles = _resolve_roles(mapping, table.header, name, geometry=False)
    _require_rows(table, name)
    t1 = perf_counter()

    frame = table.frame
    if na_values:
        frame = frame.mask(frame.isin([v for v in na_values if v != ""]), "")
    rej = _Rejector(name, table.rows)
    _reject_shape(rej, table)
    if "lon" in roles:
        a, b = _numeric_pair(rej, _col(frame, roles["lon"]), _col(frame, roles["lat"]),
                             roles["lon"], roles["lat"])
        coords = _Coords(a, b, roles["lon"], roles["lat"], f"{roles['lon']}/{roles['lat']}", WGS84,
                         f"map them as easting={roles['lon']},northing={roles['lat']},crs=27700 "
                         "or the CRS they are in")
    else:
        a, b = _numeric_pair(rej, _col(frame, roles["easting"]), _col(frame, roles["northing"]),
                             roles["easting"], roles["northing"])
        assert mapping.crs is not None  # guaranteed by ColumnMapping
        coords = _Coords(a, b, roles["easting"], roles["northing"],
                         f"{roles['easting']}/{roles['northing']}", mapping.crs,
                         "map the columns as lon=/lat= instead")
    return _finish(name=name, frame=frame, rows_read=len(table.rows), rej=rej, roles=roles,
                   mapping=mapping, coords=coords, keysrc=frame, options=options, t0=t0, t1=t1,
                   text=True)


def read_geojson(source: Source, *, layer: str, mapping: ColumnMapping | str | Mapping[str, Any]
                 | None = None, file_name: str | None = None, source_name: str = "geojson",
                 sensitivity: str | None = None, location_precision: str = "exact",
                 area_of_interest: Bounds | None = UK_BOUNDS, timezone: str = "UTC",
                 category_default: str | None = None) -> ReadResult:
    """Read Point features of a GeoJSON FeatureCollection (or a single Feature).

    Coordinates come from the geometry (``[x, y]``, i.e. lon/lat for WGS84);
    the mapping names properties (``id``, ``time``, ``category``, ...). A
    legacy ``crs`` member naming another CRS (``urn:ogc:def:crs:EPSG::27700``)
    is honoured and the points are converted to WGS84; a ``crs`` member that
    cannot be understood rejects the file. Without one, ``mapping.crs`` (else
    WGS84) is assumed. Non-point, empty or null geometries are rejected per
    feature (field ``geometry``); ``row`` is the 1-based feature number.

    Other parameters are as for :func:`read_mapped_csv`.

    Raises
    ------
    InputFormatError
        Not JSON, not GeoJSON, no features, unusable ``crs`` member, a
        mapping naming absent properties, coordinates plainly in another CRS.
    """
    mapping = ColumnMapping.parse(mapping or ColumnMapping())
    options = _Options.make(layer, source_name, sensitivity, location_precision,
                            area_of_interest, timezone, category_default)
    t0 = perf_counter()
    data, name = _load(source, file_name)
    _sniff(data, name, "GeoJSON")
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except RecursionError:
        raise InputFormatError(f"{name} is nested too deeply to be GeoJSON", file=name) from None
    except UnicodeDecodeError as exc:
        raise InputFormatError(f"{name} is not UTF-8 text, so not GeoJSON ({exc.reason} at byte "
                               f"{exc.start})", file=name) from None
    except json.JSONDecodeError as exc:
        raise InputFormatError(f"{name} is not valid JSON: {exc.msg} at line {exc.lineno} "
                               f"column {exc.colno}", file=name) from None
    _check_depth(doc, name)
    features = _geojson_features(doc, name)
    declared = _geojson_crs(doc, name)
    if declared is not None and mapping.crs is not None and declared != mapping.crs:
        raise InputFormatError(f"{name} declares EPSG:{declared} in its crs member but crs="
                               f"{mapping.crs} was given", file=name, field="crs")
    epsg = declared or mapping.crs or WGS84
    n = len(features)
    props = [f.get("properties") if isinstance(f, dict) else None for f in features]
    frame = pd.DataFrame.from_records([p if isinstance(p, dict) else {} for p in props],
                                      index=pd.RangeIndex(n))
    frame.columns = [str(c) for c in frame.columns]
    points = [_point_xy(f) for f in features]
    x = np.fromiter((p[0] for p in points), dtype=np.float64, count=n)
    y = np.fromiter((p[1] for p in points), dtype=np.float64, count=n)
    problem = np.array([p[2] for p in points], dtype=object)
    keysrc = pd.DataFrame({"feature": [json.dumps(f, sort_keys=True, ensure_ascii=False,
                                                  separators=(",", ":")) for f in features]})
    roles = _resolve_roles(mapping, list(frame.columns), name, geometry=True)
    t1 = perf_counter()

    rej = _Rejector(name, np.arange(1, n + 1, dtype=np.int64))
    rej.add(problem != None, "geometry", lambda m: problem[m])  # noqa: E711 (element-wise)
    coords = _Coords(x, y, "geometry", "geometry", "geometry", epsg,
                     "add a crs member (e.g. urn:ogc:def:crs:EPSG::27700) or pass crs=...")
    return _finish(name=name, frame=frame, rows_read=n, rej=rej, roles=roles, mapping=mapping,
                   coords=coords, keysrc=keysrc, options=options, t0=t0, t1=t1, text=False)


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

    Other parameters are as for :func:`read_geojson`. The layer's CRS must
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
    options = _Options.make(layer, source_name, sensitivity, location_precision,
                            area_of_interest, timezone, category_default)
    t0 = perf_counter()
    data, name = _load(source, file_name)
    _sniff(data, name, "a GeoPackage", allow_sqlite=True)
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
    roles = _resolve_roles(mapping, list(frame.columns), name, geometry=True)
    t1 = perf_counter()

    rej = _Rejector(name, np.arange(1, n + 1, dtype=np.int64))
    rej.add(problem != None, "geometry", lambda m: problem[m])  # noqa: E711 (element-wise)
    coords = _Coords(x, y, "geometry", "geometry", "geometry", epsg,
                     "the layer's CRS looks wrong; fix it or pass crs=...")
    return _finish(name=name, frame=frame, rows_read=n, rej=rej, roles=roles, mapping=mapping,
                   coords=coords, keysrc=keysrc, options=options, t0=t0, t1=t1, text=False)


def read_events(source: Source, *, fmt: str, layer: str,
                mapping: ColumnMapping | str | Mapping[str, Any] | None = None,
                **kw: Any) -> ReadResult:
    """Dispatch to the reader of ``fmt``.

    Parameters
    ----------
    fmt : {"policeuk", "csv", "geojson", "gpkg", "auto"}
        ``"auto"`` sniffs the bytes (:func:`detect_format`).
    layer : str
        Layer name.
    mapping : ColumnMapping, str or dict, optional
        Required for ``csv`` unless the columns are auto-detected; not
        allowed for ``policeuk``.
    **kw
        Keyword options of the chosen reader.
    """
    fmt_n = str(fmt).strip().lower()
    fmt_n = {"police.uk": "policeuk", "police_uk": "policeuk", "geopackage": "gpkg",
             "json": "geojson"}.get(fmt_n, fmt_n)
    if fmt_n == "auto":
        data, name = _load(source, kw.pop("file_name", None))
        fmt_n = detect_format(data, name)
        source, kw["file_name"] = data, name
    if fmt_n == "policeuk":
        if mapping is not None:
            raise ParameterError("mapping", "police.uk files have a fixed header; "
                                            "do not pass a mapping")
        return read_policeuk(source, layer=layer, **kw)
    if fmt_n == "csv":
        return read_mapped_csv(source, layer=layer, mapping=mapping or ColumnMapping(), **kw)
    if fmt_n == "geojson":
        return read_geojson(source, layer=layer, mapping=mapping, **kw)
    if fmt_n == "gpkg":
        return read_geopackage(source, layer=layer, mapping=mapping, **kw)
    raise ParameterError("fmt", f"unknown format {fmt!r}; use one of {', '.join(FORMATS)} or auto")


def detect_format(data: bytes, name: str = "") -> str:
    """Guess the format of ``data``: ``gpkg``, ``geojson``, ``policeuk`` or ``csv``."""
    if data.startswith(b"SQLite format 3\x00"):
        return "gpkg"
    body = data[3:] if data.startswith(_BOM) else data
    head = body[:4096].lstrip()
    if head.startswith((b"{", b"[")) or name.lower().endswith((".geojson", ".json")):
        return "geojson"
    first = head.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8", "replace")
    if [c.strip() for c in first.split(",")] == list(POLICEUK_COLUMNS):
        return "policeuk"
    return "csv"


# --------------------------------------------------------------------------- loading


def _load(source: Source, file_name: str | None) -> tuple[bytes, str]:
    """The bytes of ``source`` and the name rejections carry."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), file_name or "<bytes>"
    if isinstance(source, (str, Path)):
        path = Path(source)
        try:
            return path.read_bytes(), file_name or path.name
        except FileNotFoundError:
            raise InputFormatError(f"file not found: {path}", file=file_name or path.name) from None
        except IsADirectoryError:
            raise InputFormatError(f"{path} is a directory, not a file",
                                   file=file_name or path.name) from None
    read = getattr(source, "read", None)
    if read is None:
        raise ParameterError("source", f"expected a path, bytes or a binary file, "
                                       f"not {type(source).__name__}")
    raw = read()
    data = raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)
    label = getattr(source, "name", None)
    return data, file_name or (Path(label).name if isinstance(label, str) and label else "<upload>")


def _sniff(data: bytes, name: str, what: str, *, allow_sqlite: bool = False) -> None:
    """Fatal checks every text reader shares: empty, binary, HTML."""
    body = data[3:] if data.startswith(_BOM) else data
    if not body.strip():
        raise InputFormatError(f"{name} is empty", file=name)
    for magic, label in _MAGIC:
        if body.startswith(magic) and not (allow_sqlite and magic.startswith(b"SQLite")):
            raise InputFormatError(f"{name} is {label}, not {what}", file=name)
    if allow_sqlite:
        return
    head = np.frombuffer(body[:8192], dtype=np.uint8)
    control = ((head < 0x20) & (head != 0x09) & (head != 0x0A) & (head != 0x0D)) | (head == 0x7F)
    if (head == 0).any() or control.mean() > 0.01:
        raise InputFormatError(f"{name} is binary data, not {what}", file=name)
    low = body[:512].lstrip().lower()
    if low.startswith((b"<!doctype", b"<html", b"<?xml", b"<head", b"<body")):
        raise InputFormatError(f"{name} is an HTML/XML page, not {what} (a web page saved "
                               "instead of the file?)", file=name)


# --------------------------------------------------------------------------- CSV tokenising


@dataclass
class _CsvTable:
    """A CSV as text cells: header names, data rows (blank lines dropped)."""

    header: list[str]
    frame: pd.DataFrame  # columns = header, object dtype, missing cells ""
    rows: IntArray       # spreadsheet row number of each frame row
    nfields: IntArray    # fields in each row as written


def _read_csv(data: bytes, name: str, *, encoding: str, what: str) -> _CsvTable:
    """Tokenise a CSV; rows keep their spreadsheet numbers and field counts."""
    _sniff(data, name, what)
    body = data[3:] if data.startswith(_BOM) else data
    if body.lstrip().startswith((b"{", b"[")):
        raise InputFormatError(f"{name} looks like JSON (GeoJSON?), not {what}", file=name)
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError as exc:
        raise InputFormatError(f"{name} is not {encoding} text ({exc.reason} at byte {exc.start}): "
                               f"binary data, or pass the right encoding", file=name) from None
    except LookupError:
        raise ParameterError("encoding", f"unknown text encoding {encoding!r}") from None

    counted = _field_counts_fast(body)
    if counted is None:
        counted = _field_counts_csv(text, name)
    counts, blank = counted
    try:
        raw = _pandas_cells(body, encoding, int(counts.max()))
    except (pd.errors.ParserError, ValueError) as exc:
        where = re.search(r"EOF inside string starting at row (\d+)", str(exc))
        if where:  # pandas counts records from 0 with header=None; spreadsheets from 1
            row = int(where.group(1)) + 1
            raise InputFormatError(f"{name} cannot be parsed as CSV: the quoted field starting "
                                   f"on row {row} is never closed (unbalanced quotes, or a "
                                   "truncated file)", file=name, row=row) from None
        raise InputFormatError(f"{name} cannot be parsed as CSV: {str(exc).strip()}",
                               file=name) from None
    if len(raw) != len(counts):
        counts, blank = _field_counts_csv(text, name)
        if len(raw) != len(counts):
            raise InputFormatError(f"{name} cannot be parsed as CSV consistently "
                                   f"({len(raw)} vs {len(counts)} records)", file=name)

    single = np.flatnonzero(counts == 1)
    if single.size:  # whitespace-only lines are blank lines too
        cells = pd.Series(raw.iloc[single, 0].to_numpy(dtype=object), dtype=object)
        blank[single] |= (cells.str.strip() == "").to_numpy(dtype=bool)
    nonblank = np.flatnonzero(~blank)
    h = int(nonblank[0])  # _sniff guarantees some non-blank text
    m = int(counts[h])
    header = _dedupe([str(v).strip() for v in raw.iloc[h, :m].tolist()])
    data_idx = nonblank[nonblank > h]
    if data_idx.size == len(raw) - h - 1:
        frame = raw.iloc[h + 1:, :m]
    else:
        frame = raw.iloc[data_idx, :m]
    frame = frame.set_axis(header, axis=1).reset_index(drop=True)
    return _CsvTable(header=header, frame=frame, rows=(data_idx + 1).astype(np.int64),
                     nfields=counts[data_idx].astype(np.int64))


def _require_rows(table: _CsvTable, name: str) -> None:
    if len(table.rows) == 0:
        raise InputFormatError(f"{name} has a header but no data rows", file=name)


def _pandas_cells(body: bytes, encoding: str, width: int) -> pd.DataFrame:
    """Every record as ``width`` text cells (short records padded with "")."""
    return pd.read_csv(
        io.BytesIO(body), header=None, names=list(range(width)), index_col=False,
        dtype=object, keep_default_na=False, na_filter=False, skip_blank_lines=False,
        encoding=encoding, on_bad_lines="error", engine="c", quotechar='"', doublequote=True,
    )


def _field_counts_fast(body: bytes) -> tuple[IntArray, BoolArray] | None:
    """Fields per record and blank-record flags, from one numpy pass over the bytes.

    Quote state is the running parity of ``"``; that equals the CSV grammar
    when every opening quote starts a field and every closing quote ends one
    (checked here). Files breaking that (stray quotes inside unquoted fields)
    return ``None`` and are counted by the ``csv`` module instead.
    """
    b = np.frombuffer(body, dtype=np.uint8)
    n = b.size
    quote = b == 0x22
    inside: BoolArray | None = None
    if quote.any():
        after = np.logical_xor.accumulate(quote)
        if after[-1]:
            return None  # an unterminated quote: let the parsers report it
        inside = np.zeros(n, dtype=bool)
        inside[1:] = after[:-1]
        prev = np.empty(n, dtype=np.uint8)
        prev[0] = 0x2C
        prev[1:] = b[:-1]
        nxt = np.empty(n, dtype=np.uint8)
        nxt[-1] = 0x2C
        nxt[:-1] = b[1:]
        structural = np.array([0x2C, 0x0A, 0x0D, 0x22], dtype=np.uint8)
        if not (np.isin(prev[quote & ~inside], structural).all()
                and np.isin(nxt[quote & inside], structural).all()):
            return None
    newline = b == 0x0A
    cr = b == 0x0D
    comma = b == 0x2C
    if inside is not None:
        newline &= ~inside
        cr &= ~inside
        comma &= ~inside
    cr[:-1] &= b[1:] != 0x0A  # a lone CR ends a record; CR LF ends it at the LF
    term = np.flatnonzero(newline | cr)
    starts = np.concatenate(([0], term + 1))
    ends = np.concatenate((term, [n]))
    if starts[-1] >= n:
        starts, ends = starts[:-1], ends[:-1]
    record = np.searchsorted(term, np.flatnonzero(comma))
    counts = np.bincount(record, minlength=starts.size).astype(np.int64) + 1
    length = ends - starts
    first = b[np.minimum(starts, n - 1)] if n else np.zeros(0, dtype=np.uint8)
    blank = (length == 0) | ((length == 1) & (first == 0x0D))
    return counts, blank


def _field_counts_csv(text: str, name: str) -> tuple[IntArray, BoolArray]:
    """Fields per record with the ``csv`` module (fallback for irregular quoting)."""
    try:
        counts = np.fromiter((len(r) for r in csv.reader(io.StringIO(text, newline=""))),
                             dtype=np.int64)
    except csv.Error as exc:
        raise InputFormatError(f"{name} cannot be parsed as CSV: {exc}", file=name) from None
    blank = counts == 0
    counts[blank] = 1
    return counts, blank


def _dedupe(names: list[str]) -> list[str]:
    """Unique column names: blanks become ``Unnamed: i``, repeats get ``.1``, ``.2``."""
    out: list[str] = []
    seen: dict[str, int] = {}
    for i, nm in enumerate(names):
        nm = nm or f"Unnamed: {i}"
        base = nm
        while nm in seen:
            seen[base] += 1
            nm = f"{base}.{seen[base]}"
        seen.setdefault(nm, 0)
        out.append(nm)
    return out


def _check_policeuk_header(header: list[str], name: str) -> None:
    expected = list(POLICEUK_COLUMNS)
    if header == expected:
        return
    missing = [c for c in expected if c not in header]
    unexpected = [c for c in header if c not in expected]
    parts = []
    if missing:
        parts.append(f"missing columns: {', '.join(missing)}")
    if unexpected:
        parts.append(f"unexpected columns: {', '.join(unexpected)}")
    if not parts:
        parts.append("the columns are in a different order")
    raise InputFormatError(f"{name} is not a police.uk street-level crime CSV: {'; '.join(parts)}. "
                           f"Expected header: {','.join(expected)}", file=name, row=1)


def _reject_shape(rej: _Rejector, table: _CsvTable) -> None:
    m = len(table.header)
    wrong = table.nfields != m
    rej.add(wrong, "<row>",
            lambda k: _join("row has ", table.nfields[k], f" fields, header has {m}"))


# --------------------------------------------------------------------------- GeoJSON / GPKG parsing


def _geojson_features(doc: Any, name: str) -> list[Any]:
    if not isinstance(doc, dict):
        raise InputFormatError(f"{name} is JSON but not GeoJSON (top level is not an object)",
                               file=name)
    kind = doc.get("type")
    if kind == "FeatureCollection":
        features = doc.get("features")
        if not isinstance(features, list):
            raise InputFormatError(f"{name}: FeatureCollection has no 'features' array", file=name)
    elif kind == "Feature":
        features = [doc]
    else:
        raise InputFormatError(f"{name} is not a GeoJSON FeatureCollection or Feature "
                               f"(type is {kind!r})", file=name)
    if not features:
        raise InputFormatError(f"{name} has no features", file=name)
    return features


def _geojson_crs(doc: dict[str, Any], name: str) -> int | None:
    """EPSG code of a legacy (2008) GeoJSON ``crs`` member, or ``None``."""
    member = doc.get("crs")
    if member is None:
        return None
    crs_name = None
    if isinstance(member, dict) and member.get("type") == "name":
        props = member.get("properties")
        if isinstance(props, dict) and isinstance(props.get("name"), str):
            crs_name = props["name"].strip()
    if crs_name is None:
        raise InputFormatError(f"{name}: cannot use its crs member {json.dumps(member)[:200]} "
                               "(only named EPSG CRSs are supported)", file=name, field="crs")
    if re.search(r"CRS:?84$", crs_name, flags=re.IGNORECASE):
        return WGS84
    found = re.search(r"EPSG:{1,2}(?:[\d.]*:)?(\d+)$", crs_name, flags=re.IGNORECASE)
    if not found:
        raise InputFormatError(f"{name}: cannot use its crs member {crs_name!r} "
                               "(expected e.g. urn:ogc:def:crs:EPSG::27700)",
                               file=name, field="crs")
    return int(found.group(1))


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _point_xy(feature: Any) -> tuple[float, float, str | None]:
    """``(x, y, None)`` of a Point feature, or ``(nan, nan, problem)``."""
    nan = float("nan")
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        return nan, nan, "not a GeoJSON Feature"
    geom = feature.get("geometry")
    if geom is None:
        return nan, nan, "feature has no geometry"
    if not isinstance(geom, dict):
        return nan, nan, "geometry is not a JSON object"
    kind = geom.get("type")
    coords = geom.get("coordinates")
    if kind == "MultiPoint" and isinstance(coords, list) and len(coords) == 1:
        coords = coords[0]
    elif kind == "MultiPoint":
        size = len(coords) if isinstance(coords, list) else 0
        return nan, nan, f"geometry is a MultiPoint of {size} points; only single points are read"
    elif kind != "Point":
        return nan, nan, f"geometry is {kind}, not Point"
    if not isinstance(coords, list) or len(coords) == 0:
        return nan, nan, "Point is empty (no coordinates)"
    if len(coords) < 2:
        return nan, nan, "Point coordinates are not an [x, y] pair"
    if not (_is_number(coords[0]) and _is_number(coords[1])):
        return nan, nan, f"Point coordinates {json.dumps(coords[:2])[:80]} are not numbers"
    return float(coords[0]), float(coords[1]), None


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
        problem[other] = _join("geometry is ", names[kinds], ", not Point")
        multi = other & (type_id == 4)
        problem[multi] = _join("geometry is a MultiPoint of ", parts[multi],
                               " points; only single points are read")
    return x, y, problem


# --------------------------------------------------------------------------- validation


class _Rejector:
    """Per-row rejection state: the first rule a row fails is the one reported."""

    def __init__(self, file: str, rows: IntArray) -> None:
        self.file = file
        self.rows = rows
        self.bad = np.zeros(len(rows), dtype=bool)
        self.field = np.empty(len(rows), dtype=object)
        self.reason = np.empty(len(rows), dtype=object)

    @property
    def ok(self) -> BoolArray:
        return ~self.bad

    def add(self, mask: BoolArray, field: str,
            reason: str | Callable[[BoolArray], ObjArray]) -> None:
        """Reject rows in ``mask`` not rejected yet; ``reason`` may build texts for them."""
        m = np.asarray(mask, dtype=bool) & ~self.bad
        if not m.any():
            return
        self.field[m] = field
        self.reason[m] = reason(m) if callable(reason) else reason
        self.bad |= m

    def rejections(self) -> list[Rejection]:
        idx = np.flatnonzero(self.bad)
        return [Rejection(self.file, r, f, s) for r, f, s in
                zip(self.rows[idx].tolist(), self.field[idx].tolist(),
                    self.reason[idx].tolist(), strict=True)]


def _join(*parts: Any) -> ObjArray:
    """Element-wise string concatenation of scalars and equal-length arrays."""
    out: Any = ""
    for p in parts:
        if isinstance(p, str):
            out = out + p
        else:
            arr = np.asarray(p)
            if arr.dtype.kind == "f":
                text = np.char.mod("%.10g", arr).astype(object)
            else:
                text = arr.astype(str).astype(object)
            out = out + text
    return np.asarray(out, dtype=object)


def _quoted(values: ObjArray) -> ObjArray:
    """``'value'`` with long values cut, for reasons."""
    text = pd.Series(values, dtype=object).astype(str).str.slice(0, 60)
    return np.asarray("'" + text.to_numpy(dtype=object) + "'", dtype=object)


def _col(frame: pd.DataFrame, name: str) -> ObjArray:
    return np.asarray(frame[name].to_numpy(dtype=object), dtype=object)


def _numeric_pair(rej: _Rejector, raw_a: ObjArray, raw_b: ObjArray, a_field: str,
                  b_field: str) -> tuple[FloatArray, FloatArray]:
    """Two text coordinate columns as floats; empty and non-numeric cells rejected."""
    a_empty = raw_a == ""
    b_empty = raw_b == ""
    rej.add(a_empty & b_empty, a_field, f"missing coordinates: {a_field} and {b_field} are empty")
    rej.add(a_empty, a_field, f"missing coordinates: {a_field} is empty")
    rej.add(b_empty, b_field, f"missing coordinates: {b_field} is empty")
    a = _to_float(raw_a)
    b = _to_float(raw_b)
    rej.add(~np.isfinite(a), a_field, lambda m: _join(f"{a_field} ", _quoted(raw_a[m]),
                                                      " is not a number"))
    rej.add(~np.isfinite(b), b_field, lambda m: _join(f"{b_field} ", _quoted(raw_b[m]),
                                                      " is not a number"))
    return a, b


def _to_float(raw: ObjArray) -> FloatArray:
    values = pd.to_numeric(pd.Series(raw, dtype=object), errors="coerce")
    out = np.array(values.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
    out[~np.isfinite(out)] = np.nan
    return out


@dataclass
class _Coords:
    """Coordinates as parsed (floats, NaN where already rejected) and how to read them."""

    a: FloatArray
    b: FloatArray
    a_field: str
    b_field: str
    pair_field: str
    epsg: int
    crs_hint: str


def _locate(rej: _Rejector, c: _Coords, aoi: Bounds | None) -> tuple[FloatArray, FloatArray]:
    """WGS84 lon/lat of ``c``, every invalid row rejected."""
    if c.epsg == WGS84:
        _check_wgs84(rej, c.a, c.b, lon_field=c.a_field, lat_field=c.b_field,
                     pair_field=c.pair_field, aoi=aoi, crs_hint=c.crs_hint)
        return c.a, c.b
    return _check_projected(rej, c, aoi)


def _check_wgs84(rej: _Rejector, lon: FloatArray, lat: FloatArray, *, lon_field: str,
                 lat_field: str, pair_field: str, aoi: Bounds | None, crs_hint: str,
                 declared: bool = True,
                 shown: Callable[[BoolArray], ObjArray] | None = None) -> None:
    """Range, null island, swapped axes and area of interest, in that order.

    ``declared``: the values were given as WGS84 (not converted from another
    CRS), so a file whose every row is out of range is in the wrong CRS (fatal).
    ``shown`` describes the point in reasons (default ``(lon, lat)``).
    """
    finite = np.isfinite(lon) & np.isfinite(lat) & rej.ok
    outside = (np.abs(lon) > 180.0) | (np.abs(lat) > 90.0)
    if declared and finite.any() and outside[finite].all():
        first = int(np.flatnonzero(finite)[0])
        raise InputFormatError(
            f"{rej.file}: coordinates look like projected metres (e.g. EPSG:27700), not WGS84 "
            f"degrees: every row is outside longitude -180..180 / latitude -90..90 (row "
            f"{int(rej.rows[first])}: {lon_field} {lon[first]:.10g}, "
            f"{lat_field} {lat[first]:.10g}); "
            f"declare the CRS with crs=... ({crs_hint})",
            file=rej.file, field=pair_field, row=int(rej.rows[first]))
    describe = shown or (lambda m: _join("(", lon[m], ", ", lat[m], ")"))
    hint = (np.abs(lat) <= 180.0) & (np.abs(lon) <= 90.0)
    rej.add(np.abs(lat) > 90.0, lat_field, lambda m: _join(
        f"{lat_field} ", lat[m], " is out of range (latitude must be between -90 and 90)",
        np.where(hint[m], "; latitude and longitude swapped?", "")))
    rej.add(np.abs(lon) > 180.0, lon_field, lambda m: _join(
        f"{lon_field} ", lon[m], " is out of range (longitude must be between -180 and 180)"))
    rej.add((lon == 0.0) & (lat == 0.0), pair_field,
            "coordinates are (0, 0), 'null island': a missing location written as zeros")
    if aoi is None:
        return
    minlon, minlat, maxlon, maxlat = aoi
    where = f"(longitude {minlon:g}..{maxlon:g}, latitude {minlat:g}..{maxlat:g})"
    rej.add(_crs.looks_swapped(lon, lat, aoi), pair_field, lambda m: _join(
        "latitude and longitude look swapped: (lon, lat) ", describe(m),
        f" is outside the area of interest {where} but would be inside it with the axes exchanged"))
    rej.add(~_crs.in_bounds(lon, lat, aoi), pair_field, lambda m: _join(
        "(lon, lat) ", describe(m), f" is outside the area of interest {where}"))


def _check_projected(rej: _Rejector, c: _Coords,
                     aoi: Bounds | None) -> tuple[FloatArray, FloatArray]:
    """Projected coordinates to WGS84 via :mod:`spatial.place.crs`, then the WGS84 checks."""
    try:
        source_crs = _crs.transformer(c.epsg, WGS84).source_crs
    except Exception as exc:  # pyproj.exceptions.CRSError and friends
        raise ParameterError("crs", f"EPSG:{c.epsg} is not a usable CRS ({exc})") from None
    e, n = c.a, c.b
    finite = np.isfinite(e) & np.isfinite(n) & rej.ok
    if source_crs is not None and source_crs.is_projected:
        degrees = (np.abs(e) <= 180.0) & (np.abs(n) <= 90.0) & ~((e == 0.0) & (n == 0.0))
        if finite.any() and degrees[finite].all():
            first = int(np.flatnonzero(finite)[0])
            raise InputFormatError(
                f"{rej.file}: coordinates look like WGS84 degrees, not metres of EPSG:{c.epsg} "
                f"(row {int(rej.rows[first])}: {c.a_field} {e[first]:.10g}, {c.b_field} "
                f"{n[first]:.10g}); {c.crs_hint}", file=rej.file, field=c.pair_field,
                row=int(rej.rows[first]))
        rej.add((e == 0.0) & (n == 0.0), c.pair_field,
                "coordinates are (0, 0): a missing location written as zeros")
        rej.add(degrees, c.pair_field, lambda m: _join(
            "(", e[m], ", ", n[m], f") looks like degrees, not metres of EPSG:{c.epsg}"))
    lon = np.full(e.shape, np.nan)
    lat = np.full(e.shape, np.nan)
    todo = finite & rej.ok
    if todo.any():
        lon[todo], lat[todo] = _crs.to_wgs84(e[todo], n[todo], c.epsg)
    rej.add(todo & ~(np.isfinite(lon) & np.isfinite(lat)), c.pair_field, lambda m: _join(
        "(", e[m], ", ", n[m], f") is not a valid position in EPSG:{c.epsg}"))
    _check_wgs84(rej, lon, lat, lon_field=c.pair_field, lat_field=c.pair_field,
                 pair_field=c.pair_field, aoi=aoi, crs_hint=c.crs_hint, declared=False,
                 shown=lambda m: _join("(", lon[m], ", ", lat[m], f") from EPSG:{c.epsg} (",
                                       e[m], ", ", n[m], ")"))
    return lon, lat


def _parse_month(rej: _Rejector, raw: ObjArray, field: str) -> npt.NDArray[np.datetime64]:
    """``YYYY-MM`` text to the first instant of the month (naive, ns)."""
    empty = raw == ""
    rej.add(empty, field, f"{field} is empty")
    parsed = pd.to_datetime(pd.Series(raw, dtype=object), format="%Y-%m", errors="coerce")
    rej.add(parsed.isna().to_numpy() & ~empty, field,
            lambda m: _join(f"{field} ", _quoted(raw[m]), " is not a month (expected YYYY-MM)"))
    return np.asarray(parsed.to_numpy(dtype="datetime64[ns]"))


def _format_precision(fmt: str) -> str:
    """The precision a ``strptime`` format can express."""
    if re.search(r"%[HIMSfpXcTRrsz]", fmt):
        return "instant"
    if re.search(r"%[djaAuwUWxeDFGV]", fmt):
        return "day"
    return "month"


def _parse_times(rej: _Rejector, raw: ObjArray, field: str, fmt: str | None,
                 precision: str | None, tz: str) -> tuple[npt.NDArray[np.datetime64], ObjArray]:
    """Text times to naive-UTC datetime64[ns] and a per-row precision."""
    n = len(raw)
    empty = raw == ""
    rej.add(empty, field, f"{field} is empty")
    s = pd.Series(raw, dtype=object).where(~empty)
    if fmt is not None:
        aware = np.full(n, bool(re.search(r"%[zZ]", fmt)))
        parsed = pd.to_datetime(s, format=fmt, errors="coerce", utc=True)
        prec = np.full(n, precision or _format_precision(fmt), dtype=object)
        rej.add(parsed.isna().to_numpy() & ~empty, field, lambda m: _join(
            f"{field} ", _quoted(raw[m]), f" does not match time_format {fmt!r}"))
    else:
        is_month = s.str.fullmatch(r"\d{4}-\d{2}", na=False).to_numpy(dtype=bool)
        is_day = s.str.fullmatch(r"\d{4}-?\d{2}-?\d{2}", na=False).to_numpy(dtype=bool)
        year_only = s.str.fullmatch(r"[+-]?\d{1,6}", na=False).to_numpy(dtype=bool)
        aware = s.str.contains(_AWARE_RE, regex=True, na=False).to_numpy(dtype=bool)
        parsed = pd.to_datetime(s.where(~year_only), format="ISO8601", errors="coerce", utc=True)
        rej.add(parsed.isna().to_numpy() & ~empty, field, lambda m: _join(
            f"{field} ", _quoted(raw[m]), " is not an ISO-8601 date/time (YYYY-MM, YYYY-MM-DD or "
            "YYYY-MM-DDTHH:MM:SS); pass time_format=... for other layouts"))
        if precision is None:
            prec = np.where(is_month, "month", np.where(is_day, "day", "instant")).astype(object)
        else:
            prec = np.full(n, precision, dtype=object)
    wall = parsed.dt.tz_localize(None)
    if tz != "UTC":
        local = (prec == "instant") & ~aware & wall.notna().to_numpy()
        if local.any():
            shifted = (wall[local].dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
                       .dt.tz_convert("UTC").dt.tz_localize(None))
            rej.add(local & shifted.reindex(wall.index).isna().to_numpy(), field, lambda m: _join(
                f"{field} ", _quoted(raw[m]), f" is ambiguous or does not exist in {tz} "
                "(a clock change); give it a UTC offset"))
            wall = wall.where(~local, shifted.reindex(wall.index))
    out_of_range = wall.notna().to_numpy() & ((wall < _TIME_MIN) | (wall > _TIME_MAX)).to_numpy()
    rej.add(out_of_range, field, lambda m: _join(
        f"{field} ", _quoted(raw[m]), " is outside the supported years 1678-2261"))
    values = np.asarray(wall.where(~out_of_range).to_numpy(dtype="datetime64[ns]"))
    # Floor to the start of the stated precision.
    month = prec == "month"
    day = prec == "day"
    if month.any():
        values[month] = values[month].astype("datetime64[M]").astype("datetime64[ns]")
    if day.any():
        values[day] = values[day].astype("datetime64[D]").astype("datetime64[ns]")
    return values, prec


def _as_text(values: pd.Series) -> ObjArray:
    """Cells of any dtype as text; missing values become ""."""
    missing = values.isna().to_numpy(dtype=bool)
    if pd.api.types.is_float_dtype(values.dtype):
        arr = values.to_numpy(dtype=np.float64, na_value=np.nan)
        out = np.asarray(values.astype(str).to_numpy(dtype=object), dtype=object)
        integral = np.isfinite(arr) & (np.abs(arr) < 2.0**53)
        integral[integral] = arr[integral] == np.round(arr[integral])
        out[integral] = arr[integral].astype(np.int64).astype(str).astype(object)
    else:
        out = np.asarray(values.astype(str).to_numpy(dtype=object), dtype=object)
    out[missing] = ""
    return out


# --------------------------------------------------------------------------- keys, attributes


def _derived_keys(frame: pd.DataFrame) -> ObjArray:
    """Content-derived idempotency keys: 32 hex digits of two 64-bit row hashes + ``-{n}``.

    ``n`` numbers the rows with the same hash in file order, so rows that are
    identical in every field still get distinct, reproducible keys.
    """
    h1 = pd.util.hash_pandas_object(frame, index=False, hash_key=_HASH_KEYS[0]).to_numpy(np.uint64)
    h2 = pd.util.hash_pandas_object(frame, index=False, hash_key=_HASH_KEYS[1]).to_numpy(np.uint64)
    n = len(h1)
    pair = np.empty((n, 2), dtype=">u8")
    pair[:, 0] = h1
    pair[:, 1] = h2
    octets = pair.view(np.uint8).reshape(n, 16)
    hexed = np.empty((n, 32), dtype=np.uint8)
    hexed[:, 0::2] = _HEX[octets >> 4]
    hexed[:, 1::2] = _HEX[octets & 0x0F]
    digest = hexed.view("S32").reshape(n).astype("U32").astype(object)
    occurrence = (pd.DataFrame({"a": h1, "b": h2}).groupby(["a", "b"], sort=False).cumcount()
                  .to_numpy().astype(str).astype(object))
    return np.asarray(digest + "-" + occurrence, dtype=object)


def _id_keys(ids: ObjArray, derived: ObjArray) -> ObjArray:
    """Keys from a source id column: the id, ``id-{n}`` for its n-th repeat; derived when empty."""
    has = ids != ""
    occurrence = pd.Series(ids, dtype=object).groupby(ids, sort=False).cumcount().to_numpy()
    keys = np.where(has, ids, derived).astype(object)
    again = has & (occurrence > 0)
    keys[again] = _join(ids[again], "-", occurrence[again])
    clash = pd.Series(keys, dtype=object).duplicated(keep="first").to_numpy()
    if clash.any():  # an id that literally reads like "<other id>-1": fall back to content
        keys[clash] = _join(keys[clash], "#", derived[clash])
    return np.asarray(keys, dtype=object)


def _attributes(frame: pd.DataFrame) -> ObjArray:
    """One dict per row of ``frame``'s non-empty cells (JSON-serialisable values).

    Rows are grouped by which of their cells are empty (police.uk has a
    handful of such patterns); each group's dicts are then built by C-level
    ``map``/``zip`` over the group's cells, with no Python-level loop over rows.
    """
    n = len(frame)
    out = np.empty(n, dtype=object)
    if n == 0:
        return out
    columns = [str(c) for c in frame.columns]
    cells = frame.to_numpy(dtype=object)
    present = ~(pd.isna(cells) | (cells == ""))
    if present.shape[1] == 0:
        present = np.zeros((n, 1), dtype=bool)
    packed = np.packbits(present, axis=1)
    patterns, inverse = np.unique(packed, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(len(patterns) + 1))
    for p in range(len(patterns)):
        rows = order[bounds[p]:bounds[p + 1]]
        on = np.flatnonzero(np.unpackbits(patterns[p])[:len(columns)])
        names = [columns[i] for i in on]
        values = cells[np.ix_(rows, on)].tolist()
        holder = np.empty(len(rows), dtype=object)
        holder[:] = list(map(dict, map(zip, repeat(names), values)))
        out[rows] = holder
    return out


# --------------------------------------------------------------------------- assembling


@dataclass(frozen=True)
class _Options:
    layer: str
    source_name: str
    sensitivity: str
    location_precision: str
    aoi: Bounds | None
    timezone: str
    category_default: str | None

    @classmethod
    def make(cls, layer: str, source_name: str, sensitivity: str | None,
             location_precision: str, aoi: Bounds | None, timezone: str,
             category_default: str | None) -> _Options:
        _check_layer(layer)
        sens = sensitivity or layer_spec(layer).sensitivity
        if sens not in SENSITIVITIES:
            raise ParameterError("sensitivity", f"must be one of {', '.join(SENSITIVITIES)}, "
                                                f"not {sens!r}")
        if location_precision not in LOCATION_PRECISIONS:
            raise ParameterError("location_precision", f"must be one of "
                                 f"{', '.join(LOCATION_PRECISIONS)}, not {location_precision!r}")
        if timezone != "UTC":
            try:
                ZoneInfo(timezone)
            except (ZoneInfoNotFoundError, ValueError):
                raise ParameterError("timezone", f"unknown time zone {timezone!r}") from None
        if category_default is not None:
            check_length(category_default, "category_default", MAX_CATEGORY)
        return cls(layer, source_name, sens, location_precision, _check_bounds(aoi), timezone,
                   category_default)


def _check_layer(layer: str) -> None:
    if not isinstance(layer, str) or not layer.strip():
        raise ParameterError("layer", "must be a non-empty name")
    check_name(layer, "layer")


def _check_bounds(aoi: Bounds | None) -> Bounds | None:
    if aoi is None:
        return None
    try:
        minlon, minlat, maxlon, maxlat = (float(v) for v in aoi)
    except (TypeError, ValueError):
        raise ParameterError("area_of_interest", "must be (minlon, minlat, maxlon, maxlat) "
                                                 "in degrees, or None") from None
    if not (-180 <= minlon < maxlon <= 180 and -90 <= minlat < maxlat <= 90):
        raise ParameterError("area_of_interest", f"{aoi} is not a lon/lat box "
                                                 "(minlon, minlat, maxlon, maxlat)")
    return minlon, minlat, maxlon, maxlat


def _resolve_roles(mapping: ColumnMapping, columns: list[str], name: str, *,
                   geometry: bool) -> dict[str, str]:
    """Mapped roles checked against the file's columns, with coordinates/time auto-detected."""
    roles = mapping.columns()
    what = "properties" if geometry else "columns"
    if geometry and any(r in roles for r in ("lon", "lat", "easting", "northing")):
        raise ParameterError("mapping", "GeoJSON/GeoPackage coordinates come from the "
                                        "geometry; do not map lon/lat or easting/northing")
    missing = [f"{r}={c!r}" for r, c in roles.items() if c not in columns]
    missing += [f"attributes {c!r}" for c in (mapping.attributes or ()) if c not in columns]
    if missing:
        first = next((c for r, c in roles.items() if c not in columns), None)
        raise InputFormatError(
            f"{name}: the mapping names {what} the file does not have: {', '.join(missing)}; "
            f"available {what}: {', '.join(columns) or '(none)'}", file=name, field=first)
    lowered: dict[str, str] = {}
    for c in columns:
        lowered.setdefault(c.strip().lower(), c)
    if not geometry and not any(r in roles for r in ("lon", "easting")):
        lon = next((lowered[c] for c in _LON_NAMES if c in lowered), None)
        lat = next((lowered[c] for c in _LAT_NAMES if c in lowered), None)
        if lon is not None and lat is not None:
            roles["lon"], roles["lat"] = lon, lat
        elif mapping.crs is not None and "easting" in lowered and "northing" in lowered:
            roles["easting"], roles["northing"] = lowered["easting"], lowered["northing"]
        else:
            raise InputFormatError(
                f"{name}: no coordinate columns; map them with lon=...,lat=... (WGS84) or "
                f"easting=...,northing=...,crs=...; available columns: {', '.join(columns)}",
                file=name)
    if "time" not in roles:
        found = next((lowered[c] for c in _TIME_NAMES if c in lowered), None)
        if found is None:
            raise InputFormatError(
                f"{name}: no time {what[:-1] if what == 'columns' else 'property'}; map one with "
                f"time=...; available {what}: {', '.join(columns) or '(none)'}", file=name)
        roles["time"] = found
    return roles


def _finish(*, name: str, frame: pd.DataFrame, rows_read: int, rej: _Rejector,
            roles: dict[str, str], mapping: ColumnMapping, coords: _Coords,
            keysrc: pd.DataFrame, options: _Options, t0: float, t1: float,
            text: bool) -> ReadResult:
    """Shared tail of the mapped readers: locate, time, category, keys, attributes."""
    def cells(col: str) -> ObjArray:
        return _col(frame, col) if text else _as_text(frame[col])

    lon, lat = _locate(rej, coords, options.aoi)
    times, precision = _parse_times(rej, cells(roles["time"]), roles["time"],
                                    mapping.time_format, mapping.time_precision, options.timezone)
    n = len(frame)
    if "category" in roles:
        category = cells(roles["category"])
        rej.add(category == "", roles["category"], f"{roles['category']} is empty")
        _reject_long(rej, category, roles["category"], MAX_CATEGORY)
    else:
        category = np.full(n, options.category_default, dtype=object)
    derived = _derived_keys(keysrc)
    if "id" in roles:
        ids = cells(roles["id"])
        keys = _id_keys(ids, derived)
        source_id = np.where(ids != "", ids, keys).astype(object)
    else:
        keys = source_id = derived
    used = set(roles.values())
    attr_cols = (list(mapping.attributes) if mapping.attributes is not None
                 else [c for c in frame.columns if c not in used])
    ok = rej.ok
    attr_frame = frame.loc[ok, attr_cols]
    if not text:
        attr_frame = _jsonable(attr_frame)
    events = _assemble(
        layer=options.layer, ok=ok, keys=keys, source_id=source_id, time=times,
        time_precision=precision, lon=lon, lat=lat,
        location_precision=options.location_precision, category=category,
        source=options.source_name, sensitivity=options.sensitivity,
        attributes=_attributes(attr_frame),
        native=None if coords.epsg == WGS84 else (coords.a, coords.b, coords.epsg),
    )
    t2 = perf_counter()
    return ReadResult(file=name, layer=options.layer, rows_read=rows_read, events=events,
                      rejections=rej.rejections(), timings={"parse": t1 - t0, "validate": t2 - t1})


def _jsonable(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns converted so that ``to_dict`` yields JSON-serialisable values."""
    out = {}
    for c in frame.columns:
        s = frame[c]
        if pd.api.types.is_datetime64_any_dtype(s.dtype):
            s = s.map(lambda v: v.isoformat(), na_action="ignore").astype(object)
        elif s.dtype == object:
            bad = s.map(lambda v: not (v is None or isinstance(v, _JSON_TYPES)))
            if bad.any():
                s = s.where(~bad, s.astype(str))
        out[c] = s
    return pd.DataFrame(out, index=frame.index)


def _assemble(*, layer: str, ok: BoolArray, keys: ObjArray, source_id: ObjArray,
              time: npt.NDArray[np.datetime64], time_precision: str | ObjArray, lon: FloatArray,
              lat: FloatArray, location_precision: str, category: ObjArray, source: str,
              sensitivity: str, attributes: ObjArray,
              native: tuple[FloatArray, FloatArray, int] | None = None) -> pd.DataFrame:
    """The events frame of the accepted rows, x/y in one metric CRS for the file.

    ``native`` is the input's own projected ``(x, y, epsg)``: when the file's
    metric CRS is that one, its values are kept instead of a round trip.
    """
    count = int(ok.sum())
    if count == 0:
        empty = empty_events_frame()
        empty["time"] = empty["time"].astype("datetime64[ns]")  # pandas 3 infers [s] when empty
        return empty
    lon_ok = np.ascontiguousarray(lon[ok], dtype=np.float64)
    lat_ok = np.ascontiguousarray(lat[ok], dtype=np.float64)
    epsg = _crs.metric_epsg(lon_ok, lat_ok)
    if native is not None and native[2] == epsg:
        x, y = native[0][ok].astype(np.float64), native[1][ok].astype(np.float64)
    else:
        x, y = _crs.to_metric(lon_ok, lat_ok, epsg)

    def obj(v: Any) -> pd.Series:
        arr = np.full(count, v, dtype=object) if isinstance(v, str) or v is None else v[ok]
        return pd.Series(np.asarray(arr, dtype=object), dtype=object)

    columns: dict[str, pd.Series] = {
        "layer": obj(layer),
        "event_key": obj(keys),
        "source_id": obj(source_id),
        "time": pd.Series(np.asarray(time[ok], dtype="datetime64[ns]")),
        "time_precision": obj(time_precision),
        "lon": pd.Series(lon_ok, dtype=np.float64),
        "lat": pd.Series(lat_ok, dtype=np.float64),
        "x": pd.Series(x, dtype=np.float64),
        "y": pd.Series(y, dtype=np.float64),
        "crs_epsg": pd.Series(np.full(count, epsg, dtype=np.int64)),
        "location_precision": obj(location_precision),
        "category": obj(category),
        "source": obj(source),
        "sensitivity": obj(sensitivity),
        "attributes": pd.Series(attributes, dtype=object),
    }
    frame = pd.DataFrame(columns)
    return frame.loc[:, list(EVENT_COLUMNS)]


def _parse_epsg(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    found = re.fullmatch(r"\s*(?:EPSG:)?(\d+)\s*", str(value), flags=re.IGNORECASE)
    if not found:
        raise ParameterError("mapping", f"crs must be an EPSG code like 27700 or EPSG:27700, "
                                        f"not {value!r}")
    return int(found.group(1))


def _reject_long(rej: _Rejector, values: ObjArray, field: str, limit: int) -> None:
    """Reject rows whose ``field`` is longer than ``limit`` characters."""
    lengths = np.fromiter((len(str(v)) for v in values), dtype=np.int64, count=len(values))
    rej.add(lengths > limit, field, lambda m: np.array(
        [f"{field} is longer than {limit} characters ({n})" for n in lengths[m]], dtype=object))


#: SQLite ``application_id`` (header bytes 68-71) of GeoPackage 1.2+ and of 1.0/1.1
GPKG_APPLICATION_IDS: Final = (b"GPKG", b"GP10", b"GP11")
#: deepest nesting of a GeoJSON document (a MultiPolygon's coordinates are 5 deep)
MAX_JSON_DEPTH: Final = 64


def _check_depth(doc: Any, name: str) -> None:
    """Refuse documents nested deeper than :data:`MAX_JSON_DEPTH` (iteratively: no
    recursion for a hostile file to exhaust)."""
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise InputFormatError(f"{name} is nested more than {MAX_JSON_DEPTH} levels deep",
                                   file=name)
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values() if isinstance(v, dict | list))
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node if isinstance(v, dict | list))
