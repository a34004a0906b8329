"""Events: writes of placed events as Parquet segments, and reads by filter (layers,
time, area, cells) as NumPy masks over the segments' columns
(:mod:`service.store.segments`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from service.store import segments as seg
from service.store.boundaries import BoundariesRepository
from service.store.tables import event_segments, imports
from spatial.errors import ConflictError, ParameterError
from spatial.events import EVENT_COLUMNS


@dataclass(frozen=True)
class EventFilter:
    """What to select from ``events``; every member optional."""

    layers: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    start: datetime | None = None   # inclusive
    end: datetime | None = None     # exclusive
    bbox: tuple[float, float, float, float] | None = None  # lon/lat
    boundary_set: str | None = None
    units: tuple[str, ...] = ()     # unit ids of boundary_set
    h3_cells: tuple[str, ...] = ()  # cells at any resolution <= the stored one


# one encoder for all rows: json.dumps with options builds a new one per call
_ATTRIBUTES_ENCODER = json.JSONEncoder(sort_keys=True, default=str)


def attributes_json(values: Sequence[Any]) -> list[str]:
    """``json.dumps(d, sort_keys=True, default=str)`` of each attribute dict, column-wise.

    Rows are grouped by their key tuple (police.uk has a handful of patterns);
    each group's text is one ``str.format`` per row over columns of encoded
    values. Text values go through json's own C string encoder, anything else
    through the same encoder as a whole dict would use, so the text is
    identical to encoding each dict alone, about 4x faster.
    """
    dicts = list(values)
    n = len(dicts)
    out: list[str] = [""] * n
    if n == 0:
        return out
    if not all(map(dict.__instancecheck__, dicts)):
        return list(map(_ATTRIBUTES_ENCODER.encode, dicts))
    codes, patterns = pd.factorize(pd.Series(list(map(tuple, dicts)), dtype=object))
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(patterns) + 1))
    for p, keys in enumerate(patterns):
        rows = order[bounds[p]:bounds[p + 1]]
        group = [dicts[i] for i in rows.tolist()]
        if not keys:
            texts = ["{}"] * len(group)
        elif not all(isinstance(k, str) for k in keys):
            texts = list(map(_ATTRIBUTES_ENCODER.encode, group))
        else:
            names = sorted(keys)
            if len(names) == 1:
                cells: list[Any] = [list(map(itemgetter(names[0]), group))]
            else:
                cells = list(zip(*map(itemgetter(*names), group), strict=True))
            columns = [_encoded_values(list(c)) for c in cells]
            template = "{{" + ", ".join(
                _encode_text(k).replace("{", "{{").replace("}", "}}") + ": {}"
                for k in names) + "}}"
            texts = list(map(template.format, *columns))
        for i, text in zip(rows.tolist(), texts, strict=True):
            out[i] = text
    return out


_encode_text = json.encoder.encode_basestring_ascii  # type: ignore[attr-defined]


def _encoded_values(values: list[Any]) -> list[str]:
    if all(map(str.__instancecheck__, values)):
        return list(map(_encode_text, values))
    return list(map(_ATTRIBUTES_ENCODER.encode, values))



def _merge_runs(h1: np.ndarray, s1: np.ndarray, h2: np.ndarray, s2: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """Two sorted hash runs (with their segments) as one, the first's before equal
    hashes of the second; no sort and no index array of the whole (memory: the result
    and one position per element of the second run)."""
    at = np.searchsorted(h1, h2, side="right") + np.arange(h2.size)
    first = np.ones(h1.size + h2.size, dtype=bool)
    first[at] = False
    hashes = np.empty(h1.size + h2.size, dtype=h1.dtype)
    segments = np.empty(h1.size + h2.size, dtype=s1.dtype)
    hashes[at], segments[at] = h2, s2
    hashes[first], segments[first] = h1, s1
    return hashes, segments


#: hashes of the largest run :class:`LayerKeys` builds by merging (a merge holds twice
#: that, 12 bytes a hash: bounded however many events the layer has)
KEY_RUN_CAP = 4_000_000


class LayerKeys:
    """The key hashes of one layer's stored events, and of those an import has written
    since, each with the segment holding it (12 bytes an event), for the duplicate
    check of an import.

    Made by :meth:`EventsRepository.layer_keys` inside the import's transaction,
    once the layer is locked for it (PostgreSQL: an advisory lock per layer until
    the commit; SQLite: its single writer), so no other import adds keys to the
    layer meanwhile. A hash match is confirmed on the stored keys themselves, read
    from the matched segments only, so a hash collision never drops an event and a
    re-import opens the segments of its own rows, not the whole layer per batch.
    """

    def __init__(self, conn: Connection, layer: str, hashes: np.ndarray,
                 segments: np.ndarray) -> None:
        self.conn = conn
        self.layer = layer
        # sorted runs, each at most half the size of the one before (merged as a binary
        # counter) up to KEY_RUN_CAP: O(log n + n / cap) runs to search
        self._sorted: list[tuple[np.ndarray, np.ndarray]] = []
        self.add(hashes, segments)

    def add(self, hashes: np.ndarray, segments: np.ndarray) -> None:
        """Keys now stored: their ``hashes`` and the ids of the ``segments`` holding them."""
        if not hashes.size:
            return
        order = np.argsort(hashes, kind="stable")
        self._sorted.append((hashes[order], segments[order].astype(np.int32)))
        while (len(self._sorted) > 1
               and 2 * self._sorted[-1][0].size >= self._sorted[-2][0].size
               and self._sorted[-1][0].size + self._sorted[-2][0].size <= KEY_RUN_CAP):
            self._sorted[-2:] = [_merge_runs(*self._sorted[-2], *self._sorted[-1])]

    def _candidates(self, hashes: np.ndarray) -> tuple[np.ndarray, set[int]]:
        """Which ``hashes`` are stored, and the segments holding them."""
        hit = np.zeros(hashes.size, dtype=bool)
        where: set[int] = set()
        if not self._sorted:
            return hit, where
        # searched in sorted order: each search starts near the last (cache-friendly)
        order = np.argsort(hashes)
        hashes = hashes[order]
        for arr, segs in self._sorted:
            lo = np.searchsorted(arr, hashes, side="left")
            inside = np.flatnonzero(lo < arr.size)
            found = np.zeros(hashes.size, dtype=bool)
            found[inside] = arr[lo[inside]] == hashes[inside]
            if not found.any():
                continue
            hit |= found
            # every stored event of a matched hash (a hash may repeat: a collision)
            hi = np.searchsorted(arr, hashes[found], side="right")
            starts = lo[found]
            lengths = hi - starts
            before = np.cumsum(lengths) - lengths
            spans = np.repeat(starts - before, lengths) + np.arange(int(lengths.sum()))
            where.update(np.unique(segs[spans]).tolist())
        unsorted = np.empty_like(hit)
        unsorted[order] = hit
        return unsorted, where

    def stored(self, keys: Sequence[str] | np.ndarray | pa.Array, hashes: np.ndarray
               ) -> np.ndarray:
        """Which of ``keys`` (with their ``hashes``; text values or an Arrow string array)
        the layer holds already."""
        maybe, segments = self._candidates(hashes)
        if not maybe.any():
            return maybe
        # confirm on the keys: read the keys of the matched segments only
        wanted = np.unique(hashes[maybe])
        found: set[str] = set()
        infos = [i for i in seg.segment_infos(self.conn, seg.SegmentPrune(layers=(self.layer,)))
                 if i.id in segments]
        for _, arrays in seg.iter_segment_arrays(self.conn, infos, ["event_key", "key_hash"]):
            hit = np.isin(arrays["key_hash"], wanted)
            found.update(arrays["event_key"][hit].tolist())
        out = np.zeros(len(hashes), dtype=bool)
        idx = np.flatnonzero(maybe)
        out[idx] = [k in found for k in seg.keys_at(keys, idx)]
        return out


@dataclass(frozen=True)
class _Select:
    """A read of events: which segments to open, then which of their rows to keep."""

    prune: seg.SegmentPrune
    needs: tuple[str, ...]
    mask: Any  # (frame) -> bool array
    set_id: int | None = None


def _time_mask(frame: pd.DataFrame, start: datetime | None, end: datetime | None
               ) -> np.ndarray:
    t = frame["time"].to_numpy(dtype="datetime64[ns]")
    m = np.ones(t.size, dtype=bool)
    if start is not None:
        m &= t >= np.datetime64(pd.Timestamp(start).tz_localize(None), "ns")
    if end is not None:
        m &= t < np.datetime64(pd.Timestamp(end).tz_localize(None), "ns")
    return m


def _box_mask(a: np.ndarray, b: np.ndarray, box: tuple[float, float, float, float]
              ) -> np.ndarray:
    lo_a, lo_b, hi_a, hi_b = box
    return np.asarray((a >= lo_a) & (a <= hi_a) & (b >= lo_b) & (b <= hi_b), dtype=bool)


def _in(values: np.ndarray, allowed: Sequence[Any]) -> np.ndarray:
    return np.isin(values, np.asarray(list(allowed), dtype=object))


def _category_time_box_mask(frame: pd.DataFrame, categories: Sequence[str],
                            start: datetime | None, end: datetime | None,
                            lonlat_box: tuple[float, float, float, float] | None
                            ) -> np.ndarray:
    """The conditions event and feature reads share: categories (exact spellings), the
    half-open time span and an inclusive WGS84 box; all rows where none is given."""
    m = np.ones(len(frame), dtype=bool)
    if categories:
        m &= _in(frame["category"].to_numpy(), categories)
    if start is not None or end is not None:
        m &= _time_mask(frame, start, end)
    if lonlat_box is not None:
        m &= _box_mask(frame["lon"].to_numpy(), frame["lat"].to_numpy(), lonlat_box)
    return m


class EventsRepository(BoundariesRepository):
    """Writes and filtered reads of the events (Parquet segments; a boundary filter reads
    the segments' placements)."""

    MAX_FILTER_CELLS = 500

    # ----------------------------------------------------------------- writing
    def lock_layer(self, conn: Connection, layer: str) -> None:
        """Hold ``layer`` for this transaction's writes: no other import adds events to
        it until the commit (PostgreSQL: an advisory lock; SQLite has one writer)."""
        if self.dialect == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:c, hashtext(:layer))"),
                         {"c": seg.LAYER_LOCK_CLASS, "layer": layer})

    def layer_keys(self, conn: Connection, layer: str) -> LayerKeys:
        """The layer locked for ``conn`` and its stored key hashes (only that column of
        each segment is read)."""
        self.lock_layer(conn, layer)
        infos = seg.segment_infos(conn, seg.SegmentPrune(layers=(layer,)))
        parts, owners = [], []
        for info, arrays in seg.iter_segment_arrays(conn, infos, ["key_hash"]):
            parts.append(np.asarray(arrays["key_hash"], dtype=np.uint64))
            owners.append(np.full(info.n_rows, info.id, dtype=np.int32))
        hashes = np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint64)
        segments = np.concatenate(owners) if owners else np.zeros(0, dtype=np.int32)
        return LayerKeys(conn, layer, hashes, segments)

    def existing_keys(self, conn: Connection, layer: str, keys: Sequence[str]) -> set[str]:
        """Which of ``keys`` the layer already holds (by their hashes, confirmed on the
        keys)."""
        if not len(keys):
            return set()
        index = self.layer_keys(conn, layer)
        found = index.stored(list(keys), seg.key_hashes(keys))
        return {k for k, f in zip(keys, found.tolist(), strict=True) if f}

    def insert_events(self, conn: Connection, frame: pd.DataFrame, import_id: int | None,
                      *, keys: LayerKeys | None = None,
                      hashes: np.ndarray | None = None) -> np.ndarray:
        """Store placed events (EVENT_COLUMNS or ``attr:`` columns, + ``h3``) as Parquet
        segments (one per layer and month, or months with few events together); returns
        their new ids, in frame order.

        Every key must be new to its layer: one already stored (given twice, or
        added by another writer) fails the whole transaction with a
        :class:`ConflictError`, as the row store's unique key did. ``keys``: the
        import's :class:`LayerKeys` (checked against, then extended); ``hashes``:
        the frame's key hashes when already computed.
        """
        return self.write_events(conn, frame, import_id, keys=keys, hashes=hashes)[0]

    def write_events(self, conn: Connection, frame: pd.DataFrame, import_id: int | None,
                     *, keys: LayerKeys | None = None, hashes: np.ndarray | None = None,
                     arrow: dict[str, pa.Array] | None = None
                     ) -> tuple[np.ndarray, list[tuple[int, np.ndarray]]]:
        """:meth:`insert_events`, also returning ``(segment id, row positions in
        frame)`` of each segment written (for the placements). ``arrow``: Arrow forms
        of some of ``frame``'s text columns (same rows), stored instead of converting
        the frame's (:attr:`spatial.io.result.ReadResult.arrow`)."""
        if frame.empty:
            return np.empty(0, dtype=np.int64), []
        frame = frame.reset_index(drop=True)
        given = arrow or {}
        key_arr: Any = (given["event_key"] if "event_key" in given
                        else frame["event_key"].to_numpy(dtype=object))
        all_hashes = seg.key_hashes(key_arr if isinstance(key_arr, pa.Array)
                                    else key_arr.tolist()) if hashes is None else hashes
        layers_given = (pc.unique(given["layer"].cast(pa.string())).to_pylist()
                        if "layer" in given else pd.unique(frame["layer"].to_numpy(dtype=object)))
        if len(layers_given) > 1:
            layer_col = frame["layer"].to_numpy(dtype=object)
            ids = np.empty(len(frame), dtype=np.int64)
            written: list[tuple[int, np.ndarray]] = []
            for layer in layers_given:
                pos = np.flatnonzero(layer_col == layer)
                got, parts = self.write_events(
                    conn, frame.iloc[pos], import_id, hashes=all_hashes[pos],
                    arrow={k: v.take(pa.array(pos)) for k, v in given.items()})
                ids[pos] = got
                written += [(sid, pos[p]) for sid, p in parts]
            return ids, written
        layer = str(layers_given[0])
        index = keys if keys is not None and keys.layer == layer else \
            self.layer_keys(conn, layer)
        if seg.repeated_keys(key_arr, all_hashes).any() or index.stored(key_arr,
                                                                         all_hashes).any():
            raise ConflictError(
                "another import stored some of these events at the same time; nothing "
                "was written, run the import again")
        ids = self._allocate_ids(conn, len(frame))
        written = seg.write_segments(conn, layer=layer, import_id=import_id, frame=frame,
                                     ids=ids, hashes=all_hashes, arrow=arrow)
        owners = np.zeros(len(frame), dtype=np.int32)
        for segment_id, positions in written:
            owners[positions] = segment_id
        index.add(all_hashes, owners)
        return ids, written

    def _allocate_ids(self, conn: Connection, n: int) -> np.ndarray:
        """``n`` new event ids, above every stored one."""
        if self.dialect == "postgresql":
            lo, hi = conn.execute(sa.text(
                "SELECT min(v), max(v) FROM (SELECT nextval('event_ids') AS v "
                "FROM generate_series(1, :n)) AS s"), {"n": n}).one()
            if int(hi) - int(lo) + 1 == n:
                return np.arange(int(lo), int(hi) + 1, dtype=np.int64)
            got = conn.execute(sa.text("SELECT nextval('event_ids') FROM generate_series(1, :n)"),
                               {"n": n}).scalars().all()
            return np.asarray(got, dtype=np.int64)
        # SQLite: the transaction holds the only write lock, so max(id_hi) is stable
        start = int(conn.execute(sa.select(sa.func.coalesce(
            sa.func.max(event_segments.c.id_hi), 0))).scalar() or 0) + 1
        return np.arange(start, start + n, dtype=np.int64)

    # ----------------------------------------------------------------- filtering
    def _event_where(self, f: EventFilter) -> _Select:
        set_id = None
        if f.boundary_set is not None:
            set_id = self.boundary_set(f.boundary_set).id
        cells = self._checked_cells(f.h3_cells) if f.h3_cells else []
        needs = ["layer", "category", "time", "lon", "lat"]

        def mask(frame: pd.DataFrame) -> np.ndarray:
            m = _category_time_box_mask(frame, f.categories, f.start, f.end, f.bbox)
            if f.layers:
                m &= _in(frame["layer"].to_numpy(), f.layers)
            if set_id is not None:
                units = frame["unit_id"].to_numpy()
                m &= _in(units, f.units) if f.units else pd.notna(units)
            if cells:
                m &= self._in_cells(frame, cells, m)
            return m

        return _Select(seg.SegmentPrune(layers=f.layers, start=f.start, end=f.end,
                                        bbox=f.bbox), tuple(needs), mask, set_id)

    def _checked_cells(self, cells: Sequence[str]) -> list[str]:
        import h3

        if len(cells) > self.MAX_FILTER_CELLS:
            raise ParameterError("h3", f"at most {self.MAX_FILTER_CELLS} cells per request")
        for cell in cells:
            # 15 hex digits, then H3's own check (which overflows on longer strings)
            if not (len(cell) == 15 and all(c in "0123456789abcdefABCDEF" for c in cell)
                    and h3.is_valid_cell(cell.lower())):
                shown = cell if len(cell) <= 40 else cell[:40] + "..."
                raise ParameterError("h3", f"{shown!r} is not a valid H3 cell (15 hex digits)")
        return [c.lower() for c in cells]

    @staticmethod
    def _in_cells(frame: pd.DataFrame, cells: Sequence[str], among: np.ndarray) -> np.ndarray:
        """Which events lie in one of ``cells`` (any resolution).

        Membership is geometric, as in the counts (the point is indexed at the
        cell's own resolution): an H3 parent does not contain all of its
        children's area, so the stored finest cell's parent would disagree
        with the counts for several per cent of events.
        """
        import h3

        from spatial.place import placement

        out = np.zeros(len(frame), dtype=bool)
        idx = np.flatnonzero(among)
        if not idx.size:
            return out
        lon = frame["lon"].to_numpy(dtype=np.float64)[idx]
        lat = frame["lat"].to_numpy(dtype=np.float64)[idx]
        by_res: dict[int, list[int]] = {}
        for cell in cells:
            by_res.setdefault(h3.get_resolution(cell), []).append(int(cell, 16))
        for res, wanted in by_res.items():
            found = placement.h3_cells(lon, lat, res)
            out[idx[np.isin(found, np.asarray(wanted, dtype=np.uint64))]] = True
        return out

    def check_filter(self, f: EventFilter) -> None:
        """Raise on a malformed filter (bad H3 cell, unknown boundary set)."""
        self._event_where(f)

    # ----------------------------------------------------------------- reading
    def _select_events(self, sel: _Select, *, limit: int | None = None, offset: int = 0,
                       columns: Sequence[str] | None = None,
                       parse_attributes: bool = True) -> pd.DataFrame:
        """Events ``sel`` keeps, ordered by id, as a frame (``attributes`` parsed, or
        left as their stored JSON text).

        With ``limit``, segments are opened in order of their lowest id and the
        read stops once the page is certain (no later segment can hold a lower id
        than the page's last): a page costs a few segments at any depth."""
        out_cols = ["id", *(columns or [*EVENT_COLUMNS, "h3"])]
        read_cols = list(dict.fromkeys([*out_cols, *sel.needs]))
        with self.engine.connect() as conn:
            infos = seg.segment_infos(conn, sel.prune)
            kept: list[pd.DataFrame] = []
            held = 0
            want = None if limit is None else offset + limit
            for k, (_, frame) in enumerate(seg.iter_segments(conn, infos, read_cols,
                                                             set_id=sel.set_id)):
                frame = frame.loc[sel.mask(frame)]
                if len(frame):
                    kept.append(frame)
                    held += len(frame)
                if want is not None and held >= want and k + 1 < len(infos):
                    top = np.sort(np.concatenate([f["id"].to_numpy() for f in kept]))
                    if top[want - 1] < infos[k + 1].id_lo:
                        break
        frame = seg.concat_by_id(kept, read_cols)
        if offset:
            frame = frame.iloc[offset:]
        if limit is not None:
            frame = frame.iloc[:limit]
        frame = frame[out_cols].reset_index(drop=True)
        if "attributes" in frame and parse_attributes:
            frame["attributes"] = [json.loads(a) for a in frame["attributes"]]
        return frame

    def _count_where(self, sel: _Select) -> int:
        with self.engine.connect() as conn:
            infos = seg.segment_infos(conn, sel.prune)
            return int(sum(int(sel.mask(frame).sum()) for _, frame in
                           seg.iter_segments(conn, infos, list(sel.needs), set_id=sel.set_id)))

    def query_events(self, f: EventFilter, *, limit: int | None = None, offset: int = 0,
                     columns: Sequence[str] | None = None) -> pd.DataFrame:
        """Events matching ``f``, ordered by id, as a frame (``attributes`` parsed)."""
        return self._select_events(self._event_where(f), limit=limit, offset=offset,
                                   columns=columns)

    def events_version(self) -> str:
        """The data version of the events: the highest event id and the latest import
        (its id and time).

        Events are only ever added (an import commits whole or not at all), so any
        change raises the highest id; the import's time tells apart a store that was
        emptied or restored and filled again to the same id. Caches of event reads
        key on it."""
        # an import that only met duplicates changed nothing
        latest = (sa.select(imports.c.id, imports.c.imported_at)
                  .where(imports.c.accepted > imports.c.duplicates)
                  .order_by(imports.c.id.desc()).limit(1))
        with self.engine.connect() as conn:
            top = conn.execute(sa.select(sa.func.max(event_segments.c.id_hi))).scalar()
            row = conn.execute(latest).first()
        stamp = f"{row[0]}@{pd.Timestamp(row[1]).isoformat()}" if row else "none"
        return f"{int(top or 0)}:{stamp}"

    def count_events(self, f: EventFilter) -> int:
        return self._count_where(self._event_where(f))

    def event_extent(self, f: EventFilter) -> tuple[float, float, float, float] | None:
        """``(minlon, minlat, maxlon, maxlat)`` of the events matching ``f``."""
        frame = self._select_events(self._event_where(f), columns=["lon", "lat"])
        if frame.empty:
            return None
        lon, lat = frame["lon"].to_numpy(), frame["lat"].to_numpy()
        return (float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max()))

    def event_attribute(self, f: EventFilter, key: str) -> pd.DataFrame:
        """``id`` and ``value``: one attribute (e.g. police.uk ``Location``) of the events
        matching ``f``; ``value`` is None where the event lacks it."""
        frame = self._select_events(self._event_where(f), columns=[seg.ATTR_PREFIX + key])
        return pd.DataFrame({"id": frame["id"].to_numpy(),
                             "value": frame[seg.ATTR_PREFIX + key].to_numpy(dtype=object)})

    def event_arrays(self, f: EventFilter) -> pd.DataFrame:
        """The columns analysis needs (no attributes), for fast bulk reads."""
        return self.query_events(f, columns=["layer", "category", "time", "lon", "lat", "x", "y",
                                             "crs_epsg", "h3", "location_precision",
                                             "time_precision", "geocode_precision"])
