"""Geocoding use cases shared by the CLI and the API.

* :func:`import_gazetteer`: a postcode directory or address extract, stored as
  a new version (:mod:`service.store.gazetteers`);
* :func:`load_geocoder`: the latest gazetteers as lookup structures (cached
  per gazetteer version: versions never change once stored);
* :func:`reader_options`: the hook :func:`service.app.importer.import_events`
  calls, giving a mapped-CSV read the geocoder when its mapping names a
  ``postcode`` or ``address`` column;
* :func:`geocode_file`: ``remap geocode FILE -o OUT.csv``;
* :func:`precision_warnings`: analyses warn when events were placed more
  coarsely than the units they are counted on.
"""

from __future__ import annotations

import hashlib
import io
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from service.store import Store
from service.store.gazetteers import POSTCODE_KINDS, GazetteerInfo
from spatial.errors import InputFormatError, ParameterError, Rejection
from spatial.geocode import NOMINAL_SPREAD_M
from spatial.geocode.address import AddressIndex, address_tokens
from spatial.geocode.gazetteer_files import KINDS, read_gazetteer
from spatial.geocode.locate import Geocoder, geocode_rows
from spatial.geocode.postcode import PostcodeDirectory
from spatial.io.mapping import ColumnMapping
from spatial.io.source import load_source
from spatial.io.validation import Rejector
from spatial.place import crs


@dataclass
class GazetteerImportReport:
    gazetteer: GazetteerInfo
    rows_read: int
    rejections: list[Rejection] = field(default_factory=list)
    sectors: int = 0
    districts: int = 0

    def as_dict(self, max_rejections: int = 1000) -> dict[str, Any]:
        return {**self.gazetteer.as_dict(), "rows_read": self.rows_read,
                "sectors": self.sectors, "districts": self.districts,
                "rejections": [r.as_dict() for r in self.rejections[:max_rejections]],
                "rejections_total": len(self.rejections)}


def import_gazetteer(store: Store, source: str | Path | IO[bytes] | bytes, *, kind: str,
                     name: str | None = None, file_name: str | None = None,
                     address_map: str | Mapping[str, str] | None = None,
                     actor: str = "cli") -> GazetteerImportReport:
    """Read a gazetteer file of ``kind`` and store it as a new version of ``name``
    (default: the kind). Nothing is stored when the file is unusable or has no
    usable row."""
    if kind not in KINDS:
        raise ParameterError("kind", f"{kind!r} is not one of {', '.join(KINDS)}")
    data, fname = load_source(source, file_name)
    read = read_gazetteer(data, kind, file_name=fname, address_map=address_map)
    if read.frame.empty:
        first = read.rejections[0] if read.rejections else None
        raise InputFormatError(
            f"{fname}: no usable {kind} rows ({read.rows_read} read, "
            f"{len(read.rejections)} rejected"
            + (f"; row {first.row} [{first.field}]: {first.reason}" if first else "") + ")",
            file=fname, row=first.row if first else None, field=first.field if first else None)
    frame = read.frame
    sectors = districts = 0
    if kind == "addresses":
        toks = address_tokens(frame["text"].to_numpy(dtype=object))
        joined = toks.groupby("row")["token"].agg(" ".join)
        frame = frame.assign(tokens=joined.reindex(range(len(frame))).fillna("").to_numpy())
    else:
        directory = PostcodeDirectory.build(frame["postcode"], frame["easting"],
                                            frame["northing"], frame["terminated"])
        sectors, districts = len(directory.sectors), len(directory.districts)
    with store.begin(bulk=True) as conn:
        info = store.add_gazetteer(conn, kind=kind, name=name or kind, source_file=fname,
                                   sha256=hashlib.sha256(data).hexdigest(), actor=actor,
                                   rejected=len(read.rejections), frame=frame)
        store.audit(conn, actor, "gazetteer_import",
                    {"kind": kind, "name": info.name, "version": info.version,
                     "rows": len(frame), "rejected": len(read.rejections), "file": fname})
    return GazetteerImportReport(gazetteer=info, rows_read=read.rows_read,
                                 rejections=read.rejections, sectors=sectors,
                                 districts=districts)


def gazetteer_list(store: Store) -> list[dict[str, Any]]:
    return [g.as_dict() for g in store.gazetteers_list()]


_CACHE: dict[tuple[str, int], Any] = {}
_CACHE_LOCK = threading.Lock()


def _cached(store: Store, info: GazetteerInfo) -> Any:
    key = (str(store.engine.url), info.id)
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
    if hit is not None:
        return hit
    rows = store.gazetteer_rows(info)
    built: Any
    if info.kind in POSTCODE_KINDS:
        built = PostcodeDirectory.build(rows["postcode"], rows["easting"], rows["northing"],
                                        rows["terminated"])
    else:
        built = AddressIndex.build(rows["uprn"], rows["text"], rows["easting"], rows["northing"])
    with _CACHE_LOCK:
        # one version per kind and store: a newer import replaces the older in memory
        for k in [k for k in _CACHE if k[0] == key[0]
                  and isinstance(_CACHE[k], type(built))]:
            del _CACHE[k]
        _CACHE[key] = built
    return built


def load_geocoder(store: Store, *, postcodes: bool, addresses: bool) -> Geocoder:
    """The latest postcode directory and/or address extract (NotFoundError when asked
    for one that was never imported)."""
    kwargs: dict[str, Any] = {}
    if postcodes:
        info = store.latest_gazetteer(POSTCODE_KINDS)
        kwargs.update(postcodes=_cached(store, info), postcodes_label=info.label)
    if addresses:
        info = store.latest_gazetteer(("addresses",))
        kwargs.update(addresses=_cached(store, info), addresses_label=info.label)
    return Geocoder(**kwargs)


