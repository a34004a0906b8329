"""Events as OGC API features: one layer's points in a time window and a box, paged by id.

A box given in a projected CRS is matched exactly on the stored x/y of events
stored in that CRS (every event in Great Britain, in British National Grid),
after an indexed lon/lat pre-selection by the box's CRS84 envelope.

Pages are read by keyset (``id > after ORDER BY id LIMIT n``): the primary key
index finds the start, so page 1,000 costs what page 1 does, where an
``OFFSET`` reads and throws away every row before it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

import pandas as pd
import sqlalchemy as sa

from service.store.events import EventsRepository
from service.store.tables import events

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class FeatureFilter:
    """Events of ``layer`` in ``[start, end)`` within the boxes given."""

    layer: str
    start: datetime | None = None
    end: datetime | None = None    # exclusive
    envelope: Box | None = None    # CRS84 (lon/lat), enclosing ``box`` when that is projected
    box: Box | None = None         # in ``box_epsg``, matched on the stored x/y
    box_epsg: int | None = None
    event_id: int | None = None
    categories: tuple[str, ...] = ()  # exact stored spellings
    after_id: int | None = None       # keyset: only ids above this one


def _feature_where(f: FeatureFilter, *, in_id_order: bool = False
                   ) -> list[sa.ColumnElement[bool]]:
    """The conditions of ``f``. ``in_id_order``: for a page read in id order, where the
    primary key must drive the scan (see :meth:`FeaturesRepository.feature_events`)."""
    t = events.c
    layer: sa.ColumnElement[str] = t.layer
    if in_id_order and not f.categories and f.event_id is None:
        # an expression hides the layer from the planners: SQLite would otherwise read
        # every event of the layer through the layer/category/time index and sort them
        # all by id for each page; by the primary key a page reads only its own rows
        layer = t.layer + sa.literal("")
    cond: list[sa.ColumnElement[bool]] = [layer == f.layer]
    if f.event_id is not None:
        cond.append(t.id == f.event_id)
    if f.after_id is not None:
        cond.append(t.id > f.after_id)
    if f.categories:
        cond.append(t.category.in_(f.categories))
    if f.start is not None:
        cond.append(t.time >= f.start)
    if f.end is not None:
        cond.append(t.time < f.end)
    if f.envelope is not None:
        minlon, minlat, maxlon, maxlat = f.envelope
        cond += [t.lon.between(minlon, maxlon), t.lat.between(minlat, maxlat)]
    if f.box is not None:
        minx, miny, maxx, maxy = f.box
        cond += [t.crs_epsg == f.box_epsg, t.x.between(minx, maxx), t.y.between(miny, maxy)]
    return cond


class FeaturesRepository(EventsRepository):
    """Reads of ``events`` for the OGC API collections ``events-<layer>``."""

    def feature_events(self, f: FeatureFilter, *, limit: int | None = None,
                       offset: int = 0, parse_attributes: bool = True) -> pd.DataFrame:
        """Events matching ``f`` ordered by id, as a frame like :meth:`query_events`.

        A page (``limit`` given) without a category filter is read along the primary key
        from ``f.after_id``: it costs the same at any depth. With a category the
        layer/category index selects the rows (a category is a small part of a layer).
        """
        return self._select_events(_feature_where(f, in_id_order=limit is not None),
                                   limit=limit, offset=offset,
                                   parse_attributes=parse_attributes)

    def count_feature_events(self, f: FeatureFilter) -> int:
        """Events matching ``f``, the keyset position ``after_id`` ignored (all pages)."""
        return self._count_where(_feature_where(replace(f, after_id=None)))

    def layer_category_names(self, layer: str) -> list[str]:
        """The distinct categories of ``layer``'s events, sorted (read from the
        layer/category/time index)."""
        q = (sa.select(events.c.category).where(events.c.layer == layer).distinct()
             .order_by(events.c.category))
        with self.engine.connect() as conn:
            return [r[0] for r in conn.execute(q)]

    def layer_extents(self) -> dict[str, tuple[Box, tuple[datetime, datetime]]]:
        """Per layer with events: CRS84 bbox and first/last event time."""
        t = events.c
        q = (sa.select(t.layer, sa.func.min(t.lon), sa.func.min(t.lat), sa.func.max(t.lon),
                       sa.func.max(t.lat), sa.func.min(t.time), sa.func.max(t.time))
             .group_by(t.layer))
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
        return {r[0]: ((float(r[1]), float(r[2]), float(r[3]), float(r[4])),
                       (pd.Timestamp(r[5]).to_pydatetime(), pd.Timestamp(r[6]).to_pydatetime()))
                for r in rows}
