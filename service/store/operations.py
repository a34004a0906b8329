"""Operations: a stored definition, planned until started, when its baseline is locked.

The definition and the baseline are JSON text that :mod:`service.app.operations`
writes and reads; this repository only keeps the rows, guards the one-way
step from ``planned`` to ``started``, and lists the imports made after a lock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from service.store.base import StoreBase, inserted_id, now
from service.store.tables import imports, operations_table
from spatial.errors import ConflictError, NotFoundError

#: An operation is planned (definition only) until started (baseline locked).
OPERATION_STATUSES = ("planned", "started")


@dataclass(frozen=True)
class StoredOperation:
    """One row of ``operations``; ``definition`` and ``baseline`` are JSON text."""

    id: int
    name: str
    definition: str
    status: str
    created_at: datetime
    created_by: str
    started_at: datetime | None
    baseline: str | None
    shared: bool


def _operation(r: Any) -> StoredOperation:
    return StoredOperation(
        id=int(r.id), name=r.name, definition=r.definition, status=r.status,
        created_at=r.created_at, created_by=r.created_by, started_at=r.started_at,
        baseline=r.baseline, shared=bool(r.shared))


class OperationsRepository(StoreBase):
    """Reads and writes of ``operations`` (and the imports a report lists)."""

    def insert_operation(self, conn: Connection, *, name: str, definition: str,
                         created_by: str) -> int:
        """A new ``planned`` operation inside ``conn``'s transaction; returns its id."""
        res = conn.execute(operations_table.insert().values(
            name=name, definition=definition, status="planned", created_at=now(),
            created_by=created_by))
        return inserted_id(res)

    def operation(self, op_id: int) -> StoredOperation:
        """The operation ``op_id``; :class:`NotFoundError` when there is none."""
        if not 1 <= op_id < 2**63:  # beyond any database integer: it cannot exist
            raise NotFoundError(f"operation {op_id} does not exist")
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(operations_table)
                               .where(operations_table.c.id == op_id)).first()
        if row is None:
            raise NotFoundError(f"operation {op_id} does not exist")
        return _operation(row)

    def operations(self) -> list[StoredOperation]:
        """Every operation, by id."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(operations_table)
                                .order_by(operations_table.c.id)).all()
        return [_operation(r) for r in rows]

    def set_operation_shared(self, conn: Connection, op_id: int, shared: bool) -> None:
        conn.execute(operations_table.update().where(operations_table.c.id == op_id)
                     .values(shared=shared))

    def lock_baseline(self, conn: Connection, op_id: int, *, started_at: datetime,
                      baseline: str) -> None:
        """Mark a planned operation started with its locked ``baseline`` (JSON text).

        The update only matches a row still ``planned``: of two requests starting
        the same operation at once, the second finds nothing to update and gets a
        :class:`ConflictError` (its transaction rolls back), so a lock is never
        overwritten.
        """
        res = conn.execute(operations_table.update().where(
            operations_table.c.id == op_id, operations_table.c.status == "planned").values(
            status="started", started_at=started_at, baseline=baseline))
        if res.rowcount == 0:
            raise ConflictError(f"operation {op_id} was started by someone else just now")

    def imports_after(self, when: datetime, layers: Iterable[str]) -> list[dict[str, Any]]:
        """The imports into ``layers`` made after ``when``, by id, with the events each
        added (accepted less duplicates)."""
        q = (sa.select(imports)
             .where(imports.c.imported_at > when, imports.c.layer.in_(list(layers)))
             .order_by(imports.c.id))
        with self.engine.connect() as conn:
            return [{"id": r.id, "layer": r.layer, "file_name": r.file_name,
                     "imported_at": r.imported_at.isoformat(),
                     "added": int(r.accepted) - int(r.duplicates)} for r in conn.execute(q)]
