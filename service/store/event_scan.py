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

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import sqlalchemy as sa

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


#: Separator of the packed text column (a control character no name contains).
_SEP = "\x1f"
#: The text columns packed into one value per row, in this order.
_PACKED = ("time", "layer", "category", "time_precision", "location_precision", "crs_epsg")


def scan_events(engine: sa.Engine, slices: Sequence[ScanSlice], *,
                attribute: tuple[str, str] | None = None,
                attributes_layer: str | None = None) -> ScanColumns:
    """Every event in any of ``slices``, in **one** query, as NumPy columns ordered by id.

    ``attribute = (layer, key)`` also reads attribute ``key`` of that layer's events;
    ``attributes_layer`` the whole stored attributes (JSON text) of that layer's
    events.

    Notes
    -----
    Most of the cost of reading many rows through a Python driver is one Python
    object per value, so each row comes back as the id, the four coordinates
    and **one** text value joining time, layer, category, the two precisions and
    the CRS (``\\x1f``-separated, in SQL). Those joined values repeat (a police.uk
    layer has a dozen months and a few categories), so they are split and
    parsed once per distinct value (``pandas.factorize``) and spread back by
    their codes. Times come back as ``datetime64[ns]``.
    """
    sep = sa.literal(_SEP)
    packed: Any = sa.cast(events.c.time, sa.String)
    for name in _PACKED[1:]:
        col = events.c[name]
        packed = packed.concat(sep).concat(
            sa.cast(col, sa.String) if name == "crs_epsg" else col)
    cols: list[Any] = [events.c.id, events.c.lon, events.c.lat, events.c.x, events.c.y,
                       packed.label("packed")]
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
    with engine.connect() as conn:
        result = conn.execute(q)
        # the driver's rows as they are: no row objects, no per-value type processing
        rows = result.cursor.fetchall() if result.cursor is not None else result.all()
    n = len(rows)
    columns = list(zip(*rows, strict=True)) if n else [()] * len(cols)

    def objects(k: int) -> npt.NDArray[np.object_]:
        out = np.empty(n, dtype=object)
        out[:] = columns[k]
        return out

    codes = np.zeros(0, dtype=np.int64)
    uniq: list[str] = []
    if n:
        found, distinct = pd.factorize(objects(5))
        codes, uniq = np.asarray(found, dtype=np.int64), [str(u) for u in distinct]
    parts = [u.split(_SEP) for u in uniq]
    if any(len(p) != len(_PACKED) for p in parts):
        raise ValueError("a layer or category name holds the scan's separator \\x1f")
    by_name = {name: [p[k] for p in parts] for k, name in enumerate(_PACKED)}

    def spread(values: Sequence[Any], dtype: Any = object) -> npt.NDArray[Any]:
        arr = np.empty(len(values), dtype=dtype)
        arr[:] = values
        return arr[codes]

    times = (pd.to_datetime(pd.Series(by_name["time"], dtype=object), format="ISO8601")
             .to_numpy(dtype="datetime64[ns]") if n else np.zeros(0, dtype="datetime64[ns]"))
    k = 6
    none = np.full(n, None, dtype=object)
    scanned = ScanColumns(
        id=np.fromiter(columns[0], dtype=np.int64, count=n),
        lon=np.fromiter(columns[1], dtype=float, count=n),
        lat=np.fromiter(columns[2], dtype=float, count=n),
        x=np.fromiter(columns[3], dtype=float, count=n),
        y=np.fromiter(columns[4], dtype=float, count=n),
        time=times[codes] if n else times,
        layer=spread(by_name["layer"]), category=spread(by_name["category"]),
        time_precision=spread(by_name["time_precision"]),
        location_precision=spread(by_name["location_precision"]),
        crs_epsg=spread([int(v) for v in by_name["crs_epsg"]], np.int64),
        attribute=objects(k) if attribute is not None else none,
        attributes=objects(k + (attribute is not None)) if attributes_layer is not None
        else none)
    order = np.argsort(scanned.id, kind="stable")
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
