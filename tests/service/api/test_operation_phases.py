"""Rolling (multi-phase) operations over the API and the CLI, on the synthetic town.

Issue 12 "Must show": a two-phase operation on the demo town evaluated per phase.
Counts of every phase and of the whole operation are checked against an independent
pandas count of the stored events.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import shapely
from fastapi.testclient import TestClient
from shapely.geometry import shape

from service.store import EventFilter, Store
from spatial.evaluation.verdict import VERDICT_CODES
from tests.service.api.test_operations_api import definition, load

PHASES = [{"name": "Strike one", "during": {"start": "2019-01-01", "end": "2019-01-14"}},
          {"name": "Strike two", "during": {"start": "2019-02-20", "end": "2019-02-28"}}]


def phased(t: Any, **over: Any) -> dict[str, Any]:
    d = definition(t, name="Operation Rolling", phases=PHASES,
                   windows={"before": {"start": "2018-10-01", "end": "2018-12-31"},
                            "after": {"start": "2019-03-01", "end": "2019-04-30"}})
    d.update(over)
    return d


def _pandas_counts(store: Store, report: dict[str, Any], key: str,
                   windows: dict[str, Any], month: bool) -> dict[str, dict[str, int]]:
    """Independent count: events in each area polygon and window, by pandas + shapely."""
    layer, category = key.split("/", 1)
    frame = store.query_events(EventFilter(layers=(layer,)))
    if category != "*":
        frame = frame[frame["category"].isin(category.split("+"))]
    t = pd.to_datetime(frame["time"])
    pts = shapely.points(frame["lon"].to_numpy(), frame["lat"].to_numpy())
    geo = report["geometry"]
    target = shape(geo["target"])
    buffer = shape(geo["buffer"])
    control = shape(geo["control"])
    out: dict[str, dict[str, int]] = {}
    for area, poly in (("target", target), ("buffer", buffer), ("control", control)):
        inside = shapely.contains_xy(poly, frame["lon"].to_numpy(), frame["lat"].to_numpy()) \
            if len(pts) else []
        out[area] = {}
        for wn in ("before", "after"):
            w = windows[wn]
            lo, hi = pd.Timestamp(w["start"]), pd.Timestamp(w["end"]) + pd.Timedelta(days=1)
            if month and lo.day != 1:
                lo = (lo + pd.offsets.MonthBegin(1)).normalize()
            out[area][wn] = int(((t >= lo) & (t < hi) & inside).sum())
    return out


def test_two_phase_operation_over_the_api(client: TestClient, keys, store: Store,
                                          tmp_path: Path) -> None:
    t = load(store, tmp_path)
    h = keys["analyst"]
    r = client.post("/v1/operations", headers=h, json=phased(t))
    assert r.status_code == 201, r.text
    op = r.json()
    assert [p["name"] for p in op["definition"]["phases"]] == ["Strike one", "Strike two"]
    assert client.post(f"/v1/operations/{op['id']}/start", headers=h).status_code == 200
    rep = client.get(f"/v1/operations/{op['id']}/report", headers=h)
    assert rep.status_code == 200, rep.text
    report = rep.json()
    # the cumulative evaluation: the whole operation, during = first start to last end
    assert report["parameters"]["windows"]["during"] == {"start": "2019-01-01",
                                                         "end": "2019-02-28", "days": 59}
    ph = report["phases"]
    assert ph["parameters"]["max_phases"] == 6
    assert "holm" in ph["parameters"]["correction"].lower()
    first, second = ph["phases"]
    assert first["windows"]["after"] == {"start": "2019-01-15", "end": "2019-02-19",
                                         "days": 36}
    assert second["windows"]["after"]["start"] == "2019-03-01"
    assert second["windows"]["before"] == first["windows"]["before"]
    assert len(ph["table"]) == 2 * len(report["layers"])
    for p in ph["phases"]:
        for la in p["layers"]:
            assert la["verdict"]["code"] in VERDICT_CODES
            if la["count_table"] is not None:
                assert la["verdict"]["correction"].startswith("holm over the 6 ratio tests")
    # the cumulative verdict stays the single operation's (Holm over its three tests)
    assert all(la["verdict"].get("correction") in ("holm", None) for la in report["layers"])
    # counts equal an independent pandas count (locked before = current: no import since)
    geo = report["geometry"]
    for la in report["layers"]:
        month = la["month_precision"]
        want = _pandas_counts(store, report, la["key"], report["parameters"]["windows"], month)
        for area in ("target", "buffer", "control"):
            assert {w: la["counts"][area][w] for w in ("before", "after")} == want[area], \
                (la["key"], area)
        for p in ph["phases"]:
            pla = next(x for x in p["layers"] if x["key"] == la["key"])
            want = _pandas_counts(store, report, la["key"], p["windows"], month)
            for area in ("target", "buffer", "control"):
                assert {w: pla["counts"][area][w] for w in ("before", "after")} == \
                    want[area], (p["name"], la["key"], area)
    assert geo["target"]["type"] in ("Polygon", "MultiPolygon")


def test_phase_validation_names_the_field(client: TestClient, keys, store: Store,
                                          tmp_path: Path) -> None:
    t = load(store, tmp_path)
    h = keys["analyst"]

    def post(phases: list[dict[str, Any]], **over: Any) -> dict[str, Any]:
        r = client.post("/v1/operations", headers=h, json=phased(t, phases=phases, **over))
        assert r.status_code == 422, r.text
        return r.json()

    def ph(name: str, start: str, end: str) -> dict[str, Any]:
        return {"name": name, "during": {"start": start, "end": end}}

    out = post([ph("a", "2019-01-01", "2019-01-20"), ph("b", "2019-01-10", "2019-01-30")])
    assert out["details"]["parameter"] == "phases.1.during.start"
    assert "overlaps phase 0" in out["message"]
    out = post([ph("a", "2019-02-01", "2019-02-10"), ph("b", "2019-01-01", "2019-01-10")])
    assert out["details"]["parameter"] == "phases.1.during.start"
    assert "out of order" in out["message"]
    out = post([ph("a", "2018-12-20", "2019-01-10")])
    assert out["details"]["parameter"] == "phases.0.during.start"
    assert "before window" in out["message"]
    out = post([ph("a", "2019-01-01", "2019-03-10")])
    assert out["details"]["parameter"] == "phases.0.during.end"
    out = post([ph("a", "2019-01-01", "2019-01-10"), ph("b", "2019-01-11", "2019-01-20")])
    assert out["details"]["parameter"] == "phases.1.during.start"
    assert "no after period" in out["message"]
    out = post([ph("a", "2019-01-01", "2019-01-10"), ph("a", "2019-01-20", "2019-01-30")])
    assert out["details"]["parameter"] == "phases.1.name"
    out = post([ph("a", "2019-01-10", "2019-01-01")])
    assert "phases.0.during" in out["message"]
    many = [ph(f"p{i}", f"2019-01-{2 + 3 * i:02d}", f"2019-01-{3 + 3 * i:02d}")
            for i in range(7)]
    out = post(many)
    assert "phases" in out["message"] and "6" in out["message"]
    out = post([ph("a", "2019-01-01", "2019-01-10")],
               windows={"before": {"start": "2018-10-01", "end": "2018-12-31"},
                        "during": {"start": "2019-01-01", "end": "2019-01-31"},
                        "after": {"start": "2019-03-01", "end": "2019-04-30"}})
    assert out["details"]["parameter"] == "windows.during"
    out = post([{"name": "a", "during": {"start": "2019-01-01", "end": "2019-01-10"},
                 "target": {"type": "boundary", "set": "beats",
                            "units": list(t.operation.target_beats)}}])
    assert "phases.0" in out["message"] and "buffer" in out["message"]


def test_phase_with_its_own_target(client: TestClient, keys, store: Store,
                                   tmp_path: Path) -> None:
    t = load(store, tmp_path)
    h = keys["analyst"]
    beat = t.operation.target_beats[0]
    phases = [PHASES[0], {**PHASES[1], "target": {"type": "boundary", "set": "beats",
                                                  "units": [beat]},
                          "buffer": {"rings_m": [300]},
                          "control": {"type": "suggest", "max_units": 3}}]
    r = client.post("/v1/operations", headers=h, json=phased(t, phases=phases))
    assert r.status_code == 201, r.text
    op = r.json()
    assert op["resolved"]["phases"][0] is None
    assert op["resolved"]["phases"][1]["target"]["units"] == [beat]
    assert op["resolved"]["phases"][1]["control"]["kind"] == "suggested"
    client.post(f"/v1/operations/{op['id']}/start", headers=h)
    client.post(f"/v1/operations/{op['id']}/share", headers=h)
    seen = client.get(f"/v1/operations/{op['id']}", headers=keys["partner"]).json()
    own = seen["resolved"]["phases"][1]["control"]
    assert "withheld" in own["suggestion"] and " against the target's " not in own["description"]
    report = client.get(f"/v1/operations/{op['id']}/report", headers=h).json()
    second = report["phases"]["phases"][1]
    assert second["own_target"] and beat in second["target"]
    assert any("own target" in w for w in report["phases"]["warnings"])


def test_two_phase_operation_over_the_cli(run, store: Store, tmp_path: Path) -> None:
    t = load(store, tmp_path)
    target = "boundary:beats:" + ",".join(t.operation.target_beats)
    args = ["--target", target, "--buffer", "400", "--suggest-control",
            "--before", "2018-10/2018-12", "--after", "2019-03-01/2019-04-30",
            "--phase", "Strike one:2019-01-01/2019-01-14",
            "--phase", "Strike two:2019-02-20/2019-02-28",
            "--layer", "crime:Drugs:output", "--layer", "ambulance:*:outcome"]
    r = run("operation", "create", "--name", "Op Rolling", *args, "--json")
    assert r.exit_code == 0, r.output
    op = json.loads(r.stdout)
    assert [p["name"] for p in op["definition"]["phases"]] == ["Strike one", "Strike two"]
    shown = run("operation", "show", str(op["id"]))
    assert "phase 1 'Strike one': 2019-01-01..2019-01-14" in shown.output
    rep = run("operation", "report", str(op["id"]))
    assert rep.exit_code == 0, rep.output
    assert "phases (each against the before window" in rep.output
    assert "Strike two" in rep.output and "cumulative" in rep.output
    # a JSON definition file with phases, as the API takes it
    path = tmp_path / "op.json"
    path.write_text(json.dumps(phased(t, control={"type": "suggest", "max_units": 4})))
    r = run("operation", "create", "--definition", str(path), "--json")
    assert r.exit_code == 0, r.output
    assert len(json.loads(r.stdout)["definition"]["phases"]) == 2
    base = args[:9]
    bad = run("operation", "create", "--name", "x", *base,
              "--phase", "Strike one:2019-01-01/2019-01-14", "--phase", "oops",
              "--layer", "crime:Drugs:output")
    assert bad.exit_code == 2 and "phase" in bad.output
    overlap = run("operation", "create", "--name", "x", *base,
                  "--phase", "a:2019-01-01/2019-01-20", "--phase", "b:2019-01-10/2019-01-30",
                  "--layer", "crime:Drugs:output")
    assert overlap.exit_code == 2 and "phases.1.during.start" in overlap.output


@pytest.mark.parametrize("role", ["partner"])
def test_phases_in_the_pack_and_partner_view(client: TestClient, keys, store: Store,
                                             tmp_path: Path, role: str) -> None:
    t = load(store, tmp_path)
    h = keys["analyst"]
    op = client.post("/v1/operations", headers=h, json=phased(
        t, phases=[PHASES[0], {**PHASES[1], "name": "<script>alert(1)</script>{{7*7}}"}])).json()
    client.post(f"/v1/operations/{op['id']}/start", headers=h)
    client.post(f"/v1/operations/{op['id']}/share", headers=h)
    pack = client.get(f"/v1/operations/{op['id']}/pack", headers=h)
    assert pack.status_code == 200, pack.text
    html = pack.text
    assert "Phases" in html and "Strike one" in html
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
    assert "phase 1: Strike one" in html  # marked on the time-context chart
    partner = client.get(f"/v1/operations/{op['id']}/pack", headers=keys[role])
    assert partner.status_code == 200
    assert "Strike one" in partner.text


# --------------------------------------------------------------------------- consequence watches


def test_consequence_watches_on_the_demo_town(client: TestClient, keys, store: Store,
                                              tmp_path: Path) -> None:
    t = load(store, tmp_path)
    h = keys["analyst"]
    op = client.post("/v1/operations", headers=h, json=definition(t)).json()
    client.post(f"/v1/operations/{op['id']}/start", headers=h)
    client.post(f"/v1/operations/{op['id']}/share", headers=h)
    report = client.get(f"/v1/operations/{op['id']}/report", headers=h).json()
    cw = report["consequence_watches"]
    by = {w["name"]: w for w in cw["watches"]}
    held = set(store.layer_categories("crime"))
    for name, cat in (("violence", "Violence and sexual offences"),
                      ("weapons", "Possession of weapons"), ("public_disorder", "Public order")):
        assert by[name]["watched"] == (cat in held), name
    # the town's ambulance call-outs carry a suspected substance: one watch each
    subs = sorted(n for n in by if n.startswith("overdoses: "))
    assert subs, by.keys()
    # the overdoses watch is the overdose watch (same counts, same rise)
    assert by["overdoses"]["counts"] == report["overdose_watch"]["counts"]
    assert by["overdoses"]["rise"] == report["overdose_watch"]["rise"]
    # substance watches add up to at most the overdoses watch ('unknown' has no watch)
    assert "overdoses: unknown" not in by
    for area in ("target", "buffer"):
        for wn in ("before", "after"):
            assert sum(by[s]["counts"][area][wn] for s in subs) <= \
                by["overdoses"]["counts"][area][wn]
    assert cw["multiplicity"] and "W x alpha" in cw["multiplicity"]
    for w in cw["watches"]:
        assert w["sentence"]
        if w.get("rise"):
            assert w["flags"] and w["name"] in cw["flagged"]
    # partners: flags in words, no numbers
    pack = client.get(f"/v1/operations/{op['id']}/pack", headers=keys["partner"])
    assert pack.status_code == 200 and "Unintended consequences" in pack.text
    from service.render.operation_map import report_for

    safe = report_for(store, op["id"], "partner", "test")["consequence_watches"]
    for w in safe["watches"]:
        assert "tests" not in w
        for flag in w.get("flags", []):
            assert not any(ch.isdigit() for ch in flag), flag
        if w["layer"] == "ambulance":
            assert "counts" not in w


def test_a_planted_violence_rise_is_flagged_in_the_report(client: TestClient, keys,
                                                          store: Store,
                                                          tmp_path: Path) -> None:
    from service.app.importer import ImportReport, store_events
    from spatial.synthetic.town import target_area

    t = load(store, tmp_path)
    # plant 150 violence offences in the target, in the after window's months
    tgt = target_area(t)
    from spatial.place import crs as crsmod

    c = tgt.centroid
    lon, lat = crsmod.to_wgs84([c.x], [c.y], crsmod.BNG)
    n = 150
    frame = pd.DataFrame({
        "source_id": [f"PLANT-{i}" for i in range(n)],
        "time": pd.to_datetime(["2019-02-01"] * 75 + ["2019-03-01"] * 75),
        "lon": [float(lon[0])] * n, "lat": [float(lat[0])] * n,
        "x": [float(c.x)] * n, "y": [float(c.y)] * n,
        "category": ["Violence and sexual offences"] * n,
        "time_precision": ["month"] * n, "location_precision": ["snapped"] * n,
    })
    frame = _like_town_frame(t, frame)
    store_events(store, frame, ImportReport(layer="crime", format="synthetic"), timings={},
                 file_names=["plant"], actor="test")
    op = client.post("/v1/operations", headers=keys["analyst"], json=definition(t)).json()
    report = client.get(f"/v1/operations/{op['id']}/report", headers=keys["analyst"]).json()
    cw = report["consequence_watches"]
    assert "violence" in cw["flagged"], [w["sentence"] for w in cw["watches"]]
    v = next(w for w in cw["watches"] if w["name"] == "violence")
    assert v["comparison"] == "control" and "after" in v["rise_windows"]
    assert "violence and sexual offences in the target and buffer after" in " ".join(v["flags"])
    out = client.get(f"/v1/operations/{op['id']}/pack", headers=keys["analyst"]).text
    assert "RISE flagged" in out


def _like_town_frame(t: Any, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every column the town's crime frame has (copied from its first row)."""
    crime = t.events["crime"]
    out = pd.DataFrame({col: [crime[col].iloc[0]] * len(frame) for col in crime.columns})
    for col in frame.columns:
        out[col] = frame[col].to_numpy()
    if "event_key" in out.columns:
        out["event_key"] = [f"plant-{i}" for i in range(len(frame))]
    return out


def test_demo_phases_on_the_demo_town(store: Store, tmp_path: Path) -> None:
    from service.app.operation_demo import demo_phases

    t = load(store, tmp_path)
    said: list[str] = []
    out = demo_phases(store, t, tmp_path, said.append)
    assert Path(out["report"]).exists()
    assert list(out["phases"]) == ["Strike one", "Strike two"]
    combined = f"crime/{'+'.join(t.operation.affected_categories)}"
    for codes in out["phases"].values():
        assert codes[combined] in VERDICT_CODES
    assert out["cumulative"][combined] in VERDICT_CODES
    assert "holm" in out["correction"].lower()
    text = "\n".join(said)
    assert "phase 1 'Strike one'" in text and "phase 2 'Strike two'" in text
    assert "cumulative:" in text and "unintended consequences" in text
