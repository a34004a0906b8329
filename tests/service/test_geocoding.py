"""Gazetteers and geocoded imports through the store, the CLI and the API (both backends)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from service.app.analysis import CountsRequest, unit_counts
from service.app.geocoding import geocode_file, import_gazetteer
from service.app.importer import import_events
from service.store import EventFilter, Store
from service.store.migrations import MIGRATIONS, apply_pending
from spatial.errors import NotFoundError
from spatial.io.mapping import ColumnMapping
from tests.spatial.geocode.test_geocode import ONSPD

ADDRESSES = (b"UPRN,ADDRESS,X_COORDINATE,Y_COORDINATE\n"
             b"100,\"12 HIGH STREET, SHEFFIELD\",438010,390020\n"
             b"101,\"FLAT 3, 12 HIGH STREET, SHEFFIELD\",438011,390021\n"
             b"102,\"7 ABBEYDALE ROAD, SHEFFIELD\",434000,385000\n")
CALLS = ("ref,date,Postcode,type\n"
         "1,2024-03-01,S9 3XX,overdose\n"
         "2,2024-03-02,s93xy,overdose\n"
         "3,2024-03-03,S9 3,overdose\n"
         "4,2024-03-04,S9,overdose\n"
         "5,2024-03-05,S10 1AB,overdose\n"
         "6,2024-03-06,0L1 1AA,overdose\n"
         "7,2024-03-07,ZZ9 9ZZ,overdose\n"
         "8,2024-03-08,,overdose\n")


def test_gazetteer_versions_and_import_by_postcode(store: Store, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no onspd or codepoint gazetteer"):
        import_events(store, [("calls.csv", CALLS.encode())], fmt="csv", layer="ambulance",
                      mapping=ColumnMapping.parse("id=ref,time=date,postcode=Postcode,"
                                                  "category=type"))
    first = import_gazetteer(store, ONSPD, kind="onspd", name="sy", file_name="onspd.csv")
    second = import_gazetteer(store, ONSPD, kind="onspd", name="sy", file_name="onspd.csv")
    assert (first.gazetteer.version, second.gazetteer.version) == (1, 2)
    assert second.gazetteer.rows == 5 and second.sectors == 3 and second.districts == 2
    assert len(second.gazetteer.sha256) == 64
    report = import_events(store, [("calls.csv", CALLS.encode())], fmt="csv",
                           layer="ambulance", mapping=ColumnMapping.parse(
                               "id=ref,time=date,postcode=Postcode,category=type"))
    assert (report.accepted, report.rejected) == (6, 2)
    assert [(r.file, r.row, r.field) for r in report.rejections] == [
        ("calls.csv", 8, "Postcode"), ("calls.csv", 9, "Postcode")]
    assert "ZZ9 9ZZ is not in the postcode directory" in report.rejections[0].reason
    assert [(w.row, w.field) for w in report.warnings] == [(6, "Postcode"), (7, "Postcode")]
    ev = store.query_events(EventFilter(layers=("ambulance",)))
    ev = ev.sort_values("source_id")
    arrays = store.event_arrays(EventFilter(layers=("ambulance",)))
    assert sorted(arrays["geocode_precision"].tolist()) == sorted(
        ["postcode", "postcode", "postcode_sector", "postcode_district", "postcode",
         "postcode"])
    first_row = ev.iloc[0]
    assert (round(first_row["x"]), round(first_row["y"])) == (438000, 390000)
    assert first_row["attributes"]["geocode_gazetteer"] == "onspd sy v2"
    flags = {r["source_id"]: r["attributes"].get("geocode_flag") for _, r in ev.iterrows()}
    assert flags["5"] == "terminated" and flags["6"] == "corrected"


def test_counts_warn_when_precision_is_coarser_than_the_unit(store: Store) -> None:
    import_gazetteer(store, ONSPD, kind="onspd", file_name="onspd.csv")
    import_events(store, [("calls.csv", CALLS.encode())], fmt="csv", layer="ambulance",
                  mapping=ColumnMapping.parse("id=ref,time=date,postcode=Postcode,"
                                              "category=type"))
    fine = unit_counts(store, CountsRequest.parse(layer="ambulance", unit="h3:10"))
    text = " ".join(fine.warnings)
    assert "1 events are placed at postcode sector centroids" in text
    assert "1 events are placed at postcode district centroids" in text
    assert "at postcode centroids" not in text  # ~100 m: not coarser than a 150 m cell
    finer = unit_counts(store, CountsRequest.parse(layer="ambulance", unit="h3:11"))
    assert any("4 events are placed at postcode centroids" in w for w in finer.warnings)
    coarse = unit_counts(store, CountsRequest.parse(layer="ambulance", unit="grid:5000"))
    assert not any("centroids" in w for w in coarse.warnings)


def test_migration_15_keeps_rows_and_reads_them_as_points(tmp_path: Path) -> None:
    # an old store (version 14): rows without the column, as an older remap wrote them
    # (the upgrade from every version, on both backends: tests/service/store/
    # test_upgrade_every_version.py)
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(url)
    apply_pending(engine, tuple(m for m in MIGRATIONS if m.version < 15))
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO layers (name, sensitivity, description, created_at) "
                             "VALUES ('old', 'open', '', '2024-01-01 00:00:00')"))
        for i in (1, 2):
            conn.execute(sa.text(
                "INSERT INTO events (layer, event_key, source_id, time, time_precision, lon, "
                "lat, x, y, crs_epsg, location_precision, category, source, sensitivity, h3, "
                "attributes) VALUES ('old', :k, :s, '2024-01-01 00:00:00', 'day', -1.47, 53.38, "
                "0, 0, 27700, 'exact', 'x', 'csv', 'open', '8b195e', '{}')"),
                {"k": str(i), "s": str(i)})
    engine.dispose()
    store = Store(url)  # migrates: 15 adds the column (NULL), 17 moves the rows to segments
    try:
        arrays = store.event_arrays(EventFilter(layers=("old",)))
        assert len(arrays) == 2 and arrays["geocode_precision"].isna().all()
        assert store.gazetteers_list() == []
    finally:
        store.dispose()


def test_cli_gazetteer_import_list_and_geocode(run, tmp_path: Path) -> None:
    onspd = tmp_path / "onspd.csv"
    onspd.write_bytes(ONSPD)
    extract = tmp_path / "llpg.csv"
    extract.write_bytes(ADDRESSES)
    r = run("gazetteer", "import", "onspd", str(onspd), "--name", "sy", "--json")
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout)
    assert rep["version"] == 1 and rep["rejections_total"] == 2
    r = run("gazetteer", "import", "addresses", str(extract), "--json")
    assert r.exit_code == 0, r.output
    r = run("gazetteer", "list")
    assert "sy v1 (onspd): 5 rows" in r.output and "addresses v1 (addresses): 3 rows" in r.output
    calls = tmp_path / "calls.csv"
    calls.write_text("ref,Address,Postcode\n1,12 High St Sheffield,S9 3XX\n"
                     "2,\"Flat 3, 12 High St\",\n3,9 Nowhere Lane,S9 3\n4,,ZZ1 1ZZ\n")
    out = tmp_path / "out.csv"
    r = run("geocode", str(calls), "-o", str(out), "--address", "Address", "--postcode",
            "Postcode")
    assert r.exit_code == 0, r.output
    assert "4 rows, 3 placed (address 2, postcode_sector 1), 1 rejected" in r.output
    assert "rejected calls.csv row 5 [Postcode]: Postcode ZZ1 1ZZ is not in" in r.output
    table = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert table["precision"].tolist() == ["address", "address", "postcode_sector", ""]
    assert table["matched"].tolist()[:2] == ["12 HIGH STREET, SHEFFIELD",
                                             "FLAT 3, 12 HIGH STREET, SHEFFIELD"]
    assert float(table["lon"][0]) == pytest.approx(-1.43, abs=0.02)
    assert table["rejection"][3].startswith("Postcode ZZ1 1ZZ")
    r = run("import", "csv", str(calls), "--layer", "reports", "--map",
            "id=ref,postcode=Postcode", "--category-default", "report", "--json")
    assert r.exit_code == 2 and "no time column" in r.output
    dated = tmp_path / "dated.csv"
    dated.write_text(CALLS)
    r = run("import", "csv", str(dated), "--layer", "ambulance", "--map",
            "id=ref,time=date,postcode=Postcode,category=type")
    assert r.exit_code == 0, r.output
    assert "6 accepted, 2 rejected" in r.output
    assert "dated.csv row 8 [Postcode]: Postcode ZZ9 9ZZ is not in the postcode " \
           "directory" in r.output
    assert "dated.csv row 9 [Postcode]: Postcode is empty" in r.output
    assert "dated.csv row 7 [Postcode]: Postcode '0L1 1AA' read as OL1 1AA" in r.output
    r = run("import", "geojson", str(dated), "--layer", "x", "--map", "postcode=Postcode")
    assert r.exit_code == 2 and "placed by their geometry" in r.output


def test_geocode_file_refuses_a_missing_column(store: Store) -> None:
    import_gazetteer(store, ONSPD, kind="onspd", file_name="onspd.csv")
    with pytest.raises(Exception, match="no column 'PC'"):
        geocode_file(store, b"a,b\n1,2\n", postcode="PC", file_name="x.csv")


def test_api_gazetteers_and_import_by_postcode(client: TestClient, keys) -> None:
    files = {"file": ("onspd.csv", ONSPD, "text/csv")}
    r = client.post("/v1/gazetteers", headers=keys["partner"], files=files,
                    data={"kind": "onspd"})
    assert r.status_code == 403
    r = client.post("/v1/gazetteers", headers=keys["analyst"], files=files,
                    data={"kind": "onspd", "name": "sy"})
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 1 and r.json()["rejections_total"] == 2
    r = client.post("/v1/gazetteers", headers=keys["analyst"], files=files,
                    data={"kind": "bogus"})
    assert r.status_code == 422
    listed = client.get("/v1/gazetteers", headers=keys["viewer"]).json()["gazetteers"]
    assert [(g["name"], g["version"], g["rows"]) for g in listed] == [("sy", 1, 5)]
    r = client.post("/v1/imports", headers=keys["analyst"],
                    files=[("files", ("calls.csv", CALLS.encode(), "text/csv"))],
                    data={"format": "csv", "layer": "ambulance",
                          "map": "id=ref,time=date,postcode=Postcode,category=type"})
    assert r.status_code == 200, r.text
    rep = r.json()
    assert (rep["accepted"], rep["rejected"]) == (6, 2)
    assert rep["rejections"][0]["field"] == "Postcode" and rep["rejections"][0]["row"] == 8
    assert rep["warnings_total"] == 2
