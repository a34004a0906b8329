"""Spatial units, study areas and neighbours (spatial.place.units)."""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pytest
import shapely
from libpysal.weights import Queen, lat2W
from scipy.sparse import csr_matrix

from spatial.errors import ParameterError
from spatial.io.boundaries import read_boundaries
from spatial.place import contiguity, crs, placement, units

CENTRE = h3.latlng_to_cell(53.3807, -1.4701, 9)  # Sheffield Town Hall, res 9


def _dense(w: csr_matrix) -> np.ndarray:
    return np.asarray(w.toarray())


def _check_weights(w: csr_matrix, n: int) -> None:
    assert isinstance(w, csr_matrix) and w.shape == (n, n)
    dense = _dense(w)
    assert set(np.unique(dense)) <= {0.0, 1.0}
    assert (np.diag(dense) == 0).all()
    assert (dense == dense.T).all()


def _libpysal_dense(neighbors: dict[int, list[int]], n: int) -> np.ndarray:
    out = np.zeros((n, n))
    for i, js in neighbors.items():
        out[i, js] = 1.0
    return out


def _metric_box_area(x0: float, y0: float, x1: float, y1: float) -> shapely.Geometry:
    """A BNG rectangle as a WGS84 polygon (densified, so it stays a rectangle in BNG)."""
    return crs.geometry_to_wgs84(shapely.segmentize(shapely.box(x0, y0, x1, y1), 10), crs.BNG)[()]


# --- H3 units -------------------------------------------------------------------------------


def test_h3_units_cover_a_hand_made_area() -> None:
    disk = h3.grid_disk(CENTRE, 1)
    area = shapely.union_all([shapely.Polygon(crs.h3_boundary_lonlat(h3.cell_to_boundary(c)))
                              for c in disk]).buffer(-1e-6)  # strictly inside the 7 cells
    us = units.h3_units(area, 9)
    assert us.kind == "h3" and set(us.ids) == set(disk)
    assert list(us.ids) == sorted(us.ids, key=h3.str_to_int)
    assert us.epsg == crs.BNG and us.parameters["resolution"] == 9
    assert us.geometry.crs.to_epsg() == 4326 and us.labels is None
    frame = us.to_frame()
    assert list(frame.columns) == ["unit_id", "geometry"] and len(frame) == 7
    # a tiny area inside one cell still gives that cell
    lat, lng = h3.cell_to_latlng(CENTRE)
    tiny = units.h3_units(shapely.Point(lng, lat).buffer(1e-5), 9)
    assert tiny.ids.tolist() == [CENTRE]


def test_h3_units_from_bbox_and_locate() -> None:
    us = units.h3_units_from_bbox((-1.48, 53.375, -1.46, 53.385), 9)
    rng = np.random.default_rng(0)
    lon, lat = rng.uniform(-1.48, -1.46, 2000), rng.uniform(53.375, 53.385, 2000)
    lon = np.append(lon, [np.nan, 0.0])
    lat = np.append(lat, [53.38, 51.5])
    idx = units.locate(us, lon, lat)
    assert (idx[:-2] >= 0).all() and (idx[-2:] == -1).all()
    expected = [h3.latlng_to_cell(la, lo, 9) for lo, la in zip(lon[:-2], lat[:-2], strict=True)]
    assert us.ids[idx[:-2]].tolist() == expected
    # stored cells at the unit resolution are used as they are (for units that are the
    # study area: with a separate area, coordinates are needed to clip the edge cells)
    stored = placement.h3_cells(lon, lat, 9)
    with pytest.raises(ParameterError, match="lon/lat"):
        units.locate(us, None, None, h3_finest=stored)
    whole = dataclasses.replace(us, area=None)
    assert (units.locate(whole, None, None, h3_finest=stored) == idx).all()
    # finer stored cells: coordinates win (H3 children do not tile their parent) ...
    fine = placement.h3_cells(lon, lat, 12)
    assert (units.locate(us, lon, lat, h3_finest=fine) == idx).all()
    # ... and without coordinates the parents are used
    via_parent = units.locate(whole, None, None, h3_finest=fine)
    assert (via_parent[:-2] >= 0).mean() > 0.98 and (via_parent[-2:] == -1).all()
    with pytest.raises(ParameterError):
        units.h3_units_from_bbox((-1.46, 53.375, -1.48, 53.385), 9)


