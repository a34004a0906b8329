"""The migration list: ordered, checked at import, and reaching the latest version on both
backends, from nothing and from an older store."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa

from service.store import Store
from service.store.engine import create_engine
from service.store.migrations import (
    LATEST_VERSION,
    MIGRATIONS,
    Migration,
    MigrationOrderError,
    apply_pending,
    ordered,
)
from service.store.tables import schema_migrations
from tests.conftest import POSTGRES_ADMIN_URL, postgres_database


def _noop(_conn: sa.Connection) -> None:
    return None


def test_a_duplicate_version_is_an_error() -> None:
    with pytest.raises(MigrationOrderError, match="appears twice"):
        ordered([Migration(1, "a", _noop), Migration(2, "b", _noop), Migration(2, "c", _noop)])


def test_a_version_out_of_order_is_an_error() -> None:
    with pytest.raises(MigrationOrderError, match="must increase"):
        ordered([Migration(1, "a", _noop), Migration(10, "b", _noop), Migration(3, "c", _noop)])


def test_versions_increase_and_keep_their_numbers() -> None:
    versions = [m.version for m in MIGRATIONS]
    assert versions == sorted(set(versions))
    assert versions == [1, 2, 3, 10, 11, 13, 14, 15, 16, 17]  # released versions: never renumbered
    assert LATEST_VERSION == 17
    assert ordered(MIGRATIONS) == MIGRATIONS


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path) -> Iterator[Callable[[str], str]]:
    """Makes empty databases of their own (the shared test database is already migrated)."""
    made: list[str] = []
    if request.param == "postgresql":
        request.getfixturevalue("postgres_url")  # skips, or fails, as every PostgreSQL test does

    def make(name: str) -> str:
        if request.param == "sqlite":
            return f"sqlite:///{tmp_path / name}.db"
        made.append(postgres_database(f"remap_{name}"))
        return made[-1]

    yield make
    if made:
        admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                for url in made:
                    name = url.rsplit("/", 1)[1]
                    conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            admin.dispose()


def _recorded(store: Store) -> list[tuple[int, str]]:
    with store.engine.connect() as conn:
        return [(int(v), d) for v, d in conn.execute(
            sa.select(schema_migrations.c.version, schema_migrations.c.description)
            .order_by(schema_migrations.c.version))]


def _schema(store: Store) -> dict[str, set[str]]:
    with store.engine.connect() as conn:
        inspector = sa.inspect(conn)
        return {t: {c["name"] for c in inspector.get_columns(t)}
                for t in inspector.get_table_names() if not t.startswith("spatial_ref")}


def test_a_fresh_store_reaches_the_latest_version(
        empty_database: Callable[[str], str]) -> None:
    store = Store(empty_database("fresh"))
    try:
        assert store.schema_version() == LATEST_VERSION
        assert _recorded(store) == [(m.version, m.description) for m in MIGRATIONS]
        assert store.migrate() == []  # nothing left to apply
        assert store.table_counts()["audit_head"] == 1  # the chain's head, at its start
    finally:
        store.dispose()


@pytest.mark.filterwarnings("ignore:Did not recognize type 'geometry'")
def test_an_older_store_upgrades_to_the_same_schema(
        empty_database: Callable[[str], str]) -> None:
    url = empty_database("older")
    engine = create_engine(url)
    try:
        assert apply_pending(engine, MIGRATIONS[:3]) == [1, 2, 3]  # a store of version 3
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO audit_log (at, actor, action, detail) VALUES "
                                 "('2024-01-01 00:00:00', 'cli', 'old', '{}')"))
    finally:
        engine.dispose()
    old, fresh = Store(url, migrate=False), Store(empty_database("reference"))
    try:
        assert old.schema_version() == 3
        assert old.migrate() == [10, 11, 13, 14, 15, 16, 17]
        assert _recorded(old) == [(m.version, m.description) for m in MIGRATIONS]
        assert [e["action"] for e in old.audit_entries()] == ["old"]  # chained by 11
        assert _schema(old) == _schema(fresh)
    finally:
        old.dispose()
        fresh.dispose()
