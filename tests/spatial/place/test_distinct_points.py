"""H3 cells and their strings computed per distinct point/cell equal the per-row answer."""

from __future__ import annotations

import h3
import numpy as np

from spatial.place import placement


def test_distinct_points_first_and_inverse() -> None:
    x = np.array([1.0, 2.0, 1.0, -0.0, 0.0, 2.0])
    y = np.array([5.0, 5.0, 5.0, 7.0, 7.0, 6.0])
    first, inverse = placement.distinct_points(x, y)
    assert first.tolist() == [0, 1, 3, 4, 5]  # -0.0 and 0.0 are different bits
    assert inverse.tolist() == [0, 1, 0, 2, 3, 4]
    assert np.array_equal(x[first][inverse], x) and np.array_equal(y[first][inverse], y)


def test_h3_cells_of_repeated_points_equal_per_point_cells() -> None:
    rng = np.random.default_rng(9)
    base_lon = np.round(rng.uniform(-1.6, -1.3, 300), 4)
    base_lat = np.round(rng.uniform(53.3, 53.5, 300), 4)
    pick = rng.integers(0, 300, 3000)
    lon, lat = base_lon[pick].copy(), base_lat[pick].copy()
    lon[:4] = [np.nan, 200.0, -1.45, -1.45]
    lat[:4] = [53.4, 53.4, np.inf, 53.4]
    cells = placement.h3_cells(lon, lat, 9)
    want = [0 if not (np.isfinite(a) and np.isfinite(b) and abs(a) <= 180 and abs(b) <= 90)
            else h3.str_to_int(h3.latlng_to_cell(b, a, 9)) for a, b in zip(lon, lat, strict=True)]
    assert cells.tolist() == want
    strings = placement.cells_to_str(cells)
    assert strings.tolist() == [None if c == 0 else h3.int_to_str(c) for c in want]


def test_cells_to_str_invalid_and_zero_are_none() -> None:
    good = h3.str_to_int(h3.latlng_to_cell(53.38, -1.47, 8))
    out = placement.cells_to_str(np.array([good, 0, 12345, good], dtype=np.uint64))
    assert out.tolist() == [h3.int_to_str(good), None, None, h3.int_to_str(good)]
