"""``GET /v1/hotspots/emerging`` (and its map) over the real store: the small synthetic
town, both backends; disclosure (no categories of a health layer for partners), refusals
that name the field, and the CLI ``remap emerging``."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient

from service.app.emerging import demo_emerging
from service.store import Store
from spatial.stats.emerging import (
    CATEGORIES,
    PATTERN_NAMES,
    SF_CATEGORIES,
    default_permutations,
)

DRUGS = {"layer": "crime", "category": "Drugs", "unit": "h3:9", "area": "boundary:beats",
         "seed": 1}


def test_emerging_drugs_on_h3(client: TestClient, keys, town_store: Store) -> None:
    r = client.get("/v1/hotspots/emerging", headers=keys["analyst"], params=DRUGS)
    assert r.status_code == 200, r.text
    fc = r.json()
    p = fc["parameters"]
    # police.uk-like months: monthly steps, said so
    assert p["step"] == "month" and "month-precision" in p["step_reason"]
    assert any("monthly steps" in w for w in fc["warnings"])
    assert p["steps"] == len(p["step_labels"]) >= 10
    assert p["cube_shape"] == [p["units"], p["steps"]] and len(fc["features"]) == p["units"]
    # enough draws for a lone bin to pass BH at 0.05 over every bin
    assert p["inference"] == "randomization"
    assert p["permutations"] == default_permutations(p["bins"], 0.05, "fdr_bh") > 49_999
    assert p["seed"] == 1 and p["correction"] == "fdr_bh" and p["alpha"] == 0.05
    assert p["time_steps"] == 1 and p["neighbours"] == "H3 grid_disk k=1"
    assert sum(p["category_counts"].values()) == p["units"]
    total = 0
    for f in fc["features"]:
        q = f["properties"]
        assert q["category"] in CATEGORIES and q["pattern"] == PATTERN_NAMES[q["category"]]
        assert len(q["counts"]) == len(q["bins"]) == p["steps"]
        assert q["count"] == sum(q["counts"])
        assert q["hot_steps"] == q["bins"].count(1) and q["cold_steps"] == q["bins"].count(-1)
        total += q["count"]
    assert total == p["events_in_cube"]
    # the same seed gives the same answer
    again = client.get("/v1/hotspots/emerging", headers=keys["analyst"], params=DRUGS).json()
    assert [f["properties"]["category"] for f in again["features"]] == \
        [f["properties"]["category"] for f in fc["features"]]


def test_sfhotspot_scheme(client: TestClient, keys, town_store: Store) -> None:
    r = client.get("/v1/hotspots/emerging", headers=keys["analyst"],
                   params={**DRUGS, "scheme": "sfhotspot"})
    assert r.status_code == 200, r.text
    fc = r.json()
    assert fc["parameters"]["scheme"] == "sfhotspot"
    assert {f["properties"]["category"] for f in fc["features"]} <= set(SF_CATEGORIES)
    r = client.get("/v1/hotspots/emerging", headers=keys["analyst"],
                   params={**DRUGS, "scheme": "esri"})
    assert r.status_code == 422 and "scheme" in r.json()["message"]


def test_emerging_refusals_name_the_field(client: TestClient, keys, town_store: Store) -> None:
    h = keys["analyst"]
    r = client.get("/v1/hotspots/emerging", headers=h, params={**DRUGS, "step": "week"})
    assert r.status_code == 422 and r.json()["details"]["parameter"] == "step"
    assert "precision" in r.json()["message"]
    r = client.get("/v1/hotspots/emerging", headers=h, params={**DRUGS, "step": "fortnight"})
    assert r.status_code == 422 and "step" in r.json()["message"]
    r = client.get("/v1/hotspots/emerging", headers=h,
                   params={**DRUGS, "start": "2018-07", "end": "2018-12"})
    assert r.status_code == 422 and r.json()["details"]["parameter"] == "step"
    assert "at least 10" in r.json()["message"]
    r = client.get("/v1/hotspots/emerging", headers=h, params={**DRUGS, "time_steps": 20})
    assert r.status_code == 422 and "time_steps" in r.json()["message"]


def test_partners_get_no_categories_of_a_health_layer(client: TestClient, keys,
                                                      town_store: Store) -> None:
    params = {"layer": "ambulance", "unit": "h3:8", "area": "boundary:beats", "seed": 2}
    r = client.get("/v1/hotspots/emerging", headers=keys["partner"], params=params)
    assert r.status_code == 403 and "protected counts" in r.json()["message"]
    assert client.get("/v1/hotspots/emerging/map", headers=keys["viewer"],
                      params=params).status_code == 403
    # analysts: day-precision call-outs get a step chosen from the span
    a = client.get("/v1/hotspots/emerging", headers=keys["analyst"], params=params)
    assert a.status_code == 200, a.text
    assert a.json()["parameters"]["time_precision"] == "day"
    assert a.json()["parameters"]["step"] in ("week", "28d", "month", "quarter")
    # partners may have the open layer
    assert client.get("/v1/hotspots/emerging", headers=keys["partner"],
                      params=DRUGS).status_code == 200


def test_emerging_map_page(client: TestClient, keys, town_store: Store) -> None:
    r = client.get("/v1/hotspots/emerging/map", headers=keys["analyst"], params=DRUGS)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = r.text
    assert "Emerging hot spots" in page and "No Pattern Detected" in page
    assert "total randomisation" in page


def test_cli_emerging(run, town_store: Store, tmp_path: Path) -> None:
    html, geo = tmp_path / "e.html", tmp_path / "e.geojson"
    res = run("emerging", "--layer", "crime", "--category", "Drugs", "--unit", "h3:9",
              "--area", "boundary:beats", "--seed", "3", "--html", str(html),
              "--geojson", str(geo))
    assert res.exit_code == 0, res.output
    assert "month steps" in res.output and "categories:" in res.output
    assert "no pattern" in res.output
    fc = json.loads(geo.read_text())
    assert fc["parameters"]["seed"] == 3 and "Emerging hot spots" in html.read_text()
    res = run("emerging", "--layer", "crime", "--category", "Drugs", "--unit", "h3:9",
              "--area", "boundary:beats", "--step", "28d")
    assert res.exit_code == 2 and "step" in res.output
    res = run("emerging", "--layer", "crime", "--category", "Drugs", "--unit", "h3:9",
              "--area", "boundary:beats", "--seed", "3", "--permutations", "0", "--json")
    assert res.exit_code == 0
    out = json.loads(res.stdout)
    assert out["parameters"]["inference"] == "normal"
    assert any("normal-theory" in w for w in out["warnings"])


def test_demo_hook(town_store: Store, tmp_path: Path) -> None:
    said: list[str] = []
    out = demo_emerging(town_store, tmp_path, said.append)
    assert set(out) == {"ambulance", "crime"}
    assert out["crime"]["step"] == "month" and out["ambulance"]["unit"] == "grid:500"
    for v in out.values():
        assert Path(v["html"]).exists() and Path(v["geojson"]).exists()
        assert sum(v["category_counts"].values()) > 0
    assert len(said) == 2 and all("emerging hot spots" in s for s in said)
