"""Disclosure control, tried as the people it protects against.

* The role matrix: every route x {no key, bad key, revoked key, viewer,
  partner, analyst, admin}, on SQLite and PostgreSQL. No point-level ambulance
  or dealing-site record and no ambulance value 1-4 reaches a partner or a
  viewer.
* A scripted reconstruction attack with a partner key: fine units, tiny
  areas, short and overlapping windows, category isolation, rates, metadata,
  saved results and OGC collections recover no suppressed count and no
  dealing-site location finer than the configured aggregate.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

import h3
import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from service.app.importer import ImportReport, store_events
from service.settings import get_settings
from service.store import EventFilter, Store
from spatial.disclosure import protect_counts, protect_value
from spatial.synthetic.town import build_town
from tests.service.api.test_maps_api import embedded_collections, sensitive_coordinates

CONTROLLED = ("partner", "viewer")
FULL = ("analyst", "admin")
MONTHS = [f"{y}-{m:02d}" for y, m in [(2018, 7), (2018, 8), (2018, 9), (2018, 10), (2018, 11),
                                       (2018, 12), (2019, 1), (2019, 2), (2019, 3), (2019, 4),
                                       (2019, 5), (2019, 6)]]


# ----------------------------------------------------------------------------- the policy


def test_protected_values_are_suppressed_or_rounded_to_base_5() -> None:
    assert protect_counts([0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 13, 100]) == [
        0, "<5", "<5", "<5", "<5", 5, 5, 5, 10, 10, 15, 100]
    assert [protect_value(v) for v in (0, 4, 7, 8)] == [0, "<5", 5, 10]
    assert protect_counts([1, 2, 3], base=3) == ["<3", "<3", 3]


# ----------------------------------------------------------------------------- fixtures


def _with_rare_category(store: Store) -> None:
    """Two ambulance call-outs of a rare substance: what category isolation would find."""
    town = build_town(7, scale=0.15)
    rare = town.events["ambulance"].head(2).copy()
    rare["category"] = "Fentanyl"
    rare["event_key"] = ["rare-1", "rare-2"]
    rare["source_id"] = ["rare-1", "rare-2"]
    store_events(store, rare, ImportReport(layer="ambulance", format="synthetic"), timings={},
                 file_names=["rare"], actor="test")


@pytest.fixture
def attack_store(town_store: Store) -> Store:
    _with_rare_category(town_store)
    return town_store


def _true_counts(store: Store, unit: str, start: str | None = None,
                 end: str | None = None, layer: str = "ambulance") -> dict[str, int]:
    from service.app.analysis import CountsRequest, unit_counts

    req = CountsRequest.parse(layer=layer, unit=unit, area="boundary:beats", start=start,
                              end=end)
    uc = unit_counts(store, req, role="admin")
    return {str(u): int(c) for u, c in zip(uc.unit_ids, uc.counts, strict=True)}


def _counts(client: TestClient, key: dict[str, str], **params: Any) -> dict[str, Any]:
    r = client.get("/v1/counts", headers=key, params={"area": "boundary:beats", **params})
    assert r.status_code == 200, r.text
    return r.json()


def _values(fc: dict[str, Any]) -> dict[str, Any]:
    return {f["properties"]["unit_id"]: f["properties"]["count"] for f in fc["features"]}


def _is_protected(v: Any) -> bool:
    return v == 0 or v == "<5" or (isinstance(v, int) and v >= 5 and v % 5 == 0)


# ----------------------------------------------------------------------------- role matrix

def _routes(op_id: int) -> list[tuple[str, str, dict[str, Any], int]]:
    """(method, path, parameters, the status a partner or viewer must get)."""
    amb = {"layer": "ambulance", "area": "boundary:beats", "start": "2019-01", "end": "2019-01"}
    beats = {"unit": "boundary:beats"}
    return [
        ("GET", "/v1/layers", {}, 200),
        ("GET", "/v1/events", {"layer": "ambulance"}, 403),
        ("GET", "/v1/events", {"layer": "dealing_site"}, 403),
        ("GET", "/v1/events", {"layer": "crime", "limit": 5}, 200),
        ("GET", "/v1/boundaries", {}, 200),
        ("GET", "/v1/counts", {**amb, **beats}, 200),
        ("GET", "/v1/counts", {**amb, "unit": "h3:8"}, 200),
        ("GET", "/v1/counts", {**amb, "unit": "h3:9"}, 422),
        ("GET", "/v1/counts", {**amb, "unit": "grid:500"}, 200),
        ("GET", "/v1/counts", {**amb, "unit": "grid:250"}, 422),
        ("GET", "/v1/counts", {**amb, **beats, "start": "2019-01-03"}, 422),
        ("GET", "/v1/counts", {**amb, **beats, "start": "2018-12"}, 422),
        ("GET", "/v1/counts", {"layer": "ambulance", **beats}, 422),
        ("GET", "/v1/counts", {**amb, "layer": "dealing_site", "unit": "h3:7"}, 403),
        ("GET", "/v1/hotspots", {**amb, **beats, "method": "count"}, 200),
        ("GET", "/v1/hotspots", {**amb, **beats, "method": "gistar"}, 403),
        ("GET", "/v1/hotspots", {**amb, **beats, "method": "kde"}, 403),
        ("GET", "/v1/hotspots", {**amb, **beats, "layer": "crime", "method": "count",
                                 "denominator_layer": "ambulance"}, 200),
        ("GET", "/v1/autocorrelation", {**amb, **beats}, 403),
        ("GET", "/v1/results", {}, 200),
        ("GET", "/v1/results/amb", {}, 403),
        ("GET", "/v1/maps/hotspots", {"layer": "crime", **beats, "seed": 1,
                                      "permutations": 99}, 200),
        ("GET", "/v1/maps/hotspots", {**amb, **beats}, 200),
        ("GET", "/v1/packs/area", {**amb, **beats}, 200),
        ("GET", "/v1/ogc/collections", {}, 200),
        ("GET", "/v1/ogc/collections/events-ambulance/items", {}, 403),
        ("GET", "/v1/ogc/collections/events-dealing_site/items", {}, 403),
        ("GET", "/v1/ogc/collections/hotspots-amb/items", {}, 403),
        ("GET", f"/v1/operations/{op_id}", {}, 200),
        ("GET", f"/v1/operations/{op_id}/report", {}, 403),
        ("GET", f"/v1/maps/operations/{op_id}", {}, 200),
        ("GET", f"/v1/operations/{op_id}/pack", {}, 200),
    ]


def _sensitive_leaks(text: str, coords: list[str]) -> list[str]:
    return [c for c in coords if c in text]


def _ambulance_values(obj: Any, inside: bool = False) -> list[Any]:
    """Every count-like value under an ambulance layer of a JSON answer."""
    out: list[Any] = []
    if isinstance(obj, dict):
        here = inside or obj.get("layer") == "ambulance"
        for k, v in obj.items():
            if here and k in ("count", "events_selected", "events_counted",
                              "events_outside_area"):
                out.append(v)
            else:
                out += _ambulance_values(v, here)
    elif isinstance(obj, list):
        for v in obj:
            out += _ambulance_values(v, inside)
    return out


def test_role_matrix(client: TestClient, keys: dict[str, dict[str, str]], store: Store,
                     tmp_path) -> None:
    from tests.service.api.test_operations_api import definition, load

    t = load(store, tmp_path, scale=0.15)
    op = client.post("/v1/operations", headers=keys["analyst"], json=definition(t)).json()
    assert client.post(f"/v1/operations/{op['id']}/start", headers=keys["analyst"]
                       ).status_code == 200
    assert client.post(f"/v1/operations/{op['id']}/share", headers=keys["analyst"]
                       ).status_code == 200
    saved = client.get("/v1/hotspots", headers=keys["analyst"],
                       params={"layer": "ambulance", "unit": "boundary:beats",
                               "method": "count", "save": "amb"})
    assert saved.status_code == 200, saved.text
    revoked = store.create_key("partner", "to revoke")
    rid = next(k["id"] for k in store.list_keys() if k["label"] == "to revoke")
    store.revoke_key(rid)
    callers = {"no key": {}, "bad key": {"X-API-Key": "rmp_not-a-key"},
               "revoked key": {"X-API-Key": revoked}, **keys}
    coords = sensitive_coordinates(store)
    audit_before = len(store.audit_entries("read_aggregate"))
    for (method, path, params, controlled), (who, headers) in itertools.product(
            _routes(op["id"]), callers.items()):
        r = client.request(method, path, params=params, headers=headers)
        where = f"{who} {path} {params}"
        assert r.status_code < 500, where
        if who in ("no key", "bad key", "revoked key"):
            assert r.status_code == 401, where
            continue
        want = 200 if who in FULL else controlled
        assert r.status_code == want, (where, r.status_code, r.text[:300])
        if who in FULL or r.status_code != 200:
            continue
        assert not _sensitive_leaks(r.text, coords), where
        if r.headers["content-type"].startswith("application/json"):
            body = r.json()
            for v in _ambulance_values(body):
                assert _is_protected(v), (where, v)
            if params.get("layer") == "ambulance":
                for v in re.findall(r'"count":\s*(\d+)', r.text):
                    assert int(v) == 0 or int(v) % 5 == 0, (where, v)
        else:
            for fc in embedded_collections(r.text.replace("&quot;", '"')):
                for f in fc["features"]:
                    props = f["properties"]
                    if props.get("layer") == "ambulance" or "mbulance" in str(
                            props.get("_remap_tooltip", "")):
                        assert _is_protected(props.get("count", 0)), (where, props)
    # every controlled or full read of ambulance aggregates was audited
    assert len(store.audit_entries("read_aggregate")) > audit_before


# ----------------------------------------------------------------------------- the attack


def test_fine_units_and_short_windows_are_refused(client: TestClient, keys,
                                                  attack_store: Store) -> None:
    for role in CONTROLLED:
        # finer units, and coarser ones that nest the fixed ones, are refused
        for unit in ("h3:9", "h3:11", "h3:15", "h3:7", "grid:10", "grid:250", "grid:499",
                     "grid:1000"):
            r = client.get("/v1/counts", headers=keys[role],
                           params={"layer": "ambulance", "unit": unit, "area": "boundary:beats",
                                   "start": "2019-01", "end": "2019-01"})
            # very fine units are already over the partner's cost limit (413)
            assert r.status_code in (413, 422) and "unit" in r.json()["message"], (unit, r.text)
        for start, end in (("2019-01-05", "2019-01-20"), ("2019-01-01T13:00", "2019-01"),
                           ("2019-01", "2019-01-15"), ("2019-01", "2019-02"), (None, None),
                           ("2019-01", None)):
            r = client.get("/v1/counts", headers=keys[role],
                           params={"layer": "ambulance", "unit": "h3:8", "start": start,
                                   "end": end, "area": "boundary:beats"})
            assert r.status_code == 422 and "calendar month" in r.json()["message"], r.text
    # analysts keep every unit and window
    r = client.get("/v1/counts", headers=keys["analyst"],
                   params={"layer": "ambulance", "unit": "h3:10", "start": "2019-01-05",
                           "end": "2019-01-20", "area": "boundary:beats"})
    assert r.status_code == 200


def test_tiny_areas_return_whole_cells(client: TestClient, keys, attack_store: Store) -> None:
    """A bbox around one call-out gives the count of the whole H3 cell (as a city-wide
    question does), never the count in the tiny box."""
    month = {"start": "2019-01", "end": "2019-01"}
    city = _values(_counts(client, keys["partner"], layer="ambulance", unit="h3:8", **month))
    pts = attack_store.query_events(EventFilter(layers=("ambulance",)))
    for lon, lat in list(zip(pts["lon"], pts["lat"], strict=True))[:15]:
        d = 0.0002
        fc = client.get("/v1/counts", headers=keys["partner"], params={
            "layer": "ambulance", "unit": "h3:8", **month,
            "area": f"bbox:{lon - d},{lat - d},{lon + d},{lat + d}"}).json()
        for unit, v in _values(fc).items():
            if unit in city:
                assert v == city[unit]
            assert _is_protected(v)


def _interval(v: Any) -> tuple[int, int]:
    if v == 0:
        return (0, 0)
    if v == "<5":
        return (1, 4)
    return (max(5, v - 2), v + 2)  # consistent rounding to the nearest 5


def test_overlapping_windows_pin_no_suppressed_month(client: TestClient, keys,
                                                     attack_store: Store) -> None:
    """Every window of consecutive whole months is asked for, per beat; the attacker's
    interval arithmetic (W[i..j] = W[i..k] + W[k+1..j], propagated to a fixed point)
    runs on every answer given: no beat-month whose true count is 1-4 is pinned.

    (With multi-month windows answered, this attack pins dozens of beat-months of
    the test town: "<5" means at least 1 and sums are exact. Hence one period.)"""
    n = len(MONTHS)
    shown: dict[tuple[int, int], dict[str, Any]] = {}
    refused = 0
    for i in range(n):
        for j in range(i, n):
            r = client.get("/v1/counts", headers=keys["partner"], params={
                "layer": "ambulance", "unit": "boundary:beats", "area": "boundary:beats",
                "start": MONTHS[i], "end": MONTHS[j]})
            if r.status_code == 422:
                refused += 1
                continue
            assert r.status_code == 200, r.text
            shown[(i, j)] = _values(r.json())
    assert refused == n * (n - 1) // 2 and len(shown) == n
    truth = {i: _true_counts(attack_store, "boundary:beats", MONTHS[i], MONTHS[i])
             for i in range(n)}
    pinned = []
    for unit in truth[0]:
        unknown = [0, 10_000]  # what the attacker knows of a window not answered
        iv = {(i, j): list(_interval(shown[(i, j)][unit])) if (i, j) in shown else
              list(unknown) for i in range(n) for j in range(i, n)}
        for _ in range(20):
            changed = False
            for (i, j), (lo, hi) in list(iv.items()):
                for k in range(i, j):
                    a, b = iv[(i, k)], iv[(k + 1, j)]
                    # tighten the whole from its parts and each part from the whole
                    new = [(max(lo, a[0] + b[0]), min(hi, a[1] + b[1])),
                           (max(a[0], lo - b[1]), min(a[1], hi - b[0])),
                           (max(b[0], lo - a[1]), min(b[1], hi - a[0]))]
                    for target, (nlo, nhi) in zip(((i, j), (i, k), (k + 1, j)), new,
                                                  strict=True):
                        if [nlo, nhi] != iv[target]:
                            iv[target] = [nlo, nhi]
                            changed = True
                    lo, hi = iv[(i, j)]
            if not changed:
                break
        for i in range(n):
            lo, hi = iv[(i, i)]
            assert lo <= truth[i][unit] <= hi  # the arithmetic is sound
            if 1 <= truth[i][unit] <= 4 and lo == hi:
                pinned.append((unit, MONTHS[i], truth[i][unit]))
    assert not pinned, pinned


def test_category_isolation_is_refused(client: TestClient, keys, attack_store: Store) -> None:
    month = {"start": "2019-01", "end": "2019-01"}
    r = client.get("/v1/counts", headers=keys["partner"],
                   params={"layer": "ambulance", "category": "Fentanyl", "unit": "h3:8",
                           "area": "boundary:beats", **month})
    assert r.status_code == 422 and "fewer than 10" in r.json()["message"]
    ok = client.get("/v1/counts", headers=keys["partner"],
                    params={"layer": "ambulance", "category": "Suspected overdose",
                            "unit": "boundary:beats", "area": "boundary:beats", **month})
    assert ok.status_code == 200
    assert all(_is_protected(v) for v in _values(ok.json()).values())
    # the layer list names the rare category without its count
    layers = {la["name"]: la for la in client.get("/v1/layers",
                                                  headers=keys["partner"]).json()["layers"]}
    assert layers["ambulance"]["categories"]["Fentanyl"] == "<10"
    assert _is_protected(layers["ambulance"]["count"])
    assert re.fullmatch(r"\d{4}-\d{2}", layers["ambulance"]["time_min"])
    assert layers["dealing_site"]["count"] is None and layers["dealing_site"]["detail"] == \
        "nothing"
    full = {la["name"]: la for la in client.get("/v1/layers",
                                                headers=keys["analyst"]).json()["layers"]}
    assert full["ambulance"]["categories"]["Fentanyl"] == 2


def test_rates_and_totals_reveal_no_small_count(client: TestClient, keys,
                                                attack_store: Store) -> None:
    month = {"start": "2019-01", "end": "2019-01"}
    truth = _true_counts(attack_store, "boundary:beats", **month)
    crime = _true_counts(attack_store, "boundary:beats", layer="crime", **month)
    fc = client.get("/v1/hotspots", headers=keys["partner"], params={
        "layer": "crime", "unit": "boundary:beats", "area": "boundary:beats",
        "method": "count", "denominator_layer": "ambulance", **month}).json()
    for f in fc["features"]:
        p = f["properties"]
        u = p["unit_id"]
        if p["rate"] is None:
            continue
        implied = crime[u] / p["rate"]  # what the attacker rebuilds
        # the implied denominator is the protected value, never the true small one
        assert abs(implied - round(implied)) < 1e-6 and round(implied) % 5 == 0, (u, implied)
        assert not 1 <= truth[u] <= 4
    amb = _counts(client, keys["partner"], layer="ambulance", unit="boundary:beats", **month)
    for k in ("events_selected", "events_counted", "events_outside_area"):
        assert _is_protected(amb["parameters"][k]), (k, amb["parameters"][k])
    assert not any(re.search(r"\b[1-4] events\b", w) for w in amb["warnings"])


def test_saved_results_and_ogc_hold_no_health_figures(client: TestClient, keys,
                                                      attack_store: Store) -> None:
    # saved by an analyst (any window): exact figures, so never served to partners
    for name, params in (("amb", {"layer": "ambulance"}),
                         ("rate", {"layer": "crime", "denominator_layer": "ambulance"})):
        r = client.get("/v1/hotspots", headers=keys["analyst"], params={
            **params, "unit": "boundary:beats", "method": "count", "save": name})
        assert r.status_code == 200, r.text
        for role in CONTROLLED:
            assert client.get(f"/v1/results/{name}", headers=keys[role]).status_code == 403
            listed = client.get("/v1/results", headers=keys[role]).json()["results"]
            assert name not in [x["name"] for x in listed]
            ogc = client.get(f"/v1/ogc/collections/hotspots-{name}/items", headers=keys[role])
            assert ogc.status_code in (403, 404)


def test_dealing_sites_only_as_the_configured_aggregate(client: TestClient, keys,
                                                        attack_store: Store,
                                                        monkeypatch) -> None:
    params = {"layer": "dealing_site", "area": "boundary:beats", "start": "2019-01",
              "end": "2019-01"}
    assert client.get("/v1/counts", headers=keys["partner"],
                      params={**params, "unit": "h3:6"}).status_code == 403
    page = client.get("/v1/maps/hotspots", headers=keys["partner"],
                      params={"layer": "crime", "unit": "boundary:beats", "seed": 1,
                              "permutations": 99}).text
    assert "Dealing sites" not in page
    monkeypatch.setenv("REMAP_DISCLOSURE_RESTRICTED_H3_RESOLUTION", "6")
    get_settings.cache_clear()
    try:
        assert client.get("/v1/counts", headers=keys["partner"],
                          params={**params, "unit": "h3:7"}).status_code == 422
        ok = client.get("/v1/counts", headers=keys["partner"], params={**params, "unit": "h3:6"})
        assert ok.status_code == 200
        assert all(_is_protected(v) for v in _values(ok.json()).values())
        # a res-6 cell is ~36 km2: no site is located finer than that
        cells = [f["properties"]["unit_id"] for f in ok.json()["features"]]
        assert cells and all(h3.get_resolution(c) == 6 for c in cells)
    finally:
        get_settings.cache_clear()


def test_truth_is_not_in_the_protected_answers(attack_store: Store) -> None:
    """Sanity check of the attack fixtures: the town has beats with 1-4 call-outs, so
    the attacks above had something to find."""
    truth = _true_counts(attack_store, "boundary:beats", "2019-01", "2019-01")
    assert any(1 <= v <= 4 for v in truth.values())
    assert np.isfinite(pd.Series(truth).sum())
