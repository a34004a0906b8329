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
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import pandas as pd
import sqlalchemy as sa

from service.store import segments as seg
from service.store.base import StoreBase
from service.store.tables import event_segments

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
    #: the slices of the scan and which rows each selects, when the scan knows them
    #: already (the event cache's: :func:`slice_mask` then looks them up)
    slices: tuple[ScanSlice, ...] | None = None
    masks: tuple[npt.NDArray[np.bool_], ...] | None = None

    def __len__(self) -> int:
        return int(self.id.size)

    def reordered(self, order: npt.NDArray[np.intp]) -> ScanColumns:
        """The same scan with its rows in ``order``."""
        columns: dict[str, Any] = {name: getattr(self, name)[order] for name in COLUMN_FIELDS}
        return ScanColumns(**columns, slices=self.slices,
                           masks=None if self.masks is None
                           else tuple(m[order] for m in self.masks))

    def frame(self, index: npt.ArrayLike, *, parse_attributes: bool = False) -> pd.DataFrame:
        """The rows at ``index`` as an events frame (``attributes`` parsed on request)."""
        idx = np.asarray(index)
        out = pd.DataFrame({name: getattr(self, name)[idx] for name in SCAN_COLUMNS})
        if parse_attributes:
            out["attributes"] = [json.loads(a) if a is not None else {}
                                 for a in self.attributes[idx]]
        return out


#: The row-aligned arrays of :class:`ScanColumns`.
COLUMN_FIELDS = (*SCAN_COLUMNS, "attribute", "attributes")


def _prune(layer: str, slices: Sequence[ScanSlice]) -> seg.SegmentPrune:
    """The segments of ``layer`` any of ``slices`` may need: the union of their time
    spans and boxes (open when any slice is open)."""
    starts = [s.start for s in slices]
    ends = [s.end for s in slices]
    boxes = [s.bbox for s in slices]
    start = None if any(t is None for t in starts) else min(t for t in starts if t)
    end = None if any(t is None for t in ends) else max(t for t in ends if t)
    bbox = None
    if boxes and all(b is not None for b in boxes):
        known = [b for b in boxes if b is not None]
        bbox = (min(b[0] for b in known), min(b[1] for b in known),
                max(b[2] for b in known), max(b[3] for b in known))
    return seg.SegmentPrune(layers=(layer,), start=start, end=end, bbox=bbox)


def _frame_mask(frame: Mapping[str, Any], layer: str, s: ScanSlice) -> npt.NDArray[np.bool_]:
    """Which rows of one layer's segment ``s`` selects (:func:`slice_mask`'s conditions)."""
    n = int(frame["id"].size)
    cats = s.layers.get(layer)
    m = np.ones(n, dtype=bool)
    if cats:
        m &= np.isin(frame["category"], np.asarray(sorted(cats), dtype=object))
    t = np.asarray(frame["time"], dtype="datetime64[ns]")
    if s.start is not None:
        m &= t >= np.datetime64(s.start, "ns")
    if s.end is not None:
        m &= t < np.datetime64(s.end, "ns")
    if s.bbox is not None:
        minlon, minlat, maxlon, maxlat = s.bbox
        lon, lat = frame["lon"], frame["lat"]
        m &= (lon >= minlon) & (lon <= maxlon) & (lat >= minlat) & (lat <= maxlat)
    return m


