"""Layers: the named kinds of event (crime, ambulance, ...) with their sensitivity."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from service.store import segments as seg
from service.store.base import StoreBase, iso, now
from service.store.tables import event_segments, layers
from spatial.events import layer_spec
from spatial.limits import check_name


class LayersRepository(StoreBase):
    """Reads and writes of ``layers``."""

    def ensure_layer(self, conn: Connection, name: str, sensitivity: str | None = None,
                     description: str | None = None) -> None:
        """Create layer ``name`` unless it exists; safe against a concurrent creator."""
        check_name(name, "layer")
        exists = conn.execute(sa.select(layers.c.name).where(layers.c.name == name)).first()
        if exists:
            return
        spec = layer_spec(name)
        values = dict(name=name, sensitivity=sensitivity or spec.sensitivity,
                      description=description or spec.description, created_at=now())
        insert: Any
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        # two imports creating the same new layer at once: the second one's insert is a no-op
        conn.execute(insert(layers).values(**values).on_conflict_do_nothing(
            index_elements=[layers.c.name]))

    def list_layers(self) -> list[dict[str, Any]]:
        """Every layer with its event count, time range and categories (from the
        segments' metadata: no payload is opened)."""
        s = event_segments.c
        stats = (sa.select(s.layer, sa.func.sum(s.n_rows).label("count"),
                           sa.func.min(s.time_min).label("time_min"),
                           sa.func.max(s.time_max).label("time_max"))
                 .group_by(s.layer).subquery())
        q = (sa.select(layers.c.name, layers.c.sensitivity, layers.c.description,
                       stats.c.count, stats.c.time_min, stats.c.time_max)
             .select_from(layers.outerjoin(stats, stats.c.layer == layers.c.name))
             .order_by(layers.c.name))
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
            summaries = seg.category_summaries(conn)
        cats = {layer: {c: n for c, (n, _) in by_cat.items()}
                for layer, by_cat in summaries.items()}
        out = []
        for name, sens, desc, n, tmin, tmax in rows:
            out.append({
                "name": name, "sensitivity": sens, "description": desc,
                "count": int(n or 0),
                "time_min": iso(_timestamp(tmin)), "time_max": iso(_timestamp(tmax)),
                "categories": dict(sorted(cats.get(name, {}).items())),
            })
        return out

    def first_event_times(self, names: Iterable[str]) -> dict[str, datetime]:
        """Time of the first event of each named layer that has events (the segments'
        exact time ranges: no event is read)."""
        wanted = sorted(set(names))
        if not wanted:
            return {}
        s = event_segments.c
        q = (sa.select(s.layer, sa.func.min(s.time_min))
             .where(s.layer.in_(wanted)).group_by(s.layer))
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
        return {r[0]: pd.Timestamp(r[1]).to_pydatetime() for r in rows if r[1] is not None}

    def layer_names(self) -> set[str]:
        with self.engine.connect() as conn:
            return {r[0] for r in conn.execute(sa.select(layers.c.name))}

    def layer_categories(self, name: str) -> list[str]:
        """The distinct categories of layer ``name``'s events."""
        return layer_categories(self.engine, name)


def _timestamp(value: Any) -> Any:
    """A stored time as the row store's reads gave it (SQLite: text of the datetime)."""
    return None if value is None else pd.Timestamp(value).to_pydatetime()


def layer_categories(engine: sa.Engine, name: str) -> list[str]:
    """The distinct categories of layer ``name``'s events, sorted (segment metadata)."""
    with engine.connect() as conn:
        return sorted(seg.category_summaries(conn, [name]).get(name, {}))
