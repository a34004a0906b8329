"""Input limits (issue 8, part 7): over-long text, unsafe names, invalid H3 cells,
world-size areas, hostile files and concurrent writers are 4xx answers naming the
parameter, file, row or field; never a 500. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.app.importer import ImportReport, store_events
from service.app.results import save_result
from service.store import Store
from spatial.errors import ConflictError, ParameterError
from spatial.io.policeuk import read_policeuk
from spatial.limits import MAX_CATEGORY, check_name

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
SMALL = FIXTURES / "policeuk_small.csv"
SQUARE = {"type": "FeatureCollection", "features": [
    {"type": "Feature", "properties": {"code": "A", "name": "Alpha"},
     "geometry": {"type": "Polygon", "coordinates": [[[-1.50, 53.36], [-1.45, 53.36],
                                                      [-1.45, 53.40], [-1.50, 53.36]]]}}]}


def _boundary(client: TestClient, headers, *, name: str = "beats",
              doc: dict | bytes = SQUARE, file_name: str = "b.geojson", **form: str):
    data = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    return client.post("/v1/boundaries", headers=headers,
                       files={"file": (file_name, data, "application/geo+json")},
                       data={"name": name, "id_field": "code", "label_field": "name", **form})


def _import(client: TestClient, headers, name: str, data: bytes, fmt: str, **form: str):
    return client.post("/v1/imports", headers=headers, files=[("files", (name, data))],
                       data={"format": fmt, "layer": "finds",
                             "map": "id=ref,time=date,lon=lon,lat=lat,category=kind", **form})


def _error(r, status: int) -> dict:
    assert r.status_code == status, (r.status_code, r.text[:500])
    body = r.json()
    assert set(body) == {"error", "message", "details"}
    return body


@pytest.mark.parametrize("name", ["../../etc/passwd", "a/b", "..", "-x", "x" * 65, "a..b",
                                  "", "名前", "a b"])
def test_unsafe_names_are_refused(name: str) -> None:
    with pytest.raises(ParameterError) as err:
        check_name(name, "name")
    assert err.value.parameter == "name"


@pytest.mark.parametrize("name", ["beats", "sheffield_nhood", "lsoa-2021", "v1.2", "A" * 64])
def test_safe_names_pass(name: str) -> None:
    assert check_name(name, "name") == name


def test_boundary_set_named_like_a_path_is_422_and_nothing_stored(client: TestClient, keys,
                                                                    store: Store) -> None:
    before = store.table_counts()
    body = _error(_boundary(client, keys["analyst"], name="../../etc/passwd"), 422)
    assert body["details"]["parameter"] == "name"
    assert store.table_counts() == before
    assert _boundary(client, keys["analyst"]).status_code == 200


def test_long_labels_and_unit_ids_are_rejected_units_named(client: TestClient, keys) -> None:
    doc = json.loads(json.dumps(SQUARE))
    second = json.loads(json.dumps(doc["features"][0]))
    second["properties"] = {"code": "B", "name": "L" * (MAX_CATEGORY + 1)}
    third = json.loads(json.dumps(doc["features"][0]))
    third["properties"] = {"code": "C" * 129, "name": "ok"}
    doc["features"] += [second, third]
    report = _boundary(client, keys["analyst"], doc=doc).json()
    assert report["units"] == 1
    rej = {r["row"]: r for r in report["rejections"]}
    assert rej[2]["field"] == "name" and "label longer than 200" in rej[2]["reason"]
    assert rej[3]["field"] == "code" and "longer than 128" in rej[3]["reason"]


def test_long_category_in_an_import_is_a_rejected_row(client: TestClient, keys) -> None:
    csv = ("ref,date,lon,lat,kind\n"
           "1,2024-01-02,-1.47,53.38,Needle\n"
           f"2,2024-01-02,-1.47,53.38,{'x' * 2_000_000}\n").encode()
    report = _import(client, keys["analyst"], "finds.csv", csv, "csv").json()
    assert report["accepted"] == 1 and report["rejected"] == 1
    (rej,) = report["rejections"]
    assert (rej["file"], rej["row"], rej["field"]) == ("finds.csv", 3, "kind")
    assert "longer than 200 characters (2000000)" in rej["reason"]


def test_long_category_and_layer_parameters_are_422(client: TestClient, keys) -> None:
    h = keys["analyst"]
    body = _error(client.get("/v1/counts", headers=h, params={
        "layer": "crime", "unit": "h3:8", "category": "c" * 60_000}), 422)
    assert body["details"]["parameter"] == "category"
    body = _error(client.get("/v1/events", headers=h, params={"category": "c" * 201}), 422)
    assert body["details"]["parameter"] == "category"
    body = _error(client.get("/v1/counts", headers=h, params={"layer": "l" * 65,
                                                              "unit": "h3:8"}), 422)
    assert "layer" in body["message"]
    body = _error(_import(client, h, "f.csv", b"ref,date,lon,lat,kind\n", "csv",
                          layer="../x"), 422)
    assert body["details"]["parameter"] == "layer"


@pytest.mark.parametrize("value", ["f" * 40, "-1", "x" * 10_000, "8a2a1072b59ffff0",
                                   "0x8a2a1072b59ff", "8a2a1072b59fffg", "ffffffffffffffff"])
def test_invalid_h3_values_are_422_naming_h3(client: TestClient, keys, value: str) -> None:
    body = _error(client.get("/v1/events", headers=keys["analyst"], params={"h3": value}), 422)
    assert body["details"]["parameter"] == "h3"


def test_valid_h3_value_filters(client: TestClient, keys) -> None:
    r = client.get("/v1/events", headers=keys["analyst"], params={"h3": "8A2A1072B59FFFF"})
    assert r.status_code == 200


def test_world_size_study_area_is_422_naming_the_limit(client: TestClient, keys,
                                                        town_store: Store) -> None:
    h = keys["partner"]
    for route in ("/v1/counts", "/v1/hotspots", "/v1/maps/hotspots"):
        body = _error(client.get(route, headers=h, params={
            "layer": "crime", "unit": "h3:5", "area": "bbox:-180,-90,180,90"}), 422)
        assert body["details"]["parameter"] == "area"
        assert "REMAP_MAX_AREA_KM2" in body["message"] and "20,000 km²" in body["message"]
    # a town-sized box is fine, and listing events by a world bbox is just a filter
    assert client.get("/v1/counts", headers=h, params={
        "layer": "crime", "unit": "h3:8", "area": "bbox:-1.50,53.36,-1.43,53.40"}
    ).status_code == 200
    assert client.get("/v1/events", headers=keys["analyst"],
                      params={"bbox": "-180,-90,180,90", "limit": 1}).status_code == 200


def test_max_area_is_a_setting(store: Store, tmp_path) -> None:
    from service.main import create_app
    from service.settings import Settings

    key = {"X-API-Key": store.create_key("analyst")}
    app = create_app(Settings(database_url=store.url, max_area_km2=10), store=store)
    with TestClient(app) as c:
        r = c.get("/v1/counts", headers=key, params={
            "layer": "crime", "unit": "h3:8", "area": "bbox:-1.50,53.36,-1.43,53.40"})
    body = _error(r, 422)
    assert "limit of 10 km²" in body["message"]


def _deep_geojson(depth: int) -> bytes:
    return ('{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"ref":"1",'
            '"date":"2024-01-01","kind":"x","deep":' + "[" * depth + "]" * depth
            + '},"geometry":{"type":"Point","coordinates":[-1.47,53.38]}}]}').encode()


def _plain_sqlite(tmp_path: Path) -> bytes:
    path = tmp_path / "plain.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (a TEXT)")
        conn.execute("INSERT INTO t VALUES ('x')")
    return path.read_bytes()


@pytest.mark.parametrize("depth", [100, 100_000])
def test_deep_geojson_is_422_naming_the_file(client: TestClient, keys, store: Store,
                                             depth: int) -> None:
    before = store.table_counts()
    body = _error(_import(client, keys["analyst"], "deep.geojson", _deep_geojson(depth),
                          "geojson"), 422)
    assert body["details"]["file"] == "deep.geojson" and "nested" in body["message"]
    body = _error(_boundary(client, keys["analyst"], doc=_deep_geojson(depth),
                            file_name="deep.geojson"), 422)
    assert body["details"]["file"] == "deep.geojson"
    assert store.table_counts() == before


def test_plain_sqlite_sent_as_gpkg_is_422_naming_the_file(client: TestClient, keys,
                                                          store: Store, tmp_path) -> None:
    before = store.table_counts()
    data = _plain_sqlite(tmp_path)
    body = _error(_import(client, keys["analyst"], "plain.gpkg", data, "gpkg"), 422)
    assert body["details"]["file"] == "plain.gpkg" and "not a GeoPackage" in body["message"]
    body = _error(_boundary(client, keys["analyst"], doc=data, file_name="plain.gpkg"), 422)
    assert body["details"]["file"] == "plain.gpkg"
    assert store.table_counts() == before


def test_hostile_files_through_the_cli_name_the_file(run, tmp_path) -> None:
    deep = tmp_path / "deep.geojson"
    deep.write_bytes(_deep_geojson(100_000))
    plain = tmp_path / "plain.gpkg"
    plain.write_bytes(_plain_sqlite(tmp_path))
    for path, fmt in ((deep, "geojson"), (plain, "gpkg")):
        r = run("import", fmt, str(path), "--layer", "finds", "--map",
                "id=ref,time=date,lon=lon,lat=lat,category=kind")
        assert r.exit_code != 0 and path.name in r.output and "Traceback" not in r.output
    r = run("boundaries", "import", str(deep), "--name", "deep", "--id-field", "ref")
    assert r.exit_code != 0 and "deep.geojson" in r.output
    r = run("boundaries", "import", str(deep), "--name", "../etc", "--id-field", "ref")
    assert r.exit_code != 0 and "name" in r.output


def test_saved_result_belongs_to_its_owner(client: TestClient, keys, town_store: Store
                                           ) -> None:
    params = {"layer": "crime", "category": "Drugs", "unit": "boundary:beats",
              "method": "count", "save": "drugs-now"}
    first = client.get("/v1/hotspots", headers=keys["analyst"], params=params)
    assert first.status_code == 200 and first.json()["saved"]["owner"].startswith("key:")
    # the owner may save again (replace); another analyst or an admin may not
    assert client.get("/v1/hotspots", headers=keys["analyst"], params=params).status_code == 200
    for other in ("admin",):
        body = _error(client.get("/v1/hotspots", headers=keys[other], params=params), 409)
        assert "drugs-now" in body["message"] and body["details"]["name"] == "drugs-now"
    other_analyst = {"X-API-Key": town_store.create_key("analyst", "second analyst")}
    _error(client.get("/v1/hotspots", headers=other_analyst, params=params), 409)
    got = client.get("/v1/results/drugs-now", headers=keys["analyst"]).json()
    assert got["features"] == first.json()["features"]
    body = _error(client.get("/v1/hotspots", headers=keys["analyst"],
                             params={**params, "save": "../x"}), 422)
    assert body["details"]["parameter"] == "save"


def test_saved_result_owner_in_the_cli(run, town_store: Store, store: Store) -> None:
    save_result(store, "mine", {"type": "FeatureCollection", "features": []}, layer="crime",
                method="count", actor="key:999")
    r = run("hotspots", "--layer", "crime", "--unit", "boundary:beats", "--method", "count",
            "--save", "mine")
    assert r.exit_code != 0 and "mine" in r.output and "Traceback" not in r.output


def test_two_imports_creating_one_new_layer_at_once_never_fail_raw(store: Store) -> None:
    frame = read_policeuk(SMALL).events
    halves = [frame.iloc[: len(frame) // 2].assign(layer="newlayer"),
              frame.iloc[len(frame) // 2:].assign(layer="newlayer")]
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def one(part):
        barrier.wait()
        try:
            store_events(store, part.copy(), ImportReport(layer="newlayer", format="policeuk"),
                         timings={}, file_names=["x"], actor="test")
        except BaseException as exc:  # noqa: BLE001 - collected and judged below
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(h,)) for h in halves]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # each import either succeeded or was a clean conflict (SQLite: a busy writer)
    assert all(isinstance(e, ConflictError) for e in errors), errors
    assert "newlayer" in store.layer_names()


def test_ensure_layer_racing_another_creator(store: Store) -> None:
    """The race itself: B looks before A commits, inserts after: a no-op, no IntegrityError."""
    if store.dialect == "sqlite":
        pytest.skip("SQLite has one writer at a time: no parallel transactions to race")
    errors: list[BaseException] = []

    def creator_b() -> None:
        try:
            with store.begin() as conn:
                store.ensure_layer(conn, "raced")
        except BaseException as exc:  # noqa: BLE001 - judged below
            errors.append(exc)

    thread = threading.Thread(target=creator_b)
    with store.begin() as conn_a:
        store.ensure_layer(conn_a, "raced")  # uncommitted: B cannot see it
        thread.start()
        thread.join(0.5)  # B's insert now waits on A's row
    thread.join(10)
    assert errors == [] and "raced" in store.layer_names()


def test_a_unique_violation_is_a_conflict_through_store_begin(store: Store) -> None:
    from datetime import datetime

    from service.store.tables import layers

    with store.begin() as conn:
        store.ensure_layer(conn, "crime")
    before = store.table_counts()
    with pytest.raises(ConflictError) as err, store.begin() as conn:
        store.audit(conn, "test", "x", {})
        conn.execute(layers.insert().values(name="crime", sensitivity="open", description="",
                                            created_at=datetime(2024, 1, 1)))
    assert "nothing was written" in err.value.message
    assert store.table_counts() == before