def scan_events(engine: sa.Engine, slices: Sequence[ScanSlice], *,
                attribute: tuple[str, str] | None = None,
                attributes_layer: str | None = None,
                usual: Mapping[str, Any] | None = None) -> ScanColumns:
    """Every event in any of ``slices`` as NumPy columns ordered by id: per layer, the
    segments the slices' time spans and boxes may touch are opened (only the
    columns analysis uses), and their rows masked with each slice's conditions.

    ``attribute = (layer, key)`` also reads attribute ``key`` of that layer's events;
    ``attributes_layer`` the whole attributes (JSON text) of that layer's events.
    ``usual`` (values most rows hold) is accepted for the callers of the row
    store's scan, where it saved per-row objects; segments have no such cost.
    """
    del usual
    wanted: dict[str, list[ScanSlice]] = {}
    for s in slices:
        for layer in s.layers:
            wanted.setdefault(layer, []).append(s)
    names = [c for c in SCAN_COLUMNS if c != "layer"]
    parts: dict[str, list[Any]] = {c: [] for c in COLUMN_FIELDS}
    paused = gc.isenabled()
    gc.disable()
    try:
        with engine.connect() as conn:
            for layer in sorted(wanted):
                cols = list(names)
                key = attribute[1] if attribute is not None and attribute[0] == layer \
                    else None
                if key is not None:
                    cols.append(seg.ATTR_PREFIX + key)
                if attributes_layer == layer:
                    cols.append("attributes")
                infos = seg.segment_infos(conn, _prune(layer, wanted[layer]))
                for _, arrays in seg.iter_segment_arrays(conn, infos, cols):
                    m = np.zeros(arrays["id"].size, dtype=bool)
                    for s in wanted[layer]:
                        m |= _frame_mask(arrays, layer, s)
                    n = int(m.sum())
                    none = np.full(n, None, dtype=object)
                    for c in names:
                        parts[c].append(arrays[c][m])
                    parts["layer"].append(np.full(n, layer, dtype=object))
                    parts["attribute"].append(arrays[seg.ATTR_PREFIX + key][m]
                                              if key is not None else none)
                    parts["attributes"].append(arrays["attributes"][m]
                                               if attributes_layer == layer else none)
    finally:
        if paused:
            gc.enable()
    dtypes: dict[str, Any] = {"id": np.int64, "time": "datetime64[ns]", "lon": np.float64,
                              "lat": np.float64, "x": np.float64, "y": np.float64,
                              "crs_epsg": np.int64}
    joined = {c: (np.concatenate(parts[c]).astype(dtypes.get(c, object), copy=False)
                  if parts[c] else np.zeros(0, dtype=dtypes.get(c, object)))
              for c in COLUMN_FIELDS}
    ids = joined["id"]
    if ids.size > 1 and np.any(ids[1:] < ids[:-1]):
        order = np.argsort(ids, kind="stable")
        joined = {c: v[order] for c, v in joined.items()}
    return ScanColumns(**cast(dict[str, Any], joined))


def slice_mask(cols: ScanColumns, s: ScanSlice) -> npt.NDArray[np.bool_]:
    """Which scanned events ``s`` selects: the same conditions as its SQL."""
    if cols.slices is not None and cols.masks is not None:
        for known, mask in zip(cols.slices, cols.masks, strict=True):
            if known is s:
                return mask
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


def layer_summaries(engine: sa.Engine, layers: Sequence[str]) -> dict[str, dict[str, datetime]]:
    """``layer -> {category: time of its first event}`` for each named layer (empty for
    a layer without events), from its segments' metadata (no payload is opened).

    The same categories as :meth:`Store.layer_categories` and, per layer, the same
    first time as :meth:`Store.first_event_times` (its minimum over the categories).
    """
    with engine.connect() as conn:
        summaries = seg.category_summaries(conn, layers)
    out: dict[str, dict[str, datetime]] = {}
    for layer in sorted(set(layers)):
        out[layer] = {c: t for c, (_, t) in sorted(summaries.get(layer, {}).items())}
    return out


# --------------------------------------------------------------------------------------
# The columnar event cache: the scan from memory while the events are unchanged
# --------------------------------------------------------------------------------------

#: Bytes counted per cached event beyond its columns' arrays (nothing else grows with it).
_ROW_BYTES = 8 + 8 + 4 * 8 + 8 + 3 * 2  # id, time, lon/lat/x/y, crs_epsg, three codes


