"""Events as Parquet segments: the stored key hash, attributes both ways, segment skipping."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from service.app.importer import ImportReport, store_events
from service.store import EventFilter, Store
from service.store import segments as seg
from service.store.features import FeatureFilter
from spatial.events import EVENT_COLUMNS


def _reference_hash(key: str) -> int:
    """The documented definition, byte by byte: FNV-1a 64, then the length mixed in."""
    mask = 2 ** 64 - 1
    h = 0xCBF29CE484222325
    data = key.encode("utf-8")
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & mask
    z = h ^ ((len(data) * 0x9E3779B97F4A7C15) & mask)
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
    return z ^ (z >> 31)


def test_key_hashes_are_the_documented_stable_function() -> None:
    keys = ["", "a", "abc", "é€\u2028", "x" * 300, "policeuk:" + "0" * 40, "a\x00b"]
    got = seg.key_hashes(keys)
    assert got.dtype == np.uint64
    assert [int(v) for v in got] == [_reference_hash(k) for k in keys]
    # stored values: a change of the function would strand every stored hash
    assert int(seg.key_hashes(["abc"])[0]) == 3179827999905034118
    assert seg.key_hashes([]).size == 0


def _frame(n: int, *, layer: str = "crime", month: str = "2019-01",
           attributes: list[dict] | None = None, start: int = 0) -> pd.DataFrame:
    lon = np.linspace(-1.5, -1.4, n)
    lat = np.linspace(53.35, 53.40, n)
    return pd.DataFrame({
        "layer": layer, "event_key": [f"{layer}-{month}-{start + i}" for i in range(n)],
        "source_id": [f"s{i}" for i in range(n)],
        "time": pd.to_datetime([f"{month}-01"] * n).astype("datetime64[ns]"),
        "time_precision": "month", "lon": lon, "lat": lat, "x": lon * 1e5, "y": lat * 1e5,
        "crs_epsg": 27700, "location_precision": "snapped", "category": "Drugs",
        "source": "police.uk", "sensitivity": "open",
        "attributes": attributes if attributes is not None
        else [{"Location": f"On or near {i}"} for i in range(n)],
    }).loc[:, list(EVENT_COLUMNS)]


def _store(store: Store, frame: pd.DataFrame) -> ImportReport:
    report = ImportReport(layer=str(frame["layer"].iloc[0]), format="test")
    store_events(store, frame, report, timings={}, file_names=["f"], actor="test")
    return report


def test_text_attributes_are_columns_and_others_json_both_read_back_exactly(
        store: Store) -> None:
    text = [{"Location": "On or near A", "Crime ID": "x1"}, {}, {"Context": "é \"q\""}]
    mixed = [{"n": 1, "f": 0.5, "none": None, "nested": {"a": [1, "b"]}}, {"s": "t"}, {}]
    _store(store, _frame(3, attributes=text, month="2019-01"))
    _store(store, _frame(3, attributes=mixed, month="2019-02"))
    with store.engine.connect() as conn:
        stored = {tuple(i.attribute_columns) for i in
                  seg.segment_infos(conn, seg.SegmentPrune(layers=("crime",)))}
    assert stored == {("attr:Context", "attr:Crime ID", "attr:Location"), ("attributes",)}
    got = store.query_events(EventFilter(layers=("crime",)))
    assert got["attributes"].tolist() == text + mixed
    # one key, from either storage; None where absent
    values = store.event_attribute(EventFilter(layers=("crime",)), "Location")
    assert [None if pd.isna(v) else v for v in values["value"]] == [
        "On or near A", None, None, None, None, None]
    # the JSON text of an export is the row store's text (sorted keys)
    page = store.feature_events(FeatureFilter("crime"), parse_attributes=False)
    assert page["attributes"].tolist()[0] == '{"Crime ID": "x1", "Location": "On or near A"}'


def test_segments_per_month_and_reads_skip_the_others(store: Store,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(seg, "MIN_SEGMENT_ROWS", 1)  # every month its own segment
    frame = pd.concat([_frame(4, month="2019-01"), _frame(5, month="2019-02"),
                       _frame(6, month="2019-03")], ignore_index=True)
    assert _store(store, frame).inserted == 15
    with store.engine.connect() as conn:
        infos = seg.segment_infos(conn, seg.SegmentPrune(layers=("crime",)))
    assert sorted(i.n_rows for i in infos) == [4, 5, 6]
    opened: list[int] = []
    decode_segment = seg._segment_frame

    def counting(info: seg.SegmentInfo, *args: object) -> pd.DataFrame:
        opened.append(info.n_rows)
        return decode_segment(info, *args)

    monkeypatch.setattr(seg, "_segment_frame", counting)
    f = EventFilter(layers=("crime",), start=datetime(2019, 2, 1), end=datetime(2019, 3, 1))
    assert store.count_events(f) == 5
    assert opened == [5]
    # ids stay in input order across the segments
    ids = store.query_events(EventFilter(layers=("crime",)), columns=["event_key"])
    assert ids["event_key"].tolist() == frame["event_key"].tolist()
    assert np.all(np.diff(ids["id"].to_numpy()) > 0)


def test_months_with_few_events_share_a_segment(store: Store,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Consecutive months are taken together until a segment has MIN_SEGMENT_ROWS events;
    rows keep their order (ascending ids) and time reads still find exactly theirs."""
    monkeypatch.setattr(seg, "MIN_SEGMENT_ROWS", 6)
    parts = [_frame(4, month="2019-01"), _frame(5, month="2019-03"), _frame(6, month="2019-02"),
             _frame(2, month="2019-05")]
    frame = pd.concat(parts, ignore_index=True)
    assert _store(store, frame).inserted == 17
    with store.engine.connect() as conn:
        infos = seg.segment_infos(conn, seg.SegmentPrune(layers=("crime",)))
    # Jan+Feb (4 + 6), then Mar+May (5 + 2): the last group may be short
    assert sorted(i.n_rows for i in infos) == [7, 10]
    for month, n in (("2019-02", 6), ("2019-03", 5), ("2019-04", 0)):
        start = datetime.fromisoformat(month + "-01")
        end = datetime(start.year, start.month + 1, 1)
        assert store.count_events(EventFilter(layers=("crime",), start=start, end=end)) == n
    got = store.query_events(EventFilter(layers=("crime",)), columns=["event_key"])
    assert got["event_key"].tolist() == frame["event_key"].tolist()
    assert np.all(np.diff(got["id"].to_numpy()) > 0)


