"""Malformed inputs through the API: a clear error naming file/row/field, and the
store exactly as it was (nothing half-written). Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.store import Store

MALFORMED = Path(__file__).resolve().parents[2] / "fixtures" / "malformed"
BOUNDARIES = Path(__file__).resolve().parents[2] / "fixtures" / "boundaries"

FATAL_EVENT_FILES = {
    "truncated_in_quotes.csv": "never closed",
    "wrong_header.csv": "header",
    "empty.csv": "empty",
    "wrong_crs.csv": "projected metres",
    "garbage.bin": "binary",
    "page.csv": "HTML",
}

ROW_LEVEL_FILES = {
    # file: (rows rejected, field of the first rejection)
    "truncated.csv": ({4}, "<row>"),
    "swapped.csv": ({3}, "Longitude/Latitude"),
    "sea.csv": ({4}, "Longitude/Latitude"),
    "non_numeric.csv": ({2, 3}, "Longitude"),
    "out_of_range.csv": ({2, 3}, "Latitude"),
    "null_island.csv": ({3, 4}, "Longitude/Latitude"),
    "bad_month.csv": (None, "Month"),
}


def post_events(client: TestClient, headers: dict[str, str], path: Path, fmt: str = "policeuk",
                **form: str):
    return client.post("/v1/imports", headers=headers,
                       files=[("files", (path.name, path.read_bytes(), "text/csv"))],
                       data={"format": fmt, "layer": "crime", **form})


@pytest.mark.parametrize("name", sorted(FATAL_EVENT_FILES))
def test_fatal_event_files_change_nothing(client: TestClient, keys, store: Store,
                                          name: str) -> None:
    before = store.table_counts()
    r = post_events(client, keys["analyst"], MALFORMED / name)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"] == "input_format"
    assert FATAL_EVENT_FILES[name].lower() in body["message"].lower()
    assert body["details"]["file"] == name
    assert store.table_counts() == before


@pytest.mark.parametrize("name", sorted(ROW_LEVEL_FILES))
def test_rejected_rows_are_named_and_only_good_rows_stored(client: TestClient, keys,
                                                           store: Store, name: str) -> None:
    rows, field = ROW_LEVEL_FILES[name]
    r = post_events(client, keys["analyst"], MALFORMED / name)
    assert r.status_code == 200, r.text
    rep = r.json()
    assert rep["rejected"] >= 1
    assert all(rj["file"] == name and rj["reason"] for rj in rep["rejections"])
    if rows is not None:
        assert {rj["row"] for rj in rep["rejections"]} == rows
    assert rep["rejections"][0]["field"] == field
    assert store.table_counts()["events"] == rep["inserted"] == rep["accepted"]


def test_a_fatal_file_in_a_batch_writes_nothing_from_the_good_ones(client: TestClient, keys,
                                                                    store: Store) -> None:
    good = Path(__file__).resolve().parents[2] / "fixtures" / "policeuk_small.csv"
    before = store.table_counts()
    r = client.post("/v1/imports", headers=keys["analyst"], data={"format": "policeuk"},
                    files=[("files", (good.name, good.read_bytes(), "text/csv")),
                           ("files", ("wrong_header.csv",
                                      (MALFORMED / "wrong_header.csv").read_bytes(), "text/csv"))])
    assert r.status_code == 422
    assert store.table_counts() == before


def test_mapped_csv_with_wrong_crs_is_refused(client: TestClient, keys, store: Store) -> None:
    before = store.table_counts()
    path = MALFORMED / "wrong_crs_mapped.csv"
    header = path.read_text().splitlines()[0]
    cols = header.split(",")
    mapping = ",".join(f"{k}={v}" for k, v in zip(("id", "time", "lon", "lat", "category"),
                                                    cols, strict=False))
    r = post_events(client, keys["analyst"], path, fmt="csv", map=mapping)
    assert r.status_code == 422, r.text
    assert store.table_counts() == before


def post_boundaries(client: TestClient, headers: dict[str, str], path: Path, **form: str):
    return client.post("/v1/boundaries", headers=headers,
                       files={"file": (path.name, path.read_bytes(), "application/geo+json")},
                       data={"name": "beats", "id_field": "beat", "label_field": "name", **form})


BAD_BOUNDARY_FILES = {
    "wrong_crs.geojson": "crs",
    "missing_id.geojson": "no field 'beat'",
    "duplicate_ids.geojson": "duplicate",
    "not_vector.txt": "not",
    "empty_collection.geojson": "no features",
    "all_rejected.geojson": "polygon",
}


@pytest.mark.parametrize("name", sorted(BAD_BOUNDARY_FILES))
def test_bad_boundary_files_change_nothing(client: TestClient, keys, store: Store,
                                           name: str) -> None:
    before = store.table_counts()
    path = BOUNDARIES / name
    form = {"label_field": ""} if name in ("all_rejected.geojson",) else {}
    r = post_boundaries(client, keys["analyst"], path, **form)
    assert r.status_code == 422, r.text
    assert BAD_BOUNDARY_FILES[name].lower() in r.json()["message"].lower(), r.json()["message"]
    assert store.table_counts() == before


def test_self_intersecting_polygon_is_repaired_and_said_so(client: TestClient, keys) -> None:
    r = post_boundaries(client, keys["analyst"], BOUNDARIES / "bowtie.geojson")
    assert r.status_code == 200, r.text
    rep = r.json()
    assert rep["repairs"] and "make_valid" in rep["repairs"][0]
    listed = client.get("/v1/boundaries", headers=keys["partner"]).json()["boundary_sets"]
    assert [s["name"] for s in listed] == ["beats"]