@dataclass(frozen=True, eq=False)
class LayerColumns:
    """Every event of one layer, ordered by id, as NumPy columns: the values
    :func:`scan_events` returns for them, with the text columns as codes into small
    arrays of their distinct values (``category``, ``location_precision``,
    ``time_precision``)."""

    id: npt.NDArray[np.int64]
    time: npt.NDArray[np.datetime64]
    lon: npt.NDArray[np.float64]
    lat: npt.NDArray[np.float64]
    x: npt.NDArray[np.float64]
    y: npt.NDArray[np.float64]
    crs_epsg: npt.NDArray[np.int64]
    category_code: npt.NDArray[np.int16 | np.int32]
    categories: npt.NDArray[np.object_]
    location_code: npt.NDArray[np.int16 | np.int32]
    locations: npt.NDArray[np.object_]
    time_precision_code: npt.NDArray[np.int16 | np.int32]
    time_precisions: npt.NDArray[np.object_]

    @classmethod
    def from_scan(cls, cols: ScanColumns) -> LayerColumns:
        def coded(values: npt.NDArray[np.object_]) -> tuple[Any, npt.NDArray[np.object_]]:
            codes, uniq = pd.factorize(values)
            dtype = np.int16 if len(uniq) < 2 ** 15 else np.int32
            return codes.astype(dtype), np.asarray(uniq, dtype=object)

        cat, cats = coded(cols.category)
        loc, locs = coded(cols.location_precision)
        tp, tps = coded(cols.time_precision)
        return cls(id=cols.id, time=cols.time, lon=cols.lon, lat=cols.lat, x=cols.x, y=cols.y,
                   crs_epsg=cols.crs_epsg, category_code=cat, categories=cats,
                   location_code=loc, locations=locs, time_precision_code=tp,
                   time_precisions=tps)

    @property
    def nbytes(self) -> int:
        arrays = (self.id, self.time, self.lon, self.lat, self.x, self.y, self.crs_epsg,
                  self.category_code, self.location_code, self.time_precision_code)
        text = sum(_text_bytes(a) for a in (self.categories, self.locations,
                                            self.time_precisions))
        return int(sum(a.nbytes for a in arrays)) + text

    def __len__(self) -> int:
        return int(self.id.size)


def _text_bytes(values: npt.NDArray[np.object_]) -> int:
    """Roughly what an object array of short strings (or ``None``) holds in memory."""
    return int(values.size) * 8 + sum(60 + len(str(v)) for v in values if v is not None)


@dataclass
class EventCacheStats:
    hits: int = 0
    builds: int = 0
    evictions: int = 0
    too_large: int = 0
    version_changes: int = 0


