"""OGC API - Features (Part 1 Core/GeoJSON, Part 2 CRS) over the real store, both backends."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pandas as pd
import pytest
import shapely
from fastapi.testclient import TestClient

from service.api.ogc.documents import CONFORMANCE
from service.api.ogc.params import CRS84, EPSG_27700, OgcCrs
from service.api.ogc.providers import (
    Caller,
    CollectionMeta,
    ItemsPage,
    ItemsQuery,
    geometry_features_in,
)
from service.api.ogc.registry import (
    register_collection_provider,
    unregister_collection_provider,
)
from service.app.importer import ImportReport, import_boundaries, store_events
from service.main import create_app
from service.settings import Settings
from service.store import EventFilter, Store
from spatial.errors import NotFoundError
from spatial.place import crs
from spatial.synthetic.town import SyntheticTown, build_town

OGC = "/v1/ogc"
GEOJSON = "application/geo+json"


@lru_cache(maxsize=1)
def town() -> SyntheticTown:
    return build_town(scale=0.05)  # 1511 crimes, 22 call-outs, 20 dealing sites, 24 beats


@pytest.fixture
def loaded(store: Store, tmp_path: Path) -> SyntheticTown:
    """Every synthetic layer and the beats (boundary set ``beats``) in the store."""
    t = town()
    for layer, frame in t.events.items():
        report = ImportReport(layer=layer, format="synthetic")
        store_events(store, frame.copy(), report, timings={}, file_names=["synthetic"],
                     actor="test")
        assert report.inserted == len(frame)
    path = tmp_path / "beats.geojson"
    t.beats.to_file(path, driver="GeoJSON")
    import_boundaries(store, path, file_name=path.name, name="beats", id_field="unit_id",
                      label_field="label")
    return t


# --------------------------------------------------------------------------- shape checks

def rels(links: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    for lk in links:
        assert isinstance(lk["href"], str) and lk["href"].startswith("http"), lk
        assert lk["rel"] and lk["type"], lk
    return {lk["rel"]: lk for lk in links}


def path_of(href: str) -> str:
    """The path and query of an absolute link, for the test client."""
    parts = urlsplit(href)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def check_collection(doc: dict[str, Any]) -> None:
    """/req/core/sfc-md-op, /req/crs/fc-md-crs-list, storageCrs."""
    assert isinstance(doc["id"], str) and doc["title"] and doc["description"]
    links = rels(doc["links"])
    assert links["self"]["href"].endswith(f"/collections/{doc['id']}")
    assert links["items"]["type"] == GEOJSON
    assert links["items"]["href"].endswith(f"/collections/{doc['id']}/items")
    assert doc["itemType"] == "feature"
    assert doc["crs"] == [CRS84, EPSG_27700]
    assert doc["storageCrs"] == CRS84
    if "extent" in doc:
        bbox = doc["extent"]["spatial"]["bbox"]
        assert len(bbox) == 1 and len(bbox[0]) == 4
        minx, miny, maxx, maxy = bbox[0]
        assert -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90
        assert doc["extent"]["spatial"]["crs"] == CRS84


def check_feature_collection(fc: dict[str, Any]) -> None:
    """/req/geojson/content, /req/core/fc-links, fc-numberMatched, fc-numberReturned."""
    assert fc["type"] == "FeatureCollection"
    assert isinstance(fc["features"], list)
    assert fc["numberReturned"] == len(fc["features"])
    assert fc["numberMatched"] >= fc["numberReturned"]
    datetime.strptime(fc["timeStamp"], "%Y-%m-%dT%H:%M:%SZ")
    links = rels(fc["links"])
    assert links["self"]["type"] == GEOJSON
    for ft in fc["features"]:
        assert ft["type"] == "Feature" and "id" in ft
        assert ft["geometry"]["type"] in ("Point", "Polygon", "MultiPolygon")
        assert isinstance(ft["properties"], dict)


def get_items(client: TestClient, headers: dict[str, str], collection: str,
              **params: Any) -> dict[str, Any]:
    r = client.get(f"{OGC}/collections/{collection}/items", headers=headers, params=params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith(GEOJSON)
    fc = r.json()
    check_feature_collection(fc)
    return fc


def walk_pages(client: TestClient, headers: dict[str, str], collection: str,
               **params: Any) -> Iterator[dict[str, Any]]:
    """Every page, following ``next`` links."""
    fc = get_items(client, headers, collection, **params)
    yield fc
    while "next" in (links := rels(fc["links"])):
        r = client.get(path_of(links["next"]["href"]), headers=headers)
        assert r.status_code == 200, r.text
        fc = r.json()
        check_feature_collection(fc)
        yield fc


def stored(store: Store, layer: str) -> pd.DataFrame:
    return store.query_events(EventFilter(layers=(layer,))).set_index("id")


# --------------------------------------------------------------------------- landing, auth

def test_landing_page_and_conformance(client: TestClient, keys) -> None:
    h = keys["partner"]
    r = client.get(OGC, headers=h)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    landing = r.json()
    assert landing["title"] and landing["description"]
    links = rels(landing["links"])  # /req/core/root-success
    assert {"self", "service-desc", "conformance", "data"} <= set(links)
    assert links["service-desc"]["type"].startswith("application/vnd.oai.openapi+json")
    api = client.get(path_of(links["service-desc"]["href"])).json()
    assert "/v1/ogc/collections/{collection_id}/items" in api["paths"]
    conf = client.get(path_of(links["conformance"]["href"]), headers=h).json()
    assert set(conf["conformsTo"]) == set(CONFORMANCE)
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in conf["conformsTo"]
    data = client.get(path_of(links["data"]["href"]), headers=h)
    assert data.status_code == 200 and "collections" in data.json()


def test_every_route_needs_a_key(client: TestClient, loaded) -> None:
    for path in ("", "/conformance", "/collections", "/collections/events-crime",
                 "/collections/events-crime/items", "/collections/boundaries-beats/items"):
        r = client.get(OGC + path)
        assert r.status_code == 401, path
        assert r.json()["error"] == "unauthenticated"


# --------------------------------------------------------------------------- collections

def test_collections_per_role(client: TestClient, keys, loaded: SyntheticTown) -> None:
    ids = {}
    for role in ("admin", "analyst", "partner"):
        doc = client.get(f"{OGC}/collections", headers=keys[role]).json()
        assert "self" in rels(doc["links"])
        for c in doc["collections"]:
            check_collection(c)
        ids[role] = {c["id"] for c in doc["collections"]}
    everything = {"events-crime", "events-ambulance", "events-dealing_site", "boundaries-beats"}
    assert ids["admin"] == ids["analyst"] == everything
    assert ids["partner"] == {"events-crime", "boundaries-beats"}


def test_collection_extents_come_from_the_data(client: TestClient, keys,
                                               loaded: SyntheticTown) -> None:
    h = keys["analyst"]
    crime = loaded.events["crime"]
    doc = client.get(f"{OGC}/collections/events-crime", headers=h).json()
    check_collection(doc)
    expected = [crime["lon"].min(), crime["lat"].min(), crime["lon"].max(), crime["lat"].max()]
    np.testing.assert_allclose(doc["extent"]["spatial"]["bbox"][0], expected, atol=1e-9)
    first, last = doc["extent"]["temporal"]["interval"][0]
    assert first == crime["time"].min().strftime("%Y-%m-%dT%H:%M:%SZ")
    assert last == crime["time"].max().strftime("%Y-%m-%dT%H:%M:%SZ")

    beats = client.get(f"{OGC}/collections/boundaries-beats", headers=h).json()
    check_collection(beats)
    assert "temporal" not in beats["extent"]
    np.testing.assert_allclose(beats["extent"]["spatial"]["bbox"][0],
                               loaded.beats.total_bounds, atol=1e-9)


def test_partner_is_refused_restricted_collections(client: TestClient, keys, loaded,
                                                   store: Store) -> None:
    """403, as /v1/events does: the layers' existence is no secret (/v1/layers lists them),
    their points are."""
    amb_id = int(stored(store, "ambulance").index[0])
    for layer in ("ambulance", "dealing_site"):
        for path in (f"/collections/events-{layer}", f"/collections/events-{layer}/items",
                     f"/collections/events-{layer}/items/{amb_id}"):
            r = client.get(OGC + path, headers=keys["partner"])
            assert r.status_code == 403, path
            assert r.json()["error"] == "forbidden"
            assert "/v1/counts" in r.json()["message"]
    assert client.get(f"{OGC}/collections/events-ambulance/items",
                      headers=keys["analyst"]).status_code == 200


def test_unknown_collection_is_404(client: TestClient, keys, loaded) -> None:
    for cid in ("events-nope", "boundaries-nope", "hotspots-x", "crime", "events-"):
        for path in (f"/collections/{cid}", f"/collections/{cid}/items",
                     f"/collections/{cid}/items/1"):
            r = client.get(OGC + path, headers=keys["analyst"])
            assert r.status_code == 404, (path, r.text)
            assert r.json()["error"] == "not_found"


# --------------------------------------------------------------------------- items

def test_paging_returns_every_feature_exactly_once(client: TestClient, keys, loaded,
                                                   store: Store) -> None:
    h = keys["partner"]
    pages = list(walk_pages(client, h, "events-crime", limit=150))
    n = len(loaded.events["crime"])
    assert len(pages) == -(-n // 150)
    assert {p["numberMatched"] for p in pages} == {n}
    ids = [f["id"] for p in pages for f in p["features"]]
    assert len(ids) == len(set(ids)) == n
    assert set(ids) == set(stored(store, "crime").index)
    assert [p["numberReturned"] for p in pages] == [150] * (len(pages) - 1) + [n % 150 or 150]
    # keyset: each next link carries the last id of its page, never an offset
    for p in pages[:-1]:
        nxt = parse_qs(urlsplit(rels(p["links"])["next"]["href"]).query)
        assert nxt["cursor"] == [str(p["features"][-1]["id"])] and "offset" not in nxt
        assert "prev" not in rels(p["links"])
    assert "next" not in rels(pages[-1]["links"])
    assert ids == sorted(ids)

    # offset still pages, and its next link moves on to the cursor
    fc = get_items(client, h, "events-crime", limit=150, offset=300)
    assert [f["id"] for f in fc["features"]] == ids[300:450]
    links = rels(fc["links"])
    assert parse_qs(urlsplit(links["prev"]["href"]).query)["offset"] == ["150"]
    nxt = parse_qs(urlsplit(links["next"]["href"]).query)
    assert nxt["cursor"] == [str(ids[449])] and "offset" not in nxt


def test_a_bad_cursor_is_refused(client: TestClient, keys, loaded) -> None:
    for bad in ("abc", "-5", "1" * 40):
        r = client.get(f"{OGC}/collections/events-crime/items", headers=keys["analyst"],
                       params={"cursor": bad})
        assert r.status_code == 422, bad
        assert r.json()["details"]["parameter"] == "cursor"


def test_next_links_keep_the_query(client: TestClient, keys, loaded) -> None:
    h = keys["analyst"]
    params = {"bbox": "-1.46,53.29,-1.40,53.35", "datetime": "2018-07-01/2019-03-31",
              "crs": EPSG_27700, "limit": 40}
    pages = list(walk_pages(client, h, "events-crime", **params))
    assert len(pages) > 2
    matched = pages[0]["numberMatched"]
    assert {p["numberMatched"] for p in pages} == {matched}
    assert sum(p["numberReturned"] for p in pages) == matched
    nxt = parse_qs(urlsplit(rels(pages[0]["links"])["next"]["href"]).query)
    assert nxt["bbox"] == [params["bbox"]] and nxt["datetime"] == [params["datetime"]]
    assert nxt["crs"] == [EPSG_27700] and nxt["limit"] == ["40"]
    assert nxt["cursor"] == [str(pages[0]["features"][-1]["id"])]
    for p in pages:
        for ft in p["features"]:
            assert 100_000 < ft["geometry"]["coordinates"][0] < 700_000


def test_crs_27700_returns_the_stored_metres(client: TestClient, keys, loaded,
                                            store: Store) -> None:
    h = keys["analyst"]
    rows = stored(store, "crime")
    r = client.get(f"{OGC}/collections/events-crime/items", headers=h,
                   params={"crs": EPSG_27700, "limit": 500})
    assert r.status_code == 200
    assert r.headers["Content-Crs"] == f"<{EPSG_27700}>"
    feats = r.json()["features"]
    assert len(feats) == 500
    xy = np.array([f["geometry"]["coordinates"] for f in feats])
    ids = [f["id"] for f in feats]
    assert ((xy[:, 0] > 100_000) & (xy[:, 0] < 700_000)).all()
    assert ((xy[:, 1] > 0) & (xy[:, 1] < 1_300_000)).all()
    np.testing.assert_allclose(xy[:, 0], rows.loc[ids, "x"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(xy[:, 1], rows.loc[ids, "y"], rtol=0, atol=1e-6)

    # the default is CRS84: longitude first, the stored lon/lat
    r = client.get(f"{OGC}/collections/events-crime/items", headers=h, params={"limit": 50})
    assert r.headers["Content-Crs"] == f"<{CRS84}>"
    feats = r.json()["features"]
    lonlat = np.array([f["geometry"]["coordinates"] for f in feats])
    ids = [f["id"] for f in feats]
    np.testing.assert_allclose(lonlat[:, 0], rows.loc[ids, "lon"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(lonlat[:, 1], rows.loc[ids, "lat"], rtol=0, atol=1e-12)
    # CRS84 spelled as a safe CURIE is the same CRS
    r = client.get(f"{OGC}/collections/events-crime/items", headers=h,
                   params={"crs": "[EPSG:27700]", "limit": 1})
    assert r.headers["Content-Crs"] == f"<{EPSG_27700}>"


def test_unsupported_crs_is_refused_clearly(client: TestClient, keys, loaded) -> None:
    for param in ("crs", "bbox-crs"):
        params = {param: "http://www.opengis.net/def/crs/EPSG/0/3857", "bbox": "0,0,1,1"}
        r = client.get(f"{OGC}/collections/events-crime/items", headers=keys["analyst"],
                       params=params)
        assert r.status_code == 422
        body = r.json()
        assert body["details"]["parameter"] == param
        assert "3857" in body["message"]
        assert EPSG_27700 in body["message"] and CRS84 in body["message"]


def test_bbox_filter_in_crs84_and_in_bng(client: TestClient, keys, loaded) -> None:
    h = keys["analyst"]
    crime = loaded.events["crime"]
    lon0, lat0, lon1, lat1 = -1.42, 53.30, -1.38, 53.32
    inside = crime["lon"].between(lon0, lon1) & crime["lat"].between(lat0, lat1)
    assert 0 < inside.sum() < len(crime)
    got = [f for p in walk_pages(client, h, "events-crime", bbox=f"{lon0},{lat0},{lon1},{lat1}",
                                 limit=1000) for f in p["features"]]
    assert len(got) == inside.sum()
    for f in got:
        x, y = f["geometry"]["coordinates"]
        assert lon0 <= x <= lon1 and lat0 <= y <= lat1

    x0, y0, x1, y1 = 440_000.0, 378_000.0, 442_500.0, 380_500.0
    inside = crime["x"].between(x0, x1) & crime["y"].between(y0, y1)
    assert 0 < inside.sum() < len(crime)
    fc = get_items(client, h, "events-crime", bbox=f"{x0},{y0},{x1},{y1}",
                   **{"bbox-crs": EPSG_27700, "crs": EPSG_27700, "limit": 10_000})
    assert fc["numberMatched"] == len(fc["features"]) == inside.sum()
    assert sorted(f["properties"]["event_key"] for f in fc["features"]) == sorted(
        crime.loc[inside, "event_key"])

    bad = client.get(f"{OGC}/collections/events-crime/items", headers=h,
                     params={"bbox": "-1.3,53.3,-1.4,53.4"})
    assert bad.status_code == 422 and bad.json()["details"]["parameter"] == "bbox"


#: OGC ``datetime`` -> [start, end) it must select; dates and months are whole, intervals closed
INTERVALS = [
    ("2018-10-01T00:00:00Z/2018-12-31T23:59:59Z", "2018-10-01", "2019-01-01"),
    ("2019-01-01/..", "2019-01-01", None),
    ("../2018-09-30", None, "2018-10-01"),
    ("2019-02", "2019-02-01", "2019-03-01"),
    ("2018-11-15", "2018-11-15", "2018-11-16"),
    ("2019-01-01T00:00:00Z/2019-02-01T00:00:00Z", "2019-01-01", "2019-02-01 00:00:00.000001"),
]


def test_datetime_filter(client: TestClient, keys, loaded) -> None:
    h = keys["analyst"]
    for interval, start, end in INTERVALS:
        for layer in ("crime", "ambulance"):
            times = loaded.events[layer]["time"]
            keep = pd.Series(True, index=times.index)
            if start:
                keep &= times >= pd.Timestamp(start)
            if end:
                keep &= times < pd.Timestamp(end)
            fc = get_items(client, h, f"events-{layer}", datetime=interval, limit=10_000)
            assert fc["numberMatched"] == keep.sum(), (layer, interval)
            assert sorted(f["properties"]["event_key"] for f in fc["features"]) == sorted(
                loaded.events[layer].loc[keep, "event_key"])


def test_datetime_instant_and_errors(client: TestClient, keys, loaded) -> None:
    h = keys["analyst"]
    crime = loaded.events["crime"]
    t = crime["time"].iloc[0]
    fc = get_items(client, h, "events-crime", datetime=t.strftime("%Y-%m-%dT%H:%M:%SZ"),
                   limit=10_000)
    assert fc["numberMatched"] == (crime["time"] == t).sum() > 0
    for bad in ("yesterday", "2019-03-01/2019-01-01"):
        r = client.get(f"{OGC}/collections/events-crime/items", headers=h,
                       params={"datetime": bad})
        assert r.status_code == 422 and r.json()["details"]["parameter"] == "datetime"


def test_limit_is_capped_at_the_page_size_maximum(store: Store, keys, loaded) -> None:
    app = create_app(Settings(database_url=store.url, page_size_max=50), store=store)
    with TestClient(app) as client:
        fc = get_items(client, keys["analyst"], "events-crime", limit=1000)
        assert fc["numberReturned"] == 50
        nxt = parse_qs(urlsplit(rels(fc["links"])["next"]["href"]).query)
        assert nxt["limit"] == ["50"] and nxt["cursor"] == [str(fc["features"][-1]["id"])]
        assert client.get(f"{OGC}/collections/events-crime/items", headers=keys["analyst"],
                          params={"limit": 0}).status_code == 422


def test_unknown_parameters_and_formats_are_refused(client: TestClient, keys, loaded) -> None:
    h = keys["analyst"]
    # category is a queryable of the event layers only
    r = client.get(f"{OGC}/collections/boundaries-beats/items", headers=h,
                   params={"category": "Drugs"})
    assert r.status_code == 422 and r.json()["details"]["parameter"] == "category"
    r = client.get(f"{OGC}/collections/events-crime/items", headers=h,
                   params={"colour": "red"})
    assert r.status_code == 422 and r.json()["details"]["parameter"] == "colour"
    r = client.get(f"{OGC}/collections/events-crime/items", headers=h, params={"f": "html"})
    assert r.status_code == 422 and r.json()["details"]["parameter"] == "f"
    assert client.get(f"{OGC}/collections/events-crime/items", headers=h,
                      params={"f": "json", "limit": 1}).status_code == 200


def test_single_feature(client: TestClient, keys, loaded, store: Store) -> None:
    h = keys["partner"]
    rows = stored(store, "crime")
    fid = int(rows.index[7])
    r = client.get(f"{OGC}/collections/events-crime/items/{fid}", headers=h)
    assert r.status_code == 200 and r.headers["content-type"].startswith(GEOJSON)
    ft = r.json()
    assert ft["type"] == "Feature" and ft["id"] == fid  # /req/core/f-success
    links = rels(ft["links"])  # /req/core/f-links
    assert links["self"]["type"] == GEOJSON
    assert links["collection"]["href"].endswith("/collections/events-crime")
    assert ft["geometry"]["coordinates"] == [rows.loc[fid, "lon"], rows.loc[fid, "lat"]]
    ft = client.get(f"{OGC}/collections/events-crime/items/{fid}", headers=h,
                    params={"crs": EPSG_27700}).json()
    np.testing.assert_allclose(ft["geometry"]["coordinates"],
                               [rows.loc[fid, "x"], rows.loc[fid, "y"]], atol=1e-6)
    amb = int(stored(store, "ambulance").index[0])
    for missing in (amb, 10**9, "abc"):  # an ambulance id is not a crime feature
        r = client.get(f"{OGC}/collections/events-crime/items/{missing}", headers=h)
        assert r.status_code == 404, missing


def test_sensitive_reads_are_audited(client: TestClient, keys, loaded, store: Store) -> None:
    before = len(store.audit_entries("read_points"))
    get_items(client, keys["partner"], "events-crime", limit=5)
    assert len(store.audit_entries("read_points")) == before
    fc = get_items(client, keys["analyst"], "events-dealing_site", limit=5)
    entries = store.audit_entries("read_points")
    assert len(entries) == before + 1
    detail = entries[-1]["detail"]
    assert detail["layers"] == ["dealing_site"] and detail["count"] == len(fc["features"]) == 5
    assert "/v1/ogc/collections/events-dealing_site/items" in detail["query"]
    assert entries[-1]["actor"].startswith("key:")
    fid = fc["features"][0]["id"]
    client.get(f"{OGC}/collections/events-dealing_site/items/{fid}", headers=keys["analyst"])
    assert len(store.audit_entries("read_points")) == before + 2


# --------------------------------------------------------------------------- boundaries

def test_boundary_items_in_both_crs(client: TestClient, keys, loaded: SyntheticTown) -> None:
    h = keys["partner"]
    beats = loaded.beats.set_index("unit_id")
    fc = get_items(client, h, "boundaries-beats")
    assert fc["numberMatched"] == fc["numberReturned"] == len(beats)
    assert {f["id"] for f in fc["features"]} == set(beats.index)
    by_id = {f["id"]: f for f in fc["features"]}

    r = client.get(f"{OGC}/collections/boundaries-beats/items", headers=h,
                   params={"crs": EPSG_27700})
    assert r.headers["Content-Crs"] == f"<{EPSG_27700}>"
    for ft in r.json()["features"]:
        assert ft["geometry"]["type"] in ("Polygon", "MultiPolygon")
        metric = shapely.geometry.shape(ft["geometry"])
        lonlat = shapely.geometry.shape(by_id[ft["id"]]["geometry"])
        minx, miny, maxx, maxy = metric.bounds
        assert 100_000 < minx < maxx < 700_000 and 0 < miny < maxy < 1_300_000
        expected = crs.geometry_to_metric(lonlat, crs.BNG).item()
        # both outputs are rounded: CRS84 to 6 decimals (<= 0.11 m), metres to 1 mm
        assert shapely.equals_exact(metric, expected, tolerance=0.15)
        assert metric.area == pytest.approx(ft["properties"]["area_m2"], rel=1e-5)
        for a, b in zip(polygons(metric), polygons(lonlat), strict=True):
            assert a.exterior.is_ccw == b.exterior.is_ccw  # orientation kept


def polygons(g: Any) -> list[Any]:
    return list(g.geoms) if g.geom_type == "MultiPolygon" else [g]


def test_boundary_bbox_paging_and_latest_version(client: TestClient, keys, loaded, store,
                                                 tmp_path: Path) -> None:
    h = keys["analyst"]
    beats = loaded.beats
    lon0, lat0, lon1, lat1 = -1.40, 53.31, -1.38, 53.32
    hit = shapely.intersects(beats.geometry.to_numpy(), shapely.box(lon0, lat0, lon1, lat1))
    assert 0 < hit.sum() < len(beats)
    pages = list(walk_pages(client, h, "boundaries-beats", bbox=f"{lon0},{lat0},{lon1},{lat1}",
                            limit=2))
    ids = [f["id"] for p in pages for f in p["features"]]
    assert sorted(ids) == sorted(beats.loc[hit, "unit_id"]) and len(ids) == len(set(ids))

    geoms_m = crs.geometry_to_metric(beats.geometry.to_numpy(), crs.BNG)
    box_m = (441_000.0, 378_500.0, 442_000.0, 379_500.0)
    hit_m = shapely.intersects(geoms_m, shapely.box(*box_m))
    fc = get_items(client, h, "boundaries-beats", bbox=",".join(map(str, box_m)),
                   **{"bbox-crs": EPSG_27700})
    assert sorted(f["id"] for f in fc["features"]) == sorted(beats.loc[hit_m, "unit_id"])

    one = beats.iloc[0]["unit_id"]
    ft = client.get(f"{OGC}/collections/boundaries-beats/items/{one}", headers=h).json()
    assert ft["id"] == one and ft["properties"]["version"] == 1
    assert client.get(f"{OGC}/collections/boundaries-beats/items/nope",
                      headers=h).status_code == 404

    # a new version replaces the old in the collection
    path = tmp_path / "beats_v2.geojson"
    beats.iloc[:5].to_file(path, driver="GeoJSON")
    import_boundaries(store, path, file_name=path.name, name="beats", id_field="unit_id")
    doc = client.get(f"{OGC}/collections/boundaries-beats", headers=h).json()
    assert "version 2" in doc["title"]
    fc = get_items(client, h, "boundaries-beats")
    assert fc["numberMatched"] == 5
    assert {f["properties"]["version"] for f in fc["features"]} == {2}
    listed = [c["id"] for c in client.get(f"{OGC}/collections", headers=h).json()["collections"]]
    assert listed.count("boundaries-beats") == 1


# --------------------------------------------------------------------------- providers

class OneSquare:
    """A provider such as the hotspot results will be: one square, anyone may read it."""

    SQUARE = shapely.box(-1.41, 53.30, -1.40, 53.31)

    def list_collections(self, caller: Caller) -> list[CollectionMeta]:
        return [self.describe(caller, "square")]

    def describe(self, caller: Caller, name: str) -> CollectionMeta:
        if name != "square":
            raise NotFoundError(f"no collection 'demo-{name}'")
        return CollectionMeta(name="square", title="A square", description="For the test",
                              bbox=self.SQUARE.bounds)

    def items(self, caller: Caller, name: str, query: ItemsQuery) -> ItemsPage:
        self.describe(caller, name)
        feats = geometry_features_in([self.SQUARE], [{"z": 2.5}], ["sq1"], query.crs)
        return ItemsPage(feats[query.offset:query.offset + query.limit], len(feats))

    def item(self, caller: Caller, name: str, feature_id: str,
             target: OgcCrs) -> dict[str, Any]:
        return geometry_features_in([self.SQUARE], [{"z": 2.5}], ["sq1"], target)[0]


def test_a_registered_provider_is_served(client: TestClient, keys) -> None:
    register_collection_provider("demo", OneSquare())
    try:
        h = keys["partner"]
        listed = client.get(f"{OGC}/collections", headers=h).json()["collections"]
        demo = next(c for c in listed if c["id"] == "demo-square")
        check_collection(demo)
        fc = get_items(client, h, "demo-square", crs=EPSG_27700)
        assert fc["numberMatched"] == 1 and fc["features"][0]["properties"] == {"z": 2.5}
        minx, miny, _, _ = shapely.geometry.shape(fc["features"][0]["geometry"]).bounds
        assert 400_000 < minx < 500_000 and 300_000 < miny < 400_000
        assert client.get(f"{OGC}/collections/demo-other", headers=h).status_code == 404
    finally:
        unregister_collection_provider("demo")
    assert client.get(f"{OGC}/collections/demo-square", headers=keys["partner"]
                      ).status_code == 404


# --------------------------------------------------------------------------- property filters

QUERYABLES = "http://www.opengis.net/def/rel/ogc/1.0/queryables"


def test_queryables_advertise_category(client: TestClient, keys, loaded: SyntheticTown) -> None:
    h = keys["analyst"]
    doc = client.get(f"{OGC}/collections/events-crime", headers=h).json()
    href = rels(doc["links"])[QUERYABLES]["href"]
    r = client.get(path_of(href), headers=h)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/schema+json")
    schema = r.json()
    assert schema["type"] == "object" and schema["$id"].endswith(
        "/collections/events-crime/queryables")
    assert set(schema["properties"]) == {"category"}
    assert schema["properties"]["category"]["enum"] == sorted(
        loaded.events["crime"]["category"].unique())
    conf = client.get(f"{OGC}/conformance", headers=h).json()["conformsTo"]
    assert ("http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters"
            in conf)
    # a boundary set has nothing to filter by; a forbidden layer's queryables are forbidden
    beats = client.get(f"{OGC}/collections/boundaries-beats/queryables", headers=h).json()
    assert beats["properties"] == {}
    assert client.get(f"{OGC}/collections/events-ambulance/queryables",
                      headers=keys["partner"]).status_code == 403
    assert client.get(f"{OGC}/collections/events-nope/queryables",
                      headers=h).status_code == 404


def test_category_filter_returns_exactly_that_category(client: TestClient, keys, loaded,
                                                       store: Store) -> None:
    h = keys["partner"]
    crime = stored(store, "crime")
    drugs = set(crime.index[crime["category"] == "Drugs"])
    assert 0 < len(drugs) < len(crime)
    for spelling in ("Drugs", "drugs", "DRUGS"):
        pages = list(walk_pages(client, h, "events-crime", category=spelling, limit=20))
        got = [f["id"] for p in pages for f in p["features"]]
        assert len(got) == len(set(got)) and set(got) == drugs, spelling
        assert {p["numberMatched"] for p in pages} == {len(drugs)}
        assert {f["properties"]["category"] for p in pages for f in p["features"]} == {"Drugs"}
        # the filter travels in the next links
        assert parse_qs(urlsplit(rels(pages[0]["links"])["next"]["href"]).query)[
            "category"] == [spelling]
    # with a window and a box too: the intersection
    window = crime["time"].between(pd.Timestamp("2018-07-01"), pd.Timestamp("2019-01-01"),
                                   inclusive="left")
    box = crime["lon"].between(-1.46, -1.38) & crime["lat"].between(53.29, 53.35)
    expected = set(crime.index[(crime["category"] == "Violence and sexual offences")
                               & window & box])
    assert expected
    got = {f["id"] for p in walk_pages(
        client, h, "events-crime", category="violence and sexual offences", limit=25,
        datetime="2018-07-01/2018-12-31", bbox="-1.46,53.29,-1.38,53.35") for f in p["features"]}
    assert got == expected


def test_unknown_category_is_an_error_with_suggestions(client: TestClient, keys, loaded) -> None:
    r = client.get(f"{OGC}/collections/events-crime/items", headers=keys["analyst"],
                   params={"category": "Drug"})
    assert r.status_code == 422
    assert r.json()["details"]["parameter"] == "category"
    assert "'Drugs'" in r.json()["message"]
    r = client.get(f"{OGC}/collections/events-crime/items", headers=keys["analyst"],
                   params=[("category", "Drugs"), ("category", "Burglary")])
    assert r.status_code == 422 and r.json()["details"]["parameter"] == "category"


def test_keyset_pages_cost_the_same_at_any_depth(client: TestClient, keys, loaded,
                                                 store: Store,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The deepest page opens only the segments holding ids past the cursor: no OFFSET."""
    import sqlalchemy as sa

    seen: list[tuple[str, Any]] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append((statement, parameters))

    from service.store import segments as seg

    opened: list[int] = []
    decode_segment = seg._segment_frame

    def counting(info: Any, *args: Any) -> Any:
        opened.append(info.id)
        return decode_segment(info, *args)

    monkeypatch.setattr(seg, "_segment_frame", counting)
    ids = sorted(stored(store, "crime").index)
    opened.clear()
    sa.event.listen(store.engine, "before_cursor_execute", record)
    try:
        fc = get_items(client, keys["partner"], "events-crime", limit=10,
                       cursor=str(ids[-11]))
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", record)
    assert [f["id"] for f in fc["features"]] == ids[-10:]
    assert "next" not in rels(fc["links"])
    # the segments are chosen by their id range (those wholly at or below the cursor are
    # never opened), and nothing is skipped by OFFSET
    listing = [q for q, _ in seen if "FROM event_segments" in q and "n_rows" in q]
    assert any("event_segments.id_hi >" in q for q in listing), listing
    assert not any("OFFSET" in q for q, _ in seen)
    with store.engine.connect() as conn:
        above = conn.execute(sa.text("SELECT count(*) FROM event_segments WHERE layer = 'crime' "
                                     "AND id_hi > :a"), {"a": ids[-11]}).scalar_one()
    assert len(opened) <= max(above, 1), (opened, above)


