"""``remap export``: an event layer to a GeoPackage or FlatGeobuf file, as GDAL reads it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest
from pyproj import Transformer

from service.app.export import FILE_FORMATS, export_events
from service.store import Store
from spatial.errors import PermissionDeniedError

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
SMALL = FIXTURES / "policeuk_small.csv"


def _expected() -> pd.DataFrame:
    """The fixture's rows that carry coordinates (the rest are not placed)."""
    rows = pd.read_csv(SMALL, dtype=str)
    return rows[rows["Longitude"].notna() & rows["Latitude"].notna()]


def test_export_writes_every_placed_event_and_filters_by_category(run, tmp_path: Path) -> None:
    assert run("import", "policeuk", str(SMALL)).exit_code == 0
    expected = _expected()
    out = tmp_path / "crime.gpkg"
    r = run("export", "crime", "-o", str(out), "--json")
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert report["features"] == len(expected) and report["layer"] == "events-crime"
    info = pyogrio.read_info(out)
    assert info["features"] == len(expected) and info["driver"] == "GPKG"
    table = pyogrio.read_dataframe(out)
    assert sorted(table["category"]) == sorted(expected["Crime type"])
    assert sorted(table.geometry.x.round(6)) == sorted(expected["Longitude"].astype(float))
    # attributes keep the police.uk columns, e.g. the street
    streets = {json.loads(a)["Location"] for a in table["attributes"]}
    assert streets == set(expected["Location"])

    # a category in any case; British National Grid; FlatGeobuf from the suffix
    fgb = tmp_path / "drugs.fgb"
    r = run("export", "crime", "-o", str(fgb), "--category", "drugs", "--crs", "27700")
    assert r.exit_code == 0, r.output
    drugs = expected[expected["Crime type"] == "Drugs"]
    assert f"{len(drugs)} features of crime written" in r.output
    t = pyogrio.read_dataframe(fgb)
    assert set(t["category"]) == {"Drugs"} and len(t) == len(drugs)
    assert t.crs.to_epsg() == 27700
    x, y = Transformer.from_crs(4326, 27700, always_xy=True).transform(
        drugs["Longitude"].astype(float).to_numpy(), drugs["Latitude"].astype(float).to_numpy())
    np.testing.assert_allclose(np.sort(t.geometry.x.to_numpy()), np.sort(x), atol=1e-3)
    np.testing.assert_allclose(np.sort(t.geometry.y.to_numpy()), np.sort(y), atol=1e-3)


def test_export_errors_name_the_field_and_leave_no_file(run, tmp_path: Path) -> None:
    assert run("import", "policeuk", str(SMALL)).exit_code == 0
    folder = tmp_path / "out"
    folder.mkdir()
    out = folder / "x.gpkg"
    r = run("export", "crime", "-o", str(out), "--category", "Drugz")
    assert r.exit_code != 0 and "Drugs" in r.output and "category" in r.output
    r = run("export", "crime", "-o", str(folder / "x.shp"))
    assert r.exit_code != 0 and "output" in r.output and ".gpkg" in r.output
    r = run("export", "no_such_layer", "-o", str(out))
    assert r.exit_code != 0 and "no_such_layer" in r.output
    r = run("export", "crime", "-o", str(out), "--bbox", "1,2,3")
    assert r.exit_code != 0 and "bbox" in r.output
    assert list(folder.iterdir()) == []  # nothing half-written

    # an existing file is replaced whole, never appended to
    assert run("export", "crime", "-o", str(out)).exit_code == 0
    assert run("export", "crime", "-o", str(out), "--category", "Drugs").exit_code == 0
    assert pyogrio.read_info(out)["features"] == len(
        _expected().query("`Crime type` == 'Drugs'"))
    assert [p.name for p in folder.iterdir()] == ["x.gpkg"]


def test_points_of_protected_layers_leave_only_to_roles_that_may_see_them(
        town_store: Store, tmp_path: Path) -> None:
    out = tmp_path / "amb.gpkg"
    with pytest.raises(PermissionDeniedError, match="ambulance"):
        export_events(town_store, "ambulance", out, fmt=FILE_FORMATS["gpkg"], role="partner")
    assert not out.exists()
    before = len(town_store.audit_entries("read_points"))
    report = export_events(town_store, "ambulance", out, fmt=FILE_FORMATS["gpkg"],
                           role="admin", actor="analyst-1")
    assert report["features"] == pyogrio.read_info(out)["features"] > 0
    entries = town_store.audit_entries("read_points")
    assert len(entries) == before + 1
    assert entries[-1]["actor"] == "analyst-1" and "ambulance" in json.dumps(entries[-1])