class EventCache:
    """Per-layer event columns (and, on demand, one attribute or the stored attributes
    of a layer's events) in memory, for :func:`scan_events` without the database.

    Entries are keyed by ``(kind, layer[, attribute])`` and belong to one
    :meth:`~service.store.Store.events_version`: a scan first reads the version (two
    indexed queries); when it differs from the entries', they are all dropped (an
    import added events). Bounded by ``max_bytes`` (least recently used first
    out); a layer larger than the whole bound is never kept (its scans go to the
    database). Thread-safe; of concurrent scans missing the same entry one builds
    it while the others wait for it.

    An entry is kept only when the version read after building it is the one read
    before: an import committing during the build cannot leave newer rows under an
    older version (the scan that built it still answers from what it read).
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.stats = EventCacheStats()
        self._version: str | None = None
        self._entries: OrderedDict[tuple[str, ...], tuple[Any, int]] = OrderedDict()
        self._pending: dict[tuple[str, ...], threading.Event] = {}
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0
            self._version = None

    def lookup(self, version: str, key: tuple[str, ...]) -> Any | None:
        """The entry ``key`` if it is kept for ``version`` (a hit), else ``None``."""
        with self._lock:
            found = self._entries.get(key) if version == self._version else None
            if found is None:
                return None
            self._entries.move_to_end(key)
            self.stats.hits += 1
            return found[0]

    def get_or_build(self, version: str, key: tuple[str, ...],
                     build: Callable[[], tuple[Any, int]],
                     still: Callable[[], str]) -> Any:
        """The entry ``key`` of ``version``, built by ``build`` (value, bytes) when
        missing; ``still()`` reads the version again after a build."""
        while True:
            with self._lock:
                if version != self._version:
                    if self._version is not None:
                        self.stats.version_changes += 1
                    self._entries.clear()
                    self._bytes = 0
                    self._version = version
                found = self._entries.get(key)
                if found is not None:
                    self._entries.move_to_end(key)
                    self.stats.hits += 1
                    return found[0]
                pending = self._pending.get(key)
                if pending is None:
                    pending = self._pending[key] = threading.Event()
                    break
            pending.wait()  # another scan is building it: take its entry (or build)
            with self._lock:
                found = self._entries.get(key)
                if found is not None and self._version == version:
                    self._entries.move_to_end(key)
                    self.stats.hits += 1
                    return found[0]
                if key in self._pending:  # yet another builder took over: wait again
                    continue
                pending = self._pending[key] = threading.Event()
                break
        try:
            value, size = build()
            keep = still() == version
            with self._lock:
                self.stats.builds += 1
                if size > self.max_bytes:
                    self.stats.too_large += 1
                elif keep and self._version == version:
                    self._entries[key] = (value, size)
                    self._bytes += size
                    while self._bytes > self.max_bytes:
                        _, (_, gone) = self._entries.popitem(last=False)
                        self._bytes -= gone
                        self.stats.evictions += 1
            return value
        finally:
            with self._lock:
                del self._pending[key]
            pending.set()


def _layer_rows(engine: sa.Engine, layer: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.coalesce(sa.func.sum(
            event_segments.c.n_rows), 0)).where(event_segments.c.layer == layer)).scalar()
            or 0)


def _slice_rows(parts: Sequence[tuple[str, LayerColumns, npt.NDArray[np.intp]]],
                picked: Mapping[str, Sequence[npt.NDArray[np.bool_] | None]],
                j: int) -> npt.NDArray[np.bool_]:
    """Slice ``j``'s rows among a cached scan's (before ordering by id)."""
    rows = [picked[la][j] for la, _, _ in parts]
    return (np.concatenate([r if r is not None else np.zeros(i.size, dtype=bool)
                            for r, (_, _, i) in zip(rows, parts, strict=True)])
            if parts else np.zeros(0, dtype=bool))


def cached_scan(engine: sa.Engine, cache: EventCache, version: Callable[[], str],
                slices: Sequence[ScanSlice], *, attribute: tuple[str, str] | None = None,
                attributes_layer: str | None = None,
                usual: Mapping[str, Any] | None = None) -> ScanColumns | None:
    """:func:`scan_events` answered from ``cache`` (the same columns, value for value),
    or ``None`` when a layer it needs is larger than the cache (the caller scans the
    database).

    Each layer's columns are read once per events version (one :func:`scan_events`
    of the whole layer); a scan then selects, layer by layer, the events of any of
    ``slices`` with the same conditions as their SQL (:func:`slice_mask`'s: the
    categories by their codes, the half-open time span, the inclusive box) in a
    few vectorised passes, and orders the union by id.
    """
    v = version()
    wanted: dict[str, list[ScanSlice]] = {}
    for s in slices:
        for layer in s.layers:
            wanted.setdefault(layer, []).append(s)
    per_layer: dict[str, LayerColumns] = {}
    for layer in sorted(wanted):
        kept = cache.lookup(v, ("columns", layer))
        if kept is not None:
            per_layer[layer] = kept
            continue
        if _layer_rows(engine, layer) * _ROW_BYTES > cache.max_bytes:
            with cache._lock:
                cache.stats.too_large += 1
            return None

        def build(layer: str = layer) -> tuple[LayerColumns, int]:
            cols = LayerColumns.from_scan(scan_events(
                engine, [ScanSlice({layer: None})], usual={**(usual or {}), "layer": layer}))
            return cols, cols.nbytes

        per_layer[layer] = cache.get_or_build(v, ("columns", layer), build, version)

    parts: list[tuple[str, LayerColumns, npt.NDArray[np.intp]]] = []
    # per layer, each slice's rows among the layer's selected ones (None: not its layer)
    picked: dict[str, list[npt.NDArray[np.bool_] | None]] = {}
    for layer, cols in per_layer.items():
        mask = np.zeros(len(cols), dtype=bool)
        per_slice: dict[int, npt.NDArray[np.bool_]] = {}
        for s in wanted[layer]:
            cats = s.layers[layer]
            m = np.ones(len(cols), dtype=bool)
            if cats:
                m = np.isin(cols.categories, np.asarray(sorted(cats), dtype=object))[
                    cols.category_code]
            if s.start is not None:
                m &= cols.time >= np.datetime64(s.start, "ns")
            if s.end is not None:
                m &= cols.time < np.datetime64(s.end, "ns")
            if s.bbox is not None:
                minlon, minlat, maxlon, maxlat = s.bbox
                m &= ((cols.lon >= minlon) & (cols.lon <= maxlon)
                      & (cols.lat >= minlat) & (cols.lat <= maxlat))
            mask |= m
            per_slice[id(s)] = m
        idx = np.flatnonzero(mask)
        parts.append((layer, cols, idx))
        picked[layer] = [per_slice[id(s)][idx] if id(s) in per_slice else None
                         for s in slices]

    def extra(kind: str, layer: str, key: str | None) -> npt.NDArray[np.object_]:
        def build() -> tuple[npt.NDArray[np.object_], int]:
            got = scan_events(engine, [ScanSlice({layer: None})],
                              attribute=(layer, key) if key is not None else None,
                              attributes_layer=layer if key is None else None,
                              usual={"layer": layer})
            values = got.attribute if key is not None else got.attributes
            return values, _text_bytes(values)

        return cast(npt.NDArray[np.object_],
                    cache.get_or_build(v, (kind, layer) + ((key,) if key else ()), build,
                                       version))

    def joined(pick: Callable[[str, LayerColumns, npt.NDArray[np.intp]], Any],
               dtype: Any) -> Any:
        if not parts:
            return np.zeros(0, dtype=dtype)
        return np.concatenate([np.asarray(pick(la, c, i), dtype=dtype) for la, c, i in parts])

    none = joined(lambda la, c, i: np.full(i.size, None, dtype=object), object)
    attr = none
    if attribute is not None and attribute[0] in per_layer:
        values = extra("attribute", attribute[0], attribute[1])
        attr = joined(lambda la, c, i: values[i] if la == attribute[0]
                      else np.full(i.size, None, dtype=object), object)
    whole = none
    if attributes_layer is not None and attributes_layer in per_layer:
        texts = extra("attributes", attributes_layer, None)
        whole = joined(lambda la, c, i: texts[i] if la == attributes_layer
                       else np.full(i.size, None, dtype=object), object)
    out = ScanColumns(
        id=joined(lambda la, c, i: c.id[i], np.int64),
        layer=joined(lambda la, c, i: np.full(i.size, la, dtype=object), object),
        category=joined(lambda la, c, i: c.categories[c.category_code[i]], object),
        time=joined(lambda la, c, i: c.time[i], "datetime64[ns]"),
        lon=joined(lambda la, c, i: c.lon[i], np.float64),
        lat=joined(lambda la, c, i: c.lat[i], np.float64),
        x=joined(lambda la, c, i: c.x[i], np.float64),
        y=joined(lambda la, c, i: c.y[i], np.float64),
        crs_epsg=joined(lambda la, c, i: c.crs_epsg[i], np.int64),
        location_precision=joined(lambda la, c, i: c.locations[c.location_code[i]], object),
        time_precision=joined(lambda la, c, i: c.time_precisions[c.time_precision_code[i]],
                              object),
        attribute=attr, attributes=whole, slices=tuple(slices),
        masks=tuple(_slice_rows(parts, picked, j) for j in range(len(slices))))
    if len(parts) > 1:
        out = out.reordered(np.argsort(out.id, kind="stable"))
    return out


class EventScanRepository(StoreBase):
    """The columnar reads of :mod:`service.store.event_scan` as :class:`Store` methods."""

    #: The store's :class:`EventCache` (off until :meth:`configure_event_cache`).
    event_cache: EventCache | None = None

    def configure_event_cache(self, max_mb: float) -> None:
        """Keep up to ``max_mb`` MB of event columns in memory for :meth:`scan_events`
        (``REMAP_EVENT_CACHE_MB``; 0 turns it off and drops what it held)."""
        self.event_cache = EventCache(int(max_mb * 1024 * 1024)) if max_mb > 0 else None

    def events_version(self) -> str:  # pragma: no cover - EventsRepository's, in Store
        raise NotImplementedError

    def scan_events(self, slices: Sequence[ScanSlice], *,
                    attribute: tuple[str, str] | None = None,
                    attributes_layer: str | None = None,
                    usual: Mapping[str, Any] | None = None) -> ScanColumns:
        """:func:`scan_events` on this store: every event of ``slices``, from the event
        cache when it is on (:func:`cached_scan`, the same columns), else in one query."""
        cache = self.event_cache
        if cache is not None:
            got = cached_scan(self.engine, cache, self.events_version, slices,
                              attribute=attribute, attributes_layer=attributes_layer,
                              usual=usual)
            if got is not None:
                return got
        return self.scan_events_sql(slices, attribute=attribute,
                                    attributes_layer=attributes_layer, usual=usual)

    def scan_events_sql(self, slices: Sequence[ScanSlice], *,
                        attribute: tuple[str, str] | None = None,
                        attributes_layer: str | None = None,
                        usual: Mapping[str, Any] | None = None) -> ScanColumns:
        """:func:`scan_events` on this store: every event of ``slices`` in one query,
        never from the event cache."""
        return scan_events(self.engine, slices, attribute=attribute,
                           attributes_layer=attributes_layer, usual=usual)

    def layer_summaries(self, layers: Sequence[str]) -> dict[str, dict[str, datetime]]:
        """:func:`layer_summaries` on this store: categories and first times (metadata)."""
        return layer_summaries(self.engine, layers)