# --------------------------------------------------------------------------- bulk download

def read_file(content: bytes, suffix: str, tmp_path: Path) -> Any:
    import geopandas as gpd

    path = tmp_path / f"download{suffix}"
    path.write_bytes(content)
    return gpd.read_file(path)


@pytest.mark.parametrize(("f", "media"), [("gpkg", "application/geopackage+sqlite3"),
                                          ("fgb", "application/flatgeobuf")])
def test_download_a_layer(client: TestClient, keys, loaded, store: Store, tmp_path: Path,
                          f: str, media: str) -> None:
    h = keys["partner"]
    doc = client.get(f"{OGC}/collections/events-crime", headers=h).json()
    enclosures = {lk["type"]: lk["href"] for lk in doc["links"] if lk["rel"] == "enclosure"}
    r = client.get(path_of(enclosures[media]), headers=h)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith(media)
    assert f'filename="events-crime.{f}"' in r.headers["content-disposition"]
    got = read_file(r.content, f".{f}", tmp_path).set_index("id")
    rows = stored(store, "crime")
    assert len(got) == len(rows) and set(got.index) == set(rows.index)
    np.testing.assert_allclose(got.geometry.x, rows.loc[got.index, "lon"], atol=1e-12)
    assert (got["category"] == rows.loc[got.index, "category"]).all()
    assert (got["event_key"] == rows.loc[got.index, "event_key"]).all()

    # the items' filters apply; crs=27700 gives the stored metres
    r = client.get(f"{OGC}/collections/events-crime/download", headers=h,
                   params={"f": f, "category": "drugs", "crs": EPSG_27700})
    got = read_file(r.content, f".{f}", tmp_path).set_index("id")
    drugs = rows[rows["category"] == "Drugs"]
    assert set(got.index) == set(drugs.index)
    assert got.crs.to_epsg() == 27700
    np.testing.assert_allclose(got.geometry.x, drugs.loc[got.index, "x"], atol=1e-6)


