"""Placing events: H3 cells and exact point-in-polygon (spatial.place.placement)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import h3
import numpy as np
import pytest
import shapely

from spatial.errors import ParameterError
from spatial.io.boundaries import read_boundaries
from spatial.place import crs, placement

# (lon, lat): Sheffield, Derby, Reading, New York, Tempe, the antimeridian, the south
POINTS = np.array([(-1.4701, 53.3807), (-1.4746, 52.9225), (-0.9781, 51.4543),
                   (-74.006, 40.7128), (-111.94, 33.425), (179.99, -16.5), (-58.4, -34.6)])


@pytest.mark.parametrize("res", [0, 5, 8, 9, 15])
def test_h3_cells_match_h3_latlng_to_cell(res: int) -> None:
    lon, lat = POINTS[:, 0], POINTS[:, 1]
    cells = placement.h3_cells(lon, lat, res)
    assert cells.dtype == np.uint64
    expected = [h3.str_to_int(h3.latlng_to_cell(la, lo, res)) for lo, la in zip(lon, lat, strict=True)]
    assert cells.tolist() == expected


def test_h3_cells_missing_and_out_of_range_give_zero() -> None:
    lon = np.array([-1.47, np.nan, -1.47, np.inf, 181.0, -1.47])
    lat = np.array([53.38, 53.38, np.nan, 53.38, 53.38, 91.0])
    cells = placement.h3_cells(lon, lat, 8)
    assert cells[0] != 0 and (cells[1:] == 0).all()
    assert (placement.h3_cells([np.nan], [np.nan], 8) == 0).all()
    assert placement.h3_cells([], [], 8).size == 0


def test_h3_cells_axis_order_is_lon_lat() -> None:
    # swapping the arguments would put Sheffield in the Indian Ocean (lat -1.47, lon 53.38)
    cell = placement.cells_to_str(placement.h3_cells([-1.4701], [53.3807], 9))[0]
    lat, lng = h3.cell_to_latlng(cell)
    assert abs(lat - 53.3807) < 0.01 and abs(lng + 1.4701) < 0.01


@pytest.mark.parametrize("bad", [-1, 16, 8.0, True, "8"])
def test_h3_cells_rejects_bad_resolution(bad: object) -> None:
    with pytest.raises(ParameterError):
        placement.h3_cells([-1.47], [53.38], bad)  # type: ignore[arg-type]


def test_cells_string_round_trip() -> None:
    cells = placement.h3_cells(POINTS[:, 0], POINTS[:, 1], 9)
    cells = np.append(cells, np.uint64(0))
    strings = placement.cells_to_str(cells)
    assert strings.dtype == object and strings[-1] is None
    assert strings[0] == h3.latlng_to_cell(53.3807, -1.4701, 9)
    back = placement.cells_from_str(strings)
    assert back.dtype == np.uint64 and back.tolist() == cells.tolist()
    assert placement.cells_from_str(["", None, np.nan]).tolist() == [0, 0, 0]


@pytest.mark.parametrize("bad", ["zz", "8819420c97ffff0", "not a cell"])
def test_cells_from_str_rejects_garbage(bad: str) -> None:
    with pytest.raises(ParameterError, match="not an H3 cell"):
        placement.cells_from_str(["8819420c97fffff", bad])


def test_parent_cells_match_h3() -> None:
    fine = placement.h3_cells(POINTS[:, 0], POINTS[:, 1], 12)
    for res in (12, 9, 8, 5, 0):
        parents = placement.parent_cells(np.append(fine, np.uint64(0)), res)
        expected = [h3.str_to_int(h3.cell_to_parent(h3.int_to_str(int(c)), res)) for c in fine]
        assert parents[:-1].tolist() == expected and parents[-1] == 0
    assert (placement.cell_resolutions(fine) == 12).all()
    with pytest.raises(ParameterError, match="coarser"):
        placement.parent_cells(placement.h3_cells([-1.47], [53.38], 7), 8)


# --- assign_polygons ----------------------------------------------------------------------

LEFT = shapely.box(0, 0, 1, 1)
RIGHT = shapely.box(1, 0, 2, 1)
DONUT = shapely.Polygon([(3, 0), (6, 0), (6, 3), (3, 3)], [[(4, 1), (5, 1), (5, 2), (4, 2)]])
IN_HOLE = shapely.box(4, 1, 5, 2)


def test_assign_polygons_hand_made() -> None:
    polys = np.array([LEFT, RIGHT, DONUT, IN_HOLE, None, shapely.Polygon()], dtype=object)
    x = np.array([0.5, 1.5, 1.0, 1.0, 3.5, 4.5, 10.0, np.nan, 0.0, 2.0])
    y = np.array([0.5, 0.5, 0.5, 1.0, 0.5, 1.5, 10.0, 0.5, 0.0, 1.0])
    got = placement.assign_polygons(x, y, polys)
    # shared border -> lowest index (0); hole -> the polygon filling it; outside/NaN -> -1;
    # a corner and an outer edge still count as "in" (intersects)
    assert got.tolist() == [0, 1, 0, 0, 2, 3, -1, -1, 0, 1]
    assert got.dtype == np.int64


def test_assign_polygons_is_order_independent_of_points() -> None:
    rng = np.random.default_rng(3)
    x, y = rng.uniform(-0.5, 6.5, 5000), rng.uniform(-0.5, 3.5, 5000)
    polys = np.array([LEFT, RIGHT, DONUT], dtype=object)
    got = placement.assign_polygons(x, y, polys)
    perm = rng.permutation(x.size)
    assert (placement.assign_polygons(x[perm], y[perm], polys) == got[perm]).all()
    brute = np.full(x.size, -1)
    for i in (2, 1, 0):
        brute[shapely.intersects_xy(polys[i], x, y)] = i
    assert (got == brute).all()


def test_assign_polygons_empty_inputs_and_errors() -> None:
    assert placement.assign_polygons([], [], [LEFT]).size == 0
    assert placement.assign_polygons([0.5], [0.5], []).tolist() == [-1]
    with pytest.raises(ParameterError):
        placement.assign_polygons([0.5, 1.0], [0.5], [LEFT])


@pytest.mark.realdata
def test_assign_polygons_matches_sjoin_on_sheffield_lsoas(shared_data: Path) -> None:
    lsoa = read_boundaries(shared_data / "boundaries/sheffield/sheffield_lsoa.geojson",
                           id_field="LSOA11CD").units
    polys = crs.geometry_to_metric(lsoa.geometry.values, crs.BNG)
    rng = np.random.default_rng(7)
    minx, miny, maxx, maxy = shapely.total_bounds(polys)
    x, y = rng.uniform(minx, maxx, 50_000), rng.uniform(miny, maxy, 50_000)
    got = placement.assign_polygons(x, y, polys)
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=crs.BNG)
    zones = gpd.GeoDataFrame({"k": np.arange(len(polys))}, geometry=polys, crs=crs.BNG)
    joined = gpd.sjoin(pts, zones, how="left", predicate="intersects")
    ref = joined.groupby(level=0)["k"].min().reindex(range(x.size)).fillna(-1).astype(int)
    assert (got == ref.to_numpy()).all()
    assert (got >= 0).mean() > 0.5


def test_cells_to_arrow_spells_cells_as_cells_to_str() -> None:
    rng = np.random.default_rng(3)
    lon, lat = rng.uniform(-3, 1, 500), rng.uniform(51, 55, 500)
    lon[::50] = np.nan  # no cell: null, as cells_to_str gives None
    for res in (7, 11):
        cells = placement.h3_cells(lon, lat, res)
        assert placement.cells_to_arrow(cells).to_pylist() == placement.cells_to_str(cells).tolist()
        ok = cells != 0
        assert placement.cells_to_arrow(cells[ok]).null_count == 0
