"""The one-query columnar read of an operation report (:mod:`service.store.event_scan`)
against the per-slice reads it replaces, on both backends."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from service.store import EventFilter, Store
from service.store.event_scan import ScanSlice, slice_mask
from tests.service.api.test_operations_api import load


def _slices(store: Store) -> list[ScanSlice]:
    (minlon, minlat, maxlon, maxlat), _times = store.layer_extents()["crime"]
    mid_lon, mid_lat = (minlon + maxlon) / 2, (minlat + maxlat) / 2
    return [
        ScanSlice({"crime": frozenset({"Drugs", "Anti-social behaviour"}), "ambulance": None},
                  datetime(2018, 11, 1), datetime(2019, 3, 1), (minlon, minlat, mid_lon, mid_lat)),
        ScanSlice({"crime": frozenset({"Drugs"})}, datetime(2018, 10, 1), datetime(2018, 12, 1),
                  (minlon, minlat, maxlon, maxlat)),
        ScanSlice({"dealing_site": None}, bbox=(mid_lon, mid_lat, maxlon, maxlat)),
    ]


def test_one_scan_holds_exactly_the_events_of_each_slice(store: Store, tmp_path: Path) -> None:
    load(store, tmp_path, scale=0.1)
    slices = _slices(store)
    cols = store.scan_events(slices, attributes_layer="dealing_site",
                             usual={"layer": "crime", "time_precision": "month"})
    assert np.all(np.diff(cols.id) > 0)
    seen: set[int] = set()
    for s in slices:
        per_layer = []
        for layer, cats in s.layers.items():
            per_layer.append(store.query_events(EventFilter(
                layers=(layer,), categories=tuple(sorted(cats or ())), start=s.start,
                end=s.end, bbox=s.bbox)))
        want = pd.concat(per_layer, ignore_index=True).sort_values("id")
        got = np.flatnonzero(slice_mask(cols, s))
        assert len(want) > 0
        assert cols.id[got].tolist() == want["id"].tolist()
        for name in ("layer", "category", "time_precision", "location_precision"):
            assert getattr(cols, name)[got].tolist() == want[name].tolist()
        for name in ("lon", "lat", "x", "y"):
            assert np.array_equal(getattr(cols, name)[got], want[name].to_numpy(dtype=float))
        assert cols.crs_epsg[got].tolist() == want["crs_epsg"].tolist()
        assert np.array_equal(cols.time[got],
                              pd.to_datetime(want["time"]).to_numpy(dtype="datetime64[ns]"))
        seen |= set(want["id"].tolist())
    # nothing else was read; the dealing sites' attributes came with them
    assert set(cols.id.tolist()) == seen
    sites = cols.layer == "dealing_site"
    assert sites.any() and all(isinstance(a, str) for a in cols.attributes[sites])
    assert all(a is None for a in cols.attributes[~sites])


def test_layer_summaries_match_the_store_reads(store: Store, tmp_path: Path) -> None:
    load(store, tmp_path, scale=0.1)
    got = store.layer_summaries(["crime", "ambulance", "no_such_layer"])
    assert got["no_such_layer"] == {}
    first = store.first_event_times(["crime", "ambulance"])
    for layer in ("crime", "ambulance"):
        assert sorted(got[layer]) == store.layer_categories(layer)
        assert min(got[layer].values()) == first[layer]
