"""POST /v1/batch: typed answers equal to /v1/counts, roles, and datasets by name only."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from service.app.importer import import_events
from service.settings import Settings
from service.store import Store
from spatial.distributed import ingest
from spatial.distributed.cluster import connect
from spatial.io.policeuk import POLICEUK_COLUMNS


def _write(path: Path, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(POLICEUK_COLUMNS)
        for i in range(600):
            w.writerow(["", "2019-02", "SYP", "SYP", f"{-1.47 + rng.normal(0, 0.01):.6f}",
                        f"{53.38 + rng.normal(0, 0.006):.6f}", "On or near X", "", "",
                        "Drugs" if i % 2 else "Burglary", "", ""])
        w.writerow(["", "2019-02", "SYP", "SYP", "", "", "", "", "", "Drugs", "", ""])
    return path


@pytest.fixture(scope="module")
def batch_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("batch-root")
    src = _write(root / "2019-02-street.csv", 11)
    with connect("local", processes=False) as client:
        ingest.import_files(client, [src], root / "sy", layer="crime")
        ingest.import_files(client, [src], root / "sy", layer="ambulance")
    return root


@pytest.fixture
def settings(store: Store, tmp_path: Path, batch_root: Path) -> Settings:
    return Settings(database_url=store.url, auth_failures_per_minute=100_000,
                    expensive_requests_per_minute=100_000, batch_root=batch_root,
                    dask_local_processes=False, download_cache_dir=tmp_path / "dl")


@pytest.fixture
def filled(store: Store, batch_root: Path) -> Store:
    import_events(store, [("2019-02-street.csv", batch_root / "2019-02-street.csv")],
                  fmt="policeuk", layer="crime")
    return store


def test_batch_counts_equal_the_store_counts(client: TestClient, keys, filled: Store) -> None:
    body = {"dataset": "sy", "layer": "crime", "category": ["drugs"], "unit": "h3:9"}
    r = client.post("/v1/batch/counts", json=body, headers=keys["analyst"])
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["cluster"]["workers"] == 2 and got["parameters"]["events_selected"] == 300
    single = client.get("/v1/counts", params={"layer": "crime", "category": "Drugs",
                                              "unit": "h3:9"}, headers=keys["analyst"]).json()
    assert [(u["unit_id"], u["count"]) for u in got["units"]] == [
        (f["properties"]["unit_id"], f["properties"]["count"]) for f in single["features"]]


def test_batch_hotspots_answer_gi_star(client: TestClient, keys, filled: Store) -> None:
    body = {"dataset": "sy", "unit": "h3:9", "method": "gistar", "permutations": 99, "seed": 3}
    r = client.post("/v1/batch/hotspots", json=body, headers=keys["admin"])
    assert r.status_code == 200, r.text
    units = r.json()["units"]
    assert all("GiZScore" in u and "Gi_Bin" in u for u in units)
    assert r.json()["parameters"]["gi_seed"] == 3


@pytest.mark.parametrize("role", ["partner", "viewer"])
def test_partner_roles_are_refused(client: TestClient, keys, role: str) -> None:
    for layer in ("ambulance", "crime"):
        r = client.post("/v1/batch/counts", json={"dataset": "sy", "layer": layer,
                                                  "unit": "h3:8"}, headers=keys[role])
        assert r.status_code == 403, r.text


@pytest.mark.parametrize("name", ["../sy", "/etc", "sy/../../x", "./sy", "a\\b"])
def test_paths_outside_the_batch_root_are_refused(client: TestClient, keys, name: str) -> None:
    r = client.post("/v1/batch/counts", json={"dataset": name, "unit": "h3:8"},
                    headers=keys["analyst"])
    assert r.status_code == 422, r.text
    assert "dataset" in r.text
    r = client.post("/v1/batch/counts", json={
        "dataset": "sy", "unit": "boundary:b", "boundaries": {
            "file": "../" + name, "name": "b", "id_field": "id"}}, headers=keys["analyst"])
    assert r.status_code == 422 and "boundaries.file" in r.text


def test_unknown_dataset_and_layer(client: TestClient, keys) -> None:
    r = client.post("/v1/batch/counts", json={"dataset": "nope", "unit": "h3:8"},
                    headers=keys["analyst"])
    assert r.status_code == 404 and "not a remap batch dataset" in r.text
    r = client.post("/v1/batch/counts", json={"dataset": "sy", "layer": "dealing_site",
                                              "unit": "h3:8"}, headers=keys["analyst"])
    assert r.status_code == 404 and "dealing_site" in r.text


def test_no_batch_root_is_a_clear_422(store: Store, keys, tmp_path: Path) -> Iterator[None]:
    from service.main import create_app

    s = Settings(database_url=store.url, download_cache_dir=tmp_path / "dl")
    with TestClient(create_app(s, store=store)) as c:
        r = c.post("/v1/batch/counts", json={"dataset": "sy", "unit": "h3:8"},
                   headers=keys["analyst"])
    assert r.status_code == 422 and "REMAP_BATCH_ROOT" in r.text
