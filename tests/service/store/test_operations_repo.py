"""The operations repository on SQLite and PostgreSQL: rows in and out, sharing, the
one-way lock of the baseline (a second or concurrent start is a conflict that writes
nothing), and the imports made after a lock."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta

import pytest

from service.store import Store
from service.store.base import now
from spatial.errors import ConflictError, NotFoundError
from tests.service.store.race import at_once

DEFINITION = json.dumps({"request": {"name": "Op"}, "resolved": {}})


def _insert(store: Store, name: str = "Op", actor: str = "key:1") -> int:
    with store.begin() as conn:
        return store.insert_operation(conn, name=name, definition=DEFINITION,
                                      created_by=actor)


def _lock(store: Store, op_id: int, baseline: dict[str, object]) -> None:
    with store.begin() as conn:
        store.lock_baseline(conn, op_id, started_at=now(), baseline=json.dumps(baseline))


def test_an_inserted_operation_is_planned_and_read_back(store: Store) -> None:
    before = now()
    first, second = _insert(store, "First"), _insert(store, "Second", "key:2")
    row = store.operation(first)
    assert (row.id, row.name, row.definition, row.status) == (first, "First", DEFINITION,
                                                              "planned")
    assert row.created_by == "key:1" and before - timedelta(seconds=1) <= row.created_at
    assert row.started_at is None and row.baseline is None and row.shared is False
    assert [(r.id, r.name, r.created_by) for r in store.operations()] == [
        (first, "First", "key:1"), (second, "Second", "key:2")]


@pytest.mark.parametrize("op_id", [0, -1, 999_999, 2**63, 10**30])
def test_an_unknown_operation_is_not_found_without_a_database_error(store: Store,
                                                                    op_id: int) -> None:
    with pytest.raises(NotFoundError, match=f"operation {op_id} does not exist"):
        store.operation(op_id)


def test_sharing_is_set_and_withdrawn(store: Store) -> None:
    op_id = _insert(store)
    for shared in (True, False, True):
        with store.begin() as conn:
            store.set_operation_shared(conn, op_id, shared)
        assert store.operation(op_id).shared is shared


def test_locking_the_baseline_starts_the_operation_once(store: Store) -> None:
    op_id = _insert(store)
    _lock(store, op_id, {"fingerprint": "a"})
    row = store.operation(op_id)
    assert row.status == "started" and row.started_at is not None
    assert json.loads(row.baseline or "") == {"fingerprint": "a"}
    audited = len(store.audit_entries())
    with pytest.raises(ConflictError, match="started by someone else"), \
            store.begin() as conn:
        store.audit(conn, "test", "operation_start", {"id": op_id})
        store.lock_baseline(conn, op_id, started_at=now(), baseline='{"fingerprint": "b"}')
    # the conflict rolls back the whole transaction: the first lock stands, no audit row
    again = store.operation(op_id)
    assert again.baseline == row.baseline and again.started_at == row.started_at
    assert len(store.audit_entries()) == audited


def test_two_concurrent_starts_lock_one_baseline(store: Store) -> None:
    op_id = _insert(store)
    outcomes = at_once(lambda who: _lock(store, op_id, {"fingerprint": who}), ("a", "b"))
    won = [w for w, exc in outcomes.items() if exc is None]
    lost = [exc for exc in outcomes.values() if exc is not None]
    assert len(won) == 1 and len(lost) == 1 and isinstance(lost[0], ConflictError), outcomes
    assert json.loads(store.operation(op_id).baseline or "")["fingerprint"] == won[0]


def _import(store: Store, layer: str, accepted: int, duplicates: int) -> int:
    with store.begin() as conn:
        store.ensure_layer(conn, layer)
        import_id = store.record_import(conn, layer=layer, file_name=f"{layer}.csv",
                                        fmt="csv", actor="test")
        store.finish_import(conn, import_id, accepted=accepted, rejected=0,
                            duplicates=duplicates)
    return import_id


def test_imports_after_a_lock_are_listed_for_the_layers_asked(store: Store) -> None:
    _import(store, "crime", 10, 0)
    time.sleep(0.01)  # imported_at has microseconds: the lock falls strictly between
    locked: datetime = now()
    time.sleep(0.01)
    later = _import(store, "crime", 7, 3)
    _import(store, "ambulance", 5, 0)
    after = store.imports_after(locked, {"crime"})
    assert [{k: v for k, v in i.items() if k != "imported_at"} for i in after] == [
        {"id": later, "layer": "crime", "file_name": "crime.csv", "added": 4}]
    assert datetime.fromisoformat(after[0]["imported_at"]) > locked
    assert [i["layer"] for i in store.imports_after(locked, ["crime", "ambulance"])] == [
        "crime", "ambulance"]
    assert store.imports_after(now(), {"crime"}) == []
