"""``/v1/watches`` and ``remap watch`` on the synthetic town (both backends): create on an
operation, list, read, check (alarms recorded, append only), and what partners see of
protected series, tried as an attacker would (weekly periods, tiny site circles)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.app.disclosure import shown_watch_series
from service.app.operation_demo import planted_definition
from service.store import Store
from tests.service.conftest import _town

LAYERS = [{"layer": "crime", "category": "Drugs", "role": "output"},
          {"layer": "crime", "category": "Anti-social behaviour", "role": "outcome"},
          {"layer": "ambulance", "category": "*", "role": "outcome"}]


def _operation(client: TestClient, keys: dict[str, dict[str, str]], *, share: bool) -> int:
    op = client.post("/v1/operations", json=planted_definition(_town(7, 0.15).operation, LAYERS),
                     headers=keys["analyst"])
    assert op.status_code == 201, op.text
    op_id = int(op.json()["id"])
    assert client.post(f"/v1/operations/{op_id}/start", headers=keys["analyst"]).status_code \
        == 200
    if share:
        assert client.post(f"/v1/operations/{op_id}/share",
                           headers=keys["analyst"]).status_code == 200
    return op_id


def _numbers_in(series: dict[str, Any]) -> list[Any]:
    return [series[k] for k in ("counts", "baseline_counts", "cusum", "pre_level",
                                "mu0_interval", "design")]


def test_a_watch_is_created_listed_read_and_checked(town_store: Store, client: TestClient,
                                                    keys: dict[str, dict[str, str]]) -> None:
    op_id = _operation(client, keys, share=False)
    made = client.post("/v1/watches", json={"operation_id": op_id, "name": "<b>Back?</b>",
                                            "period": "month"}, headers=keys["analyst"])
    assert made.status_code == 201, made.text
    w = made.json()
    assert w["layers"] == ["crime/Anti-social behaviour", "ambulance/*", "dealing_site/*"]
    assert [a["kind"] for a in w["areas"]][:2] == ["target", "buffer"]
    assert any(a["kind"] == "site" for a in w["areas"])
    assert client.post("/v1/watches", json={"operation_id": op_id, "name": "x"},
                       headers=keys["partner"]).status_code == 403
    assert client.post("/v1/watches", json={"operation_id": 999_999, "name": "x"},
                       headers=keys["analyst"]).status_code == 404
    bad = client.post("/v1/watches", json={"operation_id": op_id, "name": "x", "arl0": 52,
                                           "false_alarms_per_year": 1},
                      headers=keys["analyst"])
    assert bad.status_code == 422
    assert [x["id"] for x in client.get("/v1/watches", headers=keys["analyst"]).json()["watches"]] == [
        w["id"]]
    # not shared: partners see no watch at all
    assert client.get("/v1/watches", headers=keys["partner"]).json() == {"watches": []}
    assert client.get(f"/v1/watches/{w['id']}", headers=keys["partner"]).status_code == 404
    res = client.post(f"/v1/watches/{w['id']}/check", headers=keys["analyst"])
    assert res.status_code == 200, res.text
    c = res.json()
    p = c["parameters"]
    assert p["period"] == "month" and p["series"] == len(c["series"]) == 3 * len(w["areas"])
    assert p["arl0_per_series"] == 12.0
    assert p["false_alarms_per_year_target"] == pytest.approx(len(c["series"]), rel=1e-9)
    for s in c["series"]:
        assert s["design"]["arl0_predictive"] >= 12.0 and s["design"]["arl1"] > 0
        assert len(s["counts"]) == p["monitored_periods"]
    recorded = town_store.recorded_alarms(w["id"])
    assert len(recorded) == sum(len(s["alarm_periods"]) for s in c["series"])
    again = client.post(f"/v1/watches/{w['id']}/check", headers=keys["analyst"]).json()
    assert again["new_alarms_recorded"] == 0
    assert len(again["recorded_alarms"]) == len(recorded)


def test_partners_see_protected_series_only_by_month_and_never_sites(
        town_store: Store, client: TestClient, keys: dict[str, dict[str, str]]) -> None:
    """The attacker's watch: ambulance call-outs per week in 25 m circles around known
    dealing sites and in target and buffer. A partner gets no counts, chart values or
    levels of it, no site, no week."""
    op_id = _operation(client, keys, share=True)
    w = client.post("/v1/watches", json={
        "operation_id": op_id, "name": "tiny", "layers": ["ambulance/*", "crime/Drugs"],
        "period": "week", "site_radius_m": 25, "max_sites": 20, "arl0": 2},
        headers=keys["analyst"]).json()
    full = client.post(f"/v1/watches/{w['id']}/check", headers=keys["analyst"]).json()
    assert any(s["area_kind"] == "site" for s in full["series"])
    assert full["parameters"]["period"] == "month"  # crime is month precision: said
    seen = client.get(f"/v1/watches/{w['id']}", headers=keys["partner"]).json()
    assert all(a["kind"] != "site" for a in seen["areas"]) and seen["withheld"]
    res = client.post(f"/v1/watches/{w['id']}/check", headers=keys["partner"])
    assert res.status_code == 200, res.text
    c = res.json()
    text = json.dumps(c)
    assert "@ site" not in text and '"kind": "site"' not in text and "centre" not in text
    assert not any(s["area_kind"] == "site" for s in c["series"])
    amb = [s for s in c["series"] if s["layer"] == "ambulance"]
    assert {s["area"] for s in amb} == {"target", "buffer"}
    for s in amb:
        assert _numbers_in(s) == [None] * 6 and s["alarm_periods"] == [] and s["protected"]
    crime = [s for s in c["series"] if s["layer"] == "crime"]
    assert crime and all(s["counts"] is not None for s in crime)  # open data: in full
    assert all(a["layer"] == "crime" for a in c["recorded_alarms"])
    assert not any("ambulance" in x for x in c["warnings"])


def test_the_disclosure_rule_for_a_protected_series() -> None:
    """An alarm on few call-outs is not shown; a site circle is never shown; a month of
    at least 10 call-outs is shown by month only."""
    series = {"name": "ambulance/* @ target", "area": "target", "mu1_rule": "pre",
              "counts": [0, 3, 0], "cusum": [0.0, 2.9, 0.0], "alarm": True,
              "alarm_periods": ["2019-05-06"], "design": {"mu0": 0.2}}
    small = shown_watch_series("partner", "ambulance", "target", series, {"2019-05": 3})
    assert small is not None and small["alarm"] is False and small["counts"] is None
    assert small["alarm_months"] == [] and small["cusum"] is None and small["design"] is None
    big = shown_watch_series("partner", "ambulance", "target", series, {"2019-05": 12})
    assert big is not None and big["alarm"] is True and big["alarm_months"] == ["2019-05"]
    assert big["alarm_periods"] == [] and big["first_alarm"] is None
    assert shown_watch_series("partner", "ambulance", "site", series, {"2019-05": 40}) is None
    assert shown_watch_series("viewer", "crime", "site", series, {}) is None
    assert shown_watch_series("partner", "dealing_site", "target", series, {}) is None
    assert shown_watch_series("analyst", "ambulance", "site", series, {}) is series


def test_remap_watch_create_list_check(town_store: Store, client: TestClient,
                                       keys: dict[str, dict[str, str]], run: Any,
                                       tmp_path: Any) -> None:
    op_id = _operation(client, keys, share=False)
    made = run("watch", "create", "--operation", str(op_id), "--name", "<script>x</script>",
               "--period", "month", "--json")
    assert made.exit_code == 0, made.output
    w = json.loads(made.stdout)
    listed = run("watch", "list")
    assert listed.exit_code == 0 and "<script>x</script>" in listed.output
    out = tmp_path / "watch.html"
    checked = run("watch", "check", str(w["id"]), "--map", str(out))
    assert checked.exit_code == 0, checked.output
    assert "stated false-alarm rate: ARL0 12 periods per series" in checked.output
    page = out.read_text()
    assert "<script>x</script>" not in page
    missing = run("watch", "check", "999999")
    assert missing.exit_code == 2 and "watch 999999 does not exist" in missing.output


def test_demo_watch_catches_the_planted_return_in_the_target(
        town_store: Store, client: TestClient, keys: dict[str, dict[str, str]],
        tmp_path: Any) -> None:
    """The town's planted effect ends with the after window: anti-social behaviour in the
    target comes back to its pre-operation level in the first month after it."""
    from service.app.watches import demo_watch

    _operation(client, keys, share=False)
    said: list[str] = []
    out = demo_watch(town_store, tmp_path, said.append)
    assert "crime/Anti-social behaviour @ target" in out["alarming"]
    assert not any(a.endswith("@ buffer") for a in out["alarming"])
    check = json.loads((tmp_path / "watch_check.json").read_text())
    assert check["parameters"]["false_alarms_per_year_target"] == 2.0
    assert (tmp_path / "map_watch.html").stat().st_size > 0 and said
