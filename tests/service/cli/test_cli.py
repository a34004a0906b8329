"""The ``remap`` command over the real store (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path

from service.store import Store

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"



def test_keys_create_prints_the_key_once_and_stores_a_hash(run, store: Store) -> None:
    r = run("keys", "create", "--role", "analyst", "--json")
    assert r.exit_code == 0, r.output
    key = json.loads(r.stdout)["key"]
    assert store.role_for_key(key)[1] == "analyst"
    listed = run("keys", "list", "--json").stdout
    assert key not in listed and key[:10] in listed


def test_import_policeuk_json_report_and_reimport(run) -> None:
    path = str(FIXTURES / "policeuk_small.csv")
    first = json.loads(run("import", "policeuk", path, "--json").stdout)
    assert (first["accepted"], first["rejected"], first["duplicates"]) == (5, 1, 0)
    assert first["rejections"][0] == {"file": path, "row": 6, "field": "Longitude",
                                      "reason": first["rejections"][0]["reason"]}
    second = json.loads(run("import", "policeuk", path, "--json").stdout)
    assert (second["inserted"], second["duplicates"]) == (0, 5)
    layers = json.loads(run("layers", "--json").stdout)
    assert layers[0]["name"] == "crime" and layers[0]["count"] == 5


def test_fatal_error_exits_2_with_a_clear_message(run, store: Store) -> None:
    before = store.table_counts()
    r = run("import", "policeuk", str(FIXTURES / "malformed" / "wrong_header.csv"))
    assert r.exit_code == 2
    assert "wrong_header.csv" in r.output and "error:" in r.output
    assert store.table_counts() == before
    r = run("import", "policeuk", str(FIXTURES / "malformed" / "empty.csv"), "--json")
    assert r.exit_code == 2 and json.loads(r.stdout)["error"] == "input_format"


def test_boundaries_and_counts(run, tmp_path: Path) -> None:
    run("import", "policeuk", str(FIXTURES / "policeuk_small.csv"))
    beats = tmp_path / "beats.geojson"
    beats.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"beat": "E", "name": "East"},
         "geometry": {"type": "Polygon", "coordinates": [[[-1.44, 53.37], [-1.40, 53.37],
                                                          [-1.40, 53.41], [-1.44, 53.41],
                                                          [-1.44, 53.37]]]}},
        {"type": "Feature", "properties": {"beat": "W", "name": "West"},
         "geometry": {"type": "Polygon", "coordinates": [[[-1.48, 53.37], [-1.44, 53.37],
                                                          [-1.44, 53.41], [-1.48, 53.41],
                                                          [-1.48, 53.37]]]}},
        {"type": "Feature", "properties": {"beat": "Z", "name": "Empty"},
         "geometry": {"type": "Polygon", "coordinates": [[[-1.60, 53.30], [-1.55, 53.30],
                                                          [-1.55, 53.33], [-1.60, 53.33],
                                                          [-1.60, 53.30]]]}}]}))
    r = run("boundaries", "import", str(beats), "--name", "beats", "--id-field", "beat",
            "--label-field", "name", "--json")
    rep = json.loads(r.stdout)
    assert rep["units"] == 3 and rep["version"] == 1
    assert rep["events_placed"] == 3 and rep["events_outside"] == 2
    out = tmp_path / "counts.geojson"
    r = run("counts", "--layer", "crime", "--category", "Drugs", "--unit", "boundary:beats",
            "--out", str(out))
    assert r.exit_code == 0, r.output
    fc = json.loads(out.read_text())
    counts = {f["properties"]["unit_id"]: f["properties"]["count"] for f in fc["features"]}
    assert counts == {"E": 2, "W": 1, "Z": 0}
    assert fc["parameters"]["zero_units"] == 1
    r = run("counts", "--layer", "crime", "--unit", "h3:8", "--area", "boundary:beats", "--json")
    fc = json.loads(r.stdout)
    assert sum(f["properties"]["count"] for f in fc["features"]) == 3
    assert fc["parameters"]["events_outside_area"] == 2  # the two Barnsley ASB rows
    assert fc["parameters"]["zero_units"] > 0
    again = json.loads(run("boundaries", "import", str(beats), "--name", "beats",
                           "--id-field", "beat", "--json").stdout)
    assert again["version"] == 2
    listed = json.loads(run("boundaries", "list", "--json").stdout)
    assert [(s["name"], s["version"]) for s in listed] == [("beats", 1), ("beats", 2)]
