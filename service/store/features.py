"""Events as OGC API features: one layer's points in a time window and a box, paged by id.

A box given in a projected CRS is matched exactly on the stored x/y of events
stored in that CRS (every event in Great Britain, in British National Grid),
after an indexed lon/lat pre-selection by the box's CRS84 envelope.

Pages are read by keyset (``id > after``, in id order, ``n`` rows): segments
whose ids all lie at or below ``after`` are skipped unopened, so page 1,000
costs what page 1 does, where an ``OFFSET`` reads and throws away every row
before it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np
import pandas as pd
import sqlalchemy as sa

from service.store import segments as seg
from service.store.events import EventsRepository, _box_mask, _category_time_box_mask, _Select
from service.store.layers import layer_categories
from service.store.tables import event_segments

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


def _feature_select(f: FeatureFilter) -> _Select:
    """The read of ``f``: segments by layer, time, envelope and id range, then the exact
    conditions on each row (inclusive boxes, half-open time span)."""
    needs = ["layer", "category", "time", "lon", "lat"] + (
        ["crs_epsg", "x", "y"] if f.box is not None else [])

    def mask(frame: pd.DataFrame) -> np.ndarray:
        m = _category_time_box_mask(frame, f.categories, f.start, f.end, f.envelope)
        m &= frame["layer"].to_numpy() == f.layer
        ids = frame["id"].to_numpy()
        if f.event_id is not None:
            m &= ids == f.event_id
        if f.after_id is not None:
            m &= ids > f.after_id
        if f.box is not None:
            m &= frame["crs_epsg"].to_numpy() == f.box_epsg
            m &= _box_mask(frame["x"].to_numpy(), frame["y"].to_numpy(), f.box)
        return np.asarray(m, dtype=bool)

    return _Select(seg.SegmentPrune(layers=(f.layer,), start=f.start, end=f.end,
                                    bbox=f.envelope, after_id=f.after_id,
                                    event_id=f.event_id), tuple(needs), mask)


class FeaturesRepository(EventsRepository):
    """Reads of the events for the OGC API collections ``events-<layer>``."""

    def feature_events(self, f: FeatureFilter, *, limit: int | None = None,
                       offset: int = 0, parse_attributes: bool = True) -> pd.DataFrame:
        """Events matching ``f`` ordered by id, as a frame like :meth:`query_events`.

        A page (``limit`` given) opens the layer's segments from ``f.after_id`` on, in
        id order, and stops once the page is complete: it costs the same at any depth.
        """
        return self._select_events(_feature_select(f), limit=limit, offset=offset,
                                   parse_attributes=parse_attributes)

    def count_feature_events(self, f: FeatureFilter) -> int:
        """Events matching ``f``, the keyset position ``after_id`` ignored (all pages); a
        whole layer is counted from its segments' row counts, opening none."""
        if (f.event_id is None and not f.categories and f.start is None and f.end is None
                and f.envelope is None and f.box is None):
            s = event_segments.c
            with self.engine.connect() as conn:
                return int(conn.execute(sa.select(sa.func.coalesce(sa.func.sum(s.n_rows), 0))
                                        .where(s.layer == f.layer)).scalar() or 0)
        return self._count_where(_feature_select(replace(f, after_id=None)))

    def layer_category_names(self, layer: str) -> list[str]:
        """The distinct categories of ``layer``'s events, sorted."""
        return layer_categories(self.engine, layer)

    def layer_extents(self) -> dict[str, tuple[Box, tuple[datetime, datetime]]]:
        """Per layer with events: CRS84 bbox and first/last event time (from the
        segments' ranges, which are exact)."""
        s = event_segments.c
        q = (sa.select(s.layer, sa.func.min(s.lon_min), sa.func.min(s.lat_min),
                       sa.func.max(s.lon_max), sa.func.max(s.lat_max),
                       sa.func.min(s.time_min), sa.func.max(s.time_max))
             .group_by(s.layer))
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
        return {r[0]: ((float(r[1]), float(r[2]), float(r[3]), float(r[4])),
                       (pd.Timestamp(r[5]).to_pydatetime(), pd.Timestamp(r[6]).to_pydatetime()))
                for r in rows}
