"""Shared fixtures: the real data, the store on both backends, and test order.

Stores are copied from snapshots built once per worker (see
:mod:`tests.store_snapshots`): an empty migrated store, and each dataset a
conftest registers in :data:`DATASETS` (e.g. ``town_store``, the synthetic
town) the first time a test asks for it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from service.store import Store
from tests.store_snapshots import Snapshots

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


#: Fixtures that are "the store filled with ...": name -> function filling an empty store
#: (given a folder for its files) and returning the fixture's value.
DATASETS: dict[str, Callable[[Store, Path], object]] = {}


@pytest.fixture(scope="session")
def snapshots(tmp_path_factory: pytest.TempPathFactory) -> Snapshots:
    return Snapshots(tmp_path_factory.mktemp("snapshots"))


def _dataset(request: pytest.FixtureRequest) -> str:
    """The registered dataset the test asks for, if any (then ``store`` holds it)."""
    wanted = [name for name in DATASETS if name in request.fixturenames]
    assert len(wanted) <= 1, f"one dataset per test, not {wanted}"
    return wanted[0] if wanted else ""


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path,
          snapshots: Snapshots) -> Iterator[Store]:
    """An empty store, or one holding the dataset the test asks for (see :data:`DATASETS`).

    The dataset is loaded here, before any other fixture writes (keys, say),
    so that what those write comes after it, as when the dataset was built
    by its own fixture.
    """
    dataset = _dataset(request)
    if request.param == "sqlite":
        s = snapshots.open_sqlite(tmp_path / "remap.db", dataset)
    else:
        s = snapshots.open_postgres(request.getfixturevalue("postgres_url"), dataset)
    try:
        if dataset:
            snapshots.fill(s, dataset, lambda: DATASETS[dataset](s, tmp_path))
        yield s
    finally:
        s.dispose()


#: Tests that take over 30 s each (real-data statistics against esda, hundreds of
#: hostile pages, schemathesis), by function name so that moving their files keeps
#: them here: started first, so that xdist's workers do not end one long test apart.
SLOW_FIRST = (
    "test_realdata_sheffield_gi_star_against_esda",
    "test_realdata_sheffield_local_moran_against_esda",
    "test_cli_pages_are_text",
    "test_every_operation_answers_within_its_schema",
    "test_request_parameters_are_text",
)


def _slow_rank(item: pytest.Item) -> int:
    name = getattr(item, "originalname", item.name)
    return SLOW_FIRST.index(name) if name in SLOW_FIRST else len(SLOW_FIRST)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=_slow_rank)  # stable: every other test keeps its order