def test_download_follows_the_disclosure_rules(client: TestClient, keys, loaded,
                                               store: Store, tmp_path: Path) -> None:
    for layer in ("ambulance", "dealing_site"):
        r = client.get(f"{OGC}/collections/events-{layer}/download", headers=keys["partner"],
                       params={"f": "gpkg"})
        assert r.status_code == 403 and "/v1/counts" in r.json()["message"]
    before = len(store.audit_entries("read_points"))
    r = client.get(f"{OGC}/collections/events-dealing_site/download", headers=keys["analyst"],
                   params={"f": "fgb"})
    assert r.status_code == 200
    n = len(read_file(r.content, ".fgb", tmp_path))
    assert n == len(loaded.events["dealing_site"])
    entries = store.audit_entries("read_points")
    assert len(entries) == before + 1
    assert entries[-1]["detail"]["layers"] == ["dealing_site"]
    assert entries[-1]["detail"]["count"] == n
    assert "/download" in entries[-1]["detail"]["query"]
    assert client.get(f"{OGC}/collections/events-crime/download",
                      params={"f": "gpkg"}).status_code == 401


def test_download_is_kept_until_the_events_change(client: TestClient, keys, loaded,
                                                  store: Store, settings: Settings,
                                                  tmp_path: Path) -> None:
    h, url = keys["analyst"], f"{OGC}/collections/events-dealing_site/download"
    first = client.get(url, headers=h, params={"f": "gpkg"})
    assert first.status_code == 200 and first.headers["x-remap-cache"] == "miss"
    kept = list((settings.download_cache_dir or tmp_path).glob("*.gpkg"))
    assert len(kept) == 1
    assert (settings.download_cache_dir or tmp_path).stat().st_mode & 0o077 == 0
    before = len(store.audit_entries("read_points"))
    again = client.get(url, headers=h, params={"f": "gpkg"})
    assert again.headers["x-remap-cache"] == "hit" and again.content == first.content
    assert again.headers["etag"] == first.headers["etag"]
    assert len(store.audit_entries("read_points")) == before + 1  # a kept file is audited too
    r = client.get(url, headers={**h, "If-None-Match": first.headers["etag"]},
                   params={"f": "gpkg"})
    assert r.status_code == 304 and r.content == b""
    # GDAL's /vsicurl/: the size by HEAD (no data, no audit), then byte ranges
    head = client.head(url, headers=h, params={"f": "gpkg"})
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) == len(first.content)
    part = client.get(url, headers={**h, "Range": "bytes=100-199"}, params={"f": "gpkg"})
    assert part.status_code == 206 and part.content == first.content[100:200]
    assert len(store.audit_entries("read_points")) == before + 3
    # another query, another file; a partner still may not have the points
    other = client.get(url, headers=h, params={"f": "gpkg", "crs": EPSG_27700})
    assert other.headers["x-remap-cache"] == "miss"
    assert other.headers["etag"] != first.headers["etag"]
    assert client.get(url, headers=keys["partner"], params={"f": "gpkg"}).status_code == 403

    frame = loaded.events["dealing_site"]
    # importing the same events again adds nothing: the kept file is still right
    report = ImportReport(layer="dealing_site", format="synthetic")
    store_events(store, frame.copy(), report, timings={}, file_names=["again"], actor="test")
    assert report.inserted == 0
    assert client.get(url, headers=h, params={"f": "gpkg"}).headers["x-remap-cache"] == "hit"
    # new events: a new file that holds them
    new = frame.head(3).copy()
    new["event_key"] = new["event_key"] + "-new"
    new["source_id"] = new["source_id"] + "-new"
    report = ImportReport(layer="dealing_site", format="synthetic")
    store_events(store, new, report, timings={}, file_names=["new"], actor="test")
    assert report.inserted == 3
    r = client.get(url, headers=h, params={"f": "gpkg"})
    assert r.headers["x-remap-cache"] == "miss" and r.headers["etag"] != first.headers["etag"]
    assert len(read_file(r.content, ".gpkg", tmp_path)) == len(frame) + 3


