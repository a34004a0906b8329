"""The columnar write path of events: attribute JSON text, values round trip, duplicates."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pandas as pd
import pytest

from service.app.importer import ImportReport, store_events
from service.store import EventFilter, Store
from service.store.events import attributes_json
from spatial.events import EVENT_COLUMNS


def _reference(values: list[object]) -> list[str]:
    return [json.dumps(v, sort_keys=True, default=str) for v in values]


def test_attributes_json_is_the_text_json_writes() -> None:
    values: list[object] = [
        {"Location": "On or near Park Road", "Crime ID": "abc"},
        {"Crime ID": "abc", "Location": "On or near Park Road"},  # same keys, other order
        {"Location": 'On or near "The Crescent"\n\\ é \u2028 \x00'},
        {"{odd}": "x", "b\"q": "y", "": ""},
        {"n": 1, "f": 0.1, "big": 2**70, "t": True, "none": None, "nan": float("nan")},
        {"nested": {"z": 1, "a": [1, "two", None]}, "s": "x"},
        {"when": date(2019, 1, 2), "s": "x"},  # not JSON: default=str
        {},
        {1: "int key", 2: "x"},
        {"Location": "<script>alert(1)</script>", "Context": "{{7*7}}" * 1000},
    ]
    assert attributes_json(values) == _reference(values)
    assert attributes_json([]) == []


def test_attributes_json_many_rows_in_mixed_patterns() -> None:
    rng = np.random.default_rng(5)
    keys = ["Crime ID", "Location", "LSOA code", "Context", "Reported by"]
    values = [{k: f"v{rng.integers(0, 1000)}\u00e9" for k in keys if rng.random() < 0.6}
              for _ in range(2_000)]
    assert attributes_json(values) == _reference(values)


def _frame(n: int, *, keys: list[str], t: str = "2019-01-01") -> pd.DataFrame:
    lon = np.linspace(-1.5, -1.4, n)
    lat = np.linspace(53.35, 53.40, n)
    frame = pd.DataFrame({
        "layer": "crime", "event_key": keys, "source_id": [f"s{i}" for i in range(n)],
        "time": pd.to_datetime([t] * n).astype("datetime64[ns]"),
        "time_precision": "month", "lon": lon, "lat": lat,
        "x": lon * 1e5 + 1 / 3, "y": lat * 1e5 + 2 / 3, "crs_epsg": 27700,
        "location_precision": "snapped", "category": 'Drugs "quoted", with comma',
        "source": "police.uk", "sensitivity": "open",
        "attributes": [{"Location": f"On or near\n{i}", "Crime ID": ""} for i in range(n)],
    })
    return frame.loc[:, list(EVENT_COLUMNS)]


def test_events_round_trip_exactly_and_duplicates_are_skipped(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    import service.store.base as base

    monkeypatch.setattr(base, "_COPY_ROWS", 300)  # COPY in several slices
    n = 1_000
    frame = _frame(n, keys=[f"k{i}" for i in range(n)])
    report = ImportReport(layer="crime", format="test")
    store_events(store, frame.copy(), report, timings={}, file_names=["a"], actor="test")
    assert report.inserted == n
    back = store.query_events(EventFilter(layers=("crime",)))
    assert len(back) == n
    for col in ("lon", "lat", "x", "y"):  # bit for bit, through COPY's CSV text too
        assert np.array_equal(back[col].to_numpy(), frame[col].to_numpy()), col
    assert back["category"].eq('Drugs "quoted", with comma').all()
    assert back["attributes"].tolist() == frame["attributes"].tolist()
    assert (back["time"] == pd.Timestamp("2019-01-01")).all()
    assert back["event_key"].tolist() == frame["event_key"].tolist()  # ids in input order

    # half old, half new, and one new key given twice: only the new ones, once each
    keys = [f"k{i}" for i in range(500, 1_000)] + [f"n{i}" for i in range(499)] + ["n0"]
    again = ImportReport(layer="crime", format="test")
    store_events(store, _frame(n, keys=keys), again, timings={}, file_names=["b"],
                 actor="test")
    assert (again.inserted, again.duplicates) == (499, 501)
    assert store.count_events(EventFilter(layers=("crime",))) == n + 499


def test_a_failed_bulk_transaction_writes_nothing(store: Store) -> None:
    frame = _frame(10, keys=[f"k{i}" for i in range(10)])
    before = store.table_counts()
    with pytest.raises(RuntimeError), store.begin(bulk=True) as conn:
        store.ensure_layer(conn, "crime")
        store.insert_events(conn, frame.assign(h3="8b195a2a5dfffff"), None)
        raise RuntimeError("fatal after the rows went in")
    assert store.table_counts() == before


def test_a_key_slipped_past_the_duplicate_check_is_refused(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """The segment writer checks every key against the layer's stored ones itself (the
    row store's unique key did): a key already stored that the import's duplicate
    check missed fails the whole transaction, and nothing is written."""
    from service.store.events import LayerKeys
    from spatial.errors import ConflictError

    report = ImportReport(layer="crime", format="test")
    store_events(store, _frame(50, keys=[f"k{i}" for i in range(50)]), report, timings={},
                 file_names=["a"], actor="test")
    assert report.inserted == 50
    counts = store.table_counts()
    real = LayerKeys.stored
    calls = {"n": 0}

    def blind_once(self: LayerKeys, keys: list[str], hashes: np.ndarray) -> np.ndarray:
        calls["n"] += 1  # the import's own check sees nothing; the writer's is real
        return np.zeros(len(keys), dtype=bool) if calls["n"] == 1 else real(self, keys, hashes)

    monkeypatch.setattr(LayerKeys, "stored", blind_once)
    with pytest.raises(ConflictError):
        store_events(store, _frame(100, keys=[f"k{i}" for i in range(40, 140)]),
                     ImportReport(layer="crime", format="test"), timings={},
                     file_names=["b"], actor="test")
    assert store.table_counts() == counts


def test_a_hash_collision_never_drops_an_event(store: Store,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Two different keys with the same 64-bit hash: the second is still new (the stored
    keys decide, not the hashes)."""
    import service.store.events as events_module
    import service.store.segments as segments_module

    def one_hash(keys: list[str]) -> np.ndarray:
        return np.full(len(keys), 42, dtype=np.uint64)

    monkeypatch.setattr(segments_module, "key_hashes", one_hash)
    monkeypatch.setattr(events_module.seg, "key_hashes", one_hash)
    import service.app.importer as importer_module

    monkeypatch.setattr(importer_module, "key_hashes", one_hash)
    first = ImportReport(layer="crime", format="test")
    store_events(store, _frame(3, keys=["a", "b", "c"]), first, timings={},
                 file_names=["a"], actor="test")
    again = ImportReport(layer="crime", format="test")
    store_events(store, _frame(3, keys=["a", "d", "e"]), again, timings={},
                 file_names=["b"], actor="test")
    assert (first.inserted, again.inserted, again.duplicates) == (3, 2, 1)
    assert store.count_events(EventFilter(layers=("crime",))) == 5
