"""Saved results: named FeatureCollections (JSON text) with their parameters and owner.

Who may replace or read one is decided by :mod:`service.app.results`; this
repository keeps the rows. A name is the primary key, so two first saves of
one name at once cannot both succeed: the second fails on the key, which
:meth:`~service.store.base.StoreBase.begin` turns into a :class:`ConflictError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from service.store.base import StoreBase
from service.store.tables import saved_results
from spatial.errors import NotFoundError


@dataclass(frozen=True)
class ResultSummary:
    """A saved result without its collection; ``parameters`` is JSON text."""

    name: str
    layer: str
    method: str
    created_at: datetime
    parameters: str


@dataclass(frozen=True)
class SavedResult(ResultSummary):
    """A saved result in full; ``collection`` is the FeatureCollection as JSON text."""

    created_by: str
    collection: str


class ResultsRepository(StoreBase):
    """Reads and writes of ``saved_results``."""

    def result_owner(self, conn: Connection, name: str) -> str | None:
        """Who saved the result ``name`` (``None``: no result has that name)."""
        return conn.execute(sa.select(saved_results.c.created_by)
                            .where(saved_results.c.name == name)).scalar()

    def replace_result(self, conn: Connection, *, name: str, layer: str, method: str,
                       created_at: datetime, created_by: str, parameters: str,
                       collection: str) -> None:
        """Store a result under ``name``, replacing ``created_by``'s own of that name.

        Another owner's result of that name is left alone, so the insert fails on
        the primary key: the caller checks :meth:`result_owner` first, and a
        concurrent first save of the same name is a :class:`ConflictError` (409).
        """
        conn.execute(saved_results.delete().where(saved_results.c.name == name,
                                                  saved_results.c.created_by == created_by))
        conn.execute(saved_results.insert().values(
            name=name, layer=layer, method=method, created_at=created_at,
            created_by=created_by, parameters=parameters, collection=collection))

    def result_summaries(self) -> list[ResultSummary]:
        """Every saved result by name, without the collections (they may be large)."""
        q = sa.select(saved_results.c.name, saved_results.c.layer, saved_results.c.method,
                      saved_results.c.created_at, saved_results.c.parameters
                      ).order_by(saved_results.c.name)
        with self.engine.connect() as conn:
            return [ResultSummary(name=r.name, layer=r.layer, method=r.method,
                                  created_at=r.created_at, parameters=r.parameters)
                    for r in conn.execute(q)]

    def saved_result(self, name: str) -> SavedResult:
        """The result ``name``; :class:`NotFoundError` when there is none."""
        with self.engine.connect() as conn:
            row: Any = conn.execute(sa.select(saved_results)
                                    .where(saved_results.c.name == name)).first()
        if row is None:
            raise NotFoundError(f"no saved result {name!r}")
        return SavedResult(name=row.name, layer=row.layer, method=row.method,
                           created_at=row.created_at, parameters=row.parameters,
                           created_by=row.created_by, collection=row.collection)