def test_download_without_the_cache(store: Store, keys, loaded, tmp_path: Path) -> None:
    settings = Settings(database_url=store.url, download_cache_mb=0,
                        download_cache_dir=tmp_path / "never")
    with TestClient(create_app(settings, store=store)) as c:
        r = c.get(f"{OGC}/collections/events-crime/download", headers=keys["analyst"],
                  params={"f": "fgb"})
    assert r.status_code == 200 and "x-remap-cache" not in r.headers
    assert len(read_file(r.content, ".fgb", tmp_path)) == len(loaded.events["crime"])
    assert not (tmp_path / "never").exists()


def test_download_a_boundary_set_and_bad_formats(client: TestClient, keys, loaded,
                                                 tmp_path: Path) -> None:
    h = keys["partner"]
    r = client.get(f"{OGC}/collections/boundaries-beats/download", headers=h,
                   params={"f": "gpkg"})
    assert r.status_code == 200
    got = read_file(r.content, ".gpkg", tmp_path)
    assert sorted(got["id"]) == sorted(loaded.beats["unit_id"])
    assert set(got.geom_type) <= {"Polygon", "MultiPolygon"}
    for bad in ({"f": "shp"}, {}, {"f": "gpkg", "limit": "5"}):
        r = client.get(f"{OGC}/collections/events-crime/download", headers=h, params=bad)
        assert r.status_code == 422, bad
    # the file by a name that ends with its format (GDAL's /vsicurl/ needs the extension)
    named = client.get(f"{OGC}/collections/boundaries-beats/download.gpkg", headers=h)
    assert named.status_code == 200 and sorted(
        read_file(named.content, ".gpkg", tmp_path)["id"]) == sorted(loaded.beats["unit_id"])
    for path, params in (("download.shp", {}), ("download.gpkg", {"f": "fgb"})):
        r = client.get(f"{OGC}/collections/events-crime/{path}", headers=h, params=params)
        assert r.status_code == 422 and r.json()["details"]["parameter"] == "f", path


