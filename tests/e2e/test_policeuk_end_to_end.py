"""Issue 2 must-shows on the real police.uk data, on SQLite and PostgreSQL.

The 15 untouched police.uk CSVs are imported through the real pipeline; the
figures are checked against independent computations (the csv module,
geopandas' spatial join).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from service.app.analysis import CountsRequest, counts_collection
from service.app.importer import import_boundaries, import_events
from service.store import EventFilter, Store
from tests.conftest import postgres_database

pytestmark = pytest.mark.realdata

TOTAL_ROWS = 188_619


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def loaded(request: pytest.FixtureRequest, shared_data: Path,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, dict, dict]]:
    """A store holding all 15 files and the Sheffield neighbourhoods."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('e2e') / 'remap.db'}"
    else:
        try:
            worker = request.getfixturevalue("worker_id")
            url = postgres_database(f"remap_e2e_{worker}")
        except Exception as exc:  # noqa: BLE001
            request.getfixturevalue("postgres_url")  # skips or fails as configured
            raise exc
    store = Store(url)
    files = sorted((shared_data / "policeuk").glob("*.csv"))
    assert len(files) == 15
    first = import_events(store, [(f.name, f) for f in files], fmt="policeuk", layer="crime")
    nhood = shared_data / "boundaries" / "sheffield" / "sheffield_nhood.geojson"
    b = import_boundaries(store, nhood, file_name=nhood.name, name="sheffield_nhood",
                          id_field="nhood_code", label_field="nhood_name")
    try:
        yield store, first.as_dict(), b.as_dict()
    finally:
        store.dispose()


def rows_without_coordinates(files: list[Path]) -> set[tuple[str, int]]:
    out = set()
    for f in files:
        with f.open(newline="", encoding="utf-8-sig") as fh:
            for line_no, row in enumerate(csv.DictReader(fh), start=2):
                if not row["Longitude"] or not row["Latitude"]:
                    out.add((f.name, line_no))
    return out


def test_every_row_accounted_for(loaded, shared_data: Path) -> None:
    store, report, _ = loaded
    assert report["accepted"] + report["rejected"] == TOTAL_ROWS
    files = sorted((shared_data / "policeuk").glob("*.csv"))
    expected = rows_without_coordinates(files)
    got = {(r["file"], r["row"]) for r in report["rejections"]}
    assert got == expected
    assert {r["field"] for r in report["rejections"]} <= {"Longitude", "Latitude"}
    assert store.count_events(EventFilter(layers=("crime",))) == report["accepted"]


def test_second_import_adds_nothing(loaded, shared_data: Path) -> None:
    store, first, _ = loaded
    before = store.table_counts()
    files = sorted((shared_data / "policeuk").glob("*.csv"))
    again = import_events(store, [(f.name, f) for f in files], fmt="policeuk", layer="crime")
    assert again.inserted == 0
    assert again.duplicates == first["accepted"]
    after = store.table_counts()
    assert after["events"] == before["events"]
    assert after["event_segment_units"] == before["event_segment_units"]


def test_neighbourhood_counts_equal_geopandas_sjoin(loaded, shared_data: Path) -> None:
    store, _, b = loaded
    assert b["units"] == 100 and b["repairs"], "the invalid neighbourhood must be repaired"
    req = CountsRequest.parse(layer="crime", categories=["Drugs"],
                              unit="boundary:sheffield_nhood")
    fc = counts_collection(store, req, role="analyst")
    ours = {f["properties"]["unit_id"]: f["properties"]["count"] for f in fc["features"]}
    assert len(ours) == 100

    # independent: raw CSV rows -> points -> geopandas sjoin on the repaired polygons.
    # All forces' rows: a few Derbyshire snap points fall inside Sheffield's edge.
    frames = [pd.read_csv(f) for f in (shared_data / "policeuk").glob("*.csv")]
    raw = pd.concat(frames, ignore_index=True)
    raw = raw[(raw["Crime type"] == "Drugs") & raw["Longitude"].notna()]
    pts = gpd.GeoDataFrame(index=raw.index,
                           geometry=gpd.points_from_xy(raw["Longitude"], raw["Latitude"]),
                           crs=4326)
    polys = gpd.read_file(shared_data / "boundaries" / "sheffield" / "sheffield_nhood.geojson")
    polys["geometry"] = polys.geometry.make_valid()
    joined = gpd.sjoin(pts, polys[["nhood_code", "geometry"]], predicate="within")
    expected = joined.groupby("nhood_code").size().to_dict()
    expected = {str(k): int(v) for k, v in expected.items()}
    for unit, n in ours.items():
        assert n == expected.get(unit, 0), unit
    assert sum(ours.values()) == sum(expected.values()) > 400
    joined_force = raw.loc[joined.index.unique(), "Falls within"]
    # data README: 494 Sheffield `Drugs` rows over the 5 months (South Yorkshire)
    assert int((joined_force == "South Yorkshire Police").sum()) == 494


def test_h3_counts_over_sheffield_include_zero_cells(loaded) -> None:
    store, _, _ = loaded
    req = CountsRequest.parse(layer="crime", categories=["Drugs"], unit="h3:9",
                              area="boundary:sheffield_nhood")
    fc = counts_collection(store, req, role="analyst")
    counts = np.array([f["properties"]["count"] for f in fc["features"]])
    p = fc["parameters"]
    assert p["units"] == len(counts) > 500
    assert p["zero_units"] == int((counts == 0).sum()) > 0.5 * len(counts)
    assert counts.sum() == p["events_counted"] > 400
    assert len({f["properties"]["unit_id"] for f in fc["features"]}) == len(counts)


@pytest.mark.parametrize(("unit", "edge_outside"),
                         [("h3:7", 29), ("h3:8", 8), ("h3:9", 1), ("grid:500", 3)])
def test_no_event_outside_sheffield_is_counted_in_its_edge_cells(
        loaded, shared_data: Path, unit: str, edge_outside: int) -> None:
    """Issue 10, item 7: H3 cells (and grid squares) over the Sheffield neighbourhoods
    reach into Rotherham and Derbyshire; their events there are not Sheffield's."""
    import shapely

    from service.app.analysis import unit_counts

    store, _, _ = loaded
    polys = gpd.read_file(shared_data / "boundaries" / "sheffield" / "sheffield_nhood.geojson")
    sheffield = shapely.union_all(polys.geometry.make_valid().to_numpy())
    # independent: the raw Drugs rows of every file inside (or on the edge of) Sheffield
    raw = pd.concat([pd.read_csv(f) for f in (shared_data / "policeuk").glob("*.csv")],
                    ignore_index=True)
    raw = raw[(raw["Crime type"] == "Drugs") & raw["Longitude"].notna()]
    in_sheffield = shapely.intersects_xy(sheffield, raw["Longitude"].to_numpy(),
                                         raw["Latitude"].to_numpy())
    req = CountsRequest.parse(layer="crime", categories=["Drugs"], unit=unit,
                              area="boundary:sheffield_nhood")
    uc = unit_counts(store, req, role="analyst")
    counted = uc.events.loc[uc.index >= 0]
    assert shapely.intersects_xy(sheffield, counted["lon"].to_numpy(),
                                 counted["lat"].to_numpy()).all()
    assert int(uc.counts.sum()) == len(counted) == int(in_sheffield.sum()) == 500
    # the events the edge cells used to take: South Yorkshire outside Sheffield, Derbyshire
    p = uc.parameters
    assert p["events_outside_area_in_edge_units"] == edge_outside
    assert p["events_outside_area"] == p["events_selected"] - 500
    assert any(w.startswith(f"not counted: {edge_outside} event") for w in uc.warnings)
