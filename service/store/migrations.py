"""Schema migrations: one ordered list, applied in one transaction, recorded in
``schema_migrations``.

:data:`MIGRATIONS` is built here and nowhere else. Versions must strictly
increase (a repeated or out-of-order version is an error when this module is
imported), and an applied migration is never edited: a store created by an
older remap reaches the current schema by running the ones it lacks. The
gaps (4-9, 12) are versions never released.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from service.store.audit import GENESIS, install_guards, row_digest
from service.store.base import now
from service.store.tables import (
    CORE_TABLES,
    audit_head,
    audit_log,
    event_segment_units,
    event_segments,
    gazetteer_addresses,
    gazetteer_postcodes,
    gazetteers_table,
    metadata,
    operations_table,
    saved_results,
    schema_migrations,
    street_networks,
    street_segments,
    watch_alarms,
    watches_table,
)

#: Key of the PostgreSQL advisory lock held while migrating: one migrator at a time.
MIGRATION_LOCK = 7270001


class Migration(NamedTuple):
    version: int
    description: str  # stored in schema_migrations; never reworded
    apply: Callable[[Connection], None]


class MigrationOrderError(ValueError):
    """The migration list repeats a version or goes backwards."""


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


def _m3_saved_results(conn: Connection) -> None:
    metadata.create_all(conn, tables=[saved_results])


def _m10_operations(conn: Connection) -> None:
    metadata.create_all(conn, tables=[operations_table])


def _m11_audit_chain(conn: Connection) -> None:
    """Hash columns, the head, chaining of the rows written before, the guards."""
    have = {c["name"] for c in sa.inspect(conn).get_columns("audit_log")}
    for col in ("prev_hash", "row_hash"):
        if col not in have:
            conn.execute(sa.text(f"ALTER TABLE audit_log ADD COLUMN {col} VARCHAR(64)"))
    metadata.create_all(conn, tables=[audit_head])
    prev, last_id, n = GENESIS, 0, 0
    rows = conn.execute(sa.select(audit_log.c.id, audit_log.c.at, audit_log.c.actor,
                                  audit_log.c.action, audit_log.c.detail)
                        .order_by(audit_log.c.id)).all()
    for r in rows:
        h = row_digest(r.id, r.at, r.actor, r.action, r.detail, prev)
        conn.execute(audit_log.update().where(audit_log.c.id == r.id)
                     .values(prev_hash=prev, row_hash=h))
        prev, last_id, n = h, int(r.id), n + 1
    conn.execute(audit_head.delete())
    conn.execute(audit_head.insert().values(id=1, last_id=last_id, last_hash=prev, n_rows=n))
    install_guards(conn)


def _m13_operation_sharing(conn: Connection) -> None:
    columns = {c["name"] for c in sa.inspect(conn).get_columns("operations")}
    if "shared" not in columns:
        conn.execute(sa.text("ALTER TABLE operations ADD COLUMN shared BOOLEAN NOT NULL "
                             "DEFAULT FALSE"))


def _m14_watches(conn: Connection) -> None:
    metadata.create_all(conn, tables=[watches_table, watch_alarms])


def _m15_geocoding(conn: Connection) -> None:
    """Gazetteer tables, and how each event was placed (NULL for every existing row:
    read as ``point``, coordinates given)."""
    metadata.create_all(conn, tables=[gazetteers_table, gazetteer_postcodes,
                                      gazetteer_addresses])
    columns = {c["name"] for c in sa.inspect(conn).get_columns("events")}
    if "geocode_precision" not in columns:
        conn.execute(sa.text("ALTER TABLE events ADD COLUMN geocode_precision VARCHAR(24)"))
def _m16_street_networks(conn: Connection) -> None:
    """Road networks and their segments (new tables: every existing row is kept); on
    PostgreSQL a PostGIS line column in EPSG:27700 generated from the WKB, indexed."""
    metadata.create_all(conn, tables=[street_networks, street_segments])
    if conn.dialect.name != "postgresql":
        return
    conn.execute(sa.text(
        "ALTER TABLE street_segments ADD COLUMN geom geometry(Geometry, 27700) GENERATED "
        "ALWAYS AS (ST_SetSRID(ST_GeomFromWKB(decode(wkb, 'hex')), 27700)) STORED"))
    conn.execute(sa.text("CREATE INDEX ix_street_segments_geom ON street_segments "
                         "USING gist (geom)"))


#: Events moved by migration 17 at a time (bounded memory on a store of any size).
_M17_CHUNK = 200_000


def _m17_event_segments(conn: Connection) -> None:
    """Events as Parquet segments (:mod:`service.store.segments`): every row of
    ``events`` moves into ``event_segments`` (per layer, import and month; the same
    ids, keys, values and attribute text), every placement of ``event_units`` into
    ``event_segment_units``; then both row tables are dropped. On PostgreSQL ids come
    from the sequence ``event_ids`` from then on, above every stored one."""
    import numpy as np
    import pandas as pd

    from service.store import segments as seg

    metadata.create_all(conn, tables=[event_segments, event_segment_units])
    cols = ("id", "layer", "event_key", "source_id", "time", "time_precision", "lon", "lat",
            "x", "y", "crs_epsg", "location_precision", "category", "source", "sensitivity",
            "h3", "attributes", "import_id", "geocode_precision")
    groups = conn.execute(sa.text(
        "SELECT DISTINCT layer, import_id FROM events ORDER BY layer, import_id")).all()
    for layer, import_id in groups:
        same_import = "import_id IS NULL" if import_id is None else "import_id = :imp"
        after = 0
        while True:
            rows = conn.execute(sa.text(
                f"SELECT {', '.join(cols)} FROM events WHERE layer = :layer AND "
                f"{same_import} AND id > :after ORDER BY id LIMIT :n"),
                {"layer": layer, "imp": import_id, "after": after, "n": _M17_CHUNK}).all()
            if not rows:
                break
            frame = pd.DataFrame([tuple(r) for r in rows], columns=list(cols))
            frame["time"] = pd.to_datetime(frame["time"])
            ids = np.asarray([r[0] for r in rows], dtype=np.int64)
            after = int(ids.max())
            written = seg.write_segments(
                conn, layer=layer, import_id=import_id, frame=frame, ids=ids,
                hashes=seg.key_hashes(frame["event_key"].astype(str).tolist()),
                attributes=frame["attributes"].astype(str).tolist())
            placed = conn.execute(sa.text(
                "SELECT event_id, set_id, unit_id FROM event_units "
                "WHERE event_id >= :lo AND event_id <= :hi"),
                {"lo": int(ids.min()), "hi": after}).all()
            if not placed:
                continue
            units = pd.DataFrame([tuple(r) for r in placed],
                                 columns=["event_id", "set_id", "unit_id"])
            for set_id in sorted(set(units["set_id"].tolist())):
                part = units.loc[units["set_id"] == set_id]
                by_id = dict(zip(part["event_id"].tolist(), part["unit_id"].tolist(),
                                 strict=True))
                for segment_id, positions in written:
                    seg_ids = ids[positions].tolist()
                    if not any(i in by_id for i in seg_ids):
                        continue
                    # an event never placed in the set reads as outside it, as a missing
                    # row of event_units did for the boundary filters
                    seg.write_units(conn, segment_id, int(set_id),
                                    [by_id.get(i) for i in seg_ids])
    top = conn.execute(sa.text("SELECT max(id) FROM events")).scalar()
    conn.execute(sa.text("DROP TABLE event_units"))
    conn.execute(sa.text("DROP TABLE events"))
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("CREATE SEQUENCE event_ids AS bigint"))
        if top is not None:
            conn.execute(sa.text("SELECT setval('event_ids', :v)"), {"v": int(top)})


def ordered(migrations: Iterable[Migration]) -> tuple[Migration, ...]:
    """``migrations`` as given, checked: each version greater than the one before."""
    out = tuple(migrations)
    for before, after in zip(out, out[1:], strict=False):
        if after.version == before.version:
            raise MigrationOrderError(f"migration version {after.version} appears twice "
                                      f"({before.description!r}, {after.description!r})")
        if after.version < before.version:
            raise MigrationOrderError(f"migration {after.version} follows {before.version}: "
                                      "versions must increase")
    return out


#: Every migration, in the order applied. Append only; never edit an applied migration.
MIGRATIONS: tuple[Migration, ...] = ordered([
    Migration(1, "core tables: layers, imports, events, boundaries, placements, keys, audit",
              _m1_core),
    Migration(2, "PostGIS geometry columns and GiST indexes (PostgreSQL only)", _m2_postgis),
    Migration(3, "saved hotspot results", _m3_saved_results),
    Migration(10, "operations: definitions, status and baseline locks", _m10_operations),
    Migration(11, "audit log: hash chain, head and append-only guards", _m11_audit_chain),
    Migration(13, "operations: shared with partners", _m13_operation_sharing),
    Migration(14, "re-emergence watches and their recorded alarms", _m14_watches),
    Migration(15, "geocoding: gazetteers, postcodes, addresses; events.geocode_precision",
              _m15_geocoding),
    Migration(16, "street networks and their segments (street units)", _m16_street_networks),
    Migration(17, "events as Parquet segments in the database (event_segments, "
                  "event_segment_units); the row tables events and event_units dropped",
              _m17_event_segments),
])

LATEST_VERSION = MIGRATIONS[-1].version


def apply_pending(engine: Engine,
                  migrations: tuple[Migration, ...] = MIGRATIONS) -> list[int]:
    """Apply the migrations not yet applied, in one transaction; returns their versions."""
    applied: list[int] = []
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # one migrator at a time across processes
            conn.execute(sa.text(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
        metadata.create_all(conn, tables=[schema_migrations])
        done = {r[0] for r in conn.execute(sa.select(schema_migrations.c.version))}
        for version, description, apply in migrations:
            if version in done:
                continue
            apply(conn)
            conn.execute(schema_migrations.insert().values(
                version=version, description=description, applied_at=now()))
            applied.append(version)
    return applied


def schema_version(engine: Engine) -> int:
    """The highest version applied (0 for an empty database)."""
    with engine.connect() as conn:
        v = conn.execute(sa.select(sa.func.max(schema_migrations.c.version))).scalar()
    return int(v or 0)
