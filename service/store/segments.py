"""Events in a column store inside the database: Parquet segments in ``event_segments``.

Each row of ``event_segments`` holds one Parquet file (zstd) of the events of
one layer, one calendar month of their time (or consecutive months with few
events, :data:`MIN_SEGMENT_ROWS`) and one import batch, with the
segment's id, time and lon/lat ranges beside it so that a read skips whole
segments; ``event_segment_units`` holds, per segment and boundary-set version,
one Parquet column of unit ids aligned with the segment's rows (null: outside
every polygon of the set). Everything stays in the ONE database, so an import
is still one transaction (all or nothing, safe against SIGKILL), backups are
still the database's, and PostgreSQL still serves many users.

Why: a row store pays, per event, a B-tree insert into each of four indexes
and the text of 18 columns; here an import writes one ``INSERT`` of a few MB
per segment (see ``benchmarks/RESULTS.md``, "Events as Parquet segments").

Payload columns (:data:`PAYLOAD_COLUMNS`): ``id`` (int64), ``event_key``,
``key_hash`` (uint64, :func:`key_hashes`), ``source_id``, ``time`` (timestamp,
microseconds), ``time_precision``, ``lon``, ``lat``, ``x``, ``y``,
``crs_epsg`` (int32), ``location_precision``, ``category``, ``source``,
``sensitivity``, ``h3`` (text), ``geocode_precision`` (text, null for
"point"); then either ``attributes`` (the JSON text the row store kept) or
one text column ``attr:<key>`` per attribute key (null: key absent). The
layer and the import id are the segment's, not repeated per row.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from service.store.tables import event_segment_units, event_segments

#: Columns of every segment's Parquet file, in order (then the attribute columns).
PAYLOAD_COLUMNS = ("id", "event_key", "key_hash", "source_id", "time", "time_precision",
                   "lon", "lat", "x", "y", "crs_epsg", "location_precision", "category",
                   "source", "sensitivity", "h3", "geocode_precision")
#: Columns a read can ask for that are the segment's (metadata), not the payload's.
SEGMENT_COLUMNS = ("layer", "import_id")
ATTR_PREFIX = "attr:"
_STRINGS = ("event_key", "source_id", "time_precision", "location_precision", "category",
            "source", "sensitivity", "h3")
_COMPRESSION = "zstd"
#: payload columns with a value per event (no dictionary: building one only to drop it
#: costs a fifth of the encode); ids ascend, so deltas store them in a few bits each
_UNIQUE = ("id", "event_key", "key_hash", "source_id")
_ENCODINGS = {"id": "DELTA_BINARY_PACKED"}

#: Events below which consecutive months of one write share a segment.
MIN_SEGMENT_ROWS = 10_000

#: PostgreSQL advisory lock namespace of the per-layer import lock (with the layer's hash).
LAYER_LOCK_CLASS = 7270017


_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)


def key_hashes(keys: Sequence[str]) -> npt.NDArray[np.uint64]:
    """A stable 64-bit hash of each event key: FNV-1a over its UTF-8 bytes, then its
    length mixed in (splitmix64's finaliser). Defined here, byte by byte, so it is the
    same in every process and version and can be stored; computed for all keys at
    once, one byte position at a time (no per-key Python).

    Not a cryptographic hash: a match is always confirmed on the keys themselves
    (:class:`service.store.events.LayerKeys`)."""
    n = len(keys)
    if n == 0:
        return np.zeros(0, dtype=np.uint64)
    arr = pa.array(keys, type=pa.string()) if not isinstance(keys, pa.Array) else keys
    if arr.null_count:
        raise ValueError("an event key is missing")
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[arr.offset:arr.offset + n + 1]
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8) if arr.buffers()[2] is not None \
        else np.zeros(0, dtype=np.uint8)
    starts = offsets[:-1].astype(np.int64)
    lengths = (offsets[1:] - offsets[:-1]).astype(np.int64)
    h = np.full(n, _FNV_OFFSET, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(int(lengths.max()) if n else 0):
            live = lengths > j
            if not live.all():
                idx = np.flatnonzero(live)
                h[idx] = (h[idx] ^ data[starts[idx] + j].astype(np.uint64)) * _FNV_PRIME
            else:
                h = (h ^ data[starts + j].astype(np.uint64)) * _FNV_PRIME
        z = h ^ (lengths.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15))
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return np.asarray(z ^ (z >> np.uint64(31)), dtype=np.uint64)


def keys_at(keys: Any, rows: npt.NDArray[np.intp]) -> list[str]:
    """The keys at ``rows`` of ``keys`` (text values, or an Arrow string array: only those
    rows become ``str``)."""
    if isinstance(keys, (pa.Array, pa.ChunkedArray)):
        return [str(k) for k in keys.take(pa.array(np.asarray(rows, dtype=np.int64))).to_pylist()]
    return [str(k) for k in np.asarray(keys, dtype=object)[rows].tolist()]


def repeated_keys(keys: Any, hashes: npt.NDArray[np.uint64]) -> npt.NDArray[np.bool_]:
    """True where a key equals an earlier one in ``keys`` (the first of each kept), as
    ``pandas.Series.duplicated``: found by sorting the 64-bit ``hashes``, then confirmed
    on the keys of the rows whose hash repeats only (so a collision is never taken for a
    repeat, and the keys of a batch without repeats are never compared). ``keys``: text
    values or an Arrow string array."""
    out = np.zeros(len(hashes), dtype=bool)
    if len(hashes) < 2:
        return out
    order = np.argsort(hashes, kind="stable")
    ordered = hashes[order]
    same = ordered[1:] == ordered[:-1]
    if not same.any():
        return out
    in_group = np.zeros(len(order), dtype=bool)
    in_group[1:] |= same
    in_group[:-1] |= same
    rows = np.sort(order[in_group])
    repeated = pd.Series(keys_at(keys, rows), dtype=object).duplicated().to_numpy()
    out[rows[repeated]] = True
    return out


def _text(values: Any) -> pa.Array:
    """Text values (str, or None/NaN for null) as an Arrow string array; anything else
    (a number in a text column) as its ``str``. A pandas text column held by Arrow
    is handed over without a copy."""
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.StringDtype):
        return pa.array(values, from_pandas=True).cast(pa.string())
    arr = np.asarray(values, dtype=object)
    try:
        return pa.array(arr, type=pa.string(), from_pandas=True)
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        shown = [None if v is None or (isinstance(v, float) and v != v) else str(v)
                 for v in arr.tolist()]
        return pa.array(shown, type=pa.string())


def encode_segment(frame: pd.DataFrame, ids: npt.NDArray[np.int64],
                   hashes: npt.NDArray[np.uint64], attributes: pd.DataFrame | list[str],
                   arrow: dict[str, pa.Array] | None = None) -> bytes:
    """The Parquet file of one segment: ``frame``'s events (EVENT_COLUMNS + ``h3``,
    ``geocode_precision`` optional) with their ``ids`` and key ``hashes``;
    ``attributes`` is either the JSON texts (one per row) or a frame of ``attr:``
    columns (str or None). ``arrow``: text columns (payload or ``attr:``) already
    in Arrow form, string or dictionary of string, the same values as ``frame``'s
    (a dictionary column is stored as one and read back as the same text)."""
    given = arrow or {}
    cols: dict[str, pa.Array] = {
        "id": pa.array(ids.astype(np.int64)),
        "key_hash": pa.array(hashes.astype(np.uint64)),
        "time": pa.array(frame["time"].to_numpy(dtype="datetime64[us]")),
        "crs_epsg": pa.array(frame["crs_epsg"].to_numpy(dtype=np.int32)),
    }
    for name in ("lon", "lat", "x", "y"):
        cols[name] = pa.array(frame[name].to_numpy(dtype=np.float64))
    for name in _STRINGS:
        cols[name] = given[name] if name in given else _text(frame[name])
    geo = frame["geocode_precision"] if "geocode_precision" in frame else None
    cols["geocode_precision"] = (pa.nulls(len(frame), pa.string()) if geo is None
                                 else _text(geo.astype(object).where(geo.notna(), None)))
    table = pa.table({name: cols[name] for name in PAYLOAD_COLUMNS})
    if isinstance(attributes, pd.DataFrame):
        for name in attributes.columns:
            table = table.append_column(name, given[name] if name in given
                                        else _text(attributes[name]))
    else:
        table = table.append_column("attributes", _text(attributes))
    # a text column the reader gave as plain text is mostly distinct (an id, see
    # spatial.io.assemble.arrow_text): a dictionary would only be built to be dropped
    distinct = {name for name, array in given.items() if array.type == pa.string()}
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression=_COMPRESSION,
                   use_dictionary=[c for c in table.column_names
                                   if c not in _UNIQUE and c not in distinct],
                   column_encoding=_ENCODINGS, write_statistics=False)
    return bytes(sink.getvalue().to_pybytes())


def encode_units(units: Sequence[str | None] | pa.Array) -> bytes:
    """The Parquet file of one segment's placements in one set (null: outside); ``units``
    text, or Arrow (a dictionary of the set's unit ids)."""
    sink = pa.BufferOutputStream()
    pq.write_table(pa.table({"unit_id": units if isinstance(units, pa.Array)
                             else _text(list(units))}), sink, compression=_COMPRESSION)
    return bytes(sink.getvalue().to_pybytes())


def decode(payload: bytes, columns: Sequence[str] | None = None) -> pa.Table:
    """A segment's Parquet file, only ``columns`` read (all when ``None``); a column
    the file lacks (an ``attr:`` key it never had) comes back as nulls."""
    reader = pq.ParquetFile(pa.BufferReader(payload))
    if columns is None:
        return reader.read()
    have = set(reader.schema_arrow.names)
    table = reader.read(columns=[c for c in columns if c in have])
    for c in columns:
        if c not in have:
            table = table.append_column(c, pa.nulls(table.num_rows, pa.string()))
    return table.select(list(columns))


@dataclass(frozen=True)
class SegmentPrune:
    """Which segments a read may skip, by their stored ranges (coarse: rows are still
    masked one by one after reading)."""

    layers: tuple[str, ...] = ()             # empty: every layer
    start: datetime | None = None           # inclusive
    end: datetime | None = None             # exclusive
    bbox: tuple[float, float, float, float] | None = None
    after_id: int | None = None
    event_id: int | None = None

    def where(self) -> list[sa.ColumnElement[bool]]:
        s = event_segments.c
        cond: list[sa.ColumnElement[bool]] = []
        if self.layers:
            cond.append(s.layer.in_(sorted(set(self.layers))))
        if self.start is not None:
            cond.append(s.time_max >= self.start)
        if self.end is not None:
            cond.append(s.time_min < self.end)
        if self.bbox is not None:
            minlon, minlat, maxlon, maxlat = self.bbox
            cond += [s.lon_max >= minlon, s.lon_min <= maxlon,
                     s.lat_max >= minlat, s.lat_min <= maxlat]
        if self.after_id is not None:
            cond.append(s.id_hi > self.after_id)
        if self.event_id is not None:
            cond += [s.id_lo <= self.event_id, s.id_hi >= self.event_id]
        return cond


def _objects(col: Any) -> npt.NDArray[np.object_]:
    """A text column as an object array whose equal values share one str (one Python
    object per distinct value, not per row); null as None."""
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if not pa.types.is_dictionary(arr.type):
        arr = pc.dictionary_encode(arr)
    values = np.asarray(arr.dictionary.to_pylist() + [None], dtype=object)
    codes = arr.indices.fill_null(len(arr.dictionary)).to_numpy(zero_copy_only=False)
    return values[codes]


def _to_arrays(table: pa.Table) -> dict[str, Any]:
    """A decoded table as NumPy columns: text as object arrays, time as stored
    (``datetime64[us]``: what pandas made of the row store's times, so frames keep
    their unit; the scans convert to ns as they always did)."""
    out: dict[str, Any] = {}
    for name in table.column_names:
        col = table.column(name)
        if pa.types.is_timestamp(col.type):
            out[name] = col.to_numpy().astype("datetime64[us]")
        elif pa.types.is_null(col.type):
            out[name] = np.full(len(col), None, dtype=object)
        elif pa.types.is_string(col.type) or pa.types.is_large_string(col.type) \
                or pa.types.is_dictionary(col.type):
            out[name] = _objects(col)
        elif name == "crs_epsg":
            out[name] = col.to_numpy().astype(np.int64)
        else:
            out[name] = col.to_numpy()
    return out


def _to_frame(table: pa.Table) -> pd.DataFrame:
    """A decoded table as a pandas frame (see :func:`_to_arrays`)."""
    return pd.DataFrame(_to_arrays(table))


@dataclass(frozen=True)
class SegmentInfo:
    id: int
    layer: str
    import_id: int | None
    n_rows: int
    id_lo: int
    id_hi: int
    attribute_columns: tuple[str, ...]


def segment_infos(conn: Connection, prune: SegmentPrune) -> list[SegmentInfo]:
    """The metadata of the segments ``prune`` keeps, in order of their lowest id."""
    s = event_segments.c
    q = (sa.select(s.id, s.layer, s.import_id, s.n_rows, s.id_lo, s.id_hi,
                   s.attribute_columns).where(*prune.where()).order_by(s.id_lo, s.id))
    return [SegmentInfo(int(r.id), str(r.layer), None if r.import_id is None
                        else int(r.import_id), int(r.n_rows), int(r.id_lo), int(r.id_hi),
                        tuple(json.loads(r.attribute_columns)))
            for r in conn.execute(q)]


def _payloads(conn: Connection, infos: Sequence[SegmentInfo], set_id: int | None
              ) -> Any:
    """``(info, payload, units payload or None)`` of each segment, in the order given,
    fetched a few at a time (memory: a few segments' bytes)."""
    s = event_segments.c
    k, step = 0, 1
    while k < len(infos):
        # one first (a page often needs no more), then more per round trip
        part = infos[k:k + step]
        k, step = k + step, min(step * 2, 16)
        ids = [i.id for i in part]
        got = {int(r[0]): r[1] for r in conn.execute(
            sa.select(s.id, s.payload).where(s.id.in_(ids)))}
        units: dict[int, bytes] = {}
        if set_id is not None:
            u = event_segment_units.c
            units = {int(r[0]): r[1] for r in conn.execute(
                sa.select(u.segment_id, u.payload).where(u.segment_id.in_(ids),
                                                         u.set_id == set_id))}
        for info in part:
            yield info, got[info.id], units.get(info.id)


def _segment_arrays(info: SegmentInfo, payload: bytes, units: bytes | None,
                    wanted: Sequence[str], with_units: bool) -> dict[str, Any]:
    """One segment's rows: ``wanted`` columns (``attributes`` always as the JSON text the
    row store kept; ``attr:<key>`` one key's value, from either storage)."""
    stored_json = "attributes" in info.attribute_columns
    attr_cols = [c for c in info.attribute_columns if c.startswith(ATTR_PREFIX)]
    need: list[str] = []
    for c in wanted:
        if c in SEGMENT_COLUMNS:
            continue
        if c == "attributes":
            need += ["attributes"] if stored_json else attr_cols
        elif c.startswith(ATTR_PREFIX):
            if stored_json:
                need.append("attributes")
            elif c in attr_cols:
                need.append(c)
        else:
            need.append(c)
    need = list(dict.fromkeys(need))
    frame = _to_arrays(decode(payload, need))
    n = info.n_rows
    out: dict[str, Any] = {}
    for c in wanted:
        if c == "layer":
            out[c] = np.full(n, info.layer, dtype=object)
        elif c == "import_id":
            out[c] = np.full(n, info.import_id, dtype=object)
        elif c == "attributes":
            if stored_json:
                out[c] = frame["attributes"]
            else:
                from service.store.events import attributes_json

                out[c] = np.asarray(attributes_json(attribute_dicts(
                    pd.DataFrame({k: pd.Series(frame[k], dtype=object) for k in attr_cols},
                                 index=range(n)))),
                    dtype=object)
        elif c.startswith(ATTR_PREFIX):
            key = c[len(ATTR_PREFIX):]
            if stored_json:
                out[c] = np.asarray([json.loads(t).get(key) for t in frame["attributes"]],
                                    dtype=object)
            elif c in frame:
                out[c] = frame[c]
            else:
                out[c] = np.full(n, None, dtype=object)
        else:
            out[c] = frame[c]
    if with_units:
        out["unit_id"] = (np.full(n, None, dtype=object) if units is None
                          else _objects(decode(units)["unit_id"]))
    return out


def _segment_frame(info: SegmentInfo, payload: bytes, units: bytes | None,
                   wanted: Sequence[str], with_units: bool) -> pd.DataFrame:
    """One segment's rows as a frame (:func:`_segment_arrays`)."""
    return pd.DataFrame(_segment_arrays(info, payload, units, wanted, with_units))


def iter_segment_arrays(conn: Connection, infos: Sequence[SegmentInfo],
                        columns: Sequence[str]) -> Any:
    """``(info, columns)`` per segment of ``infos`` as NumPy arrays, no pandas in
    between (the scans of analysis)."""
    wanted = ["id", *[c for c in dict.fromkeys(columns) if c != "id"]]
    for info, payload, units in _payloads(conn, infos, None):
        yield info, _segment_arrays(info, payload, units, wanted, False)


def iter_segments(conn: Connection, infos: Sequence[SegmentInfo], columns: Sequence[str],
                  *, set_id: int | None = None) -> Any:
    """``(info, frame)`` per segment of ``infos``, in their order (see :func:`read_segments`)."""
    wanted = ["id", *[c for c in dict.fromkeys(columns) if c != "id"]]
    for info, payload, units in _payloads(conn, infos, set_id):
        yield info, _segment_frame(info, payload, units, wanted, set_id is not None)


def read_segments(conn: Connection, prune: SegmentPrune, columns: Sequence[str], *,
                  set_id: int | None = None) -> pd.DataFrame:
    """The events of the segments ``prune`` keeps, only ``columns`` (``id`` always; the
    segment's ``layer``/``import_id``; ``attributes`` as the row store's JSON text;
    ``attr:<key>`` one attribute's value, None where absent), with ``unit_id`` of
    boundary-set version ``set_id`` when given (None: outside, or never placed),
    ordered by id. Rows are not filtered beyond the segments: callers mask them."""
    wanted = ["id", *[c for c in dict.fromkeys(columns) if c != "id"]]
    frames = [f for _, f in iter_segments(conn, segment_infos(conn, prune), wanted,
                                          set_id=set_id)]
    out_cols = wanted + (["unit_id"] if set_id is not None else [])
    return concat_by_id(frames, out_cols)


def concat_by_id(frames: Sequence[pd.DataFrame], columns: Sequence[str]) -> pd.DataFrame:
    """Segment frames as one, ordered by id (segments' id ranges may interleave)."""
    frames = [f for f in frames if len(f)]
    if not frames:
        return _empty(columns)
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    ids = frame["id"].to_numpy()
    if ids.size > 1 and np.any(ids[1:] < ids[:-1]):
        frame = frame.iloc[np.argsort(ids, kind="stable")].reset_index(drop=True)
    return frame[list(columns)]


def _empty(columns: Sequence[str]) -> pd.DataFrame:
    dtypes: dict[str, Any] = {"id": np.int64, "lon": np.float64, "lat": np.float64,
                              "x": np.float64, "y": np.float64, "crs_epsg": np.int32,
                              "time": "datetime64[us]", "key_hash": np.uint64}
    return pd.DataFrame({c: np.zeros(0, dtype=dtypes.get(c, object)) for c in columns})


def attribute_dicts(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The attribute dicts of a frame read with its attribute columns: parsed from the
    ``attributes`` JSON text, or rebuilt from ``attr:`` columns (keys with a value),
    or merged where a read spans segments stored either way."""
    n = len(frame)
    out: list[dict[str, Any]] = [{} for _ in range(n)]
    if "attributes" in frame:
        for i, text in enumerate(frame["attributes"].tolist()):
            if text is not None:
                out[i] = json.loads(text)
    for name in frame.columns:
        if not name.startswith(ATTR_PREFIX):
            continue
        key = name[len(ATTR_PREFIX):]
        values = frame[name].to_numpy(dtype=object)
        for i in np.flatnonzero(pd.notna(values)).tolist():
            out[i][key] = values[i]
    return out


def attribute_payload(frame: pd.DataFrame) -> pd.DataFrame | list[str]:
    """What a frame's attributes are stored as: its ``attr:`` columns as they are, or
    the JSON text of its ``attributes`` dicts (the row store's text)."""
    attr = [c for c in frame.columns if c.startswith(ATTR_PREFIX)]
    if attr:  # the columns as they are (frame[attr] would take a copy of each)
        return pd.DataFrame({c: frame[c] for c in attr}, copy=False)
    if "attributes" not in frame:
        # a reader asked for attr: columns found none to give (a mapping without
        # attribute columns): every event's attributes are empty
        return pd.DataFrame(index=range(len(frame)))
    dicts = frame["attributes"].tolist()
    columns = attribute_columns(dicts)
    if columns is not None:
        return columns
    from service.store.events import attributes_json

    return attributes_json(dicts)


def attribute_columns(dicts: Sequence[Any]) -> pd.DataFrame | None:
    """Attribute dicts as ``attr:<key>`` text columns (None: key absent), keys sorted;
    ``None`` when they are not all text-to-text (numbers, nested values: those keep
    their JSON, so that every value reads back as it was given).

    Rows are grouped by their key tuple (police.uk has a handful of patterns) and
    each group's values taken out a key at a time, so the work is per pattern and
    key, in C, not per row in Python."""
    n = len(dicts)
    if n == 0 or not all(map(dict.__instancecheck__, dicts)):
        return None
    codes, patterns = pd.factorize(pd.Series(list(map(tuple, dicts)), dtype=object))
    keys = sorted({k for p in patterns for k in p}) if len(patterns) else []
    if not all(isinstance(k, str) for k in keys):
        return None
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(patterns) + 1))
    out = {k: np.full(n, None, dtype=object) for k in keys}
    for p, names in enumerate(patterns):
        if not names:
            continue
        rows = order[bounds[p]:bounds[p + 1]]
        group = [dicts[i] for i in rows.tolist()]
        for name in names:
            values = list(map(itemgetter(name), group))
            if not all(map(str.__instancecheck__, values)):
                return None
            out[name][rows] = values
    return pd.DataFrame({ATTR_PREFIX + k: out[k] for k in keys}, index=range(n))


def write_segments(conn: Connection, *, layer: str, import_id: int | None,
                   frame: pd.DataFrame, ids: npt.NDArray[np.int64],
                   hashes: npt.NDArray[np.uint64],
                   attributes: pd.DataFrame | list[str] | None = None,
                   arrow: dict[str, pa.Array] | None = None
                   ) -> list[tuple[int, npt.NDArray[np.intp]]]:
    """Store ``frame``'s events (one layer) as one segment per calendar month of their
    time, consecutive months of fewer than :data:`MIN_SEGMENT_ROWS` events together
    being one segment (a frame spanning years: a Parquet file per month of a few
    hundred rows costs more to write and to open than its rows); one Parquet encode
    and one INSERT each. Rows keep their frame order (ascending ids) in a segment.
    Returns ``(segment id, row positions in frame)`` per segment, for the
    placements. ``arrow``: see :func:`encode_segment`."""
    n = len(frame)
    if n == 0:
        return []
    attrs = attribute_payload(frame) if attributes is None else attributes
    attr_names = (list(attrs.columns) if isinstance(attrs, pd.DataFrame) else ["attributes"])
    times = frame["time"].to_numpy(dtype="datetime64[us]")
    months = times.astype("datetime64[M]")
    if months.min() == months.max():  # one month (a police.uk file): no sort
        uniq, order, bounds = months[:1], np.arange(n), np.array([0, n])
    else:
        uniq, inverse = np.unique(months, return_inverse=True)
        order = np.argsort(inverse, kind="stable")
        bounds = np.searchsorted(inverse[order], np.arange(len(uniq) + 1))
        # months taken together until a segment has MIN_SEGMENT_ROWS events
        cuts, rows = [0], 0
        for k, size in enumerate(np.diff(bounds).tolist()):
            rows += size
            if rows >= MIN_SEGMENT_ROWS or k == len(uniq) - 1:
                cuts.append(k + 1)
                rows = 0
        bounds = bounds[cuts]
        uniq = uniq[cuts[:-1]]
    lon, lat = frame["lon"].to_numpy(dtype=np.float64), frame["lat"].to_numpy(dtype=np.float64)
    out: list[tuple[int, npt.NDArray[np.intp]]] = []
    for k in range(len(uniq)):
        pos = np.sort(order[bounds[k]:bounds[k + 1]])
        part = frame.iloc[pos] if len(uniq) > 1 else frame
        seg_attrs: pd.DataFrame | list[str]
        if isinstance(attrs, pd.DataFrame):
            seg_attrs = attrs.iloc[pos] if len(uniq) > 1 else attrs
        else:
            seg_attrs = [attrs[i] for i in pos.tolist()] if len(uniq) > 1 else attrs
        seg_ids = ids[pos]
        seg_arrow = ({k: v.take(pa.array(pos)) for k, v in (arrow or {}).items()}
                     if len(uniq) > 1 else arrow)
        payload = encode_segment(part, seg_ids, hashes[pos], seg_attrs, seg_arrow)
        categories = _category_summary(
            seg_arrow["category"] if seg_arrow and "category" in seg_arrow
            else part["category"].to_numpy(dtype=object), times[pos])
        res = conn.execute(event_segments.insert().values(
            layer=layer, import_id=import_id, n_rows=len(pos),
            id_lo=int(seg_ids.min()), id_hi=int(seg_ids.max()),
            time_min=pd.Timestamp(times[pos].min()).to_pydatetime(),
            time_max=pd.Timestamp(times[pos].max()).to_pydatetime(),
            lon_min=float(lon[pos].min()), lon_max=float(lon[pos].max()),
            lat_min=float(lat[pos].min()), lat_max=float(lat[pos].max()),
            attribute_columns=json.dumps(attr_names),
            categories=json.dumps(categories, sort_keys=True), payload=payload))
        key = res.inserted_primary_key
        assert key is not None
        out.append((int(key[0]), pos))
    return out


def _category_summary(categories: Any, times: npt.NDArray[np.datetime64]
                      ) -> dict[str, list[Any]]:
    """``{category: [events, ISO time of the first]}`` of one segment's rows;
    ``categories`` as text values, or as an Arrow dictionary (counted by code)."""
    if isinstance(categories, pa.DictionaryArray):
        codes = categories.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        values = categories.dictionary.to_pylist()
    else:
        codes, distinct = pd.factorize(np.asarray(categories, dtype=object), sort=False)
        values = list(distinct)
    counts = np.bincount(codes, minlength=len(values))
    first = np.full(len(values), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, codes, times.astype("datetime64[us]").view(np.int64))
    out: dict[str, list[Any]] = {}
    for value, n, t in zip(values, counts.tolist(), first.tolist(), strict=True):
        if n:
            out[str(value)] = [n, pd.Timestamp(np.datetime64(t, "us")).to_pydatetime()
                               .isoformat()]
    return out


def write_units(conn: Connection, segment_id: int, set_id: int,
                units: Sequence[str | None] | pa.Array) -> None:
    """One segment's placements in one boundary-set version."""
    conn.execute(event_segment_units.insert().values(
        segment_id=segment_id, set_id=set_id, payload=encode_units(units)))


def segment_ids_of(conn: Connection, event_ids: npt.NDArray[np.int64]
                   ) -> list[tuple[int, npt.NDArray[np.intp]]]:
    """Which segments hold ``event_ids`` (every one of them: a segment's placements are
    written whole): ``(segment id, positions in event_ids in the segment's row
    order)`` per segment."""
    ids = np.asarray(event_ids, dtype=np.int64)
    if ids.size == 0:
        return []
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    s = event_segments.c
    infos = [SegmentInfo(int(r.id), "", None, int(r.n_rows), int(r.id_lo), int(r.id_hi), ())
             for r in conn.execute(sa.select(s.id, s.n_rows, s.id_lo, s.id_hi).where(
                 s.id_hi >= int(sorted_ids[0]), s.id_lo <= int(sorted_ids[-1]))
                 .order_by(s.id))]
    out: list[tuple[int, npt.NDArray[np.intp]]] = []
    covered = 0
    for info in infos:
        payload = conn.execute(sa.select(s.payload).where(s.id == info.id)).scalar_one()
        seg_ids = decode(payload, ["id"]).column("id").to_numpy()
        at = np.searchsorted(sorted_ids, seg_ids)
        at_ok = np.minimum(at, sorted_ids.size - 1)
        found = sorted_ids[at_ok] == seg_ids
        if not found.any():
            continue
        if not found.all():
            raise ValueError(f"placements of segment {info.id} must cover all of its "
                             f"{info.n_rows} events, not {int(found.sum())}")
        out.append((info.id, order[at_ok]))
        covered += seg_ids.size
    if covered != ids.size:
        raise ValueError(f"{ids.size - covered} of the event ids given are in no segment")
    return out


def category_summaries(conn: Connection, layers: Sequence[str] | None = None
                       ) -> dict[str, dict[str, tuple[int, datetime]]]:
    """``layer -> {category: (events, time of the first)}`` from the segments' metadata
    (no payload is opened); ``layers``: only these (all when ``None``)."""
    s = event_segments.c
    q = sa.select(s.layer, s.categories)
    if layers is not None:
        q = q.where(s.layer.in_(sorted(set(layers))))
    out: dict[str, dict[str, tuple[int, datetime]]] = {}
    for layer, text in conn.execute(q):
        mine = out.setdefault(str(layer), {})
        for cat, (n, first) in json.loads(text).items():
            t = datetime.fromisoformat(first)
            had = mine.get(cat)
            mine[cat] = (n, t) if had is None else (had[0] + n, min(had[1], t))
    return out