def test_h3_neighbours_hand_made() -> None:
    disk2 = h3.grid_disk(CENTRE, 2)  # 19 cells
    lats, lngs = zip(*(h3.cell_to_latlng(c) for c in disk2), strict=True)
    us = units.h3_units(shapely.MultiPoint(list(zip(lngs, lats, strict=True))).convex_hull, 9)
    keep = np.isin(us.ids, disk2)
    sub = units.UnitSet("h3", us.ids[keep], us.geometry[keep].reset_index(drop=True), us.epsg,
                        dict(us.parameters))
    w1 = contiguity.h3_neighbours(sub)
    _check_weights(w1, 19)
    degree = np.asarray(w1.sum(axis=1)).ravel()
    centre = int(np.flatnonzero(sub.ids == CENTRE)[0])
    assert degree[centre] == 6
    ring1 = np.isin(sub.ids, list(h3.grid_ring(CENTRE, 1)))
    ring2 = np.isin(sub.ids, list(h3.grid_ring(CENTRE, 2)))
    assert (degree[ring1] == 6).all()
    assert sorted(degree[ring2].tolist()) == [3] * 6 + [4] * 6
    w2 = units.neighbours(sub, k=2)
    _check_weights(w2, 19)
    expected = np.array([[0 < h3.grid_distance(a, b) <= 2 for b in sub.ids] for a in sub.ids])
    assert (_dense(w2) == expected).all()
    assert units.islands(w1).size == 0


def test_islands() -> None:
    far = [h3.latlng_to_cell(53.38, -1.47, 9), h3.latlng_to_cell(53.48, -1.27, 9)]
    cells = placement.cells_from_str(far)
    us = units.UnitSet("h3", np.array(far, dtype=object),
                       gpd.GeoSeries(crs.h3_polygons_lonlat(cells), crs=4326), crs.BNG,
                       {"resolution": 9})
    w = contiguity.h3_neighbours(us)
    assert w.nnz == 0 and units.islands(w).tolist() == [0, 1]
    assert units.islands(csr_matrix(np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0]]))).tolist() == [2]


# --- grid units -----------------------------------------------------------------------------


def test_grid_units_hand_made_and_lat2w() -> None:
    # a BNG rectangle strictly inside 4 x 2 squares of 250 m, columns 1720-1723, rows 1520-1521
    area = _metric_box_area(430_010, 380_010, 430_990, 380_490)
    g = units.grid_units(area, 250)
    assert g.kind == "grid" and g.epsg == crs.BNG and len(g) == 8
    assert g.ids.tolist() == [f"grid:250:{c}:{r}" for r in (1520, 1521)
                              for c in range(1720, 1724)]
    assert g.parameters["cell_size_m"] == 250.0
    w = contiguity.grid_neighbours(g)
    _check_weights(w, 8)
    ref = lat2W(2, 4, rook=False)
    assert (_dense(w) == _libpysal_dense(ref.neighbors, 8)).all()
    assert (_dense(units.neighbours(g)) == _dense(w)).all()
    # squares are where the ids say
    first = crs.geometry_to_metric(g.geometry.iloc[0], crs.BNG)[()]
    assert np.allclose(first.bounds, (430_000, 380_000, 430_250, 380_250), atol=1e-3)


def test_grid_units_bigger_lattice_matches_lat2w() -> None:
    area = _metric_box_area(430_010, 380_010, 431_990, 381_240)  # 8 columns x 5 rows of 250 m
    g = units.grid_units(area, 250)
    assert len(g) == 40
    assert (_dense(contiguity.grid_neighbours(g)) == _libpysal_dense(lat2W(5, 8, rook=False).neighbors,
                                                                40)).all()


