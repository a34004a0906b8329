"""Import pipeline: read, validate, place and write events, chunk by chunk, in one transaction.

Shared by the CLI and the API (which saves uploads to temporary files first).
police.uk and mapped CSV files are read in chunks of ``REMAP_IMPORT_CHUNK_ROWS``
records (:mod:`spatial.io.stream`; GeoJSON and GeoPackage whole), and the
accepted events are placed (H3 and every stored boundary set), deduplicated
and written a batch of about that many rows at a time, all inside ONE
transaction: a fatal error in any file or chunk (a wrong header in file 2, a
broken quote at row 3,000,000, every row in another CRS) rolls everything
back, and a process killed mid-import leaves the store as it was (the
database discards the open transaction). Peak memory follows the chunk size,
not the input (plus about 20 bytes per row of the largest file for the key
occurrence index, :mod:`spatial.io.context`).

Duplicates: a key already stored, or given earlier in the same import, counts
as a duplicate and is not written. The import locks its layer at its first
write (no other import adds to it until the commit) and holds the 64-bit
hashes of the layer's stored keys and of those it wrote since, each with its
segment (12 bytes an event; :class:`service.store.events.LayerKeys`), so
duplicates across chunks and files are caught; a hash match is confirmed on
the keys of the matched segments.

Rejections: every one is counted; the report keeps the first
``REMAP_IMPORT_REJECTIONS_KEPT`` (in row order per file, files in order).
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

from service.app import geocoding
from service.settings import get_settings
from service.store import Store
from service.store.events import LayerKeys
from service.store.segments import key_hashes, repeated_keys
from spatial.errors import InputFormatError, ParameterError, Rejection
from spatial.io.assemble import dictionary_array
from spatial.io.boundaries import read_boundaries
from spatial.io.mapping import ColumnMapping
from spatial.io.polygons import geometries_from_wkb
from spatial.io.read import FORMATS
from spatial.io.stream import read_in_chunks
from spatial.limits import MAX_LABEL, check_length, check_name
from spatial.place import crs, placement
from spatial.place.memo import PointMemo

#: (file name, path or binary stream)
Source = tuple[str, "str | Path | IO[bytes]"]
Progress = Callable[[str, int, int], None]


@dataclass
class FileReport:
    file: str
    rows: int
    accepted: int
    rejected: int
    duplicates: int = 0
    inserted: int = 0


@dataclass
class ImportReport:
    """What an import did. ``accepted + rejected`` equals the rows read.

    ``rejections`` holds the first ``rejections_kept`` of the ``rejected`` rows.
    """

    layer: str
    format: str
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    inserted: int = 0
    files: list[FileReport] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    timings_s: dict[str, float] = field(default_factory=dict)
    peak_memory_mb: float | None = None
    h3_resolution: int = 0
    boundary_sets_placed: list[str] = field(default_factory=list)
    warnings: list[Rejection] = field(default_factory=list)  # e.g. corrected postcodes
    rejections_kept: int | None = None

    def add_rejections(self, rejections: list[Rejection]) -> None:
        """Count ``rejections``; keep them while fewer than ``rejections_kept`` are held."""
        self.rejected += len(rejections)
        room = (len(rejections) if self.rejections_kept is None
                else max(self.rejections_kept - len(self.rejections), 0))
        self.rejections.extend(rejections[:room])

    def as_dict(self, max_rejections: int | None = None) -> dict[str, Any]:
        rej = self.rejections if max_rejections is None else self.rejections[:max_rejections]
        return {
            "layer": self.layer, "format": self.format,
            "accepted": self.accepted, "rejected": self.rejected,
            "duplicates": self.duplicates, "inserted": self.inserted,
            "files": [vars(f) for f in self.files],
            "rejections": [r.as_dict() for r in rej],
            "rejections_total": max(self.rejected, len(self.rejections)),
            "timings_s": {k: round(v, 4) for k, v in self.timings_s.items()},
            "h3_resolution": self.h3_resolution,
            "boundary_sets_placed": self.boundary_sets_placed,
            "warnings": [w.as_dict() for w in self.warnings[:1000]],
            "warnings_total": len(self.warnings),
        }


def import_events(store: Store, sources: Sequence[Source], *, fmt: str, layer: str,
                  mapping: ColumnMapping | None = None,
                  area_of_interest: tuple[float, float, float, float] | None = crs.UK_BOUNDS,
                  actor: str = "cli", progress: Progress | None = None,
                  measure_memory: bool = False, chunk_rows: int | None = None,
                  rejections_kept: int | None = None,
                  **reader_options: Any) -> ImportReport:
    """Read, validate, place and store events from ``sources``, in one transaction.

    ``chunk_rows`` (default the setting ``REMAP_IMPORT_CHUNK_ROWS``): records
    read, and events written, at a time. ``rejections_kept`` (default
    ``REMAP_IMPORT_REJECTIONS_KEPT``): rejections held in the report.

    Raises :class:`InputFormatError` (nothing written) when any source, or any
    chunk of one, is unusable as a whole.
    """
    if fmt not in FORMATS:
        raise ParameterError("format", f"{fmt!r} is not one of {', '.join(FORMATS)}")
    if fmt != "policeuk" and mapping is None:
        raise ParameterError("map", f"format {fmt!r} needs a column mapping "
                                    "(e.g. id=ref,time=date,lon=lon,lat=lat,category=type)")
    if not sources:
        raise ParameterError("files", "no input files given")
    check_name(layer, "layer")
    if chunk_rows is None or rejections_kept is None:
        settings = get_settings()
        chunk_rows = chunk_rows or settings.import_chunk_rows
        rejections_kept = (settings.import_rejections_kept if rejections_kept is None
                           else rejections_kept)
    if chunk_rows < 1:
        raise ParameterError("chunk_rows", f"must be at least 1, not {chunk_rows}")
    if measure_memory:
        tracemalloc.start()
    report = ImportReport(layer=layer, format=fmt, h3_resolution=store.h3_resolution,
                          rejections_kept=rejections_kept)
    timings = {"parse": 0.0, "validate": 0.0, "place": 0.0, "write": 0.0}
    file_names = [n for n, _ in sources]
    reader_options = geocoding.reader_options(store, fmt, mapping, reader_options)
    try:
        with ImportWriter(store, report, timings=timings, file_names=file_names, actor=actor,
                          progress=progress) as writer:
            # the next chunk is read while this one is placed and written (one ahead)
            with _ReadAhead(
                (i, result, writer.hash(result.events, file_index=i, arrow=result.arrow))
                for i, result in _read_all(sources, fmt=fmt, layer=layer, mapping=mapping,
                                           area_of_interest=area_of_interest,
                                           chunk_rows=chunk_rows,
                                           reader_options=reader_options)) as reads:
                writer.load_boundaries()  # while the first chunk is read
                for i, result, placed in reads:
                    # an entry for every file up to this one, so that each read is
                    # counted in its own file's entry (even after a file that gave none)
                    while len(report.files) <= i:
                        if progress:
                            progress("read", len(report.files), len(sources))
                        report.files.append(FileReport(file=file_names[len(report.files)],
                                                       rows=0, accepted=0, rejected=0))
                    file_report = report.files[i]
                    for stage in ("parse", "validate"):
                        timings[stage] += result.timings.get(stage, 0.0)
                    file_report.rows += result.rows_read
                    file_report.accepted += len(result.events)
                    file_report.rejected += len(result.rejections)
                    report.add_rejections(result.rejections)
                    report.warnings.extend(result.warnings)
                    writer.add(placed)
            report.files += [FileReport(file=name, rows=0, accepted=0, rejected=0)
                             for name in file_names[len(report.files):]]
            if progress:
                progress("read", len(sources), len(sources))
            writer.finish()
    finally:
        if measure_memory:
            report.peak_memory_mb = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
    report.timings_s = timings
    return report


_DONE = object()


class _ReadAhead:
    """The items of ``results``, each next one computed in a worker thread while the
    caller works on the one before: reading (Arrow, hashing) overlaps placing and
    writing (Parquet, the database), which release the GIL. The first item is started
    at once. Two items at most are held (the caller's and the next); an error comes
    out where it would have without the thread, after the items before it. A context
    manager: leaving it waits for the worker and closes ``results``."""

    def __init__(self, results: Iterator[Any]) -> None:
        self._results = results
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="remap-read")
        self._ahead = self._pool.submit(next, results, _DONE)

    def __iter__(self) -> Iterator[Any]:
        while (item := self._ahead.result()) is not _DONE:
            self._ahead = self._pool.submit(next, self._results, _DONE)
            yield item

    def __enter__(self) -> _ReadAhead:
        return self

    def __exit__(self, *exc: Any) -> None:
        self._pool.shutdown(wait=True)  # the generator is not running when it is closed
        close = getattr(self._results, "close", None)
        if close is not None:
            close()


def _read_all(sources: Sequence[Source], **kwargs: Any) -> Iterator[tuple[int, Any]]:
    """``(index of the source, read result)`` of every chunk of every source, in order."""
    for i, (name, source) in enumerate(sources):
        for result in _read(source, name=name, **kwargs):
            yield i, result


def _read(source: str | Path | IO[bytes], *, name: str, fmt: str, layer: str,
          mapping: ColumnMapping | None, area_of_interest: tuple[float, float, float, float] | None,
          chunk_rows: int, reader_options: dict[str, Any]) -> Iterator[Any]:
    """The read results of one source, a chunk at a time (whole for GeoJSON/GeoPackage)."""
    kwargs: dict[str, Any] = dict(fmt=fmt, layer=layer, file_name=name,
                                  area_of_interest=area_of_interest, chunk_rows=chunk_rows,
                                  **reader_options)
    # attr:<key> columns, stored as they are (no dict per row); GeoJSON/GPKG keep dicts
    kwargs.setdefault("attribute_columns", True)
    if fmt == "policeuk":  # text columns as the Arrow arrays they are stored from
        kwargs.setdefault("text_as_arrow", True)
    else:
        kwargs["mapping"] = mapping
    for result in read_in_chunks(source, **kwargs):
        if len(result.events) and result.events["category"].isna().any():
            # the store keeps a category for every event: say so before anything is committed
            raise ParameterError("map", f"{name}: no category column is mapped: add "
                                        "category=COLUMN to the mapping, or give every row one "
                                        "category (--category-default; category_default in "
                                        "the API)")
        yield result


@dataclass
class HashedFrame:
    """Accepted events of one read with their H3 cells and key hashes
    (:meth:`ImportWriter.hash`), ready for :meth:`ImportWriter.add`."""

    frame: pd.DataFrame          # the events
    files: np.ndarray            # each row's input (index into the import's files)
    hashes: np.ndarray           # key hashes (:func:`service.store.segments.key_hashes`)
    points: tuple[np.ndarray, np.ndarray]  # lon, lat of each distinct point
    point_of_row: np.ndarray     # each row's distinct point
    arrow: dict[str, pa.Array]   # Arrow forms of text columns of ``frame`` (ReadResult.arrow)
    seconds: float               # time spent


class ImportWriter:
    """Places and writes events a frame at a time inside one transaction (a context manager).

    :meth:`hash` gives one read's accepted events their H3 cells and key hashes
    (no database access, so it may run in the reading thread); :meth:`add`
    places them in every stored boundary-set version and writes the new ones at
    once, so that the next read overlaps the write and memory holds two reads at
    most; :meth:`finish` writes the import's record and audit entry; leaving the
    ``with`` block commits, or rolls everything back when an exception leaves it.
    The transaction opens at the first write, so an import whose first file is
    rejected while reading never takes the store's write lock.
    """

    def __init__(self, store: Store, report: ImportReport, *, timings: dict[str, float],
                 file_names: list[str], actor: str,
                 progress: Progress | None = None) -> None:
        self.store = store
        self.report = report
        self.timings = timings
        self.file_names = file_names
        self.actor = actor
        self.progress = progress
        self._stack = ExitStack()
        self._conn: Any = None
        self._import_id = 0
        self._sets: list[tuple[int, str, np.ndarray, Any]] | None = None
        self._duplicates = np.zeros(len(file_names), dtype=np.int64)
        self._keys: LayerKeys | None = None
        # a force's snapped points come back every month: each is placed once per import
        self._cells = PointMemo(np.uint64)
        self._units: dict[int, PointMemo] = {}

    def __enter__(self) -> ImportWriter:
        return self

    def __exit__(self, *exc: Any) -> bool | None:
        return self._stack.__exit__(*exc)

    def _connection(self) -> Any:
        if self._conn is None:
            self._conn = self._stack.enter_context(self.store.begin())
            self.store.ensure_layer(self._conn, self.report.layer)
            self._import_id = self.store.record_import(
                self._conn, layer=self.report.layer,
                file_name=", ".join(self.file_names)[:2000], fmt=self.report.format,
                actor=self.actor)
        return self._conn

    def load_boundaries(self) -> None:
        """Read every stored boundary-set version and parse its polygons, once per import
        (unit ids with a trailing None: index -1, outside every polygon, picks it)."""
        if self._sets is not None:
            return
        t0 = time.perf_counter()
        self._sets = []
        for info in self.store.boundary_sets_list():
            units = self.store.boundary_units_frame(info.id)
            self._sets.append((info.id, f"{info.name} v{info.version}",
                               np.append(units["unit_id"].to_numpy(dtype=object),
                                         np.array([None], dtype=object)),
                               geometries_from_wkb(units["wkb"].to_numpy())))
        self.report.boundary_sets_placed = [label for _, label, _, _ in self._sets]
        self.timings["place"] = self.timings.get("place", 0.0) + time.perf_counter() - t0

    def hash(self, events: pd.DataFrame, *, file_index: int = 0,
             arrow: dict[str, pa.Array] | None = None) -> HashedFrame:
        """H3 cells and key hashes of ``events`` (of input ``file_index``); ``arrow``:
        Arrow forms of its text columns (:attr:`spatial.io.result.ReadResult.arrow`).

        Placement is a function of the point, so it is done once per distinct
        point (police.uk snaps a file to a few thousand) and spread to the rows."""
        t0 = time.perf_counter()
        frame = (events if events.index.equals(pd.RangeIndex(len(events)))
                 else events.reset_index(drop=True))
        files = (frame["_file"].to_numpy(dtype=np.int64) if "_file" in frame
                 else np.full(len(frame), file_index, dtype=np.int64))
        lon, lat = frame["lon"].to_numpy(dtype=np.float64), frame["lat"].to_numpy(dtype=np.float64)
        first, point_of_row = placement.distinct_points(lon, lat)
        points = lon[first], lat[first]
        resolution = self.store.h3_resolution
        cells = self._cells.values(*points, lambda x, y: placement.h3_cells(x, y, resolution))
        # the cells go to the store as Arrow only (a column of the frame would be converted)
        cell_text = placement.cells_to_arrow(cells)
        arrow = {**(arrow or {}), "h3": (
            pa.DictionaryArray.from_arrays(pa.array(point_of_row.astype(np.int32)), cell_text)
            if cell_text.null_count == 0 else
            dictionary_array(point_of_row, np.asarray(cell_text.to_pylist(), dtype=object)))}
        hashes = key_hashes(arrow["event_key"] if "event_key" in arrow
                            else frame["event_key"].to_numpy(dtype=object).tolist())
        return HashedFrame(frame, files, hashes, points, point_of_row, arrow,
                           time.perf_counter() - t0)

    def add(self, events: pd.DataFrame | HashedFrame, *, file_index: int = 0) -> None:
        """Place the accepted events of one read (hashed by :meth:`hash` when given as a
        frame) and write the new ones: a key stored before, or given earlier in this
        import or this frame, counts as a duplicate."""
        hashed = (events if isinstance(events, HashedFrame)
                  else self.hash(events, file_index=file_index))
        report, store, timings = self.report, self.store, self.timings
        timings["place"] = timings.get("place", 0.0) + hashed.seconds
        batch, hashes = hashed.frame, hashed.hashes
        report.accepted += len(batch)
        if batch.empty:
            return
        self.load_boundaries()
        assert self._sets is not None
        t0 = time.perf_counter()
        lon, lat = hashed.points
        # index -1 (outside every polygon) picks the trailing None: a null unit
        units = [dictionary_array(self._placed(set_id, polygons, lon, lat)
                                  .take(hashed.point_of_row) % len(unit_ids), unit_ids)
                 for set_id, _, unit_ids, polygons in self._sets]
        timings["place"] += time.perf_counter() - t0
        t0 = time.perf_counter()
        conn = self._connection()
        if self._keys is None:  # the layer locked for this import, its stored key hashes
            self._keys = store.layer_keys(conn, report.layer)
        # Arrow keys when the reader gave them: only rows whose hash matches become str
        keys = (hashed.arrow["event_key"] if "event_key" in hashed.arrow
                else batch["event_key"].to_numpy(dtype=object))
        dup = repeated_keys(keys, hashes) | self._keys.stored(keys, hashes)
        fresh = not dup.any()  # nearly always on a first import: no copies then
        new = batch if fresh else batch.loc[~dup]
        self._duplicates += np.bincount(hashed.files[dup],
                                        minlength=len(self.file_names))[:len(self.file_names)]
        report.duplicates += int(dup.sum())
        if self.progress:
            self.progress("write", report.inserted, report.inserted + len(new))
        keep = pa.array(~dup)

        def kept(array: pa.Array) -> pa.Array:
            return array if fresh else array.filter(keep)

        # a _file column (store_events) goes along: the writer stores only the event
        # columns and attr: ones
        ids, segments = store.write_events(conn, new, self._import_id,
                                           keys=self._keys, hashes=hashes[~dup],
                                           arrow={k: kept(v) for k, v in hashed.arrow.items()})
        report.inserted += len(ids)
        if segments:
            for (set_id, _, _, _), assigned in zip(self._sets, units, strict=True):
                store.write_segment_placements(conn, set_id, segments, kept(assigned))
        timings["write"] = timings.get("write", 0.0) + time.perf_counter() - t0

    def _placed(self, set_id: int, polygons: Any, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Index of the polygon of set ``set_id`` holding each point (-1: none), each point
        tested once per import."""
        memo = self._units.setdefault(set_id, PointMemo(np.int64))
        return memo.values(lon, lat, lambda x, y: placement.assign_polygons(x, y, polygons))

    def finish(self) -> None:
        """Write the import's counts and audit entry."""
        t0 = time.perf_counter()
        report = self.report
        conn = self._connection()
        for fr, n_dup in zip(report.files, self._duplicates.tolist(), strict=False):
            fr.duplicates = int(n_dup)
            fr.inserted = fr.accepted - fr.duplicates
        self.store.finish_import(conn, self._import_id, accepted=report.accepted,
                                 rejected=report.rejected, duplicates=report.duplicates)
        self.store.audit(conn, self.actor, "import",
                         {"layer": report.layer, "format": report.format,
                          "files": self.file_names, "accepted": report.accepted,
                          "rejected": report.rejected, "inserted": report.inserted})
        self.timings["write"] = self.timings.get("write", 0.0) + time.perf_counter() - t0
        if self.progress:
            self.progress("write", report.inserted, report.inserted)


def store_events(store: Store, batch: pd.DataFrame, report: ImportReport, *,
                 timings: dict[str, float], file_names: list[str], actor: str,
                 progress: Progress | None = None) -> None:
    """Place validated events and write the new ones, in one transaction.

    ``batch`` is an events frame (plus ``_file``, the index of its input in
    ``file_names``). Fills the counts of ``report``.
    """
    with ImportWriter(store, report, timings=timings, file_names=file_names, actor=actor,
                      progress=progress) as writer:
        writer.add(batch)
        writer.finish()


def _write_placements(store: Store, conn: Any, set_id: int, unit_ids: np.ndarray,
                      polygons: np.ndarray, event_ids: np.ndarray, lon: np.ndarray,
                      lat: np.ndarray) -> None:
    """Exact point-in-polygon of events into one set's polygons (WGS84 both)."""
    index = placement.assign_polygons(lon, lat, polygons)
    # index -1 (outside every polygon) picks the trailing None
    assigned = np.append(unit_ids, np.array([None], dtype=object))[index]
    store.write_placements(conn, set_id, event_ids, assigned.tolist())


def place_events_in_set(store: Store, conn: Any, set_id: int, units: pd.DataFrame,
                        event_ids: np.ndarray, lon: np.ndarray, lat: np.ndarray) -> None:
    """Exact point-in-polygon of events into one set's polygons (WGS84 both)."""
    _write_placements(store, conn, set_id, units["unit_id"].to_numpy(dtype=object),
                      geometries_from_wkb(units["wkb"].to_numpy()), event_ids, lon, lat)


@dataclass
class BoundaryImportReport:
    name: str
    version: int
    set_id: int
    units: int
    repairs: list[str]
    rejections: list[Rejection]
    events_placed: int
    events_outside: int

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "id": self.set_id,
                "units": self.units, "repairs": self.repairs,
                "rejections": [r.as_dict() for r in self.rejections],
                "events_placed": self.events_placed, "events_outside": self.events_outside}


