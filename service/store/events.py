"""Events: bulk inserts of placed events, and reads by filter (layers, time, area, cells)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
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


def _event_rows(frame: pd.DataFrame, import_id: int | None, ids: np.ndarray, dialect: str
                ) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Column names and row tuples of python scalars for the DB drivers."""
    times = pd.to_datetime(frame["time"])
    # SQLite keeps times as text and SQLAlchemy compares them as text in its own
    # format; anything else would sort midnight before the window it starts
    time_values = (times.dt.strftime("%Y-%m-%d %H:%M:%S.%f").tolist() if dialect == "sqlite"
                   else times.dt.to_pydatetime().tolist())
    cols: dict[str, list[Any]] = {
        "id": ids.tolist(),
        "layer": frame["layer"].astype(str).tolist(),
        "event_key": frame["event_key"].astype(str).tolist(),
        "source_id": frame["source_id"].astype(str).tolist(),
        "time": time_values,
        "time_precision": frame["time_precision"].astype(str).tolist(),
        "lon": frame["lon"].astype(float).tolist(), "lat": frame["lat"].astype(float).tolist(),
        "x": frame["x"].astype(float).tolist(), "y": frame["y"].astype(float).tolist(),
        "crs_epsg": frame["crs_epsg"].astype(int).tolist(),
        "location_precision": frame["location_precision"].astype(str).tolist(),
        "category": frame["category"].astype(str).tolist(),
        "source": frame["source"].astype(str).tolist(),
        "sensitivity": frame["sensitivity"].astype(str).tolist(),
        "h3": frame["h3"].astype(str).tolist(),
        "attributes": list(map(_ATTRIBUTES_ENCODER.encode, frame["attributes"])),
        "import_id": [import_id] * len(frame),
    }
    return list(cols), list(zip(*cols.values(), strict=True))


class EventsRepository(BoundariesRepository):
    """Writes and filtered reads of ``events`` (a boundary filter reads the placements)."""

    MAX_FILTER_CELLS = 500

    # ----------------------------------------------------------------- writing
    def existing_keys(self, conn: Connection, layer: str, keys: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for i in range(0, len(keys), self.CHUNK):
            chunk = list(keys[i:i + self.CHUNK])
            q = sa.select(events.c.event_key).where(events.c.layer == layer,
                                                    events.c.event_key.in_(chunk))
            found.update(r[0] for r in conn.execute(q))
        return found

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
        columns, rows = _event_rows(frame, import_id, ids, self.dialect)
        self._bulk_insert(conn, events.name, columns, rows)
        return ids

    def _allocate_ids(self, conn: Connection, n: int) -> np.ndarray:
        if self.dialect == "postgresql":
            seq = conn.execute(sa.text(
                "SELECT pg_get_serial_sequence('events', 'id')")).scalar()
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
                                             "time_precision"])
