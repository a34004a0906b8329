"""The columnar event cache (:class:`service.store.event_scan.EventCache`): scans from
memory equal the one-query SQL scan column for column, on both backends, and an
import is seen at once."""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from service.app.importer import ImportReport, store_events
from service.store import Store
from service.store.event_scan import (
    COLUMN_FIELDS,
    EventCache,
    ScanColumns,
    ScanSlice,
    slice_mask,
)
from spatial.evaluation.consequence_watch import SUBSTANCE_ATTRIBUTE
from tests.service.api.test_operations_api import load


def _assert_same(got: ScanColumns, want: ScanColumns) -> None:
    assert len(got) == len(want)
    for name in COLUMN_FIELDS:
        a, b = getattr(got, name), getattr(want, name)
        assert a.dtype == b.dtype, name
        if a.dtype == object:
            assert a.tolist() == b.tolist(), name
        else:
            assert np.array_equal(a, b), name


def _slices(store: Store) -> list[list[ScanSlice]]:
    (minlon, minlat, maxlon, maxlat), _ = store.layer_extents()["crime"]
    mid_lon, mid_lat = (minlon + maxlon) / 2, (minlat + maxlat) / 2
    crime = _times(store)
    # a window starting exactly at an event's time and ending exactly at another's:
    # the first is in (inclusive start), the second out (exclusive end)
    t0, t1 = crime[len(crime) // 3], crime[2 * len(crime) // 3]
    # a box whose edge passes exactly through an event (inclusive)
    lon_edge = float(store.scan_events_sql([ScanSlice({"crime": None})]).lon[7])
    return [
        [ScanSlice({"crime": frozenset({"Drugs", "Anti-social behaviour"}), "ambulance": None},
                   datetime(2018, 11, 1), datetime(2019, 3, 1),
                   (minlon, minlat, mid_lon, mid_lat)),
         ScanSlice({"crime": frozenset({"Drugs"})}, datetime(2018, 10, 1),
                   datetime(2018, 12, 1), (minlon, minlat, maxlon, maxlat)),
         ScanSlice({"dealing_site": None}, bbox=(mid_lon, mid_lat, maxlon, maxlat))],
        [ScanSlice({"crime": None}, t0, t1, (lon_edge, minlat, maxlon, maxlat))],
        [ScanSlice({"crime": frozenset({"No such category"}), "no_such_layer": None})],
        [ScanSlice({"ambulance": None}, datetime(2019, 1, 1), datetime(2019, 1, 1))],
        [],
    ]


def _times(store: Store) -> list[datetime]:
    t = store.scan_events_sql([ScanSlice({"crime": None})]).time
    return sorted(pd.Timestamp(v).to_pydatetime() for v in np.unique(t))




def test_cached_scans_equal_the_sql_scan(store: Store, tmp_path: Path) -> None:
    load(store, tmp_path, scale=0.1)
    store.configure_event_cache(64)
    assert store.event_cache is not None
    for slices in _slices(store):
        for kwargs in ({}, {"attributes_layer": "dealing_site"},
                       {"attribute": ("ambulance", SUBSTANCE_ATTRIBUTE),
                        "usual": {"layer": "crime", "time_precision": "month",
                                  "crs_epsg": 27700, "location_precision": "snapped"}}):
            want = store.scan_events_sql(slices, **kwargs)  # type: ignore[arg-type]
            for _ in range(2):  # built, then from memory
                got = store.scan_events(slices, **kwargs)  # type: ignore[arg-type]
                _assert_same(got, want)
                # the masks the cached scan hands over are the conditions' own
                assert got.masks is not None and len(got.masks) == len(slices)
                for s in slices:
                    assert np.array_equal(slice_mask(got, s), slice_mask(want, s))
    stats = store.event_cache.stats
    assert stats.hits > 0 and stats.builds >= 3 and stats.version_changes == 0
    sub = store.scan_events([ScanSlice({"ambulance": None})],
                            attribute=("ambulance", SUBSTANCE_ATTRIBUTE))
    assert any(v is not None for v in sub.attribute)  # the attribute was really read


def test_an_import_is_seen_at_once(store: Store, tmp_path: Path) -> None:
    town = load(store, tmp_path, scale=0.1)
    store.configure_event_cache(64)
    everything = [ScanSlice({"crime": None, "ambulance": None})]
    before = store.scan_events(everything)
    assert store.scan_events(everything).id.tolist() == before.id.tolist()
    frame = town.events["ambulance"].head(5).copy()
    frame["time"] = pd.Timestamp("2019-04-20") + pd.to_timedelta(np.arange(5), unit="h")
    frame["source_id"] = [f"late-{i}" for i in range(5)]
    frame["event_key"] = [f"late-{i}" for i in range(5)]
    report = ImportReport(layer="ambulance", format="synthetic",
                          h3_resolution=store.h3_resolution)
    store_events(store, frame, report, timings={}, file_names=["late"], actor="test")
    after = store.scan_events(everything)
    assert len(after) > len(before)
    _assert_same(after, store.scan_events_sql(everything))
    assert store.event_cache is not None and store.event_cache.stats.version_changes == 1


def test_a_layer_larger_than_the_cache_is_read_from_the_store(store: Store,
                                                              tmp_path: Path) -> None:
    load(store, tmp_path, scale=0.1)
    store.configure_event_cache(0.001)  # about 1 kB: no layer fits
    slices = [ScanSlice({"crime": frozenset({"Drugs"})}, datetime(2018, 10, 1))]
    _assert_same(store.scan_events(slices), store.scan_events_sql(slices))
    assert store.event_cache is not None
    assert len(store.event_cache) == 0 and store.event_cache.stats.too_large >= 1


def test_concurrent_misses_build_once() -> None:
    cache = EventCache(1 << 20)
    builds = []
    started = threading.Event()

    def build() -> tuple[str, int]:
        builds.append(1)
        started.wait(1.0)
        return "columns", 100

    out: list[str] = []
    threads = [threading.Thread(target=lambda: out.append(
        cache.get_or_build("v1", ("columns", "crime"), build, lambda: "v1")))
        for _ in range(8)]
    for t in threads:
        t.start()
    started.set()
    for t in threads:
        t.join()
    assert out == ["columns"] * 8 and len(builds) == 1
    # a new version drops the entry; an entry bigger than the cache is not kept
    cache.get_or_build("v2", ("columns", "crime"), build, lambda: "v2")
    assert len(builds) == 2 and cache.stats.version_changes == 1
    cache.get_or_build("v2", ("columns", "big"), lambda: ("x", 2 << 20), lambda: "v2")
    assert len(cache) == 1 and cache.stats.too_large == 1
    # an import during the build: the entry is answered but not kept
    cache.get_or_build("v2", ("columns", "ambulance"), build, lambda: "v3")
    assert ("columns", "ambulance") not in cache._entries


def test_least_recently_used_goes_first() -> None:
    cache = EventCache(250)
    for name in ("a", "b", "c"):
        cache.get_or_build("v", ("columns", name), lambda n=name: (n, 100), lambda: "v")
    assert list(cache._entries) == [("columns", "b"), ("columns", "c")]
    assert cache.stats.evictions == 1 and cache.size_bytes == 200


