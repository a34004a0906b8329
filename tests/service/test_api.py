"""The HTTP API over the real store (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from service.store import Store

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SMALL = FIXTURES / "policeuk_small.csv"


def upload(client: TestClient, headers: dict[str, str], path: Path, **form: str):
    with path.open("rb") as fh:
        return client.post("/v1/imports", headers=headers,
                           files=[("files", (path.name, fh.read(), "text/csv"))],
                           data={"format": "policeuk", "layer": "crime", **form})


def test_healthz_needs_no_key(client: TestClient, store: Store) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json()["store"] == store.dialect
    assert r.json()["schema_version"] >= 1


def test_v1_routes_need_a_known_key(client: TestClient, keys) -> None:
    assert client.get("/v1/layers").status_code == 401
    r = client.get("/v1/layers", headers={"X-API-Key": "rmp_not-a-key"})
    assert r.status_code == 401
    assert r.json()["error"] == "unauthenticated"
    assert client.get("/v1/layers", headers=keys["partner"]).status_code == 200


def test_key_is_stored_only_as_a_hash(store: Store) -> None:
    key = store.create_key("analyst")
    dump = repr(store.list_keys())
    assert key not in dump
    assert store.role_for_key(key) is not None
    assert store.role_for_key(key + "x") is None


def test_import_report_and_idempotent_reimport(client: TestClient, keys, store: Store) -> None:
    r = upload(client, keys["analyst"], SMALL)
    assert r.status_code == 200, r.text
    rep = r.json()
    assert rep["accepted"] == 5 and rep["rejected"] == 1 and rep["inserted"] == 5
    assert rep["rejections"] == [{"file": "policeuk_small.csv", "row": 6, "field": "Longitude",
                                  "reason": rep["rejections"][0]["reason"]}]
    assert "missing" in rep["rejections"][0]["reason"].lower()
    before = store.table_counts()
    again = upload(client, keys["analyst"], SMALL).json()
    assert again["inserted"] == 0 and again["duplicates"] == 5
    after = store.table_counts()
    assert after["events"] == before["events"] == 5


def test_partner_cannot_import(client: TestClient, keys) -> None:
    r = upload(client, keys["partner"], SMALL)
    assert r.status_code == 403


def test_identical_rows_and_repeated_crime_ids_are_kept(client: TestClient, keys) -> None:
    upload(client, keys["analyst"], SMALL)
    fc = client.get("/v1/events", headers=keys["analyst"], params={"layer": "crime"}).json()
    assert fc["numberMatched"] == 5
    asb = [f for f in fc["features"] if f["properties"]["category"] == "Anti-social behaviour"]
    assert len(asb) == 2
    assert asb[0]["properties"]["event_key"] != asb[1]["properties"]["event_key"]
    drugs_ids = [f["properties"]["source_id"] for f in fc["features"]
                 if f["properties"]["category"] == "Drugs"]
    assert len(drugs_ids) == 3 and len(set(drugs_ids)) == 2


def test_events_filters_and_paging(client: TestClient, keys) -> None:
    upload(client, keys["analyst"], SMALL)
    h = keys["analyst"]
    r = client.get("/v1/events", headers=h, params={"category": "Drugs"}).json()
    assert r["numberMatched"] == 3
    r = client.get("/v1/events", headers=h,
                   params={"bbox": "-1.44,53.38,-1.42,53.40"}).json()
    assert r["numberMatched"] == 2
    r = client.get("/v1/events", headers=h, params={"start": "2018-11"}).json()
    assert r["numberMatched"] == 0
    seen: list[int] = []
    url: str | None = "/v1/events?limit=2"
    while url:
        page = client.get(url, headers=h).json()
        seen += [f["id"] for f in page["features"]]
        url = next((ln["href"] for ln in page["links"] if ln["rel"] == "next"), None)
    assert sorted(seen) == sorted(set(seen)) and len(seen) == 5
    cell = r0 = client.get("/v1/events", headers=h, params={"limit": 1}).json()
    cell = r0["features"][0]["properties"]["h3"]
    import h3

    parent = h3.cell_to_parent(cell, 7)
    r = client.get("/v1/events", headers=h, params={"h3": parent}).json()
    assert r["numberMatched"] >= 1
    assert all(h3.cell_to_parent(f["properties"]["h3"], 7) == parent for f in r["features"])


def test_bad_parameters_are_422_with_the_field(client: TestClient, keys) -> None:
    h = keys["analyst"]
    r = client.get("/v1/events", headers=h, params={"bbox": "1,2,3"})
    assert r.status_code == 422 and "bbox" in r.json()["message"]
    r = client.get("/v1/events", headers=h, params={"start": "not-a-date"})
    assert r.status_code == 422 and "start" in r.json()["message"]
    r = client.get("/v1/events", headers=h, params={"h3": "zzz"})
    assert r.status_code == 422
    r = client.get("/v1/counts", headers=h, params={"layer": "crime", "unit": "hex:9"})
    assert r.status_code == 422 and "unit" in r.json()["message"]
