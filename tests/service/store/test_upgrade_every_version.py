"""An upgrade from every earlier schema version keeps every row.

For each version in MIGRATIONS but the last, a store is built at that version (the
migrations up to it, applied as a release of that time would have), filled by raw
SQL with two rows in every table it has (found by introspection, parents before
children, foreign keys pointing at real rows), then opened by this remap, which
migrates it to the current version. Every row is still there with every value it was
written with. Nothing here names a table or a migration, so migrations added later
are covered as they come, but the row tables of events and placements, which
migration 17 moves into Parquet segments: their rows are read back through them. SQLite and PostgreSQL; on SQLite a ``remap backup`` of the
old store is also restored (and so migrated) into an empty one.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import shapely
import sqlalchemy as sa
from click.testing import CliRunner

from service.cli import main
from service.settings import get_settings
from service.store import Store
from service.store.engine import create_engine
from service.store.migrations import LATEST_VERSION, MIGRATIONS, apply_pending
from tests.conftest import POSTGRES_ADMIN_URL, postgres_database

EARLIER = [m.version for m in MIGRATIONS[:-1]]
ROWS_PER_TABLE = 2
#: Tables a migration fills itself (its own bookkeeping): left as the migration wrote them.
BOOKKEEPING = {"schema_migrations"}
#: Columns a migration recomputes, by design, from the rest of each row: (table, column)
#: -> the migration's version. Their values are not compared when upgrading from before
#: it. (Migration 11 chains the audit rows written before it: their hashes are new.)
RECOMPUTED = {("audit_log", "prev_hash"): 11, ("audit_log", "row_hash"): 11}

_POLYGON_HEX = shapely.to_wkb(shapely.box(-1.48, 53.37, -1.46, 53.39), hex=True)


def _value(column: dict[str, Any], n: int) -> Any:
    """A value of the column's type, distinct for each ``n``, valid where the schema
    gives a column meaning (positions and WKB feed PostGIS generated columns)."""
    name, kind = column["name"], column["type"]
    if name == "lon":
        return -1.47 + n * 1e-4
    if name == "lat":
        return 53.38 + n * 1e-4
    if name == "wkb":
        return _POLYGON_HEX
    if isinstance(kind, sa.Boolean):
        return n % 2 == 1
    if isinstance(kind, sa.DateTime):
        return datetime(2024, 1, 1, 12, 0) + timedelta(minutes=n)
    if isinstance(kind, sa.Date):
        return date(2024, 1, 1) + timedelta(days=n)
    if isinstance(kind, sa.Integer):
        return 1000 + n
    if isinstance(kind, sa.Float | sa.Numeric):
        return 0.5 + n
    length = getattr(kind, "length", None)
    if length is None:  # TEXT: JSON, as most text columns hold
        return json.dumps({"n": n})
    return f"v{n}"[:length]


def _ordered_tables(inspector: Any) -> list[str]:
    """Tables, every one after the tables its foreign keys point at."""
    names = [t for t in inspector.get_table_names() if t != "spatial_ref_sys"]
    parents = {t: {fk["referred_table"] for fk in inspector.get_foreign_keys(t)} - {t}
               for t in names}
    out: list[str] = []
    while len(out) < len(names):
        ready = [t for t in sorted(names) if t not in out and parents[t] <= set(out)]
        assert ready, f"foreign keys form a cycle among {set(names) - set(out)}"
        out += ready
    return out


def fill(engine: sa.Engine) -> dict[str, list[dict[str, Any]]]:
    """Two rows in every table (but bookkeeping, and tables a migration already filled),
    written with plain INSERTs; returns what was written, per table."""
    written: dict[str, list[dict[str, Any]]] = {}
    n = 0
    with engine.begin() as conn:
        inspector = sa.inspect(conn)
        for table in _ordered_tables(inspector):
            if table in BOOKKEEPING or conn.execute(
                    sa.text(f'SELECT count(*) FROM "{table}"')).scalar_one():
                continue
            columns = [c for c in inspector.get_columns(table) if not c.get("computed")]
            fks = {fk["constrained_columns"][i]: (fk["referred_table"], fk["referred_columns"][i])
                   for fk in inspector.get_foreign_keys(table)
                   for i in range(len(fk["constrained_columns"]))}
            rows = []
            for r in range(ROWS_PER_TABLE):
                row: dict[str, Any] = {}
                for column in columns:
                    n += 1
                    if column["nullable"] and r % 2 == 1 and not column.get("primary_key"):
                        row[column["name"]] = None  # as an older release may have left it
                    elif column["name"] in fks:
                        parent, parent_column = fks[column["name"]]
                        row[column["name"]] = written[parent][r % len(written[parent])][
                            parent_column]
                    else:
                        row[column["name"]] = _value(column, n)
                rows.append(row)
            names = ", ".join(f'"{c["name"]}"' for c in columns)
            marks = ", ".join(f":{c['name']}" for c in columns)
            conn.execute(sa.text(f'INSERT INTO "{table}" ({names}) VALUES ({marks})'), rows)
            written[table] = rows
    return written


#: Row tables migration 17 moves into Parquet segments (then drops): their rows are read
#: back through the segments.
SEGMENTED = {"events", "event_units"}


def _python(value: Any) -> Any:
    """A value read from a segment as the driver gives a column's value."""
    if value is None:
        return None
    if isinstance(value, np.datetime64 | pd.Timestamp):
        return pd.Timestamp(value).to_pydatetime()
    if isinstance(value, np.generic):
        return value.item()
    return value


