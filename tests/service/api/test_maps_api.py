"""Maps and packs over the API: offline assets, layers, and disclosure for partners
(inspecting the served HTML and the GeoJSON embedded in it)."""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi.testclient import TestClient

from service.store import EventFilter, Store

MAP_PARAMS = {"layer": "crime", "category": "Drugs", "unit": "boundary:beats", "seed": 3,
              "permutations": 99}



def embedded_collections(page: str) -> list[dict[str, Any]]:
    """Every GeoJSON FeatureCollection folium embedded in the page."""
    out = []
    decoder = json.JSONDecoder()
    for m in re.finditer(r"\(\s*(?=\{)", page):
        try:
            obj, _ = decoder.raw_decode(page, m.end())
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict) and obj.get("type") == "FeatureCollection":
            out.append(obj)
    return out


def sensitive_coordinates(store: Store) -> list[str]:
    pts = store.query_events(EventFilter(layers=("ambulance", "dealing_site")))
    return [json.dumps(float(v)) for v in pts["lon"]] + [json.dumps(float(v))
                                                          for v in pts["lat"]]


def test_analyst_map_has_every_layer_and_no_cdn(client: TestClient, keys,
                                                town_store: Store) -> None:
    r = client.get("/v1/maps/hotspots", headers=keys["analyst"], params=MAP_PARAMS)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = r.text
    for name in ("Counts: crime (Drugs)", "Getis-Ord Gi* hot and cold spots",
                 "Local Moran clusters (LISA)", "Kernel density", "Monthly counts (time slider)",
                 "Boundaries: beats", "Dealing sites (intelligence: restricted)"):
        assert name in page, name
    urls = re.findall(r"""(?:src|href)=["'](https?://[^"']+)""", page)
    assert urls == [], urls
    assets = re.findall(r"""(?:src|href)=["'](/static/vendor/[^"']+)""", page)
    assert assets
    for a in set(assets):
        assert client.get(a).status_code == 200, a


def test_partner_map_and_pack_hold_no_sensitive_points_or_small_counts(
        client: TestClient, keys, town_store: Store) -> None:
    coords = sensitive_coordinates(town_store)
    pages = {
        "crime map": client.get("/v1/maps/hotspots", headers=keys["partner"],
                                params=MAP_PARAMS).text,
        "ambulance map": client.get("/v1/maps/hotspots", headers=keys["partner"],
                                    params={"layer": "ambulance", "unit": "h3:8",
                                            "area": "boundary:beats", "start": "2019-01",
                                            "end": "2019-01"}).text,
        "pack": client.get("/v1/packs/area", headers=keys["partner"], params=MAP_PARAMS).text,
    }
    for what, page in pages.items():
        assert "Dealing sites (intelligence: restricted)" not in page, what
        leaked = [c for c in coords if c in page]
        assert not leaked, (what, leaked[:5])
        collections = embedded_collections(page.replace("&quot;", '"'))
        assert collections, what
        for fc in collections:
            for f in fc["features"]:
                p = f["properties"]
                assert f["geometry"]["type"] != "Point", what
                # the map builder keeps a tooltip naming the layer of each feature
                tip = str(p.get("_remap_tooltip", ""))
                ambulance = "Dealing sites" not in tip and (
                    "Ambulance" in tip or what == "ambulance map")
                if ambulance:
                    for v in [p.get("count"), *(p.get("months") or {}).values()]:
                        assert not (isinstance(v, int) and 1 <= v <= 4), (what, p)
    amb = pages["ambulance map"]
    assert "Getis-Ord" not in amb  # no unit statistics of health data for partners


def test_analyst_sees_ambulance_counts_unsuppressed(client: TestClient, keys,
                                                    town_store: Store) -> None:
    page = client.get("/v1/maps/hotspots", headers=keys["analyst"],
                      params={"layer": "ambulance", "unit": "h3:8",
                              "area": "boundary:beats", "permutations": 99}).text
    counts = [f["properties"].get("count") for fc in embedded_collections(page.replace("&quot;", "\""))
              for f in fc["features"]]
    assert any(isinstance(v, int) and 1 <= v <= 4 for v in counts)