def test_keyset_pages_in_id_order_across_interleaved_segments(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    # one import of mixed months: the month segments' id ranges interleave
    monkeypatch.setattr(seg, "MIN_SEGMENT_ROWS", 1)
    frame = pd.concat([_frame(1, month=m, start=i) for i, m in
                       enumerate(["2019-01", "2019-02"] * 5)], ignore_index=True)
    _store(store, frame)
    all_ids = store.query_events(EventFilter(), columns=["event_key"])["id"].tolist()
    pages, after = [], None
    while True:
        page = store.feature_events(FeatureFilter("crime", after_id=after), limit=3)
        if page.empty:
            break
        pages += page["id"].tolist()
        after = int(page["id"].iloc[-1])
    assert pages == all_ids and len(pages) == 10
    assert store.count_feature_events(FeatureFilter("crime")) == 10


def test_a_frame_with_attr_columns_is_stored_as_given(store: Store) -> None:
    """The reader's columnar attributes (``attr:<key>``, None: absent) instead of dicts."""
    frame = _frame(3).drop(columns="attributes")
    frame["attr:Location"] = ["On or near A", None, "On or near C"]
    frame["attr:Crime ID"] = pd.Series([None, "id2", None], dtype="str")
    assert _store(store, frame).inserted == 3
    got = store.query_events(EventFilter(layers=("crime",)))
    assert got["attributes"].tolist() == [{"Location": "On or near A"}, {"Crime ID": "id2"},
                                          {"Location": "On or near C"}]


def test_two_imports_of_the_same_rows_at_once_add_each_row_once(store: Store) -> None:
    """The layer lock: the second import waits for the first's commit, then finds every
    row stored (PostgreSQL); SQLite's single writer serialises them the same way, or
    refuses the second cleanly. Never a row twice."""
    from spatial.errors import ConflictError
    from tests.service.store.race import at_once

    frame = _frame(200)
    reports: dict[str, ImportReport] = {}

    def one(name: str) -> None:
        reports[name] = ImportReport(layer="crime", format="test")
        store_events(store, frame.copy(), reports[name], timings={}, file_names=[name],
                     actor="test")

    outcomes = at_once(one, ["a", "b"])
    assert all(e is None or isinstance(e, ConflictError) for e in outcomes.values()), outcomes
    done = [n for n, e in outcomes.items() if e is None]
    assert done
    assert sorted(reports[n].inserted for n in done) == ([0, 200] if len(done) == 2 else [200])
    assert store.count_events(EventFilter(layers=("crime",))) == 200


def test_events_without_attributes_read_back_as_empty_dicts(store: Store) -> None:
    _store(store, _frame(3, attributes=[{}, {}, {}]))
    got = store.query_events(EventFilter(layers=("crime",)), columns=["attributes", "time"])
    assert got["attributes"].tolist() == [{}, {}, {}]
    # times in the unit the row store's reads gave (pandas made microseconds of them)
    assert got["time"].dtype == np.dtype("datetime64[us]")


def test_key_index_runs_find_every_stored_hash_and_its_segments() -> None:
    """The import's key index (sorted runs merged as a binary counter) answers as a
    brute-force look-up over everything added, repeated hashes included."""
    from service.store.events import LayerKeys, _merge_runs

    rng = np.random.default_rng(5)
    for _ in range(50):  # the merge keeps the first run's entries before equal ones
        a = np.sort(rng.integers(0, 30, int(rng.integers(0, 40)), dtype=np.uint64))
        b = np.sort(rng.integers(0, 30, int(rng.integers(0, 40)), dtype=np.uint64))
        sa = rng.integers(0, 9, a.size).astype(np.int32)
        sb = rng.integers(0, 9, b.size).astype(np.int32)
        h, s = _merge_runs(a, sa, b, sb)
        order = np.argsort(np.concatenate([a, b]), kind="stable")
        assert (h == np.concatenate([a, b])[order]).all()
        assert (s == np.concatenate([sa, sb])[order]).all()
    stored = rng.integers(0, 60, 300, dtype=np.uint64)
    owners = (np.arange(300) % 7).astype(np.int32)
    index = LayerKeys(None, "crime", stored, owners)  # type: ignore[arg-type]
    for batch in range(9):
        h = rng.integers(0, 120, 40, dtype=np.uint64)
        index.add(h, np.full(40, 100 + batch, dtype=np.int32))
        stored, owners = np.concatenate([stored, h]), np.concatenate([owners, np.full(40, 100 + batch)])
    assert len(index._sorted) <= 4  # O(log n) runs
    query = rng.integers(0, 200, 500, dtype=np.uint64)
    hit, where = index._candidates(query)
    assert (hit == np.isin(query, stored)).all()
    assert where == set(np.unique(owners[np.isin(stored, query)]).tolist())


def test_arrow_columns_are_stored_as_the_frame_would_be(store: Store) -> None:
    """A segment written from Arrow text columns (dictionaries, nulls in the indices)
    reads back exactly as one written from the frame's objects."""
    import pyarrow as pa

    from spatial.io.assemble import dictionary_array

    frame = _frame(6).drop(columns="attributes")
    frame["attr:Location"] = ["A", None, "C", "A", None, "C"]
    frame["h3"] = "8b195a2a5dfffff"
    ids = np.arange(1, 7, dtype=np.int64)
    hashes = seg.key_hashes(frame["event_key"].tolist())
    attrs = frame[["attr:Location"]]
    arrow = {"category": dictionary_array(np.zeros(6, dtype=np.int64),
                                          np.array(["Drugs"], dtype=object)),
             "attr:Location": dictionary_array(np.array([0, 1, 2, 0, 1, 2]),
                                               np.array(["A", None, "C"], dtype=object)),
             "event_key": pa.array(frame["event_key"].tolist())}
    plain = seg._to_arrays(seg.decode(seg.encode_segment(frame, ids, hashes, attrs)))
    fast = seg._to_arrays(seg.decode(seg.encode_segment(frame, ids, hashes, attrs, arrow)))
    assert plain.keys() == fast.keys()
    for name, values in plain.items():
        assert np.asarray(values).tolist() == np.asarray(fast[name]).tolist(), name


def test_category_summary_counts_and_first_times() -> None:
    import pyarrow as pa

    times = np.array(["2019-01-03", "2019-01-01", "2019-01-02", "2019-01-05"],
                     dtype="datetime64[us]")
    cats = np.array(["b", "a", "b", "a"], dtype=object)
    want = {"a": [2, "2019-01-01T00:00:00"], "b": [2, "2019-01-02T00:00:00"]}
    assert seg._category_summary(cats, times) == want
    # as a dictionary with a value no row has (a rejected row's): left out
    encoded = pa.DictionaryArray.from_arrays(pa.array([1, 0, 1, 0], pa.int32()),
                                             pa.array(["a", "b", "unused"]))
    assert seg._category_summary(encoded, times) == want


def test_key_index_runs_stop_merging_at_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past KEY_RUN_CAP runs stay apart (a merge never copies the whole index) and every
    stored hash is still found."""
    import service.store.events as events_module
    from service.store.events import LayerKeys

    monkeypatch.setattr(events_module, "KEY_RUN_CAP", 64)
    rng = np.random.default_rng(9)
    index = LayerKeys(None, "crime", np.zeros(0, dtype=np.uint64),  # type: ignore[arg-type]
                      np.zeros(0, dtype=np.int32))
    added = []
    for batch in range(20):
        h = rng.integers(0, 2**63, 16, dtype=np.uint64)
        index.add(h, np.full(16, batch, dtype=np.int32))
        added.append(h)
    assert all(arr.size <= 64 for arr, _ in index._sorted) and len(index._sorted) >= 5
    hit, where = index._candidates(np.concatenate(added))
    assert hit.all() and where == set(range(20))
