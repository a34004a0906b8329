"""Boundary sets (versioned polygons) and the placement of events in their units."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from service.store.base import StoreBase, inserted_id, now
from service.store.tables import boundary_sets, boundary_units, event_units, events
from spatial.errors import NotFoundError
from spatial.limits import check_name


@dataclass(frozen=True)
class BoundarySetInfo:
    id: int
    name: str
    version: int
    id_field: str
    label_field: str | None
    effective_date: date | None
    source_file: str
    repairs: list[str]
    created_at: datetime
    unit_count: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.name, "version": self.version,
            "id_field": self.id_field, "label_field": self.label_field,
            "effective_date": self.effective_date.isoformat() if self.effective_date else None,
            "source_file": self.source_file, "repairs": self.repairs,
            "created_at": self.created_at.isoformat(), "unit_count": self.unit_count,
        }


def _set_info(r: Any) -> BoundarySetInfo:
    eff = r.effective_date
    if isinstance(eff, str):
        eff = date.fromisoformat(eff)
    return BoundarySetInfo(
        id=r.id, name=r.name, version=r.version, id_field=r.id_field, label_field=r.label_field,
        effective_date=eff, source_file=r.source_file, repairs=json.loads(r.repairs),
        created_at=r.created_at, unit_count=int(r.n or 0))


class BoundariesRepository(StoreBase):
    """Reads and writes of ``boundary_sets``, ``boundary_units`` and ``event_units``."""

    def add_boundary_set(self, conn: Connection, *, name: str, id_field: str,
                         label_field: str | None, effective_date: date | None,
                         source_file: str, repairs: list[str],
                         units: Iterable[tuple[str, str, str, float]]) -> tuple[int, int]:
        """A new version of boundary set ``name``; returns its id and version.

        ``units`` yields ``(unit_id, label, wkb_hex, area_m2)``.
        """
        check_name(name, "name")
        version = int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(
            boundary_sets.c.version), 0)).where(boundary_sets.c.name == name)).scalar() or 0) + 1
        res = conn.execute(boundary_sets.insert().values(
            name=name, version=version, id_field=id_field, label_field=label_field,
            effective_date=effective_date, source_file=source_file,
            repairs=json.dumps(repairs), created_at=now()))
        set_id = inserted_id(res)
        rows = [{"set_id": set_id, "unit_id": u, "label": lab, "wkb": w, "area_m2": a}
                for u, lab, w, a in units]
        if rows:
            conn.execute(boundary_units.insert(), rows)
        return set_id, version

    def boundary_sets_list(self) -> list[BoundarySetInfo]:
        counts = (sa.select(boundary_units.c.set_id, sa.func.count().label("n"))
                  .group_by(boundary_units.c.set_id).subquery())
        q = (sa.select(boundary_sets, counts.c.n)
             .select_from(boundary_sets.outerjoin(counts, counts.c.set_id == boundary_sets.c.id))
             .order_by(boundary_sets.c.name, boundary_sets.c.version))
        with self.engine.connect() as conn:
            return [_set_info(r) for r in conn.execute(q)]

    def boundary_set(self, name: str, version: int | None = None) -> BoundarySetInfo:
        """The named set at ``version`` (default: the latest)."""
        all_sets = self.boundary_sets_list()
        sets = [s for s in all_sets if s.name == name]
        if version is not None:
            sets = [s for s in sets if s.version == version]
        if not sets:
            known = sorted({s.name for s in all_sets})
            raise NotFoundError(
                f"boundary set {name!r}" + (f" version {version}" if version else "")
                + f" does not exist; known sets: {', '.join(known) or 'none'}")
        return sets[-1]

    def boundary_units_frame(self, set_id: int) -> pd.DataFrame:
        """``unit_id``, ``label``, ``wkb`` (hex, WGS84), ``area_m2`` of one set version."""
        q = (sa.select(boundary_units.c.unit_id, boundary_units.c.label, boundary_units.c.wkb,
                       boundary_units.c.area_m2)
             .where(boundary_units.c.set_id == set_id).order_by(boundary_units.c.unit_id))
        with self.engine.connect() as conn:
            return pd.DataFrame(conn.execute(q).all(),
                                columns=["unit_id", "label", "wkb", "area_m2"])

    def write_placements(self, conn: Connection, set_id: int, event_ids: np.ndarray,
                         unit_ids: Sequence[str | None]) -> None:
        pg = self.dialect == "postgresql"
        ids = np.asarray(event_ids, dtype=np.int64)
        columns = {
            "event_id": ids if pg else ids.tolist(),
            "set_id": np.full(len(ids), set_id, dtype=np.int64) if pg else [set_id] * len(ids),
            "unit_id": list(unit_ids)}
        with self._bulk_load(conn, event_units.name, len(ids)):
            self._bulk_insert_columns(conn, event_units.name, columns)

    def all_event_positions(self, conn: Connection) -> pd.DataFrame:
        q = sa.select(events.c.id, events.c.lon, events.c.lat).order_by(events.c.id)
        return pd.DataFrame(conn.execute(q).all(), columns=["id", "lon", "lat"])

    def placement_counts(self, set_id: int) -> dict[str | None, int]:
        q = (sa.select(event_units.c.unit_id, sa.func.count())
             .where(event_units.c.set_id == set_id).group_by(event_units.c.unit_id))
        with self.engine.connect() as conn:
            return {u: int(n) for u, n in conn.execute(q)}