def test_encoded_pages_equal_the_feature_dicts() -> None:
    """The column-built JSON of an event page is the JSON of :func:`events_features`, odd
    strings and non-finite attribute numbers included."""
    import json

    from service.render.geojson import events_features, events_features_json

    attrs = [{"Location": 'On or near "The" Street\\', "n": 1},
             {"Context": float("nan"), "note": "tab\there é"}, {}]
    frame = pd.DataFrame({
        "id": [3, 9, 12], "layer": ["crime"] * 3,
        "event_key": ["a", 'b"q', "c\n"], "source_id": ["1", "2", "3"],
        "time": pd.to_datetime(["2019-01-01 10:00:00", "2019-02-01 00:00:00",
                               "2019-03-04 05:06:07"]),
        "time_precision": ["exact", "month", "day"], "location_precision": ["exact"] * 3,
        "category": ["Drugs", "Drugs", None], "source": ["x"] * 3,
        "sensitivity": ["open"] * 3, "h3": ["8b19422d012efff"] * 3,
        "lon": [-1.5, -1.25, -1.1234567891234], "lat": [53.1, 53.2, 53.3],
        "x": [400000.5, 400001.0, 400002.25], "y": [380000.0, 380001.0, 380002.0],
    })
    for metric in (False, True):
        expected = events_features(frame.assign(attributes=attrs), metric=metric)
        expected[1]["properties"]["attributes"]["Context"] = None
        stored = [json.dumps(a, sort_keys=True) for a in attrs]  # as the store keeps them
        got = json.loads(events_features_json(frame.assign(attributes=stored), metric=metric))
        assert got == expected
    assert events_features_json(frame.iloc[:0].assign(attributes=[])) == "[]"
