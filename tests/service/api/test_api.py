"""The HTTP API over the real store (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from service.store import EventFilter, Store

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
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
    import h3

    r0 = client.get("/v1/events", headers=h, params={"limit": 1}).json()
    lon, lat = r0["features"][0]["geometry"]["coordinates"]
    cell = h3.latlng_to_cell(lat, lon, 7)
    r = client.get("/v1/events", headers=h, params={"h3": cell}).json()
    assert r["numberMatched"] >= 1
    # membership is geometric, as in /v1/counts
    assert all(h3.latlng_to_cell(f["geometry"]["coordinates"][1],
                                 f["geometry"]["coordinates"][0], 7) == cell
               for f in r["features"])
    counts = client.get("/v1/counts", headers=h,
                        params={"layer": "crime", "unit": "h3:7"}).json()
    in_cell = [f["properties"]["count"] for f in counts["features"]
               if f["properties"]["unit_id"] == cell]
    assert in_cell == [r["numberMatched"]]


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


AMBULANCE_CSV = """ref,date,lon,lat,substance
A1,2019-01-05,-1.4280,53.3900,heroin
A2,2019-01-05,-1.4281,53.3901,crack
A3,2019-01-06,-1.4282,53.3902,heroin
A4,2019-01-07,-1.4700,53.3800,unknown
"""
AMBULANCE_MAP = "id=ref,time=date,lon=lon,lat=lat,category=substance"


def import_ambulance(client: TestClient, headers: dict[str, str]):
    return client.post("/v1/imports", headers=headers,
                       files=[("files", ("amb.csv", AMBULANCE_CSV.encode(), "text/csv"))],
                       data={"format": "csv", "layer": "ambulance", "map": AMBULANCE_MAP})


def test_partner_never_gets_ambulance_points(client: TestClient, keys, store: Store) -> None:
    r = import_ambulance(client, keys["analyst"])
    assert r.status_code == 200, r.text
    assert r.json()["inserted"] == 4
    upload(client, keys["analyst"], SMALL)
    # analysts see the points, and the read is audited
    fc = client.get("/v1/events", headers=keys["analyst"], params={"layer": "ambulance"}).json()
    assert fc["numberMatched"] == 4
    assert fc["features"][0]["properties"]["sensitivity"] == "health"
    assert any(e["action"] == "read_points" for e in store.audit_entries())
    # partners: refused when asked, and absent from unfiltered listings
    r = client.get("/v1/events", headers=keys["partner"], params={"layer": "ambulance"})
    assert r.status_code == 403
    fc = client.get("/v1/events", headers=keys["partner"]).json()
    assert {f["properties"]["layer"] for f in fc["features"]} == {"crime"}
    # partners get counts with 1-4 suppressed, one month at a time on the fixed H3 grid
    assert client.get("/v1/counts", headers=keys["partner"],
                      params={"layer": "ambulance", "unit": "h3:7"}).status_code == 422
    fc = client.get("/v1/counts", headers=keys["partner"],
                    params={"layer": "ambulance", "unit": "h3:8", "start": "2019-01",
                            "end": "2019-01"}).json()
    values = [f["properties"]["count"] for f in fc["features"]]
    assert values and all(v == 0 or v == "<5" for v in values)
    assert "<5" in values
    fc = client.get("/v1/counts", headers=keys["analyst"],
                    params={"layer": "ambulance", "unit": "h3:7"}).json()
    assert sum(f["properties"]["count"] for f in fc["features"]) == 4


def test_boundaries_api_and_counts_by_beat(client: TestClient, keys) -> None:
    upload(client, keys["analyst"], SMALL)
    beats = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"beat": "E", "name": "East"},
         "geometry": {"type": "Polygon", "coordinates": [[[-1.44, 53.37], [-1.40, 53.37],
                                                          [-1.40, 53.41], [-1.44, 53.41],
                                                          [-1.44, 53.37]]]}}]}
    import json

    r = client.post("/v1/boundaries", headers=keys["analyst"],
                    files={"file": ("beats.geojson", json.dumps(beats).encode(),
                                    "application/geo+json")},
                    data={"name": "beats", "id_field": "beat", "label_field": "name",
                          "effective_date": "2018-04-01"})
    assert r.status_code == 200, r.text
    units = client.get("/v1/boundaries/beats", headers=keys["partner"]).json()
    assert units["features"][0]["properties"]["unit_id"] == "E"
    assert units["boundary_set"]["effective_date"] == "2018-04-01"
    fc = client.get("/v1/events", headers=keys["analyst"],
                    params={"boundary_set": "beats", "unit": "E"}).json()
    assert fc["numberMatched"] == 2
    fc = client.get("/v1/counts", headers=keys["analyst"],
                    params={"layer": "crime", "unit": "boundary:beats",
                            "category": "Drugs"}).json()
    assert fc["features"][0]["properties"]["count"] == 2
    assert fc["parameters"]["unit"] == "boundary:beats"
    assert any("snapped" in w for w in fc["warnings"])
    r = client.get("/v1/counts", headers=keys["analyst"],
                   params={"layer": "crime", "unit": "boundary:nope"})
    assert r.status_code == 404


def test_month_windows_include_their_first_instant(client: TestClient, keys,
                                                   store: Store) -> None:
    """police.uk events sit at midnight on the 1st: a window starting there holds them."""
    upload(client, keys["analyst"], SMALL)
    from service.store import EventFilter
    from spatial.timewindow import parse_window

    oct_ = parse_window("2018-10", "2018-10")
    assert store.count_events(EventFilter(start=oct_.start, end=oct_.end)) == 5
    nov = parse_window("2018-11", "2018-11")
    assert store.count_events(EventFilter(start=nov.start, end=nov.end)) == 0
    sep = parse_window("2018-09", "2018-09")
    assert store.count_events(EventFilter(start=sep.start, end=sep.end)) == 0
    r = client.get("/v1/events", headers=keys["analyst"],
                   params={"start": "2018-10-01", "end": "2018-10-01"}).json()
    assert r["numberMatched"] == 5


def test_unknown_layer_is_404_naming_the_known_ones(client: TestClient, keys) -> None:
    upload(client, keys["analyst"], SMALL)
    r = client.get("/v1/counts", headers=keys["analyst"],
                   params={"layer": "crimes", "unit": "h3:8"})
    assert r.status_code == 404 and "crime" in r.json()["message"]


def test_a_concurrent_duplicate_write_is_a_conflict_and_writes_nothing(store: Store) -> None:
    """Two imports racing on one file: the loser's transaction rolls back whole (409)."""
    import pytest

    from service.app.importer import ImportReport, store_events
    from spatial.errors import ConflictError
    from spatial.io.policeuk import read_policeuk
    from spatial.place import placement

    frame = read_policeuk(SMALL).events
    store_events(store, frame, ImportReport(layer="crime", format="policeuk"), timings={},
                 file_names=["a"], actor="test")
    before = store.table_counts()
    frame = frame.assign(h3=placement.cells_to_str(
        placement.h3_cells(frame["lon"].to_numpy(), frame["lat"].to_numpy(), 11)))
    # as if the duplicate check had run just before the other writer committed
    with pytest.raises(ConflictError), store.begin() as conn:
        store.audit(conn, "test", "import", {"racing": True})
        store.insert_events(conn, frame, None)
    assert store.table_counts() == before