def test_grid_locate_and_count() -> None:
    g = units.grid_units(_metric_box_area(430_010, 380_010, 430_990, 380_490), 250)
    x = np.array([430_100.0, 430_250.0, 430_989.9, 380_000.0, np.nan, 430_500.0])
    y = np.array([380_100.0, 380_100.0, 380_489.9, 380_000.0, 380_100.0, 379_999.0])
    idx = units.locate(g, None, None, x, y, xy_epsg=crs.BNG)
    # a point on a grid line goes to the square east/north of it (floor division)
    assert g.ids[idx[:3]].tolist() == ["grid:250:1720:1520", "grid:250:1721:1520",
                                       "grid:250:1723:1521"]
    assert idx[3:].tolist() == [-1, -1, -1]
    lon, lat = crs.to_wgs84(x, y, crs.BNG)
    assert (units.locate(g, lon, lat) == idx).all()  # no x/y: projected from lon/lat
    # x/y in another CRS: lon/lat are projected instead
    assert (units.locate(g, lon, lat, x + 1e6, y, xy_epsg=32630) == idx).all()
    counts = units.count(g, idx)
    assert counts.dtype == np.int64 and counts.shape == (8,) and counts.sum() == 3
    assert (counts == 0).sum() == 5  # zeros are kept
    weighted = units.count(g, idx, weights=np.array([2.0, 1, 1, 5, 5, 5]))
    assert weighted.dtype == np.float64 and weighted.sum() == 4.0
    with pytest.raises(ParameterError):
        units.count(g, np.array([8]))
    with pytest.raises(ParameterError):
        units.count(g, idx, weights=np.ones(2))


def test_grid_units_refuse_bad_sizes() -> None:
    area = _metric_box_area(430_010, 380_010, 430_990, 380_490)
    for bad in (0, -5, float("nan")):
        with pytest.raises(ParameterError):
            units.grid_units(area, bad)
    with pytest.raises(ParameterError, match="larger squares"):
        units.grid_units((-8.0, 50.0, 1.7, 60.0), 10)


def test_grid_units_from_bbox_outside_gb_uses_utm() -> None:
    g = units.grid_units((-111.95, 33.40, -111.90, 33.45), 500)  # Tempe
    assert g.epsg == 32612 and len(g) > 50
    assert all(i.startswith("grid:500:") for i in g.ids)


# --- boundary units -------------------------------------------------------------------------


def _three_by_three() -> gpd.GeoDataFrame:
    boxes = [shapely.box(c, r, c + 1, r + 1) for r in range(3) for c in range(3)]
    # lon/lat squares of 0.01 degrees near Sheffield, numbered row by row from the south-west
    polys = np.array([shapely.affinity.affine_transform(b, [0.01, 0, 0, 0.01, -1.5, 53.35])
                      for b in boxes], dtype=object)
    return gpd.GeoDataFrame({"unit_id": [f"B{i}" for i in range(9)],
                             "label": [f"Beat {i}" for i in range(9)]}, geometry=polys, crs=4326)


def test_boundary_units_queen_hand_made() -> None:
    frame = _three_by_three()
    bu = units.boundary_units(frame, set_name="beats", version="2023")
    assert bu.kind == "boundary" and bu.ids[0] == "beats:B0" and bu.labels is not None
    assert bu.labels[4] == "Beat 4" and bu.parameters["version"] == "2023"
    assert bu.epsg == crs.BNG
    w = contiguity.queen_neighbours(bu)
    _check_weights(w, 9)
    assert np.asarray(w.sum(axis=1)).ravel().tolist() == [3, 5, 3, 5, 8, 5, 3, 5, 3]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = Queen.from_dataframe(frame, use_index=False)
    assert (_dense(w) == _libpysal_dense(ref.neighbors, 9)).all()
    assert (_dense(units.neighbours(bu)) == _dense(w)).all()
    out = bu.to_frame()
    assert list(out.columns) == ["unit_id", "label", "geometry"]
    assert bu.index_of(["beats:B4", "beats:X"]).tolist() == [4, -1]


