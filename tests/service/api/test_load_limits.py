"""Nothing heavy on the request loop, cost limits (413) and rate limits (429).

Both backends through the ``store`` fixture. No timed assertions: the
latencies are measured in ``benchmarks/bench_healthz.py``.
"""

from __future__ import annotations

import asyncio
import io
import json
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.api.ratelimit import SlidingWindow
from service.api.routers import imports as imports_router
from service.app import analysis
from service.app.cost import estimate_cost, h3_cells_estimate, limits_for
from service.main import create_app
from service.settings import Settings
from service.store import Store
from spatial.place import units as unitsmod

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
SMALL = FIXTURES / "policeuk_small.csv"
#: roughly Sheffield: ~560 km², about 290,000 H3 res-11 cells
CITY_BBOX = "bbox:-1.60,53.30,-1.32,53.50"
BEATS = {"type": "FeatureCollection", "features": [
    {"type": "Feature", "properties": {"beat": "A", "name": "Alpha"},
     "geometry": {"type": "Polygon", "coordinates": [[[-1.50, 53.37], [-1.46, 53.37],
                                                      [-1.46, 53.40], [-1.50, 53.40],
                                                      [-1.50, 53.37]]]}}]}


def make_client(store: Store, **limits: Any) -> TestClient:
    settings = Settings(database_url=store.url, **{
        "auth_failures_per_minute": 100_000, "expensive_requests_per_minute": 100_000,
        **limits})
    return TestClient(create_app(settings, store=store))


@pytest.fixture
def keyed(store: Store) -> dict[str, dict[str, str]]:
    return {role: {"X-API-Key": store.create_key(role, f"test {role}")}
            for role in ("admin", "analyst", "partner", "viewer")}


