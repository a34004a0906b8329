"""Service fixtures: the real store on SQLite and on PostgreSQL/PostGIS.

Every test that takes ``store`` or ``client`` runs on both backends. The
PostgreSQL one is skipped, saying why, when no server is reachable, unless
``REMAP_REQUIRE_POSTGRES=1`` (set by CI), which turns that into a failure.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from service.app.importer import ImportReport, import_boundaries, store_events
from service.cli import main
from service.main import create_app
from service.settings import Settings, get_settings
from service.store import Store
from spatial.synthetic.town import SyntheticTown, build_town
from tests.conftest import DATASETS


@pytest.fixture
def settings(store: Store, tmp_path: Path) -> Settings:
    # tests make hundreds of requests (many with bad keys) from one address and key in
    # well under a minute: rate limits are raised here; tests of the limits set their own
    return Settings(database_url=store.url, auth_failures_per_minute=100_000,
                    expensive_requests_per_minute=100_000,
                    download_cache_dir=tmp_path / "download-cache")


@pytest.fixture
def client(store: Store, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, store=store)) as c:
        yield c


@pytest.fixture
def keys(store: Store) -> dict[str, dict[str, str]]:
    """Headers for one key of each role."""
    return {role: {"X-API-Key": store.create_key(role, f"test {role}")}
            for role in ("admin", "analyst", "partner", "viewer")}


@lru_cache(maxsize=4)
def _town(seed: int, scale: float) -> SyntheticTown:
    return build_town(seed, scale=scale)


def load_town(store: Store, folder, *, seed: int = 7, scale: float = 0.15) -> Store:
    """Store a small seeded synthetic town (24 beats, every layer) through the pipeline."""
    town = _town(seed, scale)
    path = folder / "beats.geojson"
    town.beats.to_file(path, driver="GeoJSON")
    import_boundaries(store, path, file_name="beats.geojson", name="beats", id_field="unit_id",
                      label_field="label")
    for layer, frame in town.events.items():
        store_events(store, frame.copy(), ImportReport(layer=layer, format="synthetic"),
                     timings={}, file_names=[layer], actor="test")
    return store


DATASETS["town_store"] = load_town


@pytest.fixture
def town_store(store: Store) -> Store:
    """The store holding the town of :func:`load_town`, copied from a per-worker snapshot."""
    return store


@pytest.fixture
def run(store: Store, monkeypatch: pytest.MonkeyPatch):
    """Invoke the ``remap`` command on the test store."""
    monkeypatch.setenv("REMAP_DATABASE_URL", store.url)
    get_settings.cache_clear()
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(main, list(args), catch_exceptions=False)

    yield invoke
    get_settings.cache_clear()
