"""Events: bulk inserts of placed events, and reads by filter (layers, time, area, cells)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from service.store.boundaries import BoundariesRepository
from service.store.tables import event_units, events, imports
from spatial.errors import ParameterError
from spatial.events import EVENT_COLUMNS


@dataclass(frozen=True)
class EventFilter:
    """What to select from ``events``; every member optional."""

    layers: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    start: datetime | None = None   # inclusive
    end: datetime | None = None     # exclusive
    bbox: tuple[float, float, float, float] | None = None  # lon/lat
    boundary_set: str | None = None
    units: tuple[str, ...] = ()     # unit ids of boundary_set
    h3_cells: tuple[str, ...] = ()  # cells at any resolution <= the stored one


# one encoder for all rows: json.dumps with options builds a new one per call
_ATTRIBUTES_ENCODER = json.JSONEncoder(sort_keys=True, default=str)


def attributes_json(values: Sequence[Any]) -> list[str]:
    """``json.dumps(d, sort_keys=True, default=str)`` of each attribute dict, column-wise.

    Rows are grouped by their key tuple (police.uk has a handful of patterns);
    each group's text is one ``str.format`` per row over columns of encoded
    values. Text values go through json's own C string encoder, anything else
    through the same encoder as a whole dict would use, so the text is
    identical to encoding each dict alone, about 4x faster.
    """
    dicts = list(values)
    n = len(dicts)
    out: list[str] = [""] * n
    if n == 0:
        return out
    if not all(map(dict.__instancecheck__, dicts)):
        return list(map(_ATTRIBUTES_ENCODER.encode, dicts))
    codes, patterns = pd.factorize(pd.Series(list(map(tuple, dicts)), dtype=object))
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(patterns) + 1))
    for p, keys in enumerate(patterns):
        rows = order[bounds[p]:bounds[p + 1]]
        group = [dicts[i] for i in rows.tolist()]
        if not keys:
            texts = ["{}"] * len(group)
        elif not all(isinstance(k, str) for k in keys):
            texts = list(map(_ATTRIBUTES_ENCODER.encode, group))
        else:
            names = sorted(keys)
            if len(names) == 1:
                cells: list[Any] = [list(map(itemgetter(names[0]), group))]
            else:
                cells = list(zip(*map(itemgetter(*names), group), strict=True))
            columns = [_encoded_values(list(c)) for c in cells]
            template = "{{" + ", ".join(
                _encode_text(k).replace("{", "{{").replace("}", "}}") + ": {}"
                for k in names) + "}}"
            texts = list(map(template.format, *columns))
        for i, text in zip(rows.tolist(), texts, strict=True):
            out[i] = text
    return out


_encode_text = json.encoder.encode_basestring_ascii  # type: ignore[attr-defined]


def _encoded_values(values: list[Any]) -> list[str]:
    if all(map(str.__instancecheck__, values)):
        return list(map(_encode_text, values))
    return list(map(_ATTRIBUTES_ENCODER.encode, values))


def _time_texts(times: pd.Series, dialect: str) -> list[Any]:
    """Times as the drivers take them, each distinct time converted once.

    SQLite keeps times as text and SQLAlchemy compares them as text in its own
    format; anything else would sort midnight before the window it starts.
    """
    codes, uniques = pd.factorize(pd.to_datetime(times))
    if dialect in ("sqlite", "postgresql"):  # PostgreSQL: the COPY text of a timestamp
        shown = np.asarray(pd.DatetimeIndex(uniques).strftime("%Y-%m-%d %H:%M:%S.%f"),
                           dtype=object)
    else:
        shown = np.asarray(pd.DatetimeIndex(uniques).to_pydatetime(), dtype=object)
    return list(shown[codes])


def _event_columns(frame: pd.DataFrame, import_id: int | None, ids: np.ndarray,
                   dialect: str) -> dict[str, Any]:
    """The insert columns: numeric numpy arrays, text as lists of python str."""
    n = len(frame)

    def text(col: str) -> list[str]:
        return frame[col].astype(str).tolist()

    def floats(col: str) -> Any:
        arr = frame[col].to_numpy(dtype=np.float64)
        return arr if dialect == "postgresql" else arr.tolist()

    return {
        "id": ids.astype(np.int64) if dialect == "postgresql" else ids.tolist(),
        "layer": text("layer"),
        "event_key": text("event_key"),
        "source_id": text("source_id"),
        "time": _time_texts(frame["time"], dialect),
        "time_precision": text("time_precision"),
        "lon": floats("lon"), "lat": floats("lat"), "x": floats("x"), "y": floats("y"),
        "crs_epsg": frame["crs_epsg"].astype(int).tolist(),
        "location_precision": text("location_precision"),
        "category": text("category"),
        "source": text("source"),
        "sensitivity": text("sensitivity"),
        "h3": text("h3"),
        "attributes": attributes_json(frame["attributes"].tolist()),
        "import_id": [import_id] * n,
        "geocode_precision": _geocode_precision(frame),
    }


def _geocode_precision(frame: pd.DataFrame) -> list[str | None]:
    """How geocoded rows were placed (spatial.geocode); None (read as "point") otherwise."""
    if "geocode_precision" not in frame:
        return [None] * len(frame)
    col = frame["geocode_precision"]
    return col.astype(object).where(col.notna(), None).tolist()


class EventsRepository(BoundariesRepository):
    """Writes and filtered reads of ``events`` (a boundary filter reads the placements)."""

    MAX_FILTER_CELLS = 500

    # ----------------------------------------------------------------- writing
    def existing_keys(self, conn: Connection, layer: str, keys: Sequence[str]) -> set[str]:
        """Which of ``keys`` the layer already holds: one statement for any number of keys
        (PostgreSQL: ``= ANY(array)``; SQLite: ``IN json_each(...)``), none when the layer
        is empty."""
        if not len(keys):
            return set()
        has_any = conn.execute(sa.select(events.c.id).where(events.c.layer == layer)
                               .limit(1)).first()
        if has_any is None:
            return set()
        dbapi = conn.connection.dbapi_connection
        assert dbapi is not None
        cur = dbapi.cursor()
        try:
            if self.dialect == "postgresql":
                cur.execute("SELECT event_key FROM events WHERE layer = %s "
                            "AND event_key = ANY(%s::text[])", (layer, list(keys)))
            else:
                cur.execute("SELECT event_key FROM events WHERE layer = ? AND event_key IN "
                            "(SELECT value FROM json_each(?))", (layer, json.dumps(list(keys))))
            return {r[0] for r in cur.fetchall()}
        finally:
            cur.close()

    def insert_events(self, conn: Connection, frame: pd.DataFrame,
                      import_id: int | None) -> np.ndarray:
        """Insert placed events (EVENT_COLUMNS + ``h3``); returns their new ids.

        Ids are allocated in one step (PostgreSQL sequence / SQLite's single
        writer) and rows go in by COPY (PostgreSQL) or a bulk executemany
        (SQLite): the ORM-free path is ~5x faster on 180k rows. A key added
        concurrently by another writer fails the whole transaction rather than
        being lost.
        """
        if frame.empty:
            return np.empty(0, dtype=np.int64)
        ids = self._allocate_ids(conn, len(frame))
        columns = _event_columns(frame, import_id, ids, self.dialect)
        with self._bulk_load(conn, events.name, len(frame)):
            self._bulk_insert_columns(conn, events.name, columns)
        return ids

    def _allocate_ids(self, conn: Connection, n: int) -> np.ndarray:
        if self.dialect == "postgresql":
            seq = conn.execute(sa.text(
                "SELECT pg_get_serial_sequence('events', 'id')")).scalar()
            # one statement: its values are consecutive unless another writer drew from
            # the sequence at the same moment, and only then are they all fetched
            lo, hi = conn.execute(sa.text(
                "SELECT min(v), max(v) FROM (SELECT nextval(:s) AS v "
                "FROM generate_series(1, :n)) AS s"), {"s": seq, "n": n}).one()
            if int(hi) - int(lo) + 1 == n:
                return np.arange(int(lo), int(hi) + 1, dtype=np.int64)
            got = conn.execute(sa.text("SELECT nextval(:s) FROM generate_series(1, :n)"),
                               {"s": seq, "n": n}).scalars().all()
            return np.asarray(got, dtype=np.int64)
        # SQLite: the transaction holds the only write lock, so max(id) is stable
        conn.execute(sa.text("SELECT 1"))  # begin
        start = int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(events.c.id), 0)))
                    .scalar() or 0) + 1
        return np.arange(start, start + n, dtype=np.int64)

    # ----------------------------------------------------------------- filtering
    def _event_where(self, f: EventFilter) -> list[sa.ColumnElement[bool]]:
        cond: list[sa.ColumnElement[bool]] = []
        if f.layers:
            cond.append(events.c.layer.in_(f.layers))
        if f.categories:
            cond.append(events.c.category.in_(f.categories))
        if f.start is not None:
            cond.append(events.c.time >= f.start)
        if f.end is not None:
            cond.append(events.c.time < f.end)
        if f.bbox is not None:
            minlon, minlat, maxlon, maxlat = f.bbox
            cond += [events.c.lon >= minlon, events.c.lon <= maxlon,
                     events.c.lat >= minlat, events.c.lat <= maxlat]
        if f.boundary_set is not None:
            info = self.boundary_set(f.boundary_set)
            sub = sa.select(event_units.c.event_id).where(event_units.c.set_id == info.id)
            if f.units:
                sub = sub.where(event_units.c.unit_id.in_(f.units))
            else:
                sub = sub.where(event_units.c.unit_id.is_not(None))
            cond.append(events.c.id.in_(sub))
        if f.h3_cells:
            cond.append(events.c.id.in_(self._ids_in_cells(f.h3_cells)))
        return cond

    def _ids_in_cells(self, cells: Sequence[str]) -> list[int]:
        """Ids of events whose position lies in one of ``cells`` (any resolution).

        Membership is geometric, as in the counts (the point is indexed at the
        cell's own resolution): an H3 parent does not contain all of its
        children's area, so the stored finest cell's parent would disagree
        with the counts for several per cent of events.
        """
        import h3

        from spatial.place import placement

        if len(cells) > self.MAX_FILTER_CELLS:
            raise ParameterError("h3", f"at most {self.MAX_FILTER_CELLS} cells per request")
        for cell in cells:
            # 15 hex digits, then H3's own check (which overflows on longer strings)
            if not (len(cell) == 15 and all(c in "0123456789abcdefABCDEF" for c in cell)
                    and h3.is_valid_cell(cell.lower())):
                shown = cell if len(cell) <= 40 else cell[:40] + "..."
                raise ParameterError("h3", f"{shown!r} is not a valid H3 cell (15 hex digits)")
        cells = [c.lower() for c in cells]
        ids: list[int] = []
        with self.engine.connect() as conn:
            for cell in cells:
                ring = np.array(h3.cell_to_boundary(cell))  # (lat, lng) pairs
                # pad: cell edges are arcs, bulging slightly beyond their vertices
                pad = 0.05 * (ring.max(axis=0) - ring.min(axis=0))
                lat_lo, lng_lo = ring.min(axis=0) - pad
                lat_hi, lng_hi = ring.max(axis=0) + pad
                rows = conn.execute(sa.select(events.c.id, events.c.lon, events.c.lat).where(
                    events.c.lon >= lng_lo, events.c.lon <= lng_hi,
                    events.c.lat >= lat_lo, events.c.lat <= lat_hi)).all()
                if not rows:
                    continue
                arr = np.asarray(rows, dtype=np.float64)
                found = placement.h3_cells(arr[:, 1], arr[:, 2], h3.get_resolution(cell))
                keep = found == np.uint64(int(cell, 16))
                ids.extend(int(i) for i in arr[keep, 0])
        return ids

    def check_filter(self, f: EventFilter) -> None:
        """Raise on a malformed filter (bad H3 cell, unknown boundary set)."""
        self._event_where(f)

    # ----------------------------------------------------------------- reading
    def _select_events(self, cond: Sequence[sa.ColumnElement[bool]], *,
                       limit: int | None = None, offset: int = 0,
                       columns: Sequence[str] | None = None,
                       parse_attributes: bool = True) -> pd.DataFrame:
        """Events matching ``cond``, ordered by id, as a frame (``attributes`` parsed, or
        left as their stored JSON text)."""
        cols = [events.c.id] + [events.c[c] for c in (columns or [*EVENT_COLUMNS, "h3"])]
        q = sa.select(*cols).where(*cond).order_by(events.c.id)
        if limit is not None:
            q = q.limit(limit)
        if offset:
            q = q.offset(offset)
        with self.engine.connect() as conn:
            # plain tuples: pandas is several times slower on SQLAlchemy Row objects
            rows = [tuple(r) for r in conn.execute(q)]
        frame = pd.DataFrame(rows, columns=[c.name for c in cols])
        if "attributes" in frame and parse_attributes:
            frame["attributes"] = [json.loads(a) for a in frame["attributes"]]
        if "time" in frame:
            frame["time"] = pd.to_datetime(frame["time"])
        return frame

    def _count_where(self, cond: Sequence[sa.ColumnElement[bool]]) -> int:
        q = sa.select(sa.func.count()).select_from(events).where(*cond)
        with self.engine.connect() as conn:
            return int(conn.execute(q).scalar() or 0)

    def query_events(self, f: EventFilter, *, limit: int | None = None, offset: int = 0,
                     columns: Sequence[str] | None = None) -> pd.DataFrame:
        """Events matching ``f``, ordered by id, as a frame (``attributes`` parsed)."""
        return self._select_events(self._event_where(f), limit=limit, offset=offset,
                                   columns=columns)

    def events_version(self) -> str:
        """The data version of the events: the highest event id and the latest import
        (its id and time).

        Events are only ever added (an import commits whole or not at all), so any
        change raises the highest id; the import's time tells apart a store that was
        emptied or restored and filled again to the same id. Caches of event reads
        key on it."""
        # an import that only met duplicates changed nothing
        latest = (sa.select(imports.c.id, imports.c.imported_at)
                  .where(imports.c.accepted > imports.c.duplicates)
                  .order_by(imports.c.id.desc()).limit(1))
        with self.engine.connect() as conn:
            top = conn.execute(sa.select(sa.func.max(events.c.id))).scalar()
            row = conn.execute(latest).first()
        stamp = f"{row[0]}@{pd.Timestamp(row[1]).isoformat()}" if row else "none"
        return f"{int(top or 0)}:{stamp}"

    def count_events(self, f: EventFilter) -> int:
        return self._count_where(self._event_where(f))

    def event_extent(self, f: EventFilter) -> tuple[float, float, float, float] | None:
        """``(minlon, minlat, maxlon, maxlat)`` of the events matching ``f`` (one query)."""
        q = (sa.select(sa.func.min(events.c.lon), sa.func.min(events.c.lat),
                       sa.func.max(events.c.lon), sa.func.max(events.c.lat))
             .where(*self._event_where(f)))
        with self.engine.connect() as conn:
            row = conn.execute(q).one()
        if row[0] is None:
            return None
        return (float(row[0]), float(row[1]), float(row[2]), float(row[3]))

    def event_attribute(self, f: EventFilter, key: str) -> pd.DataFrame:
        """``id`` and ``value``: one attribute (e.g. police.uk ``Location``) of the events
        matching ``f``, read by the database's JSON functions (no per-event parsing);
        ``value`` is None where the event lacks it."""
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import JSONB

            value: Any = sa.cast(events.c.attributes, JSONB)[key].astext
        else:
            value = sa.func.json_extract(events.c.attributes, "$." + json.dumps(key))
        q = (sa.select(events.c.id, value.label("value")).where(*self._event_where(f))
             .order_by(events.c.id))
        with self.engine.connect() as conn:
            rows = [tuple(r) for r in conn.execute(q)]
        return pd.DataFrame(rows, columns=["id", "value"])

    def event_arrays(self, f: EventFilter) -> pd.DataFrame:
        """The columns analysis needs (no attributes), for fast bulk reads."""
        return self.query_events(f, columns=["layer", "category", "time", "lon", "lat", "x", "y",
                                             "crs_epsg", "h3", "location_precision",
                                             "time_precision", "geocode_precision"])