def read_segmented(engine: sa.Engine, table: str, columns: list[str]) -> list[dict[str, Any]]:
    """The rows of ``events`` or ``event_units`` as the segments hold them."""
    from service.store import segments as seg

    with engine.connect() as conn:
        if table == "events":
            frame = seg.read_segments(conn, seg.SegmentPrune(), columns)
            return [{c: _python(v) for c, v in zip(columns, row, strict=True)}
                    for row in frame[columns].itertuples(index=False)]
        out: list[dict[str, Any]] = []
        infos = {i.id: i for i in seg.segment_infos(conn, seg.SegmentPrune())}
        placed = conn.execute(sa.text(
            "SELECT segment_id, set_id, payload FROM event_segment_units")).all()
        for segment_id, set_id, payload in placed:
            ids = next(iter(seg.iter_segments(conn, [infos[segment_id]], ["id"])))[1]["id"]
            units = seg.decode(payload)["unit_id"].to_pylist()
            for event_id, unit in zip(ids.tolist(), units, strict=True):
                row = {"event_id": event_id, "set_id": set_id, "unit_id": unit}
                out.append({c: row[c] for c in columns})
        return out


def read_back(engine: sa.Engine, table: str, columns: list[str]) -> list[dict[str, Any]]:
    if table in SEGMENTED and table not in sa.inspect(engine).get_table_names():
        return read_segmented(engine, table, columns)
    reflected = sa.Table(table, sa.MetaData(), autoload_with=engine)
    with engine.connect() as conn:
        return [{c: row._mapping[c] for c in columns}
                for row in conn.execute(sa.select(*[reflected.c[c] for c in columns]))]


def _key(row: dict[str, Any]) -> str:
    return json.dumps(row, sort_keys=True, default=str)


def assert_kept(engine: sa.Engine, written: dict[str, list[dict[str, Any]]],
                from_version: int, added: dict[str, int] | None = None) -> None:
    """Every row written is there, with every value, but those RECOMPUTED since; no other
    row but ``added`` (table -> rows written since, on purpose)."""
    for table, rows in written.items():
        columns = [c for c in rows[0]
                   if RECOMPUTED.get((table, c), 0) <= from_version]
        rows = [{c: row[c] for c in columns} for row in rows]
        now = read_back(engine, table, columns)
        assert len(now) == len(rows) + (added or {}).get(table, 0), (table, len(rows), len(now))
        missing = sorted(set(map(_key, rows)) - set(map(_key, now)))
        assert not missing, (table, missing)


