"""Boundary sets (versioned polygons) and the placement of events in their units."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from service.store import segments as seg
from service.store.base import StoreBase, inserted_id, now
from service.store.tables import boundary_sets, boundary_units, event_segment_units
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
    """Reads and writes of ``boundary_sets``, ``boundary_units`` and the events' placements
    (``event_segment_units``)."""

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
            frame = pd.DataFrame(conn.execute(q).all(),
                                 columns=["unit_id", "label", "wkb", "area_m2"],
                                 dtype=object)
        # the WKB stays Python text (geometries are parsed from it; an Arrow copy of
        # megabytes of hex would only be turned back), the others as pandas infers them
        return frame.astype({"unit_id": "str", "label": "str", "area_m2": "float64"})

    def write_placements(self, conn: Connection, set_id: int, event_ids: np.ndarray,
                         unit_ids: Sequence[str | None]) -> None:
        """Store the unit of each of ``event_ids`` in set ``set_id`` (None: outside every
        polygon): one Parquet column per segment, so ``event_ids`` must cover whole
        segments (an import's new events, or every stored event)."""
        units = np.asarray(list(unit_ids), dtype=object)
        for segment_id, positions in seg.segment_ids_of(conn, np.asarray(event_ids)):
            seg.write_units(conn, segment_id, set_id, units[positions].tolist())

    def write_segment_placements(self, conn: Connection, set_id: int,
                                 segments: Sequence[tuple[int, np.ndarray]],
                                 unit_ids: np.ndarray | pa.Array) -> None:
        """Placements of segments just written: ``(segment id, row positions)`` into
        ``unit_ids`` (one per event of the batch, None or null: outside; an object
        array, or Arrow)."""
        for segment_id, positions in segments:
            seg.write_units(conn, segment_id, set_id,
                            unit_ids.take(pa.array(positions)) if isinstance(unit_ids, pa.Array)
                            else unit_ids[positions].tolist())

    def all_event_positions(self, conn: Connection) -> pd.DataFrame:
        """``id``, ``lon``, ``lat`` of every stored event, ordered by id."""
        return seg.read_segments(conn, seg.SegmentPrune(), ["lon", "lat"])

    def placement_counts(self, set_id: int) -> dict[str | None, int]:
        """Events per unit of set version ``set_id`` (``None``: outside every unit)."""
        u = event_segment_units.c
        counts: dict[str | None, int] = {}
        with self.engine.connect() as conn:
            for (payload,) in conn.execution_options(yield_per=64).execute(
                    sa.select(u.payload).where(u.set_id == set_id)):
                values = pd.Series(seg.decode(payload)["unit_id"].to_pylist(), dtype=object)
                sizes = values.value_counts(dropna=False)
                for unit, n in zip(sizes.index.tolist(), sizes.tolist(), strict=True):
                    key = None if unit is None or unit != unit else str(unit)  # NaN: None
                    counts[key] = counts.get(key, 0) + int(n)
        return counts
