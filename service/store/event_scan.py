"""One columnar read of the events an analysis needs: several slices, one query.

An operation report needs, from the same few layers, the windows' events with
a density margin around the areas, the earlier months of the time context
without it, the consequence watches' categories and the dealing sites. Read
one slice at a time, the store visits the same index ranges several times and
every row passes through SQLAlchemy's row objects and a DataFrame. Here the
slices (:class:`ScanSlice`) are OR-ed into **one** ``SELECT`` of only the
columns analysis uses, fetched from the driver's cursor in one call and turned
into NumPy columns (:class:`ScanColumns`); the caller splits the rows again
with :func:`slice_mask`, which applies each slice's own condition exactly as
the SQL does (the same inclusive box, the same half-open time span).
"""

from __future__ import annotations

import gc
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import sqlalchemy as sa

from service.store.base import StoreBase
from service.store.tables import events

#: Columns every scan returns (with ``id``), as stored.
SCAN_COLUMNS = ("id", "layer", "category", "time", "lon", "lat", "x", "y", "crs_epsg",
                "location_precision", "time_precision")


@dataclass(frozen=True)
class ScanSlice:
    """Events of some layers (layer -> categories, ``None`` for all of them) in a time
    span (``start`` inclusive, ``end`` exclusive; ``None``: open) and a lon/lat box
    (inclusive; ``None``: anywhere)."""

    layers: Mapping[str, frozenset[str] | None]
    start: datetime | None = None
    end: datetime | None = None
    bbox: tuple[float, float, float, float] | None = None


@dataclass(frozen=True, eq=False)
class ScanColumns:
    """Aligned columns of the scanned events, ordered by id.

    ``attribute`` holds one attribute's value (``None`` where absent or not asked
    for); ``attributes`` the stored JSON text of the events of ``attributes_layer``
    (``None`` elsewhere)."""

    id: npt.NDArray[np.int64]
    layer: npt.NDArray[np.object_]
    category: npt.NDArray[np.object_]
    time: npt.NDArray[np.datetime64]
    lon: npt.NDArray[np.float64]
    lat: npt.NDArray[np.float64]
    x: npt.NDArray[np.float64]
    y: npt.NDArray[np.float64]
    crs_epsg: npt.NDArray[np.int64]
    location_precision: npt.NDArray[np.object_]
    time_precision: npt.NDArray[np.object_]
    attribute: npt.NDArray[np.object_]
    attributes: npt.NDArray[np.object_]

    def __len__(self) -> int:
        return int(self.id.size)

    def frame(self, index: npt.ArrayLike, *, parse_attributes: bool = False) -> pd.DataFrame:
        """The rows at ``index`` as an events frame (``attributes`` parsed on request)."""
        idx = np.asarray(index)
        out = pd.DataFrame({name: getattr(self, name)[idx] for name in SCAN_COLUMNS})
        if parse_attributes:
            out["attributes"] = [json.loads(a) if a is not None else {}
                                 for a in self.attributes[idx]]
        return out


def _slice_where(s: ScanSlice) -> sa.ColumnElement[bool]:
    by_layer = []
    for layer, cats in sorted(s.layers.items()):
        cond = events.c.layer == layer
        if cats:
            cond = sa.and_(cond, events.c.category.in_(sorted(cats)))
        by_layer.append(cond)
    parts: list[sa.ColumnElement[bool]] = [sa.or_(*by_layer) if by_layer else sa.false()]
    if s.start is not None:
        parts.append(events.c.time >= s.start)
    if s.end is not None:
        parts.append(events.c.time < s.end)
    if s.bbox is not None:
        minlon, minlat, maxlon, maxlat = s.bbox
        parts += [events.c.lon >= minlon, events.c.lon <= maxlon,
                  events.c.lat >= minlat, events.c.lat <= maxlat]
    return sa.and_(*parts)


