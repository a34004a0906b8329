"""Categories over the API: matched in any case, an unknown one a 422 with suggestions."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.service.api.test_api import SMALL, upload


def test_counts_and_events_match_categories_in_any_case(client: TestClient, keys) -> None:
    h = keys["analyst"]
    upload(client, h, SMALL)
    exact = client.get("/v1/counts", headers=h,
                       params={"layer": "crime", "category": "Drugs", "unit": "h3:7"}).json()
    lower = client.get("/v1/counts", headers=h,
                       params={"layer": "crime", "category": "drugs", "unit": "h3:7"}).json()
    assert lower["parameters"]["events_counted"] == exact["parameters"]["events_counted"] == 3
    assert lower["parameters"]["categories"] == ["Drugs"]
    r = client.get("/v1/events", headers=h, params={"category": "DRUGS"}).json()
    assert r["numberMatched"] == 3


def test_unknown_category_is_refused_with_suggestions(client: TestClient, keys) -> None:
    h = keys["analyst"]
    upload(client, h, SMALL)
    for path, extra in (("/v1/counts", {"layer": "crime", "unit": "h3:7"}),
                        ("/v1/hotspots", {"layer": "crime", "unit": "h3:7"}),
                        ("/v1/events", {})):
        r = client.get(path, headers=h, params={**extra, "category": "drug"})
        assert r.status_code == 422, (path, r.text)
        body = r.json()
        assert body["details"]["parameter"] == "category"
        assert "'Drugs'" in body["message"], body["message"]


def test_no_category_names_of_a_withheld_layer_in_errors(client: TestClient, keys,
                                                          town_store) -> None:
    names = list(town_store.layer_categories("dealing_site"))
    assert names
    r = client.get("/v1/counts", headers=keys["partner"],
                   params={"layer": "dealing_site", "category": names[0][:-1].lower(),
                           "unit": "boundary:beats"})
    assert r.status_code in (403, 422), r.text
    assert not any(n in r.text for n in names), r.text
    # an analyst is told the near miss
    r = client.get("/v1/counts", headers=keys["analyst"],
                   params={"layer": "dealing_site", "category": names[0][:-1].lower(),
                           "unit": "boundary:beats"})
    assert r.status_code == 422 and repr(names[0]) in r.json()["message"]


def test_operation_layers_match_categories_and_refuse_unknown_ones(client: TestClient, keys,
                                                                   store, tmp_path) -> None:
    from tests.service.api.test_operations_api import definition, load

    t = load(store, tmp_path, scale=0.1)
    h = keys["analyst"]
    body = definition(t, layers=[{"layer": "crime", "category": "drugs", "role": "output"},
                                 {"layer": "crime", "category": "ANTI-SOCIAL BEHAVIOUR+drugs",
                                  "role": "outcome"}])
    r = client.post("/v1/operations/plan", headers=h, json=body)
    assert r.status_code == 200, r.text
    r = client.post("/v1/operations", headers=h, json=body)
    assert r.status_code == 201, r.text
    stored = client.get(f"/v1/operations/{r.json()['id']}", headers=h).json()
    assert [la["category"] for la in stored["definition"]["layers"]] == [
        "Drugs", "Anti-social behaviour+Drugs"]
    body["layers"][0]["category"] = "drug"
    r = client.post("/v1/operations", headers=h, json=body)
    assert r.status_code == 422
    assert r.json()["details"]["parameter"] == "layers[0].category"
    assert "'Drugs'" in r.json()["message"]
