"""Harm indices over the API and the CLI: the shipped tables, and an operation's report with
a harm section (synthetic town, SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.store import Store
from spatial.evaluation.harm_index import POLICE_UK_CATEGORIES, load_harm_table
from tests.service.api.test_operations_api import definition, load


def test_list_and_read_the_shipped_indices(client: TestClient, keys) -> None:
    assert client.get("/v1/harm-indices").status_code == 401
    r = client.get("/v1/harm-indices", headers=keys["viewer"])
    assert r.status_code == 200, r.text
    by_name = {i["name"]: i for i in r.json()["indices"]}
    assert set(by_name) == {"cchi", "css"}
    assert "cambridge-ebp.co.uk" in by_name["cchi"]["source"]
    assert "ons.gov.uk" in by_name["css"]["source"]
    full = client.get("/v1/harm-indices/cchi", headers=keys["viewer"]).json()
    mapped = {r["police_uk_category"] for r in full["police_uk"]}
    excluded = {r["police_uk_category"] for r in full["excluded"]}
    assert mapped | excluded == set(POLICE_UK_CATEGORIES)
    assert excluded == {"Anti-social behaviour"}
    assert set(full["police_generated"]) == {"Drugs", "Possession of weapons"}
    assert full["meta"]["stored_copy"]
    gone = client.get("/v1/harm-indices/nope", headers=keys["viewer"])
    assert gone.status_code == 404 and "cchi, css" in gone.json()["message"]
    assert client.get("/v1/harm-indices/..%2Fetc", headers=keys["viewer"]).status_code in (
        404, 422)


def test_report_with_a_harm_index(client: TestClient, keys, store: Store,
                                  tmp_path: Path) -> None:
    t = load(store, tmp_path)
    layers = [{"layer": "crime", "category": "*", "role": "outcome"},
              {"layer": "crime", "category": "Drugs", "role": "output"},
              {"layer": "ambulance", "category": "*", "role": "outcome"}]
    op = client.post("/v1/operations", headers=keys["analyst"],
                     json=definition(t, layers=layers)).json()
    url = f"/v1/operations/{op['id']}/report"
    plain = client.get(url, headers=keys["analyst"]).json()
    assert "harm" not in plain
    rep = client.get(url, params={"harm_index": "cchi"}, headers=keys["analyst"])
    assert rep.status_code == 200, rep.text
    harm = rep.json()["harm"]
    assert harm["index"] == "cchi" and "February 2026" in harm["version"]
    cchi = load_harm_table("cchi")
    weights = {w["key"]: w["weight"] for w in harm["weights"]}
    assert weights == {f"crime/{c}": cchi.categories[c].weight for c in (
        "Burglary", "Criminal damage and arson", "Other theft", "Public order", "Shoplifting",
        "Vehicle crime", "Violence and sexual offences")}
    excluded = {e["key"]: e["reason"] for e in harm["excluded"]}
    assert excluded["crime/Drugs"].startswith("police-generated")
    assert excluded["crime/Possession of weapons"].startswith("police-generated")
    assert "not notifiable" in excluded["crime/Anti-social behaviour"]
    assert "health layer" in excluded["ambulance"]
    # the totals are the weighted sums of the per-category counts
    for area in ("target", "buffer", "control"):
        for window in ("before", "after"):
            want = sum(c["weight"] * c["counts"][area][window] for c in harm["by_category"])
            assert harm["totals"][area][window] == pytest.approx(want, abs=1e-6)
    text = " ".join(harm["sentences"])
    assert "Harm in the target:" in text and "Harm-weighted WDD" in text
    assert "Left out as police-generated" in text and "crime/Drugs" in text
    assert "per 30 days" in text  # before and after windows differ in length
    json.dumps(rep.json(), allow_nan=False)

    both = client.get(url, params={"harm_index": "css", "include_police_generated": "true"},
                      headers=keys["analyst"]).json()["harm"]
    assert both["index"] == "css" and both["include_police_generated"] is True
    assert {"crime/Drugs", "crime/Possession of weapons"} <= {w["key"] for w in both["weights"]}

    # the API reads shipped indices only: never a path on the server
    bad = client.get(url, params={"harm_index": "/etc/passwd"}, headers=keys["analyst"])
    assert bad.status_code == 422
    bad = client.get(url, params={"harm_index": "unknown"}, headers=keys["analyst"])
    assert bad.status_code == 422 and "cchi, css" in bad.json()["message"]
    d = definition(t, layers=layers, options={"harm_index": "/tmp/x.csv"})
    assert client.post("/v1/operations", headers=keys["analyst"], json=d).status_code == 422
    d = definition(t, name="With harm", layers=layers, options={"harm_index": "css"})
    op2 = client.post("/v1/operations", headers=keys["analyst"], json=d)
    assert op2.status_code == 201, op2.text
    rep2 = client.get(f"/v1/operations/{op2.json()['id']}/report",
                      headers=keys["analyst"]).json()
    assert rep2["harm"]["index"] == "css"


def test_cli_harm_index_and_report(run, store: Store, tmp_path: Path) -> None:
    listed = run("harm-index", "list")
    assert listed.exit_code == 0 and "cchi" in listed.output and "css" in listed.output
    shown = run("harm-index", "show", "cchi")
    assert shown.exit_code == 0
    assert "Violence and sexual offences" in shown.output and "police-generated" in shown.output
    bad = tmp_path / "force.csv"
    bad.write_text("kind,offence,police_uk_category,weight\ncategory,,Burglary,-3\n")
    out = run("harm-index", "show", str(bad))
    assert out.exit_code == 2 and "force.csv, row 2, field 'weight'" in out.output
    good = tmp_path / "force_y.csv"
    good.write_text("kind,offence,police_uk_category,weight,basis\ncategory,,Burglary,2,x\n")
    assert run("harm-index", "show", str(good), "--json").exit_code == 0

    t = load(store, tmp_path)
    op = json.loads(run("operation", "create", "--name", "Op harm", "--target",
                        "boundary:beats:" + ",".join(t.operation.target_beats),
                        "--buffer", "400", "--suggest-control",
                        "--before", "2018-10/2018-12",
                        "--after", "2019-01-15/2019-04-30",
                        "--layer", "crime:*:outcome", "--json").stdout)
    human = run("operation", "report", str(op["id"]), "--harm-index", str(good))
    assert human.exit_code == 0, human.output
    assert "harm: " in human.output and "weight crime/Burglary: 2" in human.output
    assert "Harm-weighted WDD" in human.output
    rep = json.loads(run("operation", "report", str(op["id"]), "--harm-index", "cchi",
                         "--include-police-generated", "--json").stdout)
    assert rep["harm"]["include_police_generated"] is True
    assert "crime/Drugs" in {w["key"] for w in rep["harm"]["weights"]}
