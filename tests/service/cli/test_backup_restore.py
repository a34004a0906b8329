"""``remap backup`` then ``remap restore`` into an empty store: the same rows in every
table and the same answers (counts, seeded hotspots), on SQLite and PostgreSQL; and the
refusals (checksum, newer schema, other backend, a store that is not empty)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from fastapi.testclient import TestClient

from service.cli import main
from service.main import create_app
from service.settings import Settings, get_settings
from service.store import Store
from service.store.audit import verify
from service.store.backup import LATEST_VERSION, row_counts
from tests.conftest import POSTGRES_ADMIN_URL, postgres_database

COUNTS = {"layer": "crime", "category": "Drugs", "unit": "h3:9", "area": "boundary:beats"}
HOTSPOTS = {**COUNTS, "method": "gistar", "permutations": "99", "seed": "1"}


def cli(url: str, *args: str) -> Any:
    """``remap ARGS`` on the store at ``url``."""
    old = os.environ.get("REMAP_DATABASE_URL")
    os.environ["REMAP_DATABASE_URL"] = url
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(main, list(args), catch_exceptions=False)
    finally:
        if old is None:
            os.environ.pop("REMAP_DATABASE_URL", None)
        else:
            os.environ["REMAP_DATABASE_URL"] = old
        get_settings.cache_clear()


def answers(store: Store, tmp_path: Path) -> dict[str, Any]:
    """/v1/counts and seeded /v1/hotspots of the store, as an analyst."""
    settings = Settings(database_url=store.url, download_cache_dir=tmp_path / "dl",
                        response_cache_mb=0)
    key = store.create_key("analyst", "compare")
    out = {}
    with TestClient(create_app(settings, store=store)) as client:
        for route, params in (("/v1/counts", COUNTS), ("/v1/hotspots", HOTSPOTS)):
            r = client.get(route, params=params, headers={"X-API-Key": key})
            assert r.status_code == 200, r.text
            out[route] = r.json()
    return out


@pytest.fixture
def empty_target(store: Store, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty store of the same backend as ``store`` (own database name)."""
    if store.dialect == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    url = postgres_database("deploy_restore")
    yield url
    engine = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        name = url.rsplit("/", 1)[1]
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.mark.parametrize("as_tar", [True, False])
def test_backup_then_restore_gives_the_same_rows_and_answers(
        town_store: Store, empty_target: str, tmp_path: Path, as_tar: bool) -> None:
    before_answers = answers(town_store, tmp_path)  # also adds the key used to compare
    before = row_counts(town_store.engine)
    assert before["events"] > 1000 and before["boundary_units"] > 0
    path = tmp_path / ("store.tar" if as_tar else "store-backup")
    made = cli(town_store.url, "backup", str(path), "--json")
    assert made.exit_code == 0, made.output
    manifest = json.loads(made.stdout)
    assert manifest["row_counts"] == before
    assert manifest["schema_version"] == LATEST_VERSION
    assert manifest["backend"] == town_store.dialect
    assert len(manifest["sha256"]) == 64

    if as_tar:  # an empty store remap has already opened (migrated), not a blank database
        Store(empty_target).dispose()
    done = cli(empty_target, "restore", str(path), "--json")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["row_counts"] == before
    restored = Store(empty_target)
    try:
        after = row_counts(restored.engine)
        # the one difference: the restore itself is in the restored store's audit log
        assert after == {**before, "audit_log": before["audit_log"] + 1}
        assert restored.audit_entries("restore")[-1]["detail"]["sha256"] == manifest["sha256"]
        assert verify(restored).ok  # the hash chain came over intact and goes on
        after_answers = answers(restored, tmp_path)
    finally:
        restored.dispose()
    for route in before_answers:
        assert after_answers[route] == before_answers[route], route
    assert town_store.audit_entries("backup")[-1]["detail"]["sha256"] == manifest["sha256"]


@pytest.fixture
def sqlite_backup(tmp_path: Path) -> tuple[Store, Path]:
    source = Store(f"sqlite:///{tmp_path / 'source.db'}")
    source.create_key("admin", "one")
    path = tmp_path / "bk"
    assert cli(source.url, "backup", str(path)).exit_code == 0
    return source, path


def test_a_damaged_dump_is_refused(sqlite_backup: tuple[Store, Path], tmp_path: Path) -> None:
    _, path = sqlite_backup
    with (path / "remap.sqlite3").open("ab") as f:
        f.write(b"\0")
    target = f"sqlite:///{tmp_path / 't.db'}"
    result = cli(target, "restore", str(path))
    assert result.exit_code == 2 and "SHA-256" in result.output
    assert not (tmp_path / "t.db").exists() or row_counts(
        sa.create_engine(target)).get("api_keys", 0) == 0


def test_a_backup_of_a_newer_schema_is_refused(sqlite_backup: tuple[Store, Path],
                                               tmp_path: Path) -> None:
    _, path = sqlite_backup
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["schema_version"] = LATEST_VERSION + 1
    (path / "manifest.json").write_text(json.dumps(manifest))
    result = cli(f"sqlite:///{tmp_path / 't.db'}", "restore", str(path))
    assert result.exit_code == 2
    assert f"schema version {LATEST_VERSION + 1}" in result.output
    assert "upgrade remap" in result.output


def test_a_store_that_is_not_empty_is_refused_unless_forced(
        sqlite_backup: tuple[Store, Path], tmp_path: Path) -> None:
    source, path = sqlite_backup
    target = Store(f"sqlite:///{tmp_path / 'busy.db'}")
    target.create_key("analyst", "someone's")
    target.dispose()
    refused = cli(target.url, "restore", str(path))
    assert refused.exit_code == 2 and "not empty" in refused.output and "--force" in refused.output
    forced = cli(target.url, "restore", str(path), "--force")
    assert forced.exit_code == 0, forced.output
    replaced = Store(target.url)
    assert [k["label"] for k in replaced.list_keys()] == ["one"]
    replaced.dispose()


def test_a_backup_is_restored_only_into_its_own_backend(
        sqlite_backup: tuple[Store, Path]) -> None:
    _, path = sqlite_backup
    result = cli("postgresql://nobody@127.0.0.1:1/none", "restore", str(path))
    assert result.exit_code == 2 and "sqlite backup" in result.output


def test_backup_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    source = Store(f"sqlite:///{tmp_path / 'source.db'}")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    result = cli(source.url, "backup", str(tmp_path / "full"))
    assert result.exit_code == 2 and "not an empty folder" in result.output
