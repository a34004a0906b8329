"""``GET /v1/profile`` over the real store: figures on a small police.uk file, and
disclosure control (partners get no places of health layers, small counts protected)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from service.store import Store
from tests.service.api.test_api import SMALL, import_ambulance, upload


def test_profile_of_the_small_police_uk_file(client: TestClient, keys) -> None:
    upload(client, keys["analyst"], SMALL)
    r = client.get("/v1/profile", headers=keys["partner"],
                   params={"layer": "crime", "unit": "h3:8", "top": 3})
    assert r.status_code == 200, r.text
    p = r.json()
    # 5 located rows: 2 anti-social behaviour at one point of Jack Close Orchard
    assert p["events"] == 5
    assert p["top_streets"][0] == {"street": "Jack Close Orchard", "count": 2, "share": 0.4}
    assert len(p["top_streets"]) == 3 and p["streets"] == 4
    assert p["repeat_locations"] == [{"lon": -1.451664, "lat": 53.599163,
                                      "street": "Jack Close Orchard", "count": 2, "share": 0.4}]
    assert p["trend"] == {"months": ["2018-10"], "counts": [5]}
    assert p["day_of_week"] is None and p["hour"] is None
    assert "month only" in p["time_statement"]
    assert p["concentration"]["streets"]["units"] == 4
    assert p["concentration"]["units"]["events"] == 5
    assert p["parameters"]["top"] == 3 and p["withheld"] == []
    drugs = client.get("/v1/profile", headers=keys["analyst"],
                       params={"layer": "crime", "unit": "h3:8", "category": "Drugs"}).json()
    assert drugs["events"] == 3 and drugs["repeat_locations"] == []
    assert {s["street"] for s in drugs["top_streets"]} == {"Main Road", "Station Road",
                                                            "Fargate"}


def test_profile_bad_parameters_name_the_field(client: TestClient, keys) -> None:
    upload(client, keys["analyst"], SMALL)
    r = client.get("/v1/profile", headers=keys["analyst"],
                   params={"layer": "crime", "unit": "hex:9"})
    assert r.status_code == 422 and "unit" in r.json()["message"]
    r = client.get("/v1/profile", headers=keys["analyst"],
                   params={"layer": "crime", "unit": "h3:8", "top": 0})
    assert r.status_code == 422
    assert client.get("/v1/profile", headers=keys["analyst"],
                      params={"layer": "nope", "unit": "h3:8"}).status_code == 404
    assert client.get("/v1/profile", params={"layer": "crime", "unit": "h3:8"}
                      ).status_code == 401


def test_partners_get_no_places_of_a_health_layer(client: TestClient, keys,
                                                  store: Store) -> None:
    assert import_ambulance(client, keys["analyst"]).status_code == 200
    # analysts: every figure; day-precision times give a day of week
    a = client.get("/v1/profile", headers=keys["analyst"],
                   params={"layer": "ambulance", "unit": "h3:8"}).json()
    assert a["events"] == 4
    # 2019-01-05 Sat (2 calls), 01-06 Sun, 01-07 Mon
    assert a["day_of_week"]["counts"] == [1, 0, 0, 0, 0, 2, 1]
    assert a["repeat_locations"] is not None and a["events_without_street"] == 4
    # partners: the counts gate first (one calendar month, the fixed H3 resolution)
    r = client.get("/v1/profile", headers=keys["partner"],
                   params={"layer": "ambulance", "unit": "h3:7"})
    assert r.status_code == 422
    r = client.get("/v1/profile", headers=keys["partner"],
                   params={"layer": "ambulance", "unit": "h3:8"})
    assert r.status_code == 422 and "calendar month" in r.json()["message"]
    before = len(store.audit_entries("read_aggregate"))
    r = client.get("/v1/profile", headers=keys["partner"],
                   params={"layer": "ambulance", "unit": "h3:8", "start": "2019-01",
                           "end": "2019-01"})
    assert r.status_code == 200, r.text
    p = r.json()
    for withheld in ("top_streets", "streets", "repeat_locations", "repeat_location_count",
                     "events_at_repeat_locations", "concentration"):
        assert p[withheld] is None, withheld
    assert p["withheld"] and "partner" in p["withheld"][0]
    # every count shown is protected: 4 events are "<5", never 4 or 1 or 2
    assert p["events"] == "<5" and p["trend"]["counts"] == ["<5"]
    assert set(p["day_of_week"]["counts"]) <= {0, "<5"}
    assert p["parameters"]["events_profiled"] == "<5"
    assert "<5" in p["parameters"]["events_counted"]
    # no exact count in the words either (the analyst's statement says "4 of 4 events")
    assert "4" in a["time_statement"]
    words = " ".join([p["time_statement"], *p["withheld"]])
    assert not any(ch.isdigit() for ch in words), words
    assert not any("4 events" in w for w in p["warnings"])
    # the read of a health layer is audited, as for counts
    assert len(store.audit_entries("read_aggregate")) > before


def test_profile_page_and_trend_svg(client: TestClient, keys) -> None:
    from xml.etree import ElementTree

    upload(client, keys["analyst"], SMALL)
    params = {"layer": "crime", "unit": "h3:8"}
    page = client.get("/v1/profile/page", headers=keys["partner"], params=params)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Jack Close Orchard" in page.text and "<svg" in page.text
    assert "<script" not in page.text
    # the trend chart is inline SVG in the page: one bar, one month
    svg = page.text[page.text.index("<svg"):page.text.index("</svg>") + len("</svg>")]
    root = ElementTree.fromstring(svg)
    bars = [e for e in root.iter("{http://www.w3.org/2000/svg}rect") if e.get("class") == "bar"]
    assert len(bars) == 1
    assert client.get("/v1/profile/page", params=params).status_code == 401