def test_boundary_units_subset_and_locate() -> None:
    frame = _three_by_three()
    bu = units.boundary_units(frame, set_name="beats", subset=["B4", "B0"])
    assert bu.ids.tolist() == ["beats:B0", "beats:B4"]  # set order kept
    lon = np.array([-1.495, -1.485, -1.475, -1.49, -1.60])
    lat = np.array([53.355, 53.365, 53.375, 53.36, 53.36])
    idx = units.locate(bu, lon, lat)
    # B0 = (-1.50..-1.49, 53.35..53.36); B4 = (-1.49..-1.48, 53.36..53.37);
    # (-1.49, 53.36) is their shared corner -> the lower index
    assert idx.tolist() == [0, 1, -1, 0, -1]
    x, y = crs.to_metric(lon, lat, crs.BNG)
    assert (units.locate(bu, lon, lat, x, y) == idx).all()
    with pytest.raises(ParameterError, match="B99"):
        units.boundary_units(frame, set_name="beats", subset=["B99"])
    with pytest.raises(ParameterError):
        units.boundary_units(frame, set_name="bad:name")
    with pytest.raises(ParameterError):
        units.boundary_units(frame.rename(columns={"unit_id": "code"}), set_name="beats")


def test_boundary_units_reproject_other_crs() -> None:
    frame = _three_by_three().to_crs(27700)
    bu = units.boundary_units(frame, set_name="beats")
    assert bu.geometry.crs.to_epsg() == 4326
    assert np.allclose(bu.geometry.total_bounds, (-1.5, 53.35, -1.47, 53.38), atol=1e-7)


def test_unit_set_validation_and_dispatch() -> None:
    geoms = gpd.GeoSeries([shapely.box(0, 0, 1, 1)] * 2, crs=4326)
    with pytest.raises(ParameterError, match="unique"):
        units.UnitSet("grid", np.array(["a", "a"], dtype=object), geoms, crs.BNG, {})
    with pytest.raises(ParameterError):
        units.UnitSet("hex", np.array(["a", "b"], dtype=object), geoms, crs.BNG, {})
    with pytest.raises(ParameterError):
        units.UnitSet("grid", np.array(["a"], dtype=object), geoms, crs.BNG, {})
    g = units.grid_units(_metric_box_area(430_010, 380_010, 430_990, 380_490), 250)
    with pytest.raises(ParameterError):
        units.neighbours(g, k=2)
    with pytest.raises(ParameterError):
        contiguity.h3_neighbours(g)
    h = units.h3_units_from_bbox((-1.48, 53.375, -1.47, 53.38), 9)
    with pytest.raises(ParameterError):
        units.neighbours(h, radius=3)
    with pytest.raises(ParameterError):
        contiguity.h3_neighbours(h, k=0)


# --- real data ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sheffield_nhood(shared_data: Path) -> gpd.GeoDataFrame:
    return read_boundaries(shared_data / "boundaries/sheffield/sheffield_nhood.geojson",
                           id_field="nhood_code", label_field="nhood_name").units


@pytest.fixture(scope="module")
def south_yorkshire(shared_data: Path) -> pd.DataFrame:
    files = sorted((shared_data / "policeuk").glob("*-south-yorkshire-street.csv"))
    frame = pd.concat([pd.read_csv(f, usecols=["Longitude", "Latitude"]) for f in files])
    return frame.dropna().reset_index(drop=True)


