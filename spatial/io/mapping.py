"""Which columns of a mapped input mean what: :class:`ColumnMapping`.

A mapping names the id, time, coordinate and category columns of a generic
CSV (or the properties of GeoJSON/GeoPackage features); :func:`resolve_roles`
checks it against the columns a file has and fills in coordinates and time
from conventional column names when they are not mapped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Final

from spatial.errors import InputFormatError, ParameterError
from spatial.events import TIME_PRECISIONS
from spatial.place.crs import WGS84

_LON_NAMES: Final = ("longitude", "lon", "lng", "long")
_LAT_NAMES: Final = ("latitude", "lat")
_TIME_NAMES: Final = ("time", "datetime", "date_time", "timestamp", "date", "month")


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
    postcode, address : str or None
        CSV only, instead of coordinates: rows are placed from the latest
        imported gazetteer (:mod:`spatial.geocode`); with both, the address is
        tried first.
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
    postcode: str | None = None  # geocoding (spatial.geocode)
    address: str | None = None

    #: Keys accepted by :meth:`parse`.
    KEYS: ClassVar[tuple[str, ...]] = (
        "id", "time", "time_format", "time_precision", "lon", "lat", "easting", "northing",
        "crs", "category", "attributes", "postcode", "address")
    #: Mapping roles that name columns.
    ROLES: ClassVar[tuple[str, ...]] = (
        "id", "time", "lon", "lat", "easting", "northing", "category", "postcode", "address")

    def __post_init__(self) -> None:
        if (self.lon is None) != (self.lat is None):
            raise ParameterError("mapping", "map both lon and lat, or neither")
        if (self.easting is None) != (self.northing is None):
            raise ParameterError("mapping", "map both easting and northing, or neither")
        if self.lon is not None and self.easting is not None:
            raise ParameterError("mapping", "map lon/lat or easting/northing, not both")
        if (self.postcode or self.address) and (self.lon or self.easting):
            raise ParameterError("mapping", "map coordinates or postcode/address, not both")
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


def resolve_roles(mapping: ColumnMapping, columns: list[str], name: str, *,
                  geometry: bool) -> dict[str, str]:
    """Mapped roles checked against the file's columns, with coordinates/time auto-detected."""
    roles = mapping.columns()
    what = "properties" if geometry else "columns"
    if geometry and any(r in roles for r in ("postcode", "address")):
        raise ParameterError("mapping", "postcode= and address= place rows of a CSV; "
                                        "GeoJSON/GeoPackage rows are placed by their geometry")
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
    if not geometry and not any(r in roles for r in ("lon", "easting", "postcode", "address")):
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


def _parse_epsg(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    found = re.fullmatch(r"\s*(?:EPSG:)?(\d+)\s*", str(value), flags=re.IGNORECASE)
    if not found:
        raise ParameterError("mapping", f"crs must be an EPSG code like 27700 or EPSG:27700, "
                                        f"not {value!r}")
    return int(found.group(1))
