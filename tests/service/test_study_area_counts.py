"""Counts over a study area take only the events inside it, also in edge units.

H3 cells and grid squares over a study area reach beyond its edge (issue 10, item 7:
8 Rotherham and Derbyshire events were counted as Sheffield). Events on both sides of
the edge of one unit, through :func:`service.app.analysis.unit_counts` on the real store.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import h3
import numpy as np
import pytest

from service.app.analysis import CountsRequest, counts_collection, unit_counts
from service.app.importer import import_boundaries, import_events
from service.store import Store
from spatial.place import crs

HEADER = ["Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude",
          "Location", "LSOA code", "LSOA name", "Crime type", "Last outcome category",
          "Context"]

CELL = h3.latlng_to_cell(53.3807, -1.4701, 8)  # Sheffield Town Hall, res 8 (~900 m across)
LAT_C, LNG_C = h3.cell_to_latlng(CELL)
#: the area ends at the meridian through the cell's centre: the cell is an edge cell
AREA = (LNG_C - 0.03, LAT_C - 0.02, LNG_C, LAT_C + 0.02)
INSIDE = [(LNG_C - 0.002, LAT_C), (LNG_C - 0.001, LAT_C + 0.001)]
OUTSIDE_IN_EDGE_CELL = [(LNG_C + 0.002, LAT_C), (LNG_C + 0.001, LAT_C - 0.001),
                        (LNG_C + 0.003, LAT_C + 0.0005)]
FAR = [(LNG_C + 0.2, LAT_C)]


def _write_policeuk(path: Path, points: list[tuple[float, float]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        for i, (lon, lat) in enumerate(points):
            w.writerow([f"{i:064x}", "2018-10", "South Yorkshire Police",
                        "South Yorkshire Police", f"{lon:.6f}", f"{lat:.6f}",
                        f"On or near Road {i}", "", "", "Drugs", "", ""])


@pytest.fixture
def edge_store(store: Store, tmp_path: Path) -> Store:
    # the near points are in one res-8 cell, on either side of the area's edge
    for lon, lat in INSIDE + OUTSIDE_IN_EDGE_CELL:
        assert h3.latlng_to_cell(round(lat, 6), round(lon, 6), 8) == CELL
    path = tmp_path / "2018-10-edge-street.csv"
    _write_policeuk(path, INSIDE + OUTSIDE_IN_EDGE_CELL + FAR)
    import_events(store, [(path.name, path)], fmt="policeuk", layer="crime")
    return store


def _bbox() -> str:
    return "bbox:" + ",".join(f"{v:.6f}" for v in AREA)


def test_h3_edge_cell_counts_only_the_events_inside_the_area(edge_store: Store) -> None:
    req = CountsRequest.parse(layer="crime", categories=["Drugs"], unit="h3:8", area=_bbox())
    fc = counts_collection(edge_store, req, role="analyst")
    counts = {f["properties"]["unit_id"]: f["properties"]["count"] for f in fc["features"]}
    assert counts[CELL] == 2 and sum(counts.values()) == 2
    p = fc["parameters"]
    assert (p["events_selected"], p["events_counted"], p["events_outside_area"]) == (6, 2, 4)
    assert p["events_outside_area_in_edge_units"] == 3
    assert p["unit_edge_units"] == "count only events inside the study area"
    assert "not counted: 3 events outside the study area in units that reach beyond its " \
           "edge (an edge unit counts only the events inside the study area)" in fc["warnings"]
    json.dumps(fc, allow_nan=False)


def test_every_counting_path_clips(edge_store: Store, tmp_path: Path) -> None:
    # a boundary set as the area (the Sheffield case), with H3 and grid units
    area = tmp_path / "area.geojson"
    x0, y0, x1, y1 = AREA
    area.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "A"},
         "geometry": {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1],
                                                          [x0, y1], [x0, y0]]]}}]}))
    import_boundaries(edge_store, area, file_name=area.name, name="area", id_field="code")
    inside = np.round([lon for lon, _ in INSIDE], 6)  # as written in the CSV
    for unit in ("h3:8", "h3:7", "grid:1000"):
        req = CountsRequest.parse(layer="crime", categories=["Drugs"], unit=unit,
                                  area="boundary:area")
        uc = unit_counts(edge_store, req)
        counted = uc.events.loc[uc.index >= 0, "lon"].to_numpy()
        assert sorted(counted) == sorted(inside), unit
        assert uc.parameters["events_outside_area_in_edge_units"] == 3, unit
        # a rate's denominator counted on the numerator's units is clipped the same way
        again = unit_counts(edge_store, req, units_of=uc)
        assert (again.index == uc.index).all()
    # boundary units chosen because they touch a bbox reach beyond it too
    beats = tmp_path / "beats.geojson"
    beats.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "B"},
         "geometry": {"type": "Polygon", "coordinates": [[[x0, y0], [x1 + 0.01, y0],
                                                          [x1 + 0.01, y1], [x0, y1],
                                                          [x0, y0]]]}}]}))
    import_boundaries(edge_store, beats, file_name=beats.name, name="beats", id_field="code")
    req = CountsRequest.parse(layer="crime", categories=["Drugs"], unit="boundary:beats",
                              area=_bbox())
    uc = unit_counts(edge_store, req)
    assert uc.counts.tolist() == [2]
    assert uc.parameters["events_outside_area_in_edge_units"] == 3
    # the units are the study area: nothing to clip, the whole beat is counted
    whole = unit_counts(edge_store, CountsRequest.parse(layer="crime", categories=["Drugs"],
                                                        unit="boundary:beats"))
    assert whole.counts.tolist() == [5]
    assert whole.parameters["events_outside_area_in_edge_units"] == 0


def test_grid_squares_are_clipped_in_metres_too(edge_store: Store) -> None:
    req = CountsRequest.parse(layer="crime", categories=["Drugs"], unit="grid:1000",
                              area=_bbox())
    uc = unit_counts(edge_store, req)
    assert int(uc.counts.sum()) == 2
    x_edge = crs.to_metric(np.array([AREA[2]]), np.array([LAT_C]), crs.BNG)[0][0]
    assert (uc.events.loc[uc.index >= 0, "x"] < x_edge).all()


def test_protected_counts_keep_whole_edge_units(store: Store, tmp_path: Path) -> None:
    """Disclosure control: a partner's ambulance counts are of whole cells (a cell cut by
    a tiny area around one call-out would say where it was); the analyst's are clipped."""
    path = tmp_path / "2018-10-edge-street.csv"
    _write_policeuk(path, INSIDE + OUTSIDE_IN_EDGE_CELL + FAR)
    import_events(store, [(path.name, path)], fmt="policeuk", layer="ambulance")
    req = CountsRequest.parse(layer="ambulance", unit="h3:8", area=_bbox(), start="2018-10",
                              end="2018-10")
    partner = unit_counts(store, req, role="partner")
    assert int(partner.counts.sum()) == 5
    assert partner.parameters["unit_edge_units"] == "counted whole (disclosure control)"
    assert partner.parameters["events_outside_area_in_edge_units"] == "<5"
    assert any(w.startswith("counted: <5 events outside the study area") for w in
               partner.warnings)
    analyst = unit_counts(store, req, role="analyst")
    assert int(analyst.counts.sum()) == 2
    assert analyst.parameters["events_outside_area_in_edge_units"] == 3