@pytest.mark.realdata
def test_h3_units_over_sheffield_count_every_point(sheffield_nhood: gpd.GeoDataFrame,
                                                   south_yorkshire: pd.DataFrame) -> None:
    area = sheffield_nhood.union_all()
    us = units.h3_units(area, 8)
    lon, lat = south_yorkshire["Longitude"].to_numpy(), south_yorkshire["Latitude"].to_numpy()
    x, y = crs.to_metric(lon, lat, us.epsg)
    idx = units.locate(us, lon, lat, x, y)
    inside = shapely.intersects_xy(area, lon, lat)
    assert inside.sum() > 20_000
    assert (idx[inside] >= 0).all()  # every point in a neighbourhood is in some unit
    counts = units.count(us, idx)
    assert counts.sum() == (idx >= 0).sum()
    assert (counts == 0).sum() > 0  # cells with no events are there, as zeros
    # every unit touches the study area
    assert shapely.intersects(np.asarray(us.geometry.values), area).all()
    w = contiguity.h3_neighbours(us)
    _check_weights(w, len(us))


@pytest.mark.realdata
def test_h3_units_cover_random_and_boundary_points(sheffield_nhood: gpd.GeoDataFrame) -> None:
    area = sheffield_nhood.union_all()
    rng = np.random.default_rng(11)
    minx, miny, maxx, maxy = area.bounds
    lon, lat = rng.uniform(minx, maxx, 200_000), rng.uniform(miny, maxy, 200_000)
    keep = shapely.intersects_xy(area, lon, lat)
    vx, vy = shapely.get_coordinates(area.boundary).T  # the hardest points: on the edge
    lon, lat = np.r_[lon[keep], vx], np.r_[lat[keep], vy]
    for res in (7, 9):
        us = units.h3_units(area, res)
        assert (units.locate(us, lon, lat) >= 0).all()


@pytest.mark.realdata
def test_queen_matches_libpysal_on_sheffield(sheffield_nhood: gpd.GeoDataFrame) -> None:
    bu = units.boundary_units(sheffield_nhood, set_name="sheffield_nhood")
    w = contiguity.queen_neighbours(bu)
    _check_weights(w, 100)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = Queen.from_dataframe(sheffield_nhood, use_index=False)
    assert (_dense(w) == _libpysal_dense(ref.neighbors, 100)).all()
    assert units.islands(w).size == 0


@pytest.mark.realdata
def test_boundary_and_grid_units_on_sheffield(sheffield_nhood: gpd.GeoDataFrame,
                                              south_yorkshire: pd.DataFrame) -> None:
    lon, lat = south_yorkshire["Longitude"].to_numpy(), south_yorkshire["Latitude"].to_numpy()
    bu = units.boundary_units(sheffield_nhood, set_name="sheffield_nhood")
    idx = units.locate(bu, lon, lat)
    inside = shapely.intersects_xy(sheffield_nhood.union_all(), lon, lat)
    assert ((idx >= 0) == inside).all()
    darnall = int(np.flatnonzero(bu.labels == "Darnall")[0])
    assert units.count(bu, idx)[darnall] > 0
    g = units.grid_units(sheffield_nhood.union_all(), 500)
    gi = units.locate(g, lon, lat)
    assert (gi[inside] >= 0).all()
    assert units.count(g, gi).sum() == (gi >= 0).sum()


# --- study areas clip their edge units (issue 10, item 7) -----------------------------------


