"""Re-emergence watches: a watch's row, and the alarms its checks found (append only).

A watch belongs to an operation; its definition (layers, areas, period, ARL0,
mu1 rule) is JSON text that :mod:`service.app.watches` writes and reads. Checks
are computed on demand; each check's alarms are added here once per series and
period, never updated or deleted, so an alert found once is not lost when a
later check (with more data, a moved baseline) no longer shows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from service.store.base import StoreBase, inserted_id, now
from service.store.tables import watch_alarms, watches_table
from spatial.errors import NotFoundError


@dataclass(frozen=True)
class StoredWatch:
    """One row of ``watches``; ``definition`` is JSON text."""

    id: int
    operation_id: int
    name: str
    definition: str
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class RecordedAlarm:
    """One alarm as first recorded."""

    watch_id: int
    series: str
    layer: str
    area: str
    period_start: date
    cusum: float
    h: float
    recorded_at: datetime
    recorded_by: str


def _watch(r: Any) -> StoredWatch:
    return StoredWatch(id=int(r.id), operation_id=int(r.operation_id), name=r.name,
                       definition=r.definition, created_by=r.created_by,
                       created_at=r.created_at)


def _alarm(r: Any) -> RecordedAlarm:
    start = r.period_start
    if isinstance(start, str):  # SQLite may hand back text
        start = date.fromisoformat(start[:10])
    elif isinstance(start, datetime):
        start = start.date()
    return RecordedAlarm(watch_id=int(r.watch_id), series=r.series, layer=r.layer,
                         area=r.area, period_start=start, cusum=float(r.cusum), h=float(r.h),
                         recorded_at=r.recorded_at, recorded_by=r.recorded_by)


class WatchesRepository(StoreBase):
    """Reads and writes of ``watches`` and ``watch_alarms``."""

    def insert_watch(self, conn: Connection, *, operation_id: int, name: str, definition: str,
                     created_by: str) -> int:
        """A new watch inside ``conn``'s transaction; returns its id."""
        res = conn.execute(watches_table.insert().values(
            operation_id=operation_id, name=name, definition=definition,
            created_by=created_by, created_at=now()))
        return inserted_id(res)

    def watch(self, watch_id: int) -> StoredWatch:
        """The watch ``watch_id``; :class:`NotFoundError` when there is none."""
        if not 1 <= watch_id < 2**63:
            raise NotFoundError(f"watch {watch_id} does not exist")
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(watches_table)
                               .where(watches_table.c.id == watch_id)).first()
        if row is None:
            raise NotFoundError(f"watch {watch_id} does not exist")
        return _watch(row)

    def watches(self, operation_id: int | None = None) -> list[StoredWatch]:
        """Every watch (of one operation), by id."""
        q = sa.select(watches_table).order_by(watches_table.c.id)
        if operation_id is not None:
            q = q.where(watches_table.c.operation_id == operation_id)
        with self.engine.connect() as conn:
            return [_watch(r) for r in conn.execute(q)]

    def record_alarms(self, conn: Connection, watch_id: int, alarms: list[dict[str, Any]],
                      *, actor: str) -> int:
        """Add the alarms (``series``, ``layer``, ``area``, ``period_start``, ``cusum``,
        ``h``) not yet recorded for their series and period; returns how many were new.
        A concurrent check adding the same one is a :class:`ConflictError` (unique key)."""
        if not alarms:
            return 0
        have = {(r.series, _alarm(r).period_start) for r in conn.execute(
            sa.select(watch_alarms).where(watch_alarms.c.watch_id == watch_id))}
        at = now()
        new = [a for a in alarms if (a["series"], a["period_start"]) not in have]
        for a in new:
            conn.execute(watch_alarms.insert().values(
                watch_id=watch_id, series=a["series"], layer=a["layer"], area=a["area"],
                period_start=a["period_start"], cusum=float(a["cusum"]), h=float(a["h"]),
                recorded_at=at, recorded_by=actor))
        return len(new)

    def recorded_alarms(self, watch_id: int | None = None) -> list[RecordedAlarm]:
        """Alarms recorded (for one watch), by watch, period and series."""
        q = sa.select(watch_alarms).order_by(watch_alarms.c.watch_id,
                                             watch_alarms.c.period_start,
                                             watch_alarms.c.series)
        if watch_id is not None:
            q = q.where(watch_alarms.c.watch_id == watch_id)
        with self.engine.connect() as conn:
            return [_alarm(r) for r in conn.execute(q)]