def reader_options(store: Store, fmt: str, mapping: ColumnMapping | None,
                   options: dict[str, Any]) -> dict[str, Any]:
    """``options`` plus the geocoder, when ``mapping`` names a postcode/address column."""
    if mapping is None or (mapping.postcode is None and mapping.address is None):
        return options
    if fmt != "csv":
        raise ParameterError("map", "postcode= and address= place rows of a CSV file; "
                                    f"{fmt} rows are placed by their geometry")
    return {**options, "geocoder": load_geocoder(store, postcodes=mapping.postcode is not None,
                                                 addresses=mapping.address is not None)}


@dataclass
class GeocodeFileReport:
    file: str
    rows: int
    placed: int
    by_precision: dict[str, int]
    rejections: list[Rejection]
    warnings: list[Rejection]
    gazetteers: list[str]
    table: pd.DataFrame

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "rows": self.rows, "placed": self.placed,
                "rejected": len(self.rejections), "by_precision": self.by_precision,
                "gazetteers": self.gazetteers,
                "rejections": [r.as_dict() for r in self.rejections],
                "warnings": [w.as_dict() for w in self.warnings]}


def geocode_file(store: Store, source: str | Path | IO[bytes] | bytes, *,
                 postcode: str | None = None, address: str | None = None,
                 file_name: str | None = None) -> GeocodeFileReport:
    """Geocode every row of a CSV by its ``postcode`` and/or ``address`` column.

    The table comes back with ``easting``, ``northing`` (EPSG:27700 m),
    ``lon``, ``lat`` (WGS84), ``precision``, ``matched``, ``score``, ``flag``
    and ``rejection`` (the reason, for rows not placed) added.
    """
    if postcode is None and address is None:
        raise ParameterError("column", "name the postcode column (--postcode) and/or the "
                                       "address column (--address)")
    data, name = load_source(source, file_name)
    try:
        table = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False,
                            encoding="utf-8-sig")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputFormatError(f"{name}: not a readable CSV file ({exc})", file=name) from None
    roles = {k: v for k, v in (("postcode", postcode), ("address", address)) if v}
    missing = [v for v in roles.values() if v not in table.columns]
    if missing:
        raise InputFormatError(f"{name}: no column {', '.join(map(repr, missing))}; columns "
                               f"present: {', '.join(map(str, table.columns))}", file=name,
                               field=missing[0])
    geo = load_geocoder(store, postcodes=postcode is not None, addresses=address is not None)
    rej = Rejector(name, np.arange(2, len(table) + 2, dtype=np.int64))
    placed = geocode_rows(geo, rej, table, roles)
    ok = rej.ok
    e, n = placed.coords.a, placed.coords.b
    lon = np.full(len(table), np.nan)
    lat = np.full(len(table), np.nan)
    if ok.any():
        lon[ok], lat[ok] = crs.to_wgs84(e[ok], n[ok], 27700)
    out = table.assign(easting=np.where(ok, e, np.nan), northing=np.where(ok, n, np.nan),
                       lon=np.round(lon, 7), lat=np.round(lat, 7),
                       precision=np.where(ok, placed.precision, ""),
                       matched=placed.columns["geocode_match"],
                       score=placed.columns["geocode_score"],
                       flag=placed.columns["geocode_flag"],
                       rejection=np.where(rej.bad, rej.reason, ""))
    counts = pd.Series(placed.precision[ok], dtype=object).value_counts()
    labels = [x for x in (geo.addresses_label, geo.postcodes_label) if x]
    return GeocodeFileReport(file=name, rows=len(table), placed=int(ok.sum()),
                             by_precision={str(k): int(v) for k, v in counts.items()},
                             rejections=rej.rejections(), warnings=placed.warnings(rej),
                             gazetteers=labels, table=out)


def unit_width_m(kind: str, resolution: int | None = None,
                 cell_size_m: float | None = None) -> float | None:
    """Width of a counting unit in metres: an H3 cell's twice mean edge length
    (``h3.average_hexagon_edge_length``), a grid square's side; ``None`` otherwise."""
    if kind == "h3" and resolution is not None:
        import h3

        return 2.0 * float(h3.average_hexagon_edge_length(resolution, unit="m"))
    if kind == "grid" and cell_size_m is not None:
        return float(cell_size_m)
    return None


def precision_warnings(events: pd.DataFrame, unit_width: float | None, unit_text: str, *,
                       shown: Callable[[int], Any] = int) -> list[str]:
    """A warning per geocoding precision whose typical spread exceeds the unit width.

    ``unit_width``: metres across a counting unit (:func:`unit_width_m`);
    ``None`` (boundary units) warns of sector and district centroids only.
    ``shown`` turns a count into what the reader may see (disclosure rounding).
    """
    if events.empty or "geocode_precision" not in events:
        return []
    present = pd.Series(events["geocode_precision"], dtype=object).dropna()
    out = []
    for precision, n in present.value_counts().sort_index().items():
        spread = NOMINAL_SPREAD_M.get(str(precision), 0.0)
        coarse = (spread > unit_width if unit_width is not None
                  else precision in ("postcode_sector", "postcode_district"))
        if coarse:
            where = {"postcode": "postcode centroids",
                     "postcode_sector": "postcode sector centroids",
                     "postcode_district": "postcode district centroids",
                     "address": "address points"}.get(str(precision), str(precision))
            out.append(f"{shown(int(n))} events are placed at {where} (typically ~{spread:,.0f} m "
                       f"from the true location), coarser than the unit {unit_text}"
                       + (f" (~{unit_width:,.0f} m across)" if unit_width else "")
                       + ": their counts stand for a wider area than one unit")
    return out
