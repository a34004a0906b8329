"""Axis order and projections (spatial.place.crs), with the geometry helpers."""

from __future__ import annotations

import h3
import numpy as np
import pytest
import shapely
from pyproj import CRS

from spatial.errors import ParameterError
from spatial.place import crs

SHEFFIELD_TOWN_HALL = (-1.4701, 53.3807)  # lon, lat


def test_h3_latlng_swaps_lon_lat() -> None:
    lat, lng = crs.h3_latlng(np.array([-1.47]), np.array([53.38]))
    assert lat[0] == 53.38 and lng[0] == -1.47


def test_h3_boundary_lonlat_closes_ring_in_lon_lat_order() -> None:
    ring = crs.h3_boundary_lonlat(((53.0, -1.0), (53.1, -1.1), (53.2, -1.0)))
    assert ring[0] == (-1.0, 53.0) and ring[-1] == ring[0] and len(ring) == 4


def test_utm_and_metric_epsg() -> None:
    assert crs.utm_epsg(-74.0, 40.7) == 32618  # New York
    assert crs.utm_epsg(-111.9, 33.4) == 32612  # Tempe
    assert crs.metric_epsg(np.array([-1.47]), np.array([53.38])) == crs.BNG
    assert crs.metric_epsg(np.array([-87.6]), np.array([41.8])) == 32616  # Chicago
    with pytest.raises(ParameterError):
        crs.utm_epsg(200.0, 0.0)


def test_to_metric_round_trip() -> None:
    lon, lat = np.array([SHEFFIELD_TOWN_HALL[0]]), np.array([SHEFFIELD_TOWN_HALL[1]])
    x, y = crs.to_metric(lon, lat, crs.BNG)
    # Sheffield Town Hall is at about (435,300 E, 387,200 N) on the National Grid
    assert 434_800 < x[0] < 435_800 and 386_700 < y[0] < 387_700
    lon2, lat2 = crs.to_wgs84(x, y, crs.BNG)
    np.testing.assert_allclose([lon2[0], lat2[0]], [lon[0], lat[0]], atol=1e-9)


def test_reproject_geometries_matches_point_transform() -> None:
    square = shapely.box(-1.50, 53.37, -1.49, 53.38)
    projected = crs.geometry_to_metric(square, crs.BNG)[()]
    lonlat = shapely.get_coordinates(square)
    xs, ys = crs.to_metric(lonlat[:, 0], lonlat[:, 1], crs.BNG)
    np.testing.assert_allclose(shapely.get_coordinates(projected), np.c_[xs, ys], rtol=0, atol=1e-6)
    back = crs.geometry_to_wgs84(projected, crs.BNG)[()]
    assert shapely.equals_exact(back, square, tolerance=1e-7)  # ~1 cm


def test_reproject_geometries_arrays_and_crs_objects() -> None:
    geoms = np.array([shapely.Point(435_000, 387_000), None, shapely.Polygon()], dtype=object)
    out = crs.reproject_geometries(geoms, CRS.from_epsg(27700), "EPSG:4326")
    assert out.shape == (3,) and out[1] is None and out[2].is_empty
    assert crs.in_bounds(np.array([out[0].x]), np.array([out[0].y]), crs.UK_BOUNDS)[0]
    # same CRS: a copy, unchanged
    same = crs.reproject_geometries(geoms, 27700, 27700)
    assert same is not geoms and same[0].equals(geoms[0])


def test_reproject_out_of_domain_gives_non_finite_or_out_of_range() -> None:
    # BNG metres read as if they were degrees and sent to BNG: absurd, never silently plausible
    pt = crs.reproject_geometries(shapely.Point(435_000, 387_000), crs.WGS84, crs.BNG)[()]
    x, y = pt.x, pt.y
    assert not (np.isfinite(x) and np.isfinite(y) and 0 <= x <= 700_000 and 0 <= y <= 1_300_000)


def test_crs_label() -> None:
    assert crs.crs_label(27700) == "EPSG:27700"
    assert crs.crs_label("EPSG:4326") == "EPSG:4326"
    custom = CRS.from_proj4("+proj=tmerc +lat_0=10 +lon_0=3 +k=1 +x_0=0 +y_0=0 +ellps=WGS84")
    assert crs.crs_label(custom) and not crs.crs_label(custom).startswith("EPSG")


def test_h3_polygons_lonlat_agree_with_h3_and_contain_centres() -> None:
    cells = np.array([h3.str_to_int(h3.latlng_to_cell(53.38, -1.47, r)) for r in (5, 8, 10)],
                     dtype=np.uint64)
    polys = crs.h3_polygons_lonlat(cells)
    for cell, poly in zip(cells, polys, strict=True):
        cid = h3.int_to_str(int(cell))
        expected = shapely.Polygon(crs.h3_boundary_lonlat(h3.cell_to_boundary(cid)))
        assert poly.equals_exact(expected, tolerance=1e-12) or poly.normalize().equals_exact(
            expected.normalize(), tolerance=1e-12)
        lat, lng = h3.cell_to_latlng(cid)
        assert poly.contains(shapely.Point(lng, lat))
        minx, miny, maxx, maxy = poly.bounds
        assert -2 < minx < maxx < -1 and 53 < miny < maxy < 54  # x is longitude
    assert crs.h3_polygons_lonlat(np.array([], dtype=np.uint64)).size == 0
