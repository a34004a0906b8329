"""Tests of spatial.evaluation.areas: geometry in metres, rings, controls, GeoJSON."""

from __future__ import annotations

import math

import pytest
import shapely

from spatial.errors import ParameterError
from spatial.evaluation.areas import build_areas, polygon_from_geojson, to_metric
from spatial.place import crs
from tests.spatial.evaluation.scenes import (
    CONTROL_M,
    E0,
    N0,
    TARGET_M,
    make_areas,
    square,
    wgs,
)


@pytest.mark.parametrize("radius", [150.0, 300.0, 1_000.0])
def test_ring_areas_of_a_circle_target(radius: float) -> None:
    lon, lat = -1.47, 53.38  # Sheffield: BNG
    areas = build_areas(circle=(lon, lat, radius), buffer_m=[200, 500],
                            control=None, decay_step_m=100, decay_max_m=1_000)
    assert areas.epsg == crs.BNG
    assert areas.target.area == pytest.approx(math.pi * radius**2, rel=1e-3)
    edges = [0.0, 200.0, 500.0]
    for ring, a, b in zip(areas.buffer_rings, edges, edges[1:], strict=False):
        expected = math.pi * ((radius + b) ** 2 - (radius + a) ** 2)
        assert ring.area == pytest.approx(expected, rel=1e-3)
        assert not ring.intersects(areas.target.buffer(-1.0))  # the ring excludes the target
    assert areas.buffer.area == pytest.approx(math.pi * ((radius + 500) ** 2 - radius**2),
                                              rel=1e-3)
    assert len(areas.decay_rings) == 10
    for k, ring in enumerate(areas.decay_rings):
        a, b = 100.0 * k, 100.0 * (k + 1)
        assert ring.area == pytest.approx(math.pi * ((radius + b) ** 2 - (radius + a) ** 2),
                                          rel=1e-3)


def test_circle_in_utm_outside_great_britain() -> None:
    areas = build_areas(circle=(-87.65, 41.85, 400.0), buffer_m=[400])  # Chicago
    assert areas.epsg == 32616
    assert areas.buffer.area == pytest.approx(math.pi * (800**2 - 400**2), rel=1e-3)
    assert areas.parameters()["crs"] == "EPSG:32616"


def test_square_target_rings_and_round_trip() -> None:
    areas = make_areas()
    assert areas.target.area == pytest.approx(400 * 400, rel=1e-6)
    # a 200 m ring around a 400 m square: the square grown by 200 m with round corners
    expected = (800 * 800 - 4 * 200 * 200 + math.pi * 200**2) - 400 * 400
    assert areas.buffer.area == pytest.approx(expected, rel=1e-3)
    gj = areas.as_geojson()
    assert gj["target"]["type"] == "Polygon" and gj["buffer_control"] is None
    back = to_metric(polygon_from_geojson(gj["control"]), crs.BNG)
    # a straight BNG edge is not straight in lon/lat: millimetres apart after the round trip
    assert back.symmetric_difference(CONTROL_M).area < 1e-4 * CONTROL_M.area


def test_control_must_not_overlap_and_should_not_touch() -> None:
    with pytest.raises(ParameterError, match="overlaps the buffer"):
        make_areas(control=wgs(square(E0 + 500, N0, 200)))
    touching = make_areas(control=wgs(shapely.box(E0 + 400, N0 - 100, E0 + 700, N0 + 100)))
    assert any("touches the buffer" in w for w in touching.warnings)


def test_buffer_polygon_is_cut_from_the_target() -> None:
    big = square(E0, N0, 500)
    areas = build_areas(target=wgs(TARGET_M), buffer=wgs(big), epsg=crs.BNG)
    assert areas.buffer.area == pytest.approx(1000 * 1000 - 400 * 400, rel=1e-4)
    assert any("overlapped the target" in w for w in areas.warnings)
    assert areas.buffer_edges_m is None


def test_polygon_from_geojson_forms_and_errors() -> None:
    poly = {"type": "Polygon", "coordinates": [[[-1.5, 53.3], [-1.4, 53.3], [-1.4, 53.4],
                                                 [-1.5, 53.3]]]}
    assert polygon_from_geojson(poly).geom_type == "Polygon"
    feature = {"type": "Feature", "properties": {}, "geometry": poly}
    fc = {"type": "FeatureCollection", "features": [feature]}
    assert polygon_from_geojson(fc).equals(polygon_from_geojson(feature))
    with pytest.raises(ParameterError, match="polygon"):
        polygon_from_geojson({"type": "Point", "coordinates": [-1.5, 53.3]})
    with pytest.raises(ParameterError, match="WGS84"):
        polygon_from_geojson({"type": "Polygon", "coordinates": [[
            [440000, 380000], [441000, 380000], [441000, 381000], [440000, 380000]]]})
    with pytest.raises(ParameterError):
        polygon_from_geojson("not json")
