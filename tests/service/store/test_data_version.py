"""``Store.data_version()`` on SQLite and PostgreSQL: every kind of write that can change
an answer changes it (events, boundary sets, layers, operations, watches and their
alarms, saved results), and writes that change nothing (a re-import that meets only
duplicates, reads, audit entries) leave it alone."""

from __future__ import annotations

import csv
import json
from datetime import date, datetime
from pathlib import Path

import geopandas as gpd
from shapely.geometry import box

from service.app.importer import import_boundaries, import_events
from service.store import Store

HEADER = ["Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude",
          "Location", "LSOA code", "LSOA name", "Crime type", "Last outcome category",
          "Context"]


def _policeuk(path: Path, n: int, *, first: int = 0) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        for i in range(first, first + n):
            w.writerow([f"{i:064x}", "2018-10", "South Yorkshire Police",
                        "South Yorkshire Police", f"{-1.47 + i * 1e-4:.6f}", "53.380000",
                        f"On or near Road {i}", "", "", "Drugs", "", ""])
    return path


def _boundaries(path: Path) -> Path:
    gpd.GeoDataFrame({"code": ["A", "B"]},
                     geometry=[box(-1.5, 53.3, -1.45, 53.4), box(-1.45, 53.3, -1.4, 53.4)],
                     crs="EPSG:4326").to_file(path, driver="GeoJSON")
    return path


def test_events_change_it_and_a_no_op_import_does_not(store: Store, tmp_path: Path) -> None:
    empty = store.data_version()
    assert store.data_version() == empty  # a read is not a write
    first = _policeuk(tmp_path / "2018-10-a.csv", 5)
    import_events(store, [(first.name, first)], fmt="policeuk", layer="crime")
    after_import = store.data_version()
    assert after_import != empty
    # the same file again: five duplicates, nothing added
    report = import_events(store, [(first.name, first)], fmt="policeuk", layer="crime")
    assert report.accepted == report.duplicates == 5
    assert store.data_version() == after_import
    # an audit entry (every read of a protected layer writes one) is not data
    store.audit(None, "test", "read_aggregate", {"layer": "ambulance"})
    assert store.data_version() == after_import
    more = _policeuk(tmp_path / "2018-10-b.csv", 3, first=5)
    import_events(store, [(more.name, more)], fmt="policeuk", layer="crime")
    assert store.data_version() not in (empty, after_import)


def test_a_new_layer_changes_it(store: Store) -> None:
    before = store.data_version()
    with store.begin() as conn:
        store.ensure_layer(conn, "ambulance")
    assert store.data_version() != before


def test_a_boundary_import_changes_it(store: Store, tmp_path: Path) -> None:
    path = _boundaries(tmp_path / "areas.geojson")
    seen = {store.data_version()}
    for _ in range(2):  # a first set, then a new version of it (same polygons)
        import_boundaries(store, path, file_name=path.name, name="areas", id_field="code")
        version = store.data_version()
        assert version not in seen
        seen.add(version)


def test_operations_change_it_when_created_started_and_shared(store: Store) -> None:
    seen = [store.data_version()]

    def changed() -> str:
        version = store.data_version()
        assert version not in seen
        seen.append(version)
        return version

    with store.begin() as conn:
        op = store.insert_operation(conn, name="Op", definition=json.dumps({"a": 1}),
                                    created_by="key:1")
    changed()
    with store.begin() as conn:
        store.lock_baseline(conn, op, started_at=datetime(2024, 1, 2, 3, 4, 5),
                            baseline=json.dumps({"counts": []}))
    changed()
    with store.begin() as conn:
        store.set_operation_shared(conn, op, True)
    shared = changed()
    with store.begin() as conn:
        other = store.insert_operation(conn, name="Op 2", definition="{}", created_by="key:1")
    changed()
    # withdrawing one share and giving another keeps the number shared, not the version
    with store.begin() as conn:
        store.set_operation_shared(conn, op, False)
        store.set_operation_shared(conn, other, True)
    assert changed() != shared
    # and back to exactly what it was: the same answers, the same version
    with store.begin() as conn:
        store.set_operation_shared(conn, other, False)
        store.set_operation_shared(conn, op, True)
    assert store.data_version() == seen[-2]


def test_watches_and_their_alarms_change_it(store: Store) -> None:
    with store.begin() as conn:
        op = store.insert_operation(conn, name="Op", definition="{}", created_by="key:1")
    before = store.data_version()
    with store.begin() as conn:
        w = store.insert_watch(conn, operation_id=op, name="W", definition="{}",
                               created_by="key:1")
    with_watch = store.data_version()
    assert with_watch != before
    with store.begin() as conn:
        added = store.record_alarms(conn, w, [{
            "series": "crime/target", "layer": "crime", "area": "target",
            "period_start": date(2019, 3, 1), "cusum": 5.0, "h": 4.5}], actor="key:1")
    assert added == 1
    assert store.data_version() not in (before, with_watch)


def test_saved_results_change_it_when_saved_and_replaced(store: Store) -> None:
    def put(when: datetime) -> None:
        with store.begin() as conn:
            store.replace_result(conn, name="r", layer="crime", method="count",
                                 created_at=when, created_by="key:1",
                                 parameters="{}", collection='{"features": []}')

    seen = [store.data_version()]
    put(datetime(2024, 3, 1, 9, 30))
    seen.append(store.data_version())
    put(datetime(2024, 3, 1, 9, 31))  # replaced by its owner: a later save
    seen.append(store.data_version())
    assert len(set(seen)) == 3