def _attribute_value(dialect: str, key: str) -> Any:
    """One attribute's value, read by the database's JSON functions (as
    :meth:`Store.event_attribute` reads it)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import JSONB

        return sa.cast(events.c.attributes, JSONB)[key].astext
    return sa.func.json_extract(events.c.attributes, "$." + json.dumps(key))


def scan_events(engine: sa.Engine, slices: Sequence[ScanSlice], *,
                attribute: tuple[str, str] | None = None,
                attributes_layer: str | None = None,
                usual: Mapping[str, Any] | None = None) -> ScanColumns:
    """Every event in any of ``slices``, in **one** query, as NumPy columns ordered by id.

    ``attribute = (layer, key)`` also reads attribute ``key`` of that layer's events;
    ``attributes_layer`` the whole stored attributes (JSON text) of that layer's
    events. ``usual`` names the value most rows are expected to hold for any of
    ``layer``, ``time_precision``, ``location_precision`` and ``crs_epsg`` (e.g.
    ``{"crs_epsg": 27700}``); see the notes.

    Notes
    -----
    Most of the cost of reading many rows through a Python driver is one Python
    object per value, and the garbage collector walking the rows while they are
    built. The query reads only the columns analysis uses; a column's usual value
    comes back as SQL ``NULL`` (``NULLIF``; the columns are ``NOT NULL``, so a
    ``NULL`` can only mean that value), which the driver hands over as the one
    ``None`` object, not a new string per row; the collector is paused while the
    rows are fetched and turned into columns (they hold no cycles). Times are
    parsed once per distinct value and come back as ``datetime64[ns]``.
    """
    usual = dict(usual or {})
    cols: list[Any] = []
    for name in SCAN_COLUMNS:
        col: Any = events.c[name]
        if name == "time":
            # the stored text: no per-row datetime objects (parsed below, once per value)
            col = sa.cast(col, sa.String)
        if name in usual:
            col = sa.func.nullif(col, usual[name])
        cols.append(col.label(name))
    null = sa.null()
    if attribute is not None:
        cols.append(sa.case((events.c.layer == attribute[0],
                             _attribute_value(engine.dialect.name, attribute[1])),
                            else_=null).label("attribute"))
    if attributes_layer is not None:
        cols.append(sa.case((events.c.layer == attributes_layer, events.c.attributes),
                            else_=null).label("attributes"))
    q = sa.select(*cols).where(sa.or_(*[_slice_where(s) for s in slices]) if slices
                               else sa.false())
    paused = gc.isenabled()
    gc.disable()
    try:
        with engine.connect() as conn:
            result = conn.execute(q)
            # the driver's rows as they are: no row objects, no per-value type processing
            rows = result.cursor.fetchall() if result.cursor is not None else result.all()
        n = len(rows)
        table = np.empty((n, len(cols)), dtype=object)
        if n:
            table[:] = rows  # one C pass over the driver's tuples
        del rows

        def objects(k: int) -> npt.NDArray[np.object_]:
            out = table[:, k].copy()
            name = SCAN_COLUMNS[k] if k < len(SCAN_COLUMNS) else None
            if name in usual:
                out[pd.isna(out)] = usual[name]
            return out

        ids = table[:, 0].astype(np.int64)
        floats = {name: table[:, SCAN_COLUMNS.index(name)].astype(float)
                  for name in ("lon", "lat", "x", "y")}
        text = {name: objects(SCAN_COLUMNS.index(name))
                for name in ("layer", "category", "time", "location_precision",
                             "time_precision", "crs_epsg")}
        k = len(SCAN_COLUMNS)
        none = np.full(n, None, dtype=object)
        extra = objects(k) if attribute is not None else none
        whole = objects(k + (attribute is not None)) if attributes_layer is not None else none
    finally:
        if paused:
            gc.enable()
    if n:
        codes, uniq = pd.factorize(text["time"])
        time = (pd.to_datetime(pd.Series(uniq, dtype=object), format="ISO8601")
                .to_numpy(dtype="datetime64[ns]")[codes])
    else:
        time = np.zeros(0, dtype="datetime64[ns]")
    scanned = ScanColumns(
        id=ids, time=time, layer=text["layer"], category=text["category"],
        time_precision=text["time_precision"], location_precision=text["location_precision"],
        crs_epsg=np.asarray(text["crs_epsg"], dtype=np.int64) if n
        else np.zeros(0, dtype=np.int64),
        attribute=extra, attributes=whole, **floats)
    order = np.argsort(ids, kind="stable")
    if n and np.any(order != np.arange(n)):
        scanned = ScanColumns(**{name: getattr(scanned, name)[order]
                                 for name in ScanColumns.__dataclass_fields__})
    return scanned


def slice_mask(cols: ScanColumns, s: ScanSlice) -> npt.NDArray[np.bool_]:
    """Which scanned events ``s`` selects: the same conditions as its SQL."""
    n = len(cols)
    by_layer = np.zeros(n, dtype=bool)
    for layer, cats in s.layers.items():
        m = cols.layer == layer
        if cats:
            m &= np.isin(cols.category, np.asarray(sorted(cats), dtype=object))
        by_layer |= m
    mask = by_layer
    if s.start is not None:
        mask &= cols.time >= np.datetime64(s.start, "ns")
    if s.end is not None:
        mask &= cols.time < np.datetime64(s.end, "ns")
    if s.bbox is not None:
        minlon, minlat, maxlon, maxlat = s.bbox
        mask &= ((cols.lon >= minlon) & (cols.lon <= maxlon)
                 & (cols.lat >= minlat) & (cols.lat <= maxlat))
    return np.asarray(mask, dtype=bool)


#: The distinct categories of a layer by skipping through the (layer, category, time)
#: index (one seek per category, not a walk over every event of the layer), each with
#: its first time (one more seek).
_CATEGORIES_SQL = """
WITH RECURSIVE c(cat) AS (
    SELECT (SELECT MIN(category) FROM events WHERE layer = :layer)
    UNION ALL
    SELECT (SELECT MIN(category) FROM events WHERE layer = :layer AND category > c.cat)
    FROM c WHERE c.cat IS NOT NULL
)
SELECT cat, (SELECT MIN(time) FROM events WHERE layer = :layer AND category = c.cat)
FROM c WHERE cat IS NOT NULL
"""


def layer_summaries(engine: sa.Engine, layers: Sequence[str]) -> dict[str, dict[str, datetime]]:
    """``layer -> {category: time of its first event}`` for each named layer (empty for
    a layer without events), by index seeks only.

    The same categories as :meth:`Store.layer_categories` and, per layer, the same
    first time as :meth:`Store.first_event_times` (its minimum over the categories),
    without reading every index entry of a million-event layer.
    """
    out: dict[str, dict[str, datetime]] = {}
    with engine.connect() as conn:
        for layer in sorted(set(layers)):
            rows = conn.execute(sa.text(_CATEGORIES_SQL), {"layer": layer}).all()
            out[layer] = {str(r[0]): pd.Timestamp(r[1]).to_pydatetime() for r in rows}
    return out


class EventScanRepository(StoreBase):
    """The columnar reads of :mod:`service.store.event_scan` as :class:`Store` methods."""

    def scan_events(self, slices: Sequence[ScanSlice], *,
                    attribute: tuple[str, str] | None = None,
                    attributes_layer: str | None = None,
                    usual: Mapping[str, Any] | None = None) -> ScanColumns:
        """:func:`scan_events` on this store: every event of ``slices`` in one query."""
        return scan_events(self.engine, slices, attribute=attribute,
                           attributes_layer=attributes_layer, usual=usual)

    def layer_summaries(self, layers: Sequence[str]) -> dict[str, dict[str, datetime]]:
        """:func:`layer_summaries` on this store: categories and first times by index seeks."""
        return layer_summaries(self.engine, layers)