def test_operation_map_and_pack_per_role(client: TestClient, keys, store: Store,
                                         tmp_path) -> None:
    from tests.service.api.test_operations_api import definition, load

    t = load(store, tmp_path, scale=0.15)
    op = client.post("/v1/operations", headers=keys["analyst"], json=definition(t)).json()
    coords = sensitive_coordinates(store)
    # partners see an operation only once it is started and shared
    assert client.get(f"/v1/maps/operations/{op['id']}", headers=keys["partner"]
                      ).status_code == 404
    assert client.get(f"/v1/operations/{op['id']}/pack", headers=keys["partner"]
                      ).status_code == 404
    assert client.post(f"/v1/operations/{op['id']}/start", headers=keys["analyst"]
                       ).status_code == 200
    assert client.post(f"/v1/operations/{op['id']}/share", headers=keys["analyst"]
                       ).status_code == 200
    for role in ("analyst", "partner"):
        m = client.get(f"/v1/maps/operations/{op['id']}", headers=keys[role])
        pack = client.get(f"/v1/operations/{op['id']}/pack", headers=keys[role])
        assert m.status_code == 200 and pack.status_code == 200, (m.text[:300], pack.text[:300])
        assert "Operation: target, buffer, control" in m.text
        assert "Bottom line" in pack.text and "Key figures" in pack.text
        assert "Counts" in pack.text
        if role == "partner":
            for page in (m.text, pack.text):
                assert "Dealing sites (intelligence: restricted)" not in page
                assert not [c for c in coords if c in page]
                for fc in embedded_collections(page.replace("&quot;", '"')):
                    for f in fc["features"]:
                        tip = str(f["properties"].get("_remap_tooltip", ""))
                        if "Ambulance" in tip:
                            v = f["properties"].get("count")
                            assert not (isinstance(v, int) and 1 <= v <= 4)
            # the pack's count tables: ambulance rows never show 1-4
            rows = re.findall(r"<tr><td>ambulance/\*</td><td>\w+</td>(.*?)</tr>", pack.text)
            assert rows
            for row in rows:
                cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
                assert all(c in ("0", "&lt;5") or int(c.replace(",", "")) >= 5 for c in cells)
    # ?layer= picks the mapped layer; a layer the operation lacks is a 422 naming its layers
    asb = client.get(f"/v1/operations/{op['id']}/pack",
                     params={"layer": "crime/Anti-social behaviour"}, headers=keys["analyst"])
    assert asb.status_code == 200 and "crime/Anti-social behaviour after, per 30 days" in asb.text
    bad = client.get(f"/v1/maps/operations/{op['id']}", params={"layer": "crime/Burglary"},
                     headers=keys["analyst"])
    assert bad.status_code == 422 and "crime/Drugs" in bad.text and "layer" in bad.text
    # a partner may not map the health layer at all
    amb = client.get(f"/v1/operations/{op['id']}/pack", params={"layer": "ambulance/*"},
                     headers=keys["partner"])
    assert amb.status_code == 422 and "suppressed" in amb.text


def test_area_pack_carries_the_problem_profile_as_the_role_may_see_it(
        client: TestClient, keys, town_store: Store) -> None:
    crime = client.get("/v1/packs/area", headers=keys["analyst"], params=MAP_PARAMS)
    assert crime.status_code == 200, crime.text
    for title in ("Problem profile: trend", "Problem profile: top streets",
                  "Problem profile: repeat locations", "Problem profile: concentration"):
        assert title in crime.text, title
    amb = client.get("/v1/packs/area", headers=keys["partner"],
                     params={"layer": "ambulance", "unit": "h3:8", "area": "boundary:beats",
                             "start": "2019-01", "end": "2019-01"})
    assert amb.status_code == 200, amb.text
    assert "Problem profile: trend" in amb.text
    assert "Problem profile: places" in amb.text
    assert "Problem profile: top streets" not in amb.text
    assert "Problem profile: repeat locations" not in amb.text