def store_at(url: str, version: int) -> sa.Engine:
    """A store at ``version``: the migrations up to it, as that release applied them."""
    engine = create_engine(url)
    apply_pending(engine, tuple(m for m in MIGRATIONS if m.version <= version))
    return engine


@pytest.fixture(params=["sqlite", "postgresql"])
def new_database(request: pytest.FixtureRequest, tmp_path: Path
                 ) -> Iterator[Callable[[str], str]]:
    made: list[str] = []
    if request.param == "postgresql":
        request.getfixturevalue("postgres_url")  # skips, or fails, as every PostgreSQL test does

    def make(name: str) -> str:
        if request.param == "sqlite":
            return f"sqlite:///{tmp_path / name}.db"
        made.append(postgres_database(f"deploy_{name}"))
        return made[-1]

    yield make
    if made:
        admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for url in made:
                conn.execute(sa.text(
                    f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
        admin.dispose()


def test_there_are_earlier_versions_to_upgrade_from() -> None:
    assert EARLIER and EARLIER[0] == MIGRATIONS[0].version and LATEST_VERSION not in EARLIER


@pytest.mark.filterwarnings("ignore:Did not recognize type 'geometry'")
@pytest.mark.parametrize("version", EARLIER)
def test_an_upgrade_from_every_earlier_version_keeps_every_row(
        new_database: Callable[[str], str], version: int) -> None:
    url = new_database(f"upgrade_v{version}")
    engine = store_at(url, version)
    try:
        with engine.connect() as conn:
            assert int(conn.execute(sa.text("SELECT max(version) FROM schema_migrations"))
                       .scalar_one()) == version
        written = fill(engine)
        assert len(written) >= 5, sorted(written)  # the core tables at least
    finally:
        engine.dispose()
    store = Store(url)  # what this remap does on opening: migrate to the current version
    try:
        assert store.schema_version() == LATEST_VERSION
        assert_kept(store.engine, written, version)
        # and the current code reads them
        assert {k["prefix"] for k in store.list_keys()} == {
            r["prefix"] for r in written["api_keys"]}
        store.data_version()
    finally:
        store.dispose()


@pytest.mark.parametrize("version", EARLIER)
def test_a_backup_of_every_earlier_version_restores_migrated(tmp_path: Path,
                                                             version: int) -> None:
    old = f"sqlite:///{tmp_path / 'old.db'}"
    engine = store_at(old, version)
    written = fill(engine)
    engine.dispose()
    runner = CliRunner()

    def remap(url: str, *args: str) -> Any:
        get_settings.cache_clear()
        try:
            return runner.invoke(main, list(args), env={"REMAP_DATABASE_URL": url},
                                 catch_exceptions=False)
        finally:
            get_settings.cache_clear()

    # the backup an older remap made: this remap's backup of the store left unmigrated
    # (`remap backup` would migrate it first), without the audit row, which the old
    # schema may have nowhere to put (the audit head came in migration 11)
    from service.app.backup import backup as make_backup

    source = Store(old, migrate=False)
    source.audit = lambda *args, **kwargs: None  # type: ignore[method-assign]
    manifest = make_backup(source, tmp_path / "old-backup")
    source.dispose()
    assert manifest.schema_version == version
    target = f"sqlite:///{tmp_path / 'new.db'}"
    result = remap(target, "restore", str(tmp_path / "old-backup"), "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert (out["backup_schema_version"], out["schema_version"]) == (version, LATEST_VERSION)
    restored = Store(target)
    try:
        # the one row more: the restore, in the restored store's audit log
        assert restored.audit_entries("restore")
        assert_kept(restored.engine, written, version, added={"audit_log": 1})
    finally:
        restored.dispose()
