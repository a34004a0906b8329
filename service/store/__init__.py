"""The store: one schema (SQLAlchemy Core) on SQLite or PostgreSQL/PostGIS.

One code path serves both databases. Portable columns hold everything the
queries use (lon/lat, BNG metres, H3 cell, WKB of polygons); on PostgreSQL a
migration adds PostGIS geometry columns generated from them, indexed with
GiST, so that a force's DBAs and QGIS can query the same tables spatially.

Schema changes are versioned migrations (:data:`MIGRATIONS`), applied in
order inside a transaction and recorded in ``schema_migrations``.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from spatial.errors import ConflictError, NotFoundError, ParameterError
from spatial.events import EVENT_COLUMNS, layer_spec
from spatial.limits import check_name

#: admin: everything; analyst: analysis, imports, points; partner and viewer: aggregated,
#: disclosure-controlled reads only (spatial.disclosure).
ROLES = ("admin", "analyst", "partner", "viewer")

metadata = sa.MetaData()

schema_migrations = sa.Table(
    "schema_migrations", metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("applied_at", sa.DateTime, nullable=False),
)

layers = sa.Table(
    "layers", metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("sensitivity", sa.String(16), nullable=False),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

imports = sa.Table(
    "imports", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("layer", sa.String(64), sa.ForeignKey("layers.name"), nullable=False),
    sa.Column("file_name", sa.Text, nullable=False),
    sa.Column("format", sa.String(16), nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("imported_at", sa.DateTime, nullable=False),
    sa.Column("accepted", sa.Integer, nullable=False),
    sa.Column("rejected", sa.Integer, nullable=False),
    sa.Column("duplicates", sa.Integer, nullable=False),
)

events = sa.Table(
    "events", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
              autoincrement=True),
    sa.Column("layer", sa.String(64), sa.ForeignKey("layers.name"), nullable=False),
    sa.Column("event_key", sa.String(128), nullable=False),
    sa.Column("source_id", sa.Text, nullable=False),
    sa.Column("time", sa.DateTime, nullable=False),
    sa.Column("time_precision", sa.String(8), nullable=False),
    sa.Column("lon", sa.Float(precision=53), nullable=False),
    sa.Column("lat", sa.Float(precision=53), nullable=False),
    sa.Column("x", sa.Float(precision=53), nullable=False),
    sa.Column("y", sa.Float(precision=53), nullable=False),
    sa.Column("crs_epsg", sa.Integer, nullable=False),
    sa.Column("location_precision", sa.String(8), nullable=False),
    sa.Column("category", sa.Text, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("sensitivity", sa.String(16), nullable=False),
    sa.Column("h3", sa.String(16), nullable=False),
    sa.Column("attributes", sa.Text, nullable=False),
    sa.Column("import_id", sa.Integer, sa.ForeignKey("imports.id"), nullable=True),
    sa.UniqueConstraint("layer", "event_key", name="uq_events_layer_key"),
)
sa.Index("ix_events_layer_category_time", events.c.layer, events.c.category, events.c.time)
sa.Index("ix_events_h3", events.c.h3)
sa.Index("ix_events_lon_lat", events.c.lon, events.c.lat)

boundary_sets = sa.Table(
    "boundary_sets", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("id_field", sa.Text, nullable=False),
    sa.Column("label_field", sa.Text, nullable=True),
    sa.Column("effective_date", sa.Date, nullable=True),
    sa.Column("source_file", sa.Text, nullable=False),
    sa.Column("repairs", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.UniqueConstraint("name", "version", name="uq_boundary_sets_name_version"),
)

boundary_units = sa.Table(
    "boundary_units", metadata,
    sa.Column("set_id", sa.Integer, sa.ForeignKey("boundary_sets.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("unit_id", sa.String(128), primary_key=True),
    sa.Column("label", sa.Text, nullable=False),
    sa.Column("wkb", sa.Text, nullable=False),  # WGS84 polygon, hex WKB
    sa.Column("area_m2", sa.Float(precision=53), nullable=False),
)

event_units = sa.Table(
    "event_units", metadata,
    sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer, "sqlite"),
              sa.ForeignKey("events.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("set_id", sa.Integer, sa.ForeignKey("boundary_sets.id", ondelete="CASCADE"),
              primary_key=True),
    # NULL: the event lies outside every polygon of the set
    sa.Column("unit_id", sa.String(128), nullable=True),
)
sa.Index("ix_event_units_set_unit", event_units.c.set_id, event_units.c.unit_id)

api_keys = sa.Table(
    "api_keys", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("prefix", sa.String(12), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("label", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("revoked_at", sa.DateTime, nullable=True),
)

audit_log = sa.Table(
    "audit_log", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    # hash chain (service.store.audit, migration 11)
    sa.Column("prev_hash", sa.String(64), nullable=True),
    sa.Column("row_hash", sa.String(64), nullable=True),
)

CORE_TABLES = [schema_migrations, layers, imports, events, boundary_sets, boundary_units,
               event_units, api_keys, audit_log]


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


# --------------------------------------------------------------------------- migrations

def _m1_core(conn: Connection) -> None:
    metadata.create_all(conn, tables=CORE_TABLES)


def _m2_postgis(conn: Connection) -> None:
    """PostGIS geometry columns generated from the portable ones (PostgreSQL only)."""
    if conn.dialect.name != "postgresql":
        return
    conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS postgis"))
    conn.execute(sa.text(
        "ALTER TABLE events ADD COLUMN geom geometry(Point, 4326) GENERATED ALWAYS AS "
        "(ST_SetSRID(ST_MakePoint(lon, lat), 4326)) STORED"))
    conn.execute(sa.text("CREATE INDEX ix_events_geom ON events USING gist (geom)"))
    conn.execute(sa.text(
        "ALTER TABLE boundary_units ADD COLUMN geom geometry(Geometry, 4326) GENERATED ALWAYS AS "
        "(ST_SetSRID(ST_GeomFromWKB(decode(wkb, 'hex')), 4326)) STORED"))
    conn.execute(sa.text("CREATE INDEX ix_boundary_units_geom ON boundary_units USING gist (geom)"))


#: (version, description, function). Append only; never edit an applied migration.
MIGRATIONS: list[tuple[int, str, Callable[[Connection], None]]] = [
    (1, "core tables: layers, imports, events, boundaries, placements, keys, audit", _m1_core),
    (2, "PostGIS geometry columns and GiST indexes (PostgreSQL only)", _m2_postgis),
]


def register_migration(version: int, description: str,
                       apply: Callable[[Connection], None]) -> None:
    """Add a migration (used by later modules that own their tables)."""
    if any(v == version for v, _, _ in MIGRATIONS):
        return
    MIGRATIONS.append((version, description, apply))
    MIGRATIONS.sort(key=lambda m: m[0])


#: Modules that own tables register their migrations when imported.
MIGRATION_MODULES = ("service.app.results", "service.app.operations", "service.store.audit")


def _register_module_migrations() -> None:
    import importlib

    for name in MIGRATION_MODULES:
        importlib.import_module(name)


# --------------------------------------------------------------------------- data classes

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


@dataclass(frozen=True)
class BoundarySetInfo:
    id: int
    name: str
    version: int
    id_field: str
    label_field: str | None
    effective_date: date | None
    source_file: str
    repairs: list[str]
    created_at: datetime
    unit_count: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.name, "version": self.version,
            "id_field": self.id_field, "label_field": self.label_field,
            "effective_date": self.effective_date.isoformat() if self.effective_date else None,
            "source_file": self.source_file, "repairs": self.repairs,
            "created_at": self.created_at.isoformat(), "unit_count": self.unit_count,
        }


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


# --------------------------------------------------------------------------- the store

class Store:
    """The events store. ``Store(url)`` connects and brings the schema up to date."""

    CHUNK = 5_000

    def __init__(self, url: str, *, h3_resolution: int = 11, migrate: bool = True) -> None:
        self.url = url
        self.h3_resolution = h3_resolution
        kwargs: dict[str, Any] = {"future": True}
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://"):]
        self.engine: Engine = sa.create_engine(url, **kwargs)
        if self.engine.dialect.name == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        if migrate:
            self.migrate()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def dispose(self) -> None:
        self.engine.dispose()

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """One transaction: everything inside commits together or not at all.

        A unique key taken by a concurrent writer rolls it back and is a
        :class:`ConflictError` (HTTP 409), never a driver traceback.
        """
        try:
            with self.engine.begin() as conn:
                yield conn
        except sa.exc.IntegrityError as exc:
            if not _is_unique_violation(exc):
                raise  # e.g. the audit log's append-only trigger: not a conflict
            raise ConflictError(
                "another request changed the same data at the same time; nothing was "
                "written, run it again",
                details={"constraint": str(exc.orig).splitlines()[0][:200]}) from exc

    # ----------------------------------------------------------------- schema
    def migrate(self) -> list[int]:
        """Apply the migrations not yet applied; returns their versions."""
        _register_module_migrations()
        applied: list[int] = []
        with self.engine.begin() as conn:
            if self.dialect == "postgresql":
                # one migrator at a time across processes
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(7270001)"))
            metadata.create_all(conn, tables=[schema_migrations])
            done = {r[0] for r in conn.execute(sa.select(schema_migrations.c.version))}
            for version, description, apply in MIGRATIONS:
                if version in done:
                    continue
                apply(conn)
                conn.execute(schema_migrations.insert().values(
                    version=version, description=description, applied_at=_now()))
                applied.append(version)
        return applied

    def schema_version(self) -> int:
        with self.engine.connect() as conn:
            v = conn.execute(sa.select(sa.func.max(schema_migrations.c.version))).scalar()
        return int(v or 0)

    # ----------------------------------------------------------------- layers
    def ensure_layer(self, conn: Connection, name: str, sensitivity: str | None = None,
                     description: str | None = None) -> None:
        """Create layer ``name`` unless it exists; safe against a concurrent creator."""
        check_name(name, "layer")
        exists = conn.execute(sa.select(layers.c.name).where(layers.c.name == name)).first()
        if exists:
            return
        spec = layer_spec(name)
        values = dict(name=name, sensitivity=sensitivity or spec.sensitivity,
                      description=description or spec.description, created_at=_now())
        insert: Any
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        # two imports creating the same new layer at once: the second one's insert is a no-op
        conn.execute(insert(layers).values(**values).on_conflict_do_nothing(
            index_elements=[layers.c.name]))

    def list_layers(self) -> list[dict[str, Any]]:
        """Every layer with its event count, time range and categories."""
        stats = (sa.select(events.c.layer, sa.func.count().label("count"),
                           sa.func.min(events.c.time).label("time_min"),
                           sa.func.max(events.c.time).label("time_max"))
                 .group_by(events.c.layer).subquery())
        q = (sa.select(layers.c.name, layers.c.sensitivity, layers.c.description,
                       stats.c.count, stats.c.time_min, stats.c.time_max)
             .select_from(layers.outerjoin(stats, stats.c.layer == layers.c.name))
             .order_by(layers.c.name))
        cats_q = (sa.select(events.c.layer, events.c.category, sa.func.count())
                  .group_by(events.c.layer, events.c.category))
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
            cats: dict[str, dict[str, int]] = {}
            for layer, cat, n in conn.execute(cats_q):
                cats.setdefault(layer, {})[cat] = int(n)
        out = []
        for name, sens, desc, n, tmin, tmax in rows:
            out.append({
                "name": name, "sensitivity": sens, "description": desc,
                "count": int(n or 0),
                "time_min": _iso(tmin), "time_max": _iso(tmax),
                "categories": dict(sorted(cats.get(name, {}).items())),
            })
        return out

    def layer_names(self) -> set[str]:
        with self.engine.connect() as conn:
            return {r[0] for r in conn.execute(sa.select(layers.c.name))}

    # ----------------------------------------------------------------- events
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

    def _bulk_insert(self, conn: Connection, table: str, columns: list[str],
                     rows: list[tuple[Any, ...]]) -> None:
        dbapi = conn.connection.dbapi_connection
        assert dbapi is not None
        cur = dbapi.cursor()
        try:
            if self.dialect == "postgresql":
                with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join("?" for _ in columns)
                cur.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                                rows)
        except Exception as exc:
            if type(exc).__name__ in ("IntegrityError", "UniqueViolation"):
                # another writer stored some of these rows since we looked: the whole
                # transaction rolls back, and the caller can simply run it again
                raise ConflictError(
                    "another import stored some of these events at the same time; nothing "
                    "was written, run the import again") from exc
            raise
        finally:
            cur.close()

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

    MAX_FILTER_CELLS = 500

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

    def query_events(self, f: EventFilter, *, limit: int | None = None, offset: int = 0,
                     columns: Sequence[str] | None = None) -> pd.DataFrame:
        """Events matching ``f``, ordered by id, as a frame (``attributes`` parsed)."""
        cols = [events.c.id] + [events.c[c] for c in (columns or [*EVENT_COLUMNS, "h3"])]
        q = sa.select(*cols).where(*self._event_where(f)).order_by(events.c.id)
        if limit is not None:
            q = q.limit(limit).offset(offset)
        with self.engine.connect() as conn:
            # plain tuples: pandas is several times slower on SQLAlchemy Row objects
            rows = [tuple(r) for r in conn.execute(q)]
        frame = pd.DataFrame(rows, columns=[c.name for c in cols])
        if "attributes" in frame:
            frame["attributes"] = [json.loads(a) for a in frame["attributes"]]
        if "time" in frame:
            frame["time"] = pd.to_datetime(frame["time"])
        return frame

    def count_events(self, f: EventFilter) -> int:
        q = sa.select(sa.func.count()).select_from(events).where(*self._event_where(f))
        with self.engine.connect() as conn:
            return int(conn.execute(q).scalar() or 0)

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

    def event_arrays(self, f: EventFilter) -> pd.DataFrame:
        """The columns analysis needs (no attributes), for fast bulk reads."""
        return self.query_events(f, columns=["layer", "category", "time", "lon", "lat", "x", "y",
                                             "crs_epsg", "h3", "location_precision",
                                             "time_precision"])

    # ----------------------------------------------------------------- imports / audit
    def record_import(self, conn: Connection, *, layer: str, file_name: str, fmt: str,
                      actor: str) -> int:
        res = conn.execute(imports.insert().values(
            layer=layer, file_name=file_name, format=fmt, actor=actor, imported_at=_now(),
            accepted=0, rejected=0, duplicates=0))
        return _inserted_id(res)

    def finish_import(self, conn: Connection, import_id: int, *, accepted: int, rejected: int,
                      duplicates: int) -> None:
        conn.execute(imports.update().where(imports.c.id == import_id).values(
            accepted=accepted, rejected=rejected, duplicates=duplicates))

    def audit(self, conn: Connection | None, actor: str, action: str,
              detail: dict[str, Any]) -> None:
        """Append to the hash-chained audit log (:mod:`service.store.audit`), inside ``conn``'s
        transaction or, with ``None``, in a transaction of its own."""
        from service.store import audit

        audit.record(self, conn, actor, action, detail)

    def audit_entries(self, action: str | None = None) -> list[dict[str, Any]]:
        from service.store import audit

        return audit.entries(self, audit.AuditQuery(action=action))[0]

    # ----------------------------------------------------------------- boundaries
    def add_boundary_set(self, conn: Connection, *, name: str, id_field: str,
                         label_field: str | None, effective_date: date | None,
                         source_file: str, repairs: list[str],
                         units: Iterable[tuple[str, str, str, float]]) -> tuple[int, int]:
        """A new version of boundary set ``name``; returns its id and version.

        ``units`` yields ``(unit_id, label, wkb_hex, area_m2)``.
        """
        check_name(name, "name")
        version = int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(
            boundary_sets.c.version), 0)).where(boundary_sets.c.name == name)).scalar() or 0) + 1
        res = conn.execute(boundary_sets.insert().values(
            name=name, version=version, id_field=id_field, label_field=label_field,
            effective_date=effective_date, source_file=source_file,
            repairs=json.dumps(repairs), created_at=_now()))
        set_id = _inserted_id(res)
        rows = [{"set_id": set_id, "unit_id": u, "label": lab, "wkb": w, "area_m2": a}
                for u, lab, w, a in units]
        if rows:
            conn.execute(boundary_units.insert(), rows)
        return set_id, version

    def boundary_sets_list(self) -> list[BoundarySetInfo]:
        counts = (sa.select(boundary_units.c.set_id, sa.func.count().label("n"))
                  .group_by(boundary_units.c.set_id).subquery())
        q = (sa.select(boundary_sets, counts.c.n)
             .select_from(boundary_sets.outerjoin(counts, counts.c.set_id == boundary_sets.c.id))
             .order_by(boundary_sets.c.name, boundary_sets.c.version))
        with self.engine.connect() as conn:
            return [_set_info(r) for r in conn.execute(q)]

    def boundary_set(self, name: str, version: int | None = None) -> BoundarySetInfo:
        """The named set at ``version`` (default: the latest)."""
        all_sets = self.boundary_sets_list()
        sets = [s for s in all_sets if s.name == name]
        if version is not None:
            sets = [s for s in sets if s.version == version]
        if not sets:
            known = sorted({s.name for s in all_sets})
            raise NotFoundError(
                f"boundary set {name!r}" + (f" version {version}" if version else "")
                + f" does not exist; known sets: {', '.join(known) or 'none'}")
        return sets[-1]

    def boundary_units_frame(self, set_id: int) -> pd.DataFrame:
        """``unit_id``, ``label``, ``wkb`` (hex, WGS84), ``area_m2`` of one set version."""
        q = (sa.select(boundary_units.c.unit_id, boundary_units.c.label, boundary_units.c.wkb,
                       boundary_units.c.area_m2)
             .where(boundary_units.c.set_id == set_id).order_by(boundary_units.c.unit_id))
        with self.engine.connect() as conn:
            return pd.DataFrame(conn.execute(q).all(),
                                columns=["unit_id", "label", "wkb", "area_m2"])

    def write_placements(self, conn: Connection, set_id: int, event_ids: np.ndarray,
                         unit_ids: Sequence[str | None]) -> None:
        rows = list(zip(event_ids.tolist(), [set_id] * len(event_ids), unit_ids, strict=True))
        self._bulk_insert(conn, event_units.name, ["event_id", "set_id", "unit_id"], rows)

    def all_event_positions(self, conn: Connection) -> pd.DataFrame:
        q = sa.select(events.c.id, events.c.lon, events.c.lat).order_by(events.c.id)
        return pd.DataFrame(conn.execute(q).all(), columns=["id", "lon", "lat"])

    def placement_counts(self, set_id: int) -> dict[str | None, int]:
        q = (sa.select(event_units.c.unit_id, sa.func.count())
             .where(event_units.c.set_id == set_id).group_by(event_units.c.unit_id))
        with self.engine.connect() as conn:
            return {u: int(n) for u, n in conn.execute(q)}

    # ----------------------------------------------------------------- keys
    def create_key(self, role: str, label: str = "") -> str:
        """A new API key for ``role``; returns the plaintext once, stores its hash."""
        if role not in ROLES:
            raise ParameterError("role", f"{role!r} is not one of {', '.join(ROLES)}")
        plaintext = "rmp_" + secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            conn.execute(api_keys.insert().values(
                key_hash=hash_key(plaintext), prefix=plaintext[:10], role=role, label=label,
                created_at=_now()))
            self.audit(conn, "cli", "key_create", {"role": role, "prefix": plaintext[:10],
                                                   "label": label})
        return plaintext

    def role_for_key(self, plaintext: str) -> tuple[int, str] | None:
        q = sa.select(api_keys.c.id, api_keys.c.role).where(
            api_keys.c.key_hash == hash_key(plaintext), api_keys.c.revoked_at.is_(None))
        with self.engine.connect() as conn:
            row = conn.execute(q).first()
        return (int(row[0]), str(row[1])) if row else None

    def list_keys(self) -> list[dict[str, Any]]:
        q = sa.select(api_keys.c.id, api_keys.c.prefix, api_keys.c.role, api_keys.c.label,
                      api_keys.c.created_at, api_keys.c.revoked_at).order_by(api_keys.c.id)
        with self.engine.connect() as conn:
            return [{k: _iso(v) if isinstance(v, datetime) else v
                     for k, v in r._mapping.items()} for r in conn.execute(q)]

    def revoke_key(self, key_id: int) -> None:
        with self.engine.begin() as conn:
            res = conn.execute(api_keys.update().where(api_keys.c.id == key_id,
                                                       api_keys.c.revoked_at.is_(None))
                               .values(revoked_at=_now()))
            if res.rowcount == 0:
                raise NotFoundError(f"no active key with id {key_id}")
            self.audit(conn, "cli", "key_revoke", {"id": key_id})

    # ----------------------------------------------------------------- snapshots
    def table_counts(self) -> dict[str, int]:
        """Row counts of every table: a cheap fingerprint used by tests and the CLI."""
        out = {}
        with self.engine.connect() as conn:
            for t in metadata.sorted_tables:
                out[t.name] = int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar()
                                  or 0)
        return out


def _is_unique_violation(exc: sa.exc.IntegrityError) -> bool:
    """A unique or primary key taken (SQLSTATE 23505; SQLite's UNIQUE constraint)."""
    if getattr(exc.orig, "sqlstate", None) == "23505":
        return True
    text = str(exc.orig)
    return "UNIQUE constraint failed" in text or "PRIMARY KEY" in text.upper()


def _inserted_id(result: Any) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return pd.Timestamp(value).isoformat()


def _set_info(r: Any) -> BoundarySetInfo:
    eff = r.effective_date
    if isinstance(eff, str):
        eff = date.fromisoformat(eff)
    return BoundarySetInfo(
        id=r.id, name=r.name, version=r.version, id_field=r.id_field, label_field=r.label_field,
        effective_date=eff, source_file=r.source_file, repairs=json.loads(r.repairs),
        created_at=r.created_at, unit_count=int(r.n or 0))


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
