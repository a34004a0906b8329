"""Street units through the store, the CLI and the API: importing a road network
(OS Open Roads layout, made here), counts and Gi* on its segments against
independent computations, police.uk streets, off-network events, refusals and
hostile street names."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from service.app.analysis import CountsRequest
from service.app.hotspots import HotspotOptions, hotspots_collection
from service.app.importer import import_events
from service.app.streets import import_network
from service.store import EventFilter, Store
from service.store.migrations import MIGRATIONS, apply_pending
from spatial.errors import NotFoundError, ParameterError
from tests.street_network import events_near, network_frame, write_network

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
POLICEUK_STREETS = FIXTURES / "policeuk_streets.csv"


def _events_csv(path: Path, x: np.ndarray, y: np.ndarray) -> Path:
    pd.DataFrame({"ref": [f"e{i}" for i in range(len(x))],
                  "date": [f"2024-0{1 + i % 3}-15" for i in range(len(x))],
                  "e": x, "n": y, "kind": "Drugs"}).to_csv(path, index=False)
    return path


def _import_csv(store: Store, path: Path) -> None:
    from spatial.io.mapping import ColumnMapping

    import_events(store, [(path.name, path)], fmt="csv", layer="crime",
                  mapping=ColumnMapping.parse("id=ref,time=date,easting=e,northing=n,crs=27700,"
                                              "category=kind"))


@pytest.fixture
def roads(store: Store, tmp_path: Path) -> tuple[Store, np.ndarray, np.ndarray]:
    x, y = events_near(1_500, seed=21)
    _import_csv(store, _events_csv(tmp_path / "ev.csv", x, y))
    import_network(store, write_network(tmp_path / "roads.gpkg"), file_name="roads.gpkg",
                   name="roads")
    return store, x, y


def _expected_counts(x: np.ndarray, y: np.ndarray, snap_m: float) -> tuple[np.ndarray, int]:
    """Independent: geopandas sjoin_nearest, ties to the first link; and off network."""
    lines = gpd.GeoDataFrame({"seg": np.arange(len(network_frame()))},
                             geometry=network_frame().geometry.values, crs=27700)
    pts = gpd.GeoDataFrame({"pid": np.arange(len(x))}, geometry=gpd.points_from_xy(x, y),
                           crs=27700)
    j = (gpd.sjoin_nearest(pts, lines, max_distance=snap_m).sort_values(["pid", "seg"])
         .drop_duplicates("pid"))
    return np.bincount(j["seg"], minlength=len(lines)), len(x) - len(j)


def test_cli_import_list_and_counts_equal_sjoin_nearest(run, roads) -> None:
    store, x, y = roads
    r = run("streets", "list")
    assert r.exit_code == 0 and "roads v1: 62 segments" in r.output, r.output
    for snap, extra in ((30.0, ()), (12.0, ("--snap-m", "12"))):
        r = run("counts", "--layer", "crime", "--unit", "street:roads", *extra, "--json")
        assert r.exit_code == 0, r.output
        fc = json.loads(r.stdout)
        expected, off = _expected_counts(x, y, snap)
        got = np.array([f["properties"]["count"] for f in fc["features"]])
        np.testing.assert_array_equal(got, expected)
        p = fc["parameters"]
        assert p["units"] == 62 and p["zero_units"] == int((expected == 0).sum()) >= 1
        assert p["events_off_network"] == off > 0
        assert p["events_counted"] == len(x) - off
        assert p["unit_snap_m"] == snap
        assert any(w.startswith(f"off network: {off} events of the study area more than {snap:g} m")
                   for w in fc["warnings"])
        assert fc["features"][0]["geometry"]["type"] == "LineString"
        labels = {f["properties"]["label"] for f in fc["features"]}
        assert {"Row 0 Road", "Column 3 Street", "unnamed A Road", "Far Lane"} <= labels
    # the snap distance in the unit itself, and once only
    r = run("counts", "--layer", "crime", "--unit", "street:roads:12", "--json")
    assert json.loads(r.stdout)["parameters"]["unit"] == "street:roads:12"
    r = run("counts", "--layer", "crime", "--unit", "street:roads:12", "--snap-m", "5")
    assert r.exit_code != 0 and "snap" in r.output


def test_a_second_import_is_a_new_version(roads, tmp_path: Path, run) -> None:
    store, *_ = roads
    frame = network_frame().iloc[:10]
    import_network(store, write_network(tmp_path / "small.gpkg", frame),
                   file_name="small.gpkg", name="roads")
    assert [(s.name, s.version, s.segment_count) for s in store.street_networks_list()] == [
        ("roads", 1, 62), ("roads", 2, 10)]
    req = CountsRequest.parse(layer="crime", unit="street:roads@1")
    assert len(hotspots_collection(store, req, HotspotOptions(method="count"),
                                   role="admin")["features"]) == 62
    r = run("counts", "--layer", "crime", "--unit", "street:roads", "--json")
    assert json.loads(r.stdout)["parameters"]["units"] == 10
    with pytest.raises(NotFoundError, match="street network 'nope'"):
        store.street_network("nope")


def test_gi_star_on_segments_equals_esda(roads) -> None:
    from esda.getisord import G_Local
    from libpysal.weights import W

    store, x, y = roads
    req = CountsRequest.parse(layer="crime", unit="street:roads")
    fc = hotspots_collection(store, req, HotspotOptions(method="gistar", permutations=0,
                                                        seed=1), role="admin")
    assert fc["parameters"]["neighbours"].startswith("segments that touch")
    counts, _ = _expected_counts(x, y, 30.0)
    geoms = network_frame().geometry.values
    neigh = {i: [j for j in range(len(geoms)) if j != i and geoms[i].intersects(geoms[j])]
             for i in range(len(geoms))}
    lg = G_Local(counts.astype(float), W(neigh, silence_warnings=True), transform="B",
                 star=True, permutations=0)
    z = np.array([f["properties"]["GiZScore"] for f in fc["features"]], dtype=float)
    linked = np.array([len(v) > 0 for v in neigh.values()])
    np.testing.assert_allclose(z[linked], lg.Zs[linked], rtol=0, atol=1e-9)
    assert np.isnan(z[~linked]).all()


def test_policeuk_streets_from_the_events(store: Store, run) -> None:
    import_events(store, [(POLICEUK_STREETS.name, POLICEUK_STREETS)], fmt="policeuk",
                  layer="crime")
    r = run("counts", "--layer", "crime", "--unit", "street:policeuk", "--json")
    assert r.exit_code == 0, r.output
    fc = json.loads(r.stdout)
    got = {f["properties"]["label"]: f["properties"]["count"] for f in fc["features"]}
    raw = pd.read_csv(POLICEUK_STREETS)
    raw["street"] = raw["Location"].str.replace("On or near ", "", regex=False)
    expected = raw.groupby("street").size().to_dict()  # one snap point per street here
    assert got == expected
    assert fc["parameters"]["unit_assignment"].startswith("the unit of the event's street")
    r = run("counts", "--layer", "crime", "--unit", "street:policeuk", "--category", "Drugs",
            "--json")
    fc = json.loads(r.stdout)
    got = {f["properties"]["label"]: f["properties"]["count"] for f in fc["features"]}
    drugs = raw[raw["Crime type"] == "Drugs"].groupby("street").size()
    assert got == {s: int(drugs.get(s, 0)) for s in expected}  # zeros kept
    r = run("counts", "--layer", "crime", "--unit", "street:policeuk@2")
    assert r.exit_code != 0 and "no version" in r.output


def test_bad_specs_and_names_are_refused(roads, tmp_path: Path) -> None:
    store, *_ = roads
    for spec, match in (("street:", "network name"), ("street:roads@x", "not a number"),
                        ("street:roads:far", "not a number"), ("street:roads:5000", "0..1000")):
        with pytest.raises(ParameterError, match=match):
            CountsRequest.parse(layer="crime", unit=spec)
    with pytest.raises(ParameterError, match="reserved"):
        import_network(store, write_network(tmp_path / "r.gpkg"), file_name="r.gpkg",
                       name="policeuk")
    with pytest.raises(NotFoundError, match="known networks: roads"):
        hotspots_collection(store, CountsRequest.parse(layer="crime", unit="street:other"),
                            HotspotOptions(method="count"), role="admin")


def test_api_upload_list_and_counts(client: TestClient, keys, store: Store,
                                    tmp_path: Path) -> None:
    x, y = events_near(400, seed=2)
    _import_csv(store, _events_csv(tmp_path / "ev.csv", x, y))
    gpkg = write_network(tmp_path / "roads.gpkg").read_bytes()
    r = client.post("/v1/streets", headers=keys["partner"],
                    files={"file": ("roads.gpkg", gpkg)}, data={"name": "roads"})
    assert r.status_code == 403
    r = client.post("/v1/streets", headers=keys["analyst"],
                    files={"file": ("roads.gpkg", gpkg)}, data={"name": "roads"})
    assert r.status_code == 200, r.text
    assert r.json()["segments"] == 62 and r.json()["version"] == 1
    r = client.post("/v1/streets", headers=keys["analyst"],
                    files={"file": ("roads.gpkg", gpkg)},
                    data={"name": "roads2", "layer": "nope"})
    assert r.status_code == 422 and "no layer 'nope'" in r.json()["message"]
    r = client.get("/v1/streets", headers=keys["viewer"])
    assert [n["name"] for n in r.json()["street_networks"]] == ["roads"]
    r = client.get("/v1/counts", headers=keys["analyst"],
                   params={"layer": "crime", "unit": "street:roads", "snap_m": 20})
    assert r.status_code == 200, r.text
    expected, off = _expected_counts(x, y, 20.0)
    assert [f["properties"]["count"] for f in r.json()["features"]] == expected.tolist()
    assert r.json()["parameters"]["events_off_network"] == off
    r = client.get("/v1/hotspots", headers=keys["analyst"],
                   params={"layer": "crime", "unit": "street:roads", "method": "gistar",
                           "permutations": 0})
    assert r.status_code == 200, r.text
    r = client.get("/v1/counts", headers=keys["analyst"],
                   params={"layer": "crime", "unit": "street:roads", "snap_m": -1})
    assert r.status_code in (400, 422)


def test_health_layers_are_not_given_to_partners_on_streets(client: TestClient, keys,
                                                             store: Store,
                                                             tmp_path: Path) -> None:
    from spatial.io.mapping import ColumnMapping

    x, y = events_near(50)
    path = _events_csv(tmp_path / "amb.csv", x, y)
    import_events(store, [(path.name, path)], fmt="csv", layer="ambulance",
                  mapping=ColumnMapping.parse("id=ref,time=date,easting=e,northing=n,"
                                              "crs=27700,category=kind"))
    import_network(store, write_network(tmp_path / "roads.gpkg"), file_name="roads.gpkg",
                   name="roads")
    r = client.get("/v1/counts", headers=keys["partner"],
                   params={"layer": "ambulance", "unit": "street:roads", "start": "2024-01",
                           "end": "2024-01"})
    assert r.status_code == 422 and "street units" in r.json()["message"], r.text
    r = client.get("/v1/counts", headers=keys["analyst"],
                   params={"layer": "ambulance", "unit": "street:roads"})
    assert r.status_code == 200


def test_hostile_street_names_are_escaped_on_maps(store: Store, tmp_path: Path) -> None:
    from service.render.hotspot_page import hotspot_map_html

    x, y = events_near(300, seed=4)
    _import_csv(store, _events_csv(tmp_path / "ev.csv", x, y))
    frame = network_frame(names={0: "<script>alert('x')</script>", 1: "{{7*7}}",
                                 2: "\"><img src=x onerror=alert(1)>"})
    import_network(store, write_network(tmp_path / "roads.gpkg", frame),
                   file_name="roads.gpkg", name="roads")
    req = CountsRequest.parse(layer="crime", unit="street:roads")
    html = hotspot_map_html(store, req, HotspotOptions(permutations=0, seed=1), role="admin")
    assert "<script>alert('x')</script>" not in html
    assert "<img src=x" not in html
    assert "{{7*7}}" in html or "{{7*7}}".replace("*", "\\u002a") in html
    assert ">49<" not in html
    assert "Row 1 Road" in html  # street names reach the page (tooltips and labels)


def test_migration_16_keeps_every_row(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(url)
    apply_pending(engine, tuple(m for m in MIGRATIONS if m.version < 16))
    # 200 events as a remap of version 15 stored them (rows of `events`)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO layers (name, sensitivity, description, created_at) "
                             "VALUES ('crime', 'open', '', '2024-01-01 00:00:00')"))
        conn.execute(sa.text(
            "INSERT INTO events (layer, event_key, source_id, time, time_precision, lon, lat, "
            "x, y, crs_epsg, location_precision, category, source, sensitivity, h3, "
            "attributes) VALUES ('crime', :k, :k, '2024-01-01 00:00:00', 'day', :lon, 53.38, "
            "0, 0, 27700, 'exact', 'x', 'csv', 'open', '8b195e', '{}')"),
            [{"k": f"k{i}", "lon": -1.47 + i * 1e-5} for i in range(200)])
    engine.dispose()
    old = Store(url, migrate=False)
    try:
        key = old.create_key("analyst", "kept")
        assert old.migrate() == [16, 17]
        assert old.count_events(EventFilter(layers=("crime",))) == 200
        assert old.authenticate(key) is not None if hasattr(old, "authenticate") else True
        assert old.street_networks_list() == []
    finally:
        old.dispose()


def test_cost_is_estimated_from_the_network_and_the_snap_points(roads, tmp_path: Path) -> None:
    from service.app.cost import estimate_cost

    store, *_ = roads
    est = estimate_cost(store, CountsRequest.parse(layer="crime", unit="street:roads"))
    assert est.units == 62
    import_events(store, [(POLICEUK_STREETS.name, POLICEUK_STREETS)], fmt="policeuk",
                  layer="policeuk_crime")
    est = estimate_cost(store, CountsRequest.parse(layer="policeuk_crime",
                                                   unit="street:policeuk"))
    raw = pd.read_csv(POLICEUK_STREETS)
    assert est.units == len(raw[["Longitude", "Latitude", "Location"]].drop_duplicates())


def test_profiles_packs_and_emerging_hot_spots_name_the_segments(roads, tmp_path: Path
                                                                ) -> None:
    from service.app.emerging import EmergingOptions, emerging_collection
    from service.app.profile import problem_profile
    from service.render.area_pack import area_pack_html

    store, x, y = roads
    req = CountsRequest.parse(layer="crime", unit="street:roads")
    profile = problem_profile(store, req, role="admin")
    assert "street:roads" in json.dumps(profile, default=str)
    html = area_pack_html(store, req, HotspotOptions(permutations=0, seed=1), role="admin")
    expected, _ = _expected_counts(x, y, 30.0)
    names = network_frame()["name_1"].fillna("unnamed A Road").to_numpy()
    top = names[int(np.argmax(expected))]
    assert top in html  # the busiest segment is listed by its street name
    from spatial.io.mapping import ColumnMapping

    path = tmp_path / "year.csv"
    pd.DataFrame({"ref": [f"y{i}" for i in range(len(x))],
                  "date": [f"2023-{1 + i % 12:02d}-10" for i in range(len(x))],
                  "e": x, "n": y, "kind": "Drugs"}).to_csv(path, index=False)
    import_events(store, [(path.name, path)], fmt="csv", layer="year",
                  mapping=ColumnMapping.parse("id=ref,time=date,easting=e,northing=n,"
                                              "crs=27700,category=kind"))
    fc = emerging_collection(store, CountsRequest.parse(layer="year", unit="street:roads"),
                             EmergingOptions(step="month", permutations=0, seed=1),
                             role="admin")
    assert len(fc["features"]) == 62
    assert fc["parameters"]["neighbours"].startswith("segments that touch")


def test_a_network_import_changes_the_data_version(store: Store, tmp_path: Path) -> None:
    before = store.data_version()
    assert store.data_version() == before
    import_network(store, write_network(tmp_path / "roads.gpkg"), file_name="roads.gpkg",
                   name="roads")
    after = store.data_version()
    assert after != before  # cached answers on street:roads are not served stale
    import_network(store, write_network(tmp_path / "roads.gpkg"), file_name="roads.gpkg",
                   name="roads")
    assert store.data_version() != after