def import_boundaries(store: Store, source: str | Path | IO[bytes], *, file_name: str,
                      name: str, id_field: str, label_field: str | None = None,
                      effective_date: date | None = None, layer: str | None = None,
                      actor: str = "cli", zip_limits: tuple[int, float] | None = None
                      ) -> BoundaryImportReport:
    """Store a new version of boundary set ``name`` and place every stored event in it."""
    check_name(name, "name")
    check_length(id_field, "id_field", MAX_LABEL)
    if label_field is not None:
        check_length(label_field, "label_field", MAX_LABEL)
    read = read_boundaries(source, id_field=id_field, label_field=label_field,
                           file_name=file_name, layer=layer, zip_limits=zip_limits)
    gdf = read.units
    if gdf.empty:
        raise InputFormatError("no usable polygons in the file", file=file_name)
    centroids = gdf.geometry.representative_point()
    epsg = crs.metric_epsg(centroids.x.to_numpy(), centroids.y.to_numpy())
    areas = gdf.to_crs(epsg).area.to_numpy()
    wkb = shapely.to_wkb(gdf.geometry.to_numpy(), hex=True)
    units = list(zip(gdf["unit_id"].astype(str), gdf["label"].astype(str), wkb,
                     areas.astype(float), strict=True))
    with store.begin() as conn:
        set_id, version = store.add_boundary_set(
            conn, name=name, id_field=id_field, label_field=label_field,
            effective_date=effective_date, source_file=file_name, repairs=read.repairs,
            units=units)
        positions = store.all_event_positions(conn)
        units_frame = pd.DataFrame({"unit_id": gdf["unit_id"].astype(str).to_numpy(),
                                    "wkb": wkb})
        place_events_in_set(store, conn, set_id, units_frame,
                            positions["id"].to_numpy(), positions["lon"].to_numpy(),
                            positions["lat"].to_numpy())
        store.audit(conn, actor, "boundaries_import",
                    {"name": name, "version": version, "units": len(units),
                     "repairs": len(read.repairs), "file": file_name})
    counts = store.placement_counts(set_id)
    outside = counts.get(None, 0)
    return BoundaryImportReport(name=name, version=version, set_id=set_id, units=len(units),
                                repairs=read.repairs, rejections=read.rejections,
                                events_placed=sum(counts.values()) - outside,
                                events_outside=outside)
