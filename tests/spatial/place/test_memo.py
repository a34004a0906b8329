"""PointMemo: remembered values are the function's own, collisions are misses."""

from __future__ import annotations

import numpy as np
import pytest

from spatial.place import memo as memo_module
from spatial.place import placement
from spatial.place.memo import PointMemo, point_hashes


class Counting:
    """A function of the point that counts the points it is asked for."""

    def __init__(self) -> None:
        self.asked = 0

    def __call__(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        self.asked += len(lon)
        return (lon.view(np.int64) ^ (lat.view(np.int64) * 3)).astype(np.int64)


def test_values_equal_the_function_and_only_new_points_are_computed() -> None:
    rng = np.random.default_rng(7)
    pool_lon, pool_lat = rng.uniform(-2, 0, 500), rng.uniform(52, 54, 500)
    f, memo = Counting(), PointMemo(np.int64)
    seen: set[int] = set()
    for _ in range(6):
        pick = np.unique(rng.integers(0, 500, 200))
        got = memo.values(pool_lon[pick], pool_lat[pick], f)
        np.testing.assert_array_equal(got, Counting()(pool_lon[pick], pool_lat[pick]))
        seen |= set(pick.tolist())
    assert f.asked == len(seen) == len(memo)


def test_points_are_told_apart_by_their_bits() -> None:
    f, memo = Counting(), PointMemo(np.int64)
    lon = np.array([0.0, -0.0, 0.0, np.nan])
    lat = np.array([51.0, 51.0, -0.0, np.nan])
    first = memo.values(lon, lat, f)
    assert len(set(first.tolist())) == 4
    np.testing.assert_array_equal(memo.values(lon[::-1], lat[::-1], f), first[::-1])
    assert f.asked == 4


def test_a_hash_collision_is_a_miss_never_a_wrong_value(monkeypatch: pytest.MonkeyPatch) -> None:
    # every point hashes alike: only the first is remembered, the rest are computed each time
    monkeypatch.setattr(memo_module, "point_hashes",
                        lambda lon, lat: np.zeros(len(lon), dtype=np.uint64))
    f, memo = Counting(), PointMemo(np.int64)
    lon, lat = np.array([1.0, 2.0, 3.0]), np.array([50.0, 50.0, 50.0])
    expected = Counting()(lon, lat)
    for _ in range(3):
        np.testing.assert_array_equal(memo.values(lon, lat, f), expected)
    assert len(memo) == 1
    assert f.asked == 3 + 2 + 2


def test_a_full_memo_still_answers() -> None:
    f, memo = Counting(), PointMemo(np.int64, capacity=2)
    lon, lat = np.arange(5.0), np.full(5, 52.0)
    np.testing.assert_array_equal(memo.values(lon, lat, f), Counting()(lon, lat))
    np.testing.assert_array_equal(memo.values(lon, lat, f), Counting()(lon, lat))
    assert len(memo) == 2
    assert f.asked == 5 + 3


def test_h3_cells_through_the_memo_match_direct_indexing() -> None:
    rng = np.random.default_rng(3)
    lon, lat = rng.uniform(-1.6, -1.3, 2000).round(4), rng.uniform(53.3, 53.5, 2000).round(4)
    memo = PointMemo(np.uint64)
    for part in np.array_split(np.arange(2000), 5):
        first, _ = placement.distinct_points(lon[part], lat[part])
        idx = part[first]
        got = memo.values(lon[idx], lat[idx], lambda x, y: placement.h3_cells(x, y, 9))
        np.testing.assert_array_equal(got, placement.h3_cells(lon[idx], lat[idx], 9))


def test_point_hashes_depend_on_both_coordinates() -> None:
    h = point_hashes(np.array([1.0, 2.0, 1.0]), np.array([5.0, 5.0, 6.0]))
    assert len(set(h.tolist())) == 3
