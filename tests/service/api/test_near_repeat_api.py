"""``GET /v1/nearrepeat`` on the synthetic town: the table, its disclosure rules, refusals
and the page."""

from __future__ import annotations

from typing import Any

import numpy as np
from fastapi.testclient import TestClient

from service.app.importer import ImportReport, store_events
from service.store import Store
from spatial.synthetic.town import build_town

TOWN = {"layer": "ambulance", "area": "boundary:beats", "seed": 5, "permutations": 199}


def _open_copy(store: Store) -> None:
    """The town's ambulance call-outs again as an open layer (day precision)."""
    frame = build_town(7, scale=0.15).events["ambulance"].copy()
    frame["layer"] = "needle_find"
    frame["sensitivity"] = "open"
    store_events(store, frame, ImportReport(layer="needle_find", format="synthetic"),
                 timings={}, file_names=["needle_find"], actor="test")


def test_analyst_gets_the_table_and_the_read_is_audited(client: TestClient, keys,
                                                        town_store: Store) -> None:
    before = len(town_store.audit_entries("read_aggregate"))
    r = client.get("/v1/nearrepeat", headers=keys["analyst"],
                   params={**TOWN, "distance_band": 400, "distance_bands": 3})
    assert r.status_code == 200, r.text
    t: dict[str, Any] = r.json()
    assert t["pattern"] in ("near_repeat", "repeat_only", "none")
    assert len(t["cells"]) == 5 and all(len(row) == 6 for row in t["cells"])
    observed = np.array([[c["observed"] for c in row] for row in t["cells"]])
    assert observed.sum() == t["pairs"] == t["events"] * (t["events"] - 1) // 2
    p = t["parameters"]
    assert p["seed"] == 5 and p["permutations"] == 199 and p["correction"] == "fdr_bh"
    assert p["crs"] == "EPSG:27700" and p["metric"] == "euclidean"
    assert p["events_analysed"] == t["events"] > 0
    assert [b["label"] for b in t["distance_bands"]][:2] == ["same location", "up to 400 m"]
    assert any("rounded" in w for w in t["warnings"])
    assert len(town_store.audit_entries("read_aggregate")) > before
    # the same seed gives the same table
    again = client.get("/v1/nearrepeat", headers=keys["analyst"],
                       params={**TOWN, "distance_band": 400, "distance_bands": 3}).json()
    assert again["cells"] == t["cells"]


def test_controlled_roles_get_no_table_of_protected_layers(client: TestClient, keys,
                                                           town_store: Store) -> None:
    for role in ("partner", "viewer"):
        for layer in ("ambulance", "dealing_site"):
            r = client.get("/v1/nearrepeat", headers=keys[role], params={**TOWN, "layer": layer})
            assert r.status_code == 403, r.text
            body = r.json()
            assert body["error"] == "forbidden" and "pairs of events" in body["message"]
            assert "cells" not in body
        page = client.get("/v1/nearrepeat/page", headers=keys[role], params=TOWN)
        assert page.status_code == 403


def test_open_layers_are_answered_for_every_role(client: TestClient, keys,
                                                 town_store: Store) -> None:
    _open_copy(town_store)
    params = {**TOWN, "layer": "needle_find"}
    tables = [client.get("/v1/nearrepeat", headers=keys[role], params=params)
              for role in ("partner", "analyst")]
    assert all(t.status_code == 200 for t in tables), tables[0].text
    assert tables[0].json()["cells"] == tables[1].json()["cells"]


def test_month_precision_and_bad_parameters_are_422(client: TestClient, keys,
                                                    town_store: Store) -> None:
    r = client.get("/v1/nearrepeat", headers=keys["analyst"], params={**TOWN, "layer": "crime"})
    assert r.status_code == 422
    body = r.json()
    assert body["details"]["parameter"] == "time_precision" and "'month'" in r.text
    for bad in ({"distance_band": 0}, {"time_band": 0}, {"metric": "chebyshev"},
                {"permutations": 5}, {"alpha": 1}):
        r = client.get("/v1/nearrepeat", headers=keys["analyst"], params={**TOWN, **bad})
        assert r.status_code == 422, (bad, r.text)
        assert next(iter(bad)) in r.text
    assert client.get("/v1/nearrepeat", params=TOWN).status_code == 401
    r = client.get("/v1/nearrepeat", headers=keys["analyst"], params={**TOWN, "layer": "nope"})
    assert r.status_code == 404


def test_page_is_the_nrc_layout(client: TestClient, keys, town_store: Store) -> None:
    r = client.get("/v1/nearrepeat/page", headers=keys["analyst"], params=TOWN)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    assert "Knox ratio" in html and "same location" in html and "more than 35 days" in html
    assert "<script" not in html
