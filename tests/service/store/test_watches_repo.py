"""The watches repository on SQLite and PostgreSQL: rows in and out, and alarms recorded
once per series and period, append only (a later check adds, never removes)."""

from __future__ import annotations

import json
from datetime import date

import pytest

from service.store import Store
from spatial.errors import NotFoundError


def _operation(store: Store) -> int:
    with store.begin() as conn:
        return store.insert_operation(conn, name="Op", definition=json.dumps({}),
                                      created_by="key:1")


def _alarm(series: str, start: date, s: float = 5.0) -> dict[str, object]:
    return {"series": series, "layer": "crime", "area": "target", "period_start": start,
            "cusum": s, "h": 4.5}


def test_a_watch_is_stored_and_read_back(store: Store) -> None:
    op = _operation(store)
    with store.begin() as conn:
        first = store.insert_watch(conn, operation_id=op, name="W <b>", definition='{"a": 1}',
                                   created_by="key:1")
        second = store.insert_watch(conn, operation_id=op, name="Second", definition="{}",
                                    created_by="cli")
    row = store.watch(first)
    assert (row.operation_id, row.name, row.definition, row.created_by) == (
        op, "W <b>", '{"a": 1}', "key:1")
    assert [w.id for w in store.watches()] == [first, second]
    assert [w.id for w in store.watches(op)] == [first, second]
    assert store.watches(op + 1) == []


@pytest.mark.parametrize("watch_id", [0, -1, 999_999, 2**63])
def test_an_unknown_watch_is_not_found(store: Store, watch_id: int) -> None:
    with pytest.raises(NotFoundError, match=f"watch {watch_id} does not exist"):
        store.watch(watch_id)


def test_alarms_are_recorded_once_and_never_lost(store: Store) -> None:
    op = _operation(store)
    with store.begin() as conn:
        w = store.insert_watch(conn, operation_id=op, name="W", definition="{}",
                               created_by="cli")
    with store.begin() as conn:
        assert store.record_alarms(conn, w, [_alarm("crime/*@target", date(2024, 3, 4)),
                                             _alarm("crime/*@buffer", date(2024, 3, 4))],
                                   actor="cli") == 2
    # a later check: one alarm again (not added twice), one new; the old one it no longer
    # shows stays recorded
    with store.begin() as conn:
        assert store.record_alarms(conn, w, [_alarm("crime/*@target", date(2024, 3, 4), 9.0),
                                             _alarm("crime/*@target", date(2024, 3, 11))],
                                   actor="key:2") == 1
    got = store.recorded_alarms(w)
    assert [(a.series, a.period_start, a.cusum, a.recorded_by) for a in got] == [
        ("crime/*@buffer", date(2024, 3, 4), 5.0, "cli"),
        ("crime/*@target", date(2024, 3, 4), 5.0, "cli"),
        ("crime/*@target", date(2024, 3, 11), 5.0, "key:2")]
    assert store.recorded_alarms() == got
    with store.begin() as conn:
        assert store.record_alarms(conn, w, [], actor="cli") == 0
