"""Shared fixtures: where the real public data lives, and skipping when it is absent."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from service.store import Store, metadata

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """``REMAP_SHARED_DATA`` or ``../shared/data`` beside the repository."""
    return Path(os.environ.get("REMAP_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = shared_data_dir()
    if not (path / "policeuk").is_dir():
        pytest.skip(f"real public data not found at {path} (set REMAP_SHARED_DATA)")
    return path


POSTGRES_ADMIN_URL = os.environ.get(
    "REMAP_TEST_POSTGRES_URL", "postgresql+psycopg://postgres:postgres@127.0.0.1:5432/postgres")


def postgres_database(name: str) -> str:
    """A fresh, empty database ``name``; returns its URL.

    The process id is part of the name so that concurrent test runs on one
    server never drop each other's databases.
    """
    name = f"{name}_{os.getpid()}"
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
        return postgres_database(f"remap_test_{worker_id}")
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
