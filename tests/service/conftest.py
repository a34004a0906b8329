"""Service fixtures: the real store on SQLite and on PostgreSQL/PostGIS.

Every test that takes ``store`` or ``client`` runs on both backends. The
PostgreSQL one is skipped, saying why, when no server is reachable, unless
``REMAP_REQUIRE_POSTGRES=1`` (set by CI), which turns that into a failure.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from service.main import create_app
from service.settings import Settings
from service.store import Store


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
