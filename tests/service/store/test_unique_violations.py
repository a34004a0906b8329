"""Unique violations are recognised by the driver's error code, on both backends; other
integrity errors are not conflicts."""

from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa

from service.store import Store
from service.store.engine import is_unique_violation
from service.store.tables import imports, layers
from spatial.errors import ConflictError

WHEN = datetime(2024, 1, 1)


def _layer(name: str) -> dict[str, object]:
    return {"name": name, "sensitivity": "open", "description": "", "created_at": WHEN}


def _error(store: Store, statement: sa.Executable) -> sa.exc.IntegrityError:
    with pytest.raises(sa.exc.IntegrityError) as err, store.engine.begin() as conn:
        conn.execute(statement)
    return err.value


def test_a_taken_key_is_a_unique_violation(store: Store) -> None:
    with store.begin() as conn:
        conn.execute(layers.insert().values(**_layer("crime")))
    assert is_unique_violation(_error(store, layers.insert().values(**_layer("crime"))))


def test_a_missing_foreign_key_is_not(store: Store) -> None:
    err = _error(store, imports.insert().values(
        layer="nowhere", file_name="f", format="csv", actor="t", imported_at=WHEN,
        accepted=0, rejected=0, duplicates=0))
    assert not is_unique_violation(err)
    assert not is_unique_violation(err.orig)  # type: ignore[arg-type]


def test_a_not_null_violation_is_not(store: Store) -> None:
    assert not is_unique_violation(_error(store, layers.insert().values(
        name="x", sensitivity=None, description="", created_at=WHEN)))


def test_bulk_writes_recognise_the_driver_error(store: Store) -> None:
    """COPY (PostgreSQL) and executemany (SQLite) raise the driver's own errors."""
    row = ("crime", "open", "", WHEN)
    columns = ["name", "sensitivity", "description", "created_at"]
    with store.begin() as conn:
        store._bulk_insert(conn, "layers", columns, [row])
    with pytest.raises(ConflictError), store.begin() as conn:
        store._bulk_insert(conn, "layers", columns, [row])
    bad = (1, "nowhere", "f", "csv", "t", WHEN, 0, 0, 0)
    with pytest.raises(Exception) as err, store.begin() as conn:
        store._bulk_insert(conn, "imports", ["id", "layer", "file_name", "format", "actor",
                                             "imported_at", "accepted", "rejected",
                                             "duplicates"], [bad])
    assert not isinstance(err.value, ConflictError)
    assert store.layer_names() == {"crime"}
