"""Places by name through the CLI and the API: listing a set's units, naming them in
areas and targets, and the names H3 cells carry (boundary unit and main street)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.app.importer import import_boundaries, import_events
from service.store import Store

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
#: East holds 3 events on Main Road and 1 on Station Road at one point; West 2 Drugs
#: events on Fargate and 2 burglaries on High Street at another.
EVENTS = FIXTURES / "policeuk_streets.csv"
BEATS = FIXTURES / "boundaries" / "named_beats.geojson"


@pytest.fixture
def named(store: Store) -> Store:
    import_events(store, [(EVENTS.name, EVENTS)], fmt="policeuk", layer="crime")
    import_boundaries(store, BEATS, file_name=BEATS.name, name="beats", id_field="beat",
                      label_field="name")
    return store


def test_boundaries_units_lists_ids_and_names(run, named: Store) -> None:
    r = run("boundaries", "units", "beats")
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0].startswith("boundary set beats v1: 2 units")
    assert [line.split()[:2] for line in lines[1:]] == [["E", "East"], ["W", "West"]]
    data = json.loads(run("boundaries", "units", "beats", "--json").stdout)
    assert data["boundary_set"]["name"] == "beats"
    assert [(u["unit_id"], u["label"]) for u in data["units"]] == [("E", "East"), ("W", "West")]
    assert all(u["area_km2"] > 0 for u in data["units"])
    r = run("boundaries", "units", "nope")
    assert r.exit_code == 2 and "boundary set 'nope' does not exist" in r.output


def test_cells_are_named_by_unit_and_main_street(run, named: Store) -> None:
    fc = json.loads(run("counts", "--layer", "crime", "--category", "Drugs", "--unit", "h3:7",
                        "--area", "boundary:beats", "--json").stdout)
    named_counts = sorted((f["properties"]["label"], f["properties"]["count"])
                          for f in fc["features"] if f["properties"]["count"])
    assert named_counts == [("East · near Main Road", 4), ("West · near Fargate", 2)]
    # the burglaries' street names the West cell when they are what is counted
    fc = json.loads(run("counts", "--layer", "crime", "--unit", "h3:7", "--area",
                        "boundary:beats:west", "--json").stdout)
    labels = {f["properties"]["label"] for f in fc["features"] if f["properties"]["count"]}
    assert labels == {"West · near Fargate"}  # 2 Fargate, 2 High Street: alphabetical first
    fc = json.loads(run("counts", "--layer", "crime", "--category", "Burglary", "--unit",
                        "h3:7", "--area", "boundary:beats:W", "--json").stdout)
    assert {f["properties"]["label"] for f in fc["features"]
            if f["properties"]["count"]} == {"West · near High Street"}


def test_areas_take_names_and_a_near_miss_suggests(run, named: Store) -> None:
    fc = json.loads(run("counts", "--layer", "crime", "--unit", "boundary:beats", "--area",
                        "boundary:beats:EAST", "--json").stdout)
    assert [(f["properties"]["unit_id"], f["properties"]["count"])
            for f in fc["features"]] == [("E", 4)]
    r = run("counts", "--layer", "crime", "--unit", "h3:7", "--area", "boundary:beats:Eats")
    assert r.exit_code == 2
    assert "'Eats' is neither a unit id nor a unit name; did you mean 'East'?" in r.output


def test_operation_target_and_control_by_name(run, named: Store) -> None:
    args = ["operation", "create", "--name", "by name", "--buffer", "200",
            "--before", "2018-10/2018-10", "--after", "2018-11/2018-11",
            "--layer", "crime:Drugs:output", "--control", "boundary:beats:WEST"]
    r = run(*args, "--target", "boundary:beats:east", "--json")
    assert r.exit_code == 0, r.output
    op = json.loads(r.stdout)
    assert (op["resolved"]["target"]["units"], op["resolved"]["target"]["labels"]) == (
        ["E"], ["East"])
    assert op["resolved"]["control"]["units"] == ["W"]
    r = run(*args, "--target", "boundary:beats:Easte")
    assert r.exit_code == 2 and "target" in r.output and "did you mean 'East'" in r.output


def test_api_lists_units_and_takes_names(client: TestClient, keys, named: Store) -> None:
    r = client.get("/v1/boundaries/beats/units", headers=keys["viewer"])
    assert r.status_code == 200, r.text
    assert [(u["unit_id"], u["label"]) for u in r.json()["units"]] == [("E", "East"),
                                                                       ("W", "West")]
    assert client.get("/v1/boundaries/nope/units", headers=keys["viewer"]).status_code == 404
    r = client.get("/v1/counts", headers=keys["analyst"],
                   params={"layer": "crime", "unit": "h3:7", "area": "boundary:beats:east"})
    assert r.status_code == 200, r.text
    assert {f["properties"]["label"] for f in r.json()["features"]
            if f["properties"]["count"]} == {"East · near Main Road"}
    r = client.get("/v1/counts", headers=keys["analyst"],
                   params={"layer": "crime", "unit": "h3:7", "area": "boundary:beats:Wset"})
    assert r.status_code == 422
    assert "did you mean 'West'" in r.text


def test_no_street_names_a_protected_layer(named: Store) -> None:
    from service.app.analysis import CountsRequest, counts_collection

    import_events(named, [(EVENTS.name, EVENTS)], fmt="policeuk", layer="ambulance")
    req = CountsRequest.parse(layer="ambulance", unit="h3:8", area="boundary:beats",
                              start="2018-11", end="2018-11")

    def labels(role: str) -> set[str]:
        fc = counts_collection(named, req, role=role)
        return {f["properties"]["label"] for f in fc["features"] if f["properties"]["count"]}

    assert labels("analyst") == {"East · near Main Road", "West · near High Street"}
    # a street would place health events more finely than protected counts may
    assert labels("partner") == {"East", "West"}


def test_gi_star_top_list_sorts_by_z_not_id(run, town_store: Store) -> None:
    args = ["hotspots", "--layer", "crime", "--category", "Drugs", "--unit", "h3:9",
            "--area", "boundary:beats", "--seed", "1", "--permutations", "999",
            "--correction", "none"]
    fc = json.loads(run(*args, "--json").stdout)
    hot = [f["properties"] for f in fc["features"] if f["properties"]["Gi_Bin"] > 0]
    assert len(hot) >= 3, "the planted markets must give hot cells"
    expected = sorted(hot, key=lambda p: (-p["Gi_Bin"], -p["GiZScore"]))[:10]
    lines = [line.split() for line in run(*args).output.splitlines()
             if line.startswith("  8") and " z " in line]
    assert [w[0] for w in lines] == [p["unit_id"] for p in expected]
    assert [w[0] for w in lines] != sorted(w[0] for w in lines)  # not id order
    # each town cell carries its beat's name
    assert all(p["label"] for p in hot)