@pytest.fixture
def no_units_built(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail the test if any H3 or grid unit is generated."""

    def boom(*_a: Any, **_k: Any) -> Any:
        raise AssertionError("units were built before the cost check refused the request")

    monkeypatch.setattr(unitsmod, "h3_units", boom)
    monkeypatch.setattr(unitsmod, "grid_units", boom)
    yield


def post_csv(client: TestClient, headers: dict[str, str], name: str, data: bytes):
    return client.post("/v1/imports", headers=headers,
                       files=[("files", (name, data, "text/csv"))],
                       data={"format": "policeuk", "layer": "crime"})


# ------------------------------------------------------------------ imports off the loop


def test_import_runs_in_the_worker_pool_not_on_the_event_loop(
        store: Store, keyed, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}
    real = imports_router.import_events

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen["thread"] = threading.current_thread().name
        try:
            asyncio.get_running_loop()
            seen["loop"] = True
        except RuntimeError:
            seen["loop"] = False
        source = args[1][0][1]
        seen["source_is_path"] = isinstance(source, Path) and source.is_file()
        return real(*args, **kwargs)

    monkeypatch.setattr(imports_router, "import_events", spy)
    with make_client(store) as client:
        r = post_csv(client, keyed["analyst"], SMALL.name, SMALL.read_bytes())
    assert r.status_code == 200, r.text
    assert r.json()["inserted"] > 0
    assert seen == {"thread": seen["thread"], "loop": False, "source_is_path": True}
    assert seen["thread"].startswith("remap-import")


def test_upload_over_the_limit_is_413_naming_the_file_and_writes_nothing(
        store: Store, keyed) -> None:
    before = store.table_counts()
    with make_client(store, upload_max_bytes=600) as client:
        r = client.post("/v1/imports", headers=keyed["analyst"],
                        files=[("files", ("ok.csv", SMALL.read_bytes()[:500], "text/csv")),
                               ("files", ("too-big.csv", SMALL.read_bytes(), "text/csv"))],
                        data={"format": "policeuk"})
    assert r.status_code == 413, r.text
    body = r.json()
    assert body["error"] == "too_large" and "too-big.csv" in body["message"]
    assert "REMAP_UPLOAD_MAX_BYTES" in body["message"]
    assert body["details"]["file"] == "too-big.csv"
    assert store.table_counts() == before


def test_upload_request_over_the_whole_limit_is_refused_while_streaming(
        store: Store, keyed) -> None:
    before = store.table_counts()
    with make_client(store, upload_request_max_bytes=2000) as client:
        r = post_csv(client, keyed["analyst"], "big.csv", SMALL.read_bytes() * 4)
        assert r.status_code == 413
        assert "REMAP_UPLOAD_REQUEST_MAX_BYTES" in r.json()["message"]
        # an upload under the limit still works on the same app
        assert post_csv(client, keyed["analyst"], "small.csv",
                        SMALL.read_bytes()[:1200]).status_code == 200
    assert store.table_counts()["events"] >= before["events"]


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def post_boundary(client: TestClient, headers: dict[str, str], name: str, data: bytes):
    return client.post("/v1/boundaries", headers=headers,
                       files={"file": (name, data, "application/zip")},
                       data={"name": "beats", "id_field": "beat", "label_field": "name"})


def test_zip_bomb_is_refused_from_its_directory(store: Store, keyed) -> None:
    # 200 MB of spaces compresses ~1000 times: refused before anything is extracted
    bomb = _zip({"beats.geojson": b"{" + b" " * (200 * 2**20) + b"}"})
    assert len(bomb) < 1_000_000
    before = store.table_counts()
    with make_client(store) as client:
        r = post_boundary(client, keyed["analyst"], "beats.zip", bomb)
    assert r.status_code == 422, r.text
    assert "beats.zip" in r.json()["message"] and "zip bomb" in r.json()["message"]
    assert r.json()["details"]["file"] == "beats.zip"
    assert store.table_counts() == before


def test_zip_over_the_declared_total_is_refused(store: Store, keyed) -> None:
    data = _zip({"beats.geojson": json.dumps(BEATS).encode()})
    with make_client(store, zip_max_uncompressed_bytes=100) as client:
        r = post_boundary(client, keyed["analyst"], "beats.zip", data)
        assert r.status_code == 422
        assert "REMAP_ZIP_MAX_UNCOMPRESSED_BYTES" in r.json()["message"]
    with make_client(store) as client:  # the same zip under the default limits imports
        r = post_boundary(client, keyed["analyst"], "beats.zip", data)
        assert r.status_code == 200, r.text
        assert r.json()["units"] == 1


def test_boundary_upload_without_a_suffix_is_still_recognised(store: Store, keyed) -> None:
    with make_client(store) as client:
        r = post_boundary(client, keyed["analyst"], "beats", json.dumps(BEATS).encode())
    assert r.status_code == 200, r.text


# ------------------------------------------------------------------ cost limits


def test_partner_h3_11_over_a_city_is_413_before_any_cell_is_built(
        store: Store, keyed, no_units_built) -> None:
    with make_client(store) as client:
        post_csv(client, keyed["analyst"], SMALL.name, SMALL.read_bytes())
        for route in ("/v1/counts", "/v1/hotspots", "/v1/maps/hotspots", "/v1/packs/area",
                      "/v1/autocorrelation"):
            r = client.get(route, headers=keyed["partner"],
                           params={"layer": "crime", "unit": "h3:11", "area": CITY_BBOX})
            assert r.status_code == 413, (route, r.text)
            body = r.json()
            assert body["error"] == "too_large"
            assert "REMAP_MAX_UNITS_PARTNER" in body["message"], body["message"]
            assert "20,000" in body["message"] and "h3:11" in body["message"]
            assert "coarser unit (h3:" in body["message"]
            assert body["details"]["estimate"]["units"] > 200_000
            assert body["details"]["limit"] == "max_units"
        # the viewer is held to the partner limits too
        r = client.get("/v1/counts", headers=keyed["viewer"],
                       params={"layer": "crime", "unit": "grid:10", "area": CITY_BBOX})
        assert r.status_code == 413 and "grid:" in r.json()["message"]


def test_the_suggested_coarser_unit_is_accepted(store: Store, keyed) -> None:
    with make_client(store) as client:
        post_csv(client, keyed["analyst"], SMALL.name, SMALL.read_bytes())
        r = client.get("/v1/counts", headers=keyed["partner"],
                       params={"layer": "crime", "unit": "h3:11", "area": CITY_BBOX})
        res = r.json()["message"].split("coarser unit (h3:")[1].split(" ")[0]
        r = client.get("/v1/counts", headers=keyed["partner"],
                       params={"layer": "crime", "unit": f"h3:{res}", "area": CITY_BBOX})
        assert r.status_code == 200, r.text
        assert r.json()["parameters"]["units"] <= 20_000


def test_permutation_limit_names_permutations(store: Store, keyed, tmp_path) -> None:
    with make_client(store, max_unit_permutations_partner=5_000) as client:
        post_csv(client, keyed["analyst"], SMALL.name, SMALL.read_bytes())
        params = {"layer": "crime", "unit": "h3:9", "area": "bbox:-1.50,53.37,-1.44,53.41",
                  "method": "lisa", "permutations": "999", "seed": "1"}
        r = client.get("/v1/hotspots", headers=keyed["partner"], params=params)
        assert r.status_code == 413
        assert r.json()["details"]["parameter"] == "permutations"
        assert "REMAP_MAX_UNIT_PERMUTATIONS_PARTNER" in r.json()["message"]
        # the analyst limits are the analyst's own
        r = client.get("/v1/hotspots", headers=keyed["analyst"], params=params)
        assert r.status_code == 200, r.text


def test_the_cli_uses_the_same_estimate_with_the_analyst_limits(
        store: Store, run, monkeypatch: pytest.MonkeyPatch, no_units_built) -> None:
    monkeypatch.setenv("REMAP_MAX_UNITS_ANALYST", "1000")
    from service.settings import get_settings

    get_settings.cache_clear()
    result = run("counts", "--layer", "crime", "--unit", "h3:11", "--area", CITY_BBOX)
    assert result.exit_code == 2
    assert "REMAP_MAX_UNITS_ANALYST" in result.output


def test_estimate_is_close_to_the_cells_built(store: Store) -> None:
    req = analysis.CountsRequest.parse(layer="crime", unit="h3:9",
                                       area="bbox:-1.50,53.37,-1.44,53.41")
    est = estimate_cost(store, req)
    built = len(unitsmod.h3_units(analysis.study_area_geometry(store, req.area, None)[0], 9).ids)
    assert built * 0.9 <= est.units <= built * 1.3
    assert h3_cells_estimate(1e6, 4e3, 8) >= 2  # ~1 km² at res 8: a couple of cells
    limits = limits_for(Settings(database_url=store.url), "viewer")
    assert limits.tier == "partner"


# ------------------------------------------------------------------ rate limits


def test_failed_keys_from_one_address_get_429_with_retry_after(store: Store, keyed) -> None:
    with make_client(store, auth_failures_per_minute=3) as client:
        for _ in range(3):
            assert client.get("/v1/layers",
                              headers={"X-API-Key": "rmp_wrong"}).status_code == 401
        r = client.get("/v1/layers", headers={"X-API-Key": "rmp_wrong"})
        assert r.status_code == 429
        assert int(r.headers["Retry-After"]) >= 1
        body = r.json()
        assert set(body) == {"error", "message", "details"}
        assert body["error"] == "rate_limited"
        assert "REMAP_AUTH_FAILURES_PER_MINUTE" in body["message"]
        # a valid key is still served (only failed attempts are limited)
        assert client.get("/v1/layers", headers=keyed["partner"]).status_code == 200
        # a missing key is not a guess: still 401
        assert client.get("/v1/layers").status_code == 401


def test_expensive_routes_are_limited_per_key(store: Store, keyed) -> None:
    params = {"layer": "crime", "unit": "h3:8", "area": "bbox:-1.50,53.37,-1.44,53.41"}
    with make_client(store, expensive_requests_per_minute=2) as client:
        post_csv(client, keyed["admin"], SMALL.name, SMALL.read_bytes())  # admin: 1 of 2
        assert client.get("/v1/counts", headers=keyed["partner"],
                          params=params).status_code == 200
        assert client.get("/v1/hotspots", headers=keyed["partner"],
                          params={**params, "method": "count"}).status_code == 200
        r = client.get("/v1/counts", headers=keyed["partner"], params=params)
        assert r.status_code == 429
        assert int(r.headers["Retry-After"]) >= 1
        assert "REMAP_EXPENSIVE_REQUESTS_PER_MINUTE" in r.json()["message"]
        # other keys and cheap routes are not affected
        assert client.get("/v1/counts", headers=keyed["analyst"],
                          params=params).status_code == 200
        assert client.get("/v1/layers", headers=keyed["partner"]).status_code == 200
        assert client.get("/healthz").status_code == 200


def test_sliding_window_frees_slots_as_they_age() -> None:
    now = [0.0]
    w = SlidingWindow(2, window_s=60, clock=lambda: now[0])
    assert w.hit("k") == 0
    now[0] = 10
    assert w.hit("k") == 0
    assert w.hit("k") == 50  # the first hit leaves the window at t=60
    assert w.hit("other") == 0
    now[0] = 60.5
    assert w.retry_after("k") == 0 and w.hit("k") == 0
    assert w.hit("k") == 10