def test_a_mapping_without_category_is_refused_or_given_one(client: TestClient, keys,
                                                           store: Store, run) -> None:
    # a CSV with no category column used to fail the store's NOT NULL mid-write
    no_category = "id=ref,time=date,lon=lon,lat=lat"
    r = client.post("/v1/imports", headers=keys["analyst"],
                    files=[("files", ("amb.csv", AMBULANCE_CSV.encode(), "text/csv"))],
                    data={"format": "csv", "layer": "ambulance", "map": no_category})
    assert r.status_code == 422 and r.json()["details"]["parameter"] == "map"
    assert "category" in r.json()["message"]
    assert store.count_events(EventFilter(layers=("ambulance",))) == 0
    r = client.post("/v1/imports", headers=keys["analyst"],
                    files=[("files", ("amb.csv", AMBULANCE_CSV.encode(), "text/csv"))],
                    data={"format": "csv", "layer": "ambulance", "map": no_category,
                          "category_default": "suspected overdose"})
    assert r.status_code == 200, r.text
    assert store.layer_categories("ambulance") == ["suspected overdose"]


def test_cli_mapped_import_without_category(run, store: Store, tmp_path) -> None:
    csv_path = tmp_path / "amb.csv"
    csv_path.write_text(AMBULANCE_CSV)
    args = ("import", "csv", str(csv_path), "--layer", "ambulance",
            "--map", "id=ref,time=date,lon=lon,lat=lat")
    r = run(*args)
    assert r.exit_code != 0 and "map" in r.output and "--category-default" in r.output
    r = run(*args, "--category-default", "suspected overdose")
    assert r.exit_code == 0, r.output
    assert store.layer_categories("ambulance") == ["suspected overdose"]


def test_a_store_with_every_connection_busy_answers_503_not_500(store: Store, keys,
                                                                settings) -> None:
    import sqlalchemy as sa

    from service.main import create_app

    busy = sa.create_engine(store.engine.url, pool_size=1, max_overflow=0, pool_timeout=0.2)
    original, store.engine = store.engine, busy
    try:
        with TestClient(create_app(settings, store=store)) as c, busy.connect():
            r = c.get("/v1/layers", headers=keys["analyst"])
        assert r.status_code == 503 and r.json()["error"] == "store_busy"
        assert r.headers["retry-after"] == "5"
    finally:
        store.engine = original
        busy.dispose()
