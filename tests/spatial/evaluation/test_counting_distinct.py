"""Placement once per distinct position and spec matching over distinct (layer, category)
pairs give the point-by-point answers."""

from __future__ import annotations

import numpy as np
import shapely

from spatial.evaluation.counting import MeasuredLayer, assign_areas
from spatial.place.placement import assign_polygons


def test_assign_areas_is_assign_polygons_point_by_point() -> None:
    rng = np.random.default_rng(7)
    polys = np.array([shapely.box(0, 0, 10, 10), shapely.box(10, 0, 20, 10),
                      shapely.box(5, 5, 15, 15), None], dtype=object)
    snap = rng.uniform(-2, 22, size=(40, 2))
    # snapped points repeat; edges (x = 10, shared by two boxes) and NaN included
    idx = rng.integers(0, 40, size=5000)
    x, y = snap[idx, 0].copy(), snap[idx, 1].copy()
    x[:50], y[:50] = 10.0, 5.0
    x[50:60] = np.nan
    y[60:70] = np.inf
    x[70:80] = -0.0
    got = assign_areas(x, y, polys)
    want = assign_polygons(x, y, polys)
    assert np.array_equal(got, want)
    assert (got[:50] == 0).all() and (got[50:70] == -1).all()
    assert np.array_equal(assign_areas(x[:1], y[:1], polys), want[:1])
    assert assign_areas(np.zeros(0), np.zeros(0), polys).size == 0


def test_matches_over_pairs_is_the_comparison_per_event() -> None:
    rng = np.random.default_rng(3)
    layers = np.array(["crime", "ambulance", "crime/x", None], dtype=object)
    cats = np.array(["Drugs", "Anti-social behaviour", "*", "Burglary", None], dtype=object)
    layer = layers[rng.integers(0, 4, 2000)]
    category = cats[rng.integers(0, 5, 2000)]
    for spec in (MeasuredLayer("crime", "Drugs"), MeasuredLayer("crime", "*"),
                 MeasuredLayer("crime", "Drugs+Burglary"), MeasuredLayer("ambulance", "*"),
                 MeasuredLayer("nothing", "*")):
        want = layer == spec.layer
        if spec.categories:
            want &= np.array([c in spec.categories for c in category])
        assert np.array_equal(spec.matches(layer, category), want)
        # the same arrays again (remembered pairs), and a changed copy (not remembered)
        assert np.array_equal(spec.matches(layer, category), want)
        other = layer.copy()
        other[:100] = "crime"
        want2 = other == spec.layer
        if spec.categories:
            want2 &= np.array([c in spec.categories for c in category])
        assert np.array_equal(spec.matches(other, category), want2)
    assert MeasuredLayer("crime", "*").matches([], []).size == 0
