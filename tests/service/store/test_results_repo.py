"""The saved-results repository on SQLite and PostgreSQL: rows in and out, an owner
replacing their own result, and a taken name as a 409 :class:`ConflictError` (checked
by the use case, and by the primary key when two first saves race)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from service.app.results import get_result, save_result
from service.store import Store
from spatial.errors import ConflictError, NotFoundError
from tests.service.store.race import at_once

WHEN = datetime(2024, 3, 1, 9, 30, 0, 123456)


def _put(store: Store, name: str, owner: str, features: int = 0, layer: str = "crime") -> None:
    collection = {"type": "FeatureCollection", "features": [{}] * features}
    with store.begin() as conn:
        store.replace_result(conn, name=name, layer=layer, method="count", created_at=WHEN,
                             created_by=owner, parameters=json.dumps({"layer": layer}),
                             collection=json.dumps(collection))


def test_a_result_is_stored_and_read_back(store: Store) -> None:
    _put(store, "b-result", "key:1", features=2)
    _put(store, "a-result", "key:2", layer="ambulance")
    row = store.saved_result("b-result")
    assert (row.name, row.layer, row.method, row.created_at, row.created_by) == (
        "b-result", "crime", "count", WHEN, "key:1")
    assert json.loads(row.parameters) == {"layer": "crime"}
    assert len(json.loads(row.collection)["features"]) == 2
    summaries = store.result_summaries()
    assert [(s.name, s.layer) for s in summaries] == [("a-result", "ambulance"),
                                                      ("b-result", "crime")]
    assert not hasattr(summaries[0], "collection")  # listings never load collections
    with store.begin() as conn:
        assert store.result_owner(conn, "b-result") == "key:1"
        assert store.result_owner(conn, "nothing") is None


def test_an_unknown_result_is_not_found(store: Store) -> None:
    with pytest.raises(NotFoundError, match="no saved result 'nothing'"):
        store.saved_result("nothing")


def test_the_owner_replaces_their_own_result(store: Store) -> None:
    _put(store, "mine", "key:1", features=1)
    _put(store, "mine", "key:1", features=3)
    assert len(json.loads(store.saved_result("mine").collection)["features"]) == 3
    assert [s.name for s in store.result_summaries()] == ["mine"]


def test_another_owners_name_is_a_conflict_that_writes_nothing(store: Store) -> None:
    _put(store, "theirs", "key:1", features=1)
    with pytest.raises(ConflictError):
        _put(store, "theirs", "key:2", features=5)  # the primary key refuses it
    row = store.saved_result("theirs")
    assert row.created_by == "key:1" and len(json.loads(row.collection)["features"]) == 1


def test_saving_under_a_taken_name_is_a_409_naming_it(store: Store) -> None:
    fc: dict[str, Any] = {"type": "FeatureCollection", "features": [], "parameters": {}}
    save_result(store, "meeting", fc, layer="crime", method="count", actor="key:1")
    audited = len(store.audit_entries("save_result"))
    with pytest.raises(ConflictError) as err:
        save_result(store, "meeting", fc, layer="crime", method="gi", actor="key:2")
    assert err.value.details == {"parameter": "save", "name": "meeting"}
    assert "belongs to another user" in str(err.value)
    assert get_result(store, "meeting", "analyst")["method"] == "count"
    assert len(store.audit_entries("save_result")) == audited


def test_two_first_saves_of_one_name_at_once_keep_one(store: Store) -> None:
    def save(actor: str) -> None:
        fc = {"type": "FeatureCollection", "features": [], "parameters": {"by": actor}}
        save_result(store, "race", fc, layer="crime", method="count", actor=actor)

    outcomes = at_once(save, ("key:1", "key:2"))
    won = [a for a, exc in outcomes.items() if exc is None]
    lost = [exc for exc in outcomes.values() if exc is not None]
    assert len(won) == 1 and len(lost) == 1 and isinstance(lost[0], ConflictError), outcomes
    assert store.saved_result("race").created_by == won[0]
