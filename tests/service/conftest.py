"""Service fixtures: the real store on SQLite and on PostgreSQL/PostGIS.

Every test that takes ``store`` or ``client`` runs on both backends. The
PostgreSQL one is skipped, saying why, when no server is reachable, unless
``REMAP_REQUIRE_POSTGRES=1`` (set by CI), which turns that into a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from service.main import create_app
from service.settings import Settings
from service.store import Store, metadata

POSTGRES_ADMIN_URL = os.environ.get(
    "REMAP_TEST_POSTGRES_URL", "postgresql+psycopg://postgres:postgres@127.0.0.1:5432/postgres")


def _postgres_database(worker: str) -> str:
    """A database of this test worker's own, created once, PostGIS enabled."""
    name = f"remap_test_{worker}"
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                  {"n": name}).first()
            if exists:
                conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="session")
def postgres_url(worker_id: str) -> str:
    try:
        return _postgres_database(worker_id)
    except Exception as exc:  # noqa: BLE001 - any connection failure means "not available"
        message = f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {exc.__class__.__name__}"
        if os.environ.get("REMAP_REQUIRE_POSTGRES") == "1":
            pytest.fail(message + " (REMAP_REQUIRE_POSTGRES=1)")
        pytest.skip(message)


@pytest.fixture(scope="session")
def worker_id(request: pytest.FixtureRequest) -> str:
    return getattr(request.config, "workerinput", {}).get("workerid", "main")


def _truncate(store: Store) -> None:
    names = ", ".join(t.name for t in reversed(metadata.sorted_tables)
                      if t.name != "schema_migrations")
    with store.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path) -> Iterator[Store]:
    if request.param == "sqlite":
        s = Store(f"sqlite:///{tmp_path / 'remap.db'}")
    else:
        s = Store(request.getfixturevalue("postgres_url"))
        _truncate(s)
    try:
        yield s
    finally:
        s.dispose()


@pytest.fixture
def settings(store: Store) -> Settings:
    return Settings(database_url=store.url)


@pytest.fixture
def client(store: Store, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, store=store)) as c:
        yield c


@pytest.fixture
def keys(store: Store) -> dict[str, dict[str, str]]:
    """Headers for one key of each role."""
    return {role: {"X-API-Key": store.create_key(role, f"test {role}")}
            for role in ("admin", "analyst", "partner")}