def test_h3_edge_cell_counts_only_events_inside_the_area() -> None:
    lat_c, lng_c = h3.cell_to_latlng(CENTRE)
    # the area's east edge is the meridian through the centre of CENTRE, a res-9 cell
    # about 350 m across: CENTRE is an edge cell, half in the area and half out
    area = shapely.box(lng_c - 0.01, lat_c - 0.01, lng_c, lat_c + 0.01)
    us = units.h3_units(area, 9)
    assert us.area is not None and us.parameters["edge_units"]
    lon = np.array([lng_c - 0.0005, lng_c + 0.0005, lng_c, lng_c + 0.0005, lng_c + 0.05,
                    np.nan])
    lat = np.array([lat_c, lat_c, lat_c + 0.0002, lat_c - 0.0003, lat_c, lat_c])
    # every near point is in CENTRE, on either side of the area's edge
    assert [h3.latlng_to_cell(la, lo, 9) for lo, la in zip(lon[:4], lat[:4],
                                                           strict=True)] == [CENTRE] * 4
    centre = int(us.index_of([CENTRE])[0])
    located = units.locate_points(us, lon, lat)
    # inside, two outside in the edge cell, on the edge (inside), far outside, no coordinates
    assert located.index.tolist() == [centre, -1, centre, -1, -1, -1]
    assert located.clipped == 2 and located.counted == 2 and located.not_counted == 4
    assert located.in_units.tolist() == [centre] * 4 + [-1, -1]  # whole edge units
    assert (units.locate(us, lon, lat) == located.index).all()
    counts = units.count(us, located.index)
    assert counts[centre] == 2 and counts.sum() == 2
    # without the area (units that are the study area) the edge cell takes all four
    whole = units.locate_points(dataclasses.replace(us, area=None), lon, lat)
    assert whole.clipped == 0 and (whole.index[:4] == centre).all()
    # projected x/y alone are enough to clip (converted back to lon/lat; the point exactly
    # on the edge is left out: the round trip through metres moves it by ~1e-10 degrees)
    x, y = crs.to_metric(lon, lat, crs.BNG)
    via_xy = units.locate(us, None, None, x, y, h3_finest=placement.h3_cells(lon, lat, 9),
                          xy_epsg=crs.BNG)
    assert (np.delete(via_xy, 2) == np.delete(located.index, 2)).all()


def test_grid_edge_square_counts_only_events_inside_the_area() -> None:
    # square column 1720 spans x 430,000-430,250 m (BNG); the area ends at the meridian
    # through (430,125, 380,125), inside that square
    edge_lon, edge_lat = crs.to_wgs84(np.array([430_125.0]), np.array([380_125.0]), crs.BNG)
    area = shapely.box(float(edge_lon[0]) - 0.02, float(edge_lat[0]) - 0.01,
                       float(edge_lon[0]), float(edge_lat[0]) + 0.01)
    g = units.grid_units(area, 250)
    x = np.array([430_085.0, 430_165.0, 430_240.0])
    y = np.full(3, 380_125.0)
    lon, lat = crs.to_wgs84(x, y, crs.BNG)
    located = units.locate_points(g, lon, lat, x, y, xy_epsg=crs.BNG)
    square = int(g.index_of(["grid:250:1720:1520"])[0])
    assert located.index.tolist() == [square, -1, -1] and located.clipped == 2
    assert (units.locate(g, None, None, x, y, xy_epsg=crs.BNG) == located.index).all()
    assert units.count(g, located.index).sum() == 1


def test_boundary_units_with_a_separate_area_are_clipped() -> None:
    frame = _three_by_three()
    # beats B0 and B1 (lon -1.50..-1.48, lat 53.35..53.36) touch an area that covers B0 and
    # the west half of B1
    area = shapely.box(-1.51, 53.349, -1.485, 53.361)
    bu = units.boundary_units(frame, set_name="beats", subset=["B0", "B1"], area=area)
    assert "within" in bu.parameters["study_area"] and bu.parameters["edge_units"]
    lon = np.array([-1.495, -1.487, -1.482])
    lat = np.full(3, 53.355)
    located = units.locate_points(bu, lon, lat)
    assert located.index.tolist() == [0, 1, -1] and located.clipped == 1
    plain_units = units.boundary_units(frame, set_name="beats", subset=["B0", "B1"])
    assert plain_units.area is None and "edge_units" not in plain_units.parameters
    assert units.locate(plain_units, lon, lat).tolist() == [0, 1, 1]
    with pytest.raises(ParameterError, match="area"):
        units.boundary_units(frame, set_name="beats", area=shapely.Point(0, 0))
