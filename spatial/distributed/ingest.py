"""Batch import: police.uk or mapped CSV files to Parquet partitioned by layer and month.

Every chunk is read by :func:`spatial.io.read.read_events`, the reader of the
single-machine importer, so validation, rejections, keys and x/y are the same;
each accepted event gets its H3 cell at the dataset's resolution with
:func:`spatial.place.placement.h3_cells`, as the store does.

Chunks
------
A file larger than ``chunk_bytes`` (police.uk only) is read in byte ranges that
start at a record boundary (a newline outside quotes, found from the running
quote parity), each with the file's header in front. Two things a reader sees
per file are then put right across chunks:

* rejection rows: each chunk counts its records, and a chunk's rows are
  shifted by the records of the chunks before it;
* idempotency keys: a key is ``<32 hex digits>-<n>``, ``n`` the row's
  occurrence among rows of the file with the same hash. Each chunk reports
  the hashes it holds, bucketed by hash; a task per bucket finds hashes held
  by more than one chunk and the number of earlier occurrences, and only the
  chunks holding such rows rewrite their keys. The keys are then those of
  reading the whole file.

A fatal error in any input (:class:`~spatial.errors.InputFormatError`) writes
nothing: parts are written to a staging folder moved into place at the end.
"""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from spatial.errors import ParameterError, Rejection
from spatial.events import layer_spec
from spatial.io.read import read_events
from spatial.limits import check_name
from spatial.place import placement
from spatial.place.crs import UK_BOUNDS

from . import dataset as ds

#: Default chunk of a large file, bytes (about 250,000 police.uk rows).
CHUNK_BYTES: Final = 48 * 2**20
#: Rejections listed in full (all are counted).
FIRST_REJECTIONS: Final = 100
_NEWLINE: Final = 0x0A
_QUOTE: Final = 0x22
_HEX_VALUE: Final = np.full(256, 255, dtype=np.uint8)
_HEX_VALUE[np.frombuffer(b"0123456789abcdef", dtype=np.uint8)] = np.arange(16, dtype=np.uint8)
FORMATS: Final = ("policeuk", "csv")


@dataclass(frozen=True)
class ChunkPlan:
    """Byte range ``[start, end)`` of file ``file_index``; ``header_end`` ends its header."""

    file_index: int
    path: str
    name: str
    chunk: int
    start: int
    end: int
    header_end: int
    chunks_in_file: int


@dataclass
class ChunkResult:
    file_index: int
    chunk: int
    rows_read: int
    accepted: int
    rejected: int
    first_rejections: list[Rejection]
    body_records: int
    categories: dict[str, int]
    months: list[str]
    crs_epsg: list[int]
    written: list[str]
    hashes: list[np.ndarray] = field(default_factory=list)  # per bucket: h1, h2, count


@dataclass
class FileSummary:
    file: str
    rows: int = 0
    accepted: int = 0
    rejected: int = 0
    chunks: int = 0


@dataclass
class BatchImport:
    """What a batch import did. ``accepted + rejected`` equals the rows read."""

    layer: str
    format: str
    out: str
    h3_resolution: int
    files: list[FileSummary]
    rows_read: int
    accepted: int
    rejected: int
    rejections: list[Rejection]
    partitions: int
    chunks: int
    keys_renumbered: int
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {"layer": self.layer, "format": self.format, "out": self.out,
                "h3_resolution": self.h3_resolution,
                "files": [vars(f) for f in self.files], "rows_read": self.rows_read,
                "accepted": self.accepted, "rejected": self.rejected,
                "rejections": [r.as_dict() for r in self.rejections],
                "rejections_listed": len(self.rejections), "partitions": self.partitions,
                "chunks": self.chunks, "keys_renumbered": self.keys_renumbered,
                "seconds": round(self.seconds, 3)}


# --- planning ------------------------------------------------------------------------------


def plan_file(path: str, file_index: int, chunk_bytes: int, splittable: bool) -> list[ChunkPlan]:
    """Chunks of one file, each starting at a record boundary (runs where the file is)."""
    p = Path(path)
    if not p.is_file():
        raise ParameterError("files", f"{path}: no such file")
    size = p.stat().st_size
    with p.open("rb") as fh:
        head = fh.read(min(size, 1 << 20))
        header_end = _header_end(head)
        if not splittable or size <= chunk_bytes or header_end is None:
            return [ChunkPlan(file_index, path, p.name, 0, 0, size, 0, 1)]
        starts = [header_end]
        while starts[-1] + chunk_bytes < size:
            nxt = _record_start_after(fh, starts[-1], starts[-1] + chunk_bytes, size)
            if nxt is None or nxt >= size:
                break
            starts.append(nxt)
    ends = [*starts[1:], size]
    n = len(starts)
    return [ChunkPlan(file_index, path, p.name, i, s, e, header_end, n)
            for i, (s, e) in enumerate(zip(starts, ends, strict=True))]


def _header_end(head: bytes) -> int | None:
    """Byte just after the first non-blank line (the header), if it has quotes balanced."""
    pos = 0
    while True:
        nl = head.find(b"\n", pos)
        if nl < 0:
            return None
        if head[pos:nl].strip():
            return nl + 1 if head[:nl].count(b'"') % 2 == 0 else None
        pos = nl + 1


def _record_start_after(fh: Any, start: int, target: int, size: int) -> int | None:
    """The first record start at or after ``target`` (``start``: a record start)."""
    fh.seek(start)
    parity = _count_quotes(fh, target - start) & 1
    pos = target
    while pos < size:
        piece = np.frombuffer(fh.read(1 << 20), dtype=np.uint8)
        if piece.size == 0:
            return None
        after = np.logical_xor.accumulate(piece == _QUOTE) ^ bool(parity)
        ends = np.flatnonzero((piece == _NEWLINE) & ~after)
        if ends.size:
            return pos + int(ends[0]) + 1
        parity = int(after[-1])
        pos += piece.size
    return None


def _count_quotes(fh: Any, n: int) -> int:
    count = 0
    while n > 0:
        block = fh.read(min(n, 16 << 20))
        if not block:
            break
        count += block.count(b'"')
        n -= len(block)
    return count


def count_records(body: bytes) -> int:
    """Records (lines outside quotes; a last line without a newline counts) in ``body``."""
    if not body:
        return 0
    b = np.frombuffer(body, dtype=np.uint8)
    newline = b == _NEWLINE
    quote = b == _QUOTE
    if quote.any():
        newline &= ~np.logical_xor.accumulate(quote)
    return int(newline.sum()) + (0 if body.endswith(b"\n") else 1)


# --- one chunk -----------------------------------------------------------------------------


def read_chunk(plan: ChunkPlan, *, fmt: str, layer: str, staging: str, h3_resolution: int,
               area_of_interest: tuple[float, float, float, float] | None,
               reader_options: dict[str, Any], buckets: int,
               first_rejections: int = FIRST_REJECTIONS) -> ChunkResult:
    """Read, validate and place one chunk; write its events; report what it held."""
    with open(plan.path, "rb") as fh:
        if plan.chunks_in_file == 1:
            data = fh.read()
            body_records = 0
        else:
            header = fh.read(plan.header_end) if plan.chunk else b""
            fh.seek(plan.start if plan.chunk else 0)
            body = fh.read(plan.end - (plan.start if plan.chunk else 0))
            data = header + body
            body_records = count_records(body[plan.header_end:] if plan.chunk == 0 else body)
    result = read_events(data, fmt=fmt, layer=layer, file_name=plan.name,
                         area_of_interest=area_of_interest, **reader_options)
    del data
    events = result.events
    cells = (placement.h3_cells(events["lon"].to_numpy(), events["lat"].to_numpy(),
                                h3_resolution) if len(events) else np.zeros(0, np.uint64))
    written = ds.write_events(events, cells, Path(staging), layer, plan.file_index, plan.chunk)
    hashes: list[np.ndarray] = []
    if plan.chunks_in_file > 1 and len(events):
        h1, h2, _ = split_keys(events["event_key"].to_numpy(dtype=object))
        pairs = pd.DataFrame({"h1": h1, "h2": h2}).value_counts(sort=False).reset_index()
        bucket = (pairs["h1"].to_numpy(np.uint64) % np.uint64(buckets)).astype(np.int64)
        table = np.empty(len(pairs), dtype=[("h1", "u8"), ("h2", "u8"), ("n", "i8")])
        table["h1"], table["h2"], table["n"] = pairs["h1"], pairs["h2"], pairs["count"]
        hashes = [table[bucket == b] for b in range(buckets)]
    months = np.unique(np.datetime_as_string(
        events["time"].to_numpy(dtype="datetime64[ns]").astype("datetime64[M]"), unit="M"))
    return ChunkResult(
        file_index=plan.file_index, chunk=plan.chunk, rows_read=result.rows_read,
        accepted=len(events), rejected=result.rows_rejected,
        first_rejections=result.rejections[:first_rejections], body_records=body_records,
        categories={str(k): int(v) for k, v in events["category"].value_counts().items()},
        months=[str(m) for m in months],
        crs_epsg=sorted(int(v) for v in pd.unique(events["crs_epsg"])), written=written,
        hashes=hashes)


def split_keys(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``<32 hex>-<n>`` keys as two uint64 hash halves and the occurrence ``n``."""
    text = np.asarray(keys, dtype=object).astype("U")
    raw = np.char.encode(text, "ascii")
    width = raw.dtype.itemsize
    if len(raw) and width < 34:
        raise ParameterError("event_key", "keys are not <32 hex digits>-<n>")
    octets = raw.view(np.uint8).reshape(len(raw), width)
    nibbles = _HEX_VALUE[octets[:, :32]].astype(np.uint64)
    if (nibbles > 15).any():
        raise ParameterError("event_key", "keys are not <32 hex digits>-<n>")
    shifts = np.arange(60, -1, -4, dtype=np.uint64)
    h1 = np.bitwise_or.reduce(nibbles[:, :16] << shifts, axis=1)
    h2 = np.bitwise_or.reduce(nibbles[:, 16:] << shifts, axis=1)
    occ = pd.to_numeric(pd.Series(np.char.partition(text, "-")[:, 2])).to_numpy(np.int64)
    return h1.astype(np.uint64), h2.astype(np.uint64), occ


def earlier_occurrences(tables: Sequence[np.ndarray]) -> list[np.ndarray]:
    """For one hash bucket of one file: per chunk, the hashes also held by earlier
    chunks and how many rows of the file's earlier chunks hold them."""
    frames = [pd.DataFrame({"h1": t["h1"], "h2": t["h2"], "n": t["n"], "chunk": c})
              for c, t in enumerate(tables)]
    allp = pd.concat(frames, ignore_index=True)
    out = [np.empty(0, dtype=[("h1", "u8"), ("h2", "u8"), ("offset", "i8")])
           for _ in tables]
    if allp.empty:
        return out
    shared = allp.duplicated(["h1", "h2"], keep=False).to_numpy()
    sub = allp.loc[shared].sort_values(["h1", "h2", "chunk"], kind="stable")
    sub["offset"] = sub.groupby(["h1", "h2"], sort=False)["n"].cumsum() - sub["n"]
    sub = sub.loc[sub["offset"] > 0]
    for c, g in sub.groupby("chunk"):
        arr = np.empty(len(g), dtype=out[0].dtype)
        arr["h1"], arr["h2"], arr["offset"] = g["h1"], g["h2"], g["offset"]
        out[int(str(c))] = arr
    return out


def renumber_keys(paths: Sequence[str], offsets: Sequence[np.ndarray]) -> int:
    """Add the earlier chunks' occurrences to the keys of one chunk's parts; rows changed."""
    table = np.concatenate(list(offsets))
    if table.size == 0:
        return 0
    lookup = pd.DataFrame({"h1": table["h1"], "h2": table["h2"], "offset": table["offset"]})
    changed = 0
    for path in paths:
        t = pq.read_table(path)
        keys = t.column("event_key").to_numpy(zero_copy_only=False).astype(object)
        h1, h2, occ = split_keys(keys)
        add = (pd.DataFrame({"h1": h1, "h2": h2}).merge(lookup, on=["h1", "h2"], how="left")
               ["offset"].fillna(0).to_numpy(np.int64))
        hit = add > 0
        if not hit.any():
            continue
        new_keys = keys.copy()
        new_keys[hit] = (pd.Series(keys[hit]).str.slice(0, 32) + "-"
                         + pd.Series(occ[hit] + add[hit]).astype(str)).to_numpy(dtype=object)
        source_id = t.column("source_id").to_numpy(zero_copy_only=False).astype(object)
        same = hit & (source_id == keys)
        source_id[same] = new_keys[same]
        t = t.set_column(t.schema.get_field_index("event_key"), "event_key",
                         pa.array(new_keys, type=pa.string()))
        t = t.set_column(t.schema.get_field_index("source_id"), "source_id",
                         pa.array(source_id, type=pa.string()))
        pq.write_table(t, path, compression="zstd")
        changed += int(hit.sum())
    return changed


# --- the whole import ----------------------------------------------------------------------


def import_files(client: Any, files: Sequence[str | Path], out: str | Path, *, layer: str,
                 fmt: str = "policeuk", h3_resolution: int = 11,
                 area_of_interest: tuple[float, float, float, float] | None = UK_BOUNDS,
                 chunk_bytes: int = CHUNK_BYTES, first_rejections: int = FIRST_REJECTIONS,
                 reader_options: dict[str, Any] | None = None) -> BatchImport:
    """Import ``files`` into the dataset folder ``out`` on the cluster of ``client``.

    Parameters
    ----------
    client : distributed.Client
    files : paths
        Every worker must see them at these paths (and ``out``).
    layer : str
        Layer of the events; a dataset holds a layer once.
    fmt : {"policeuk", "csv"}
        ``csv`` needs ``reader_options={"mapping": ...}``; CSV files are read whole.
    h3_resolution : int
        H3 resolution of the stored cell (the store's ``REMAP_H3_RESOLUTION``).
    chunk_bytes : int
        police.uk files larger than this are read in chunks of about this size.

    Raises
    ------
    InputFormatError
        Any file unusable as a whole: nothing is written.
    ParameterError
        No files, unknown format, a layer the dataset already holds.
    """
    t0 = time.perf_counter()
    check_name(layer, "layer")
    if fmt not in FORMATS:
        raise ParameterError("format", f"{fmt!r} is not one of {', '.join(FORMATS)}")
    if not files:
        raise ParameterError("files", "no input files given")
    if chunk_bytes < 1 << 16:
        raise ParameterError("chunk_bytes", "must be at least 64 KiB")
    placement._check_resolution(h3_resolution)
    folder = Path(out)
    info = ds.DatasetInfo.read(folder) if (folder / ds.META_FILE).is_file() else \
        ds.DatasetInfo(h3_resolution=h3_resolution)
    if info.h3_resolution != h3_resolution:
        raise ParameterError("h3_resolution", f"{folder} stores H3 resolution "
                             f"{info.h3_resolution}, not {h3_resolution}")
    if layer in info.layers or ds.layer_dir(folder, layer).exists():
        raise ParameterError("out", f"{folder} already holds layer {layer!r}: import into "
                                    "a new folder, or delete that layer's folder first")
    paths = [str(Path(f).resolve()) for f in files]
    if len(set(paths)) != len(paths):
        raise ParameterError("files", "the same file is given twice")
    folder.mkdir(parents=True, exist_ok=True)
    staging = folder / f".staging-{uuid.uuid4().hex}"
    staging.mkdir()
    try:
        summary = _run(client, paths, staging, layer=layer, fmt=fmt,
                       h3_resolution=h3_resolution, aoi=area_of_interest,
                       chunk_bytes=chunk_bytes, first=first_rejections,
                       reader_options=dict(reader_options or {}))
        ds.layer_dir(staging, layer).mkdir(parents=True, exist_ok=True)
        ds.layer_dir(staging, layer).rename(ds.layer_dir(folder, layer))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    results, plans, renumbered = summary
    files_out = [FileSummary(file=Path(p).name) for p in paths]
    for r in results:
        f = files_out[r.file_index]
        f.rows += r.rows_read
        f.accepted += r.accepted
        f.rejected += r.rejected
        f.chunks += 1
    rejections = _file_rows(results, plans)[:first_rejections]
    cats: dict[str, int] = {}
    for r in results:
        for k, v in r.categories.items():
            cats[k] = cats.get(k, 0) + v
    lay = ds.LayerInfo(
        sensitivity=layer_spec(layer).sensitivity, files=[f.file for f in files_out],
        rows_read=sum(f.rows for f in files_out), accepted=sum(f.accepted for f in files_out),
        rejected=sum(f.rejected for f in files_out), categories=dict(sorted(cats.items())),
        months=sorted({m for r in results for m in r.months}),
        crs_epsg=sorted({e for r in results for e in r.crs_epsg}))
    info.layers[layer] = lay
    info.write(folder)
    return BatchImport(layer=layer, format=fmt, out=str(folder), h3_resolution=h3_resolution,
                       files=files_out, rows_read=lay.rows_read, accepted=lay.accepted,
                       rejected=lay.rejected, rejections=rejections,
                       partitions=sum(len(r.written) for r in results), chunks=len(results),
                       keys_renumbered=renumbered, seconds=time.perf_counter() - t0)


def _run(client: Any, paths: list[str], staging: Path, *, layer: str, fmt: str,
         h3_resolution: int, aoi: tuple[float, float, float, float] | None, chunk_bytes: int,
         first: int, reader_options: dict[str, Any]
         ) -> tuple[list[ChunkResult], list[ChunkPlan], int]:
    planned = client.gather(client.map(plan_file, paths, range(len(paths)),
                                       [chunk_bytes] * len(paths),
                                       [fmt == "policeuk"] * len(paths), pure=False))
    plans = [p for per_file in planned for p in per_file]
    buckets = {i: min(16, max(1, len(per_file) // 2)) for i, per_file in enumerate(planned)}
    futures = [client.submit(read_chunk, p, fmt=fmt, layer=layer, staging=str(staging),
                             h3_resolution=h3_resolution, area_of_interest=aoi,
                             reader_options=reader_options, buckets=buckets[p.file_index],
                             first_rejections=first, pure=False,
                             key=f"read-chunk-{p.file_index}-{p.chunk}-{uuid.uuid4().hex}")
               for p in plans]
    # only the summaries travel to the client; the hashes stay on the workers
    summaries = client.map(_without_hashes, futures, pure=False)
    try:
        # the first fatal error stops the import (its exception is raised here)
        results: list[ChunkResult] = client.gather(summaries)
    except BaseException:
        client.cancel(futures + summaries)
        raise
    renumbered = 0
    for i, per_file in enumerate(planned):
        if len(per_file) < 2:
            continue
        mine = [f for f, p in zip(futures, plans, strict=True) if p.file_index == i]
        offsets = [client.submit(_bucket_offsets, mine, b, pure=False)
                   for b in range(buckets[i])]
        fixes = [client.submit(_renumber_chunk, fut, offsets, c, pure=False)
                 for c, fut in enumerate(mine)]
        renumbered += sum(client.gather(fixes))
    return results, plans, renumbered


def _without_hashes(result: ChunkResult) -> ChunkResult:
    return ChunkResult(**{**vars(result), "hashes": []})


def _bucket_offsets(chunk_results: list[ChunkResult], bucket: int) -> list[np.ndarray]:
    return earlier_occurrences([r.hashes[bucket] if r.hashes else
                                np.empty(0, dtype=[("h1", "u8"), ("h2", "u8"), ("n", "i8")])
                                for r in chunk_results])


def _renumber_chunk(result: ChunkResult, bucket_offsets: list[list[np.ndarray]],
                    chunk: int) -> int:
    return renumber_keys(result.written, [b[chunk] for b in bucket_offsets])


def _file_rows(results: list[ChunkResult], plans: list[ChunkPlan]) -> list[Rejection]:
    """The listed rejections with rows of the whole file, in file and row order."""
    before: dict[tuple[int, int], int] = {}
    by_file: dict[int, list[ChunkResult]] = {}
    for r in results:
        by_file.setdefault(r.file_index, []).append(r)
    for fi, rs in by_file.items():
        seen = 0
        for r in sorted(rs, key=lambda r: r.chunk):
            before[(fi, r.chunk)] = seen
            seen += r.body_records
    out: list[Rejection] = []
    for r in sorted(results, key=lambda r: (r.file_index, r.chunk)):
        shift = before[(r.file_index, r.chunk)]
        out.extend(Rejection(x.file, x.row + shift, x.field, x.reason)
                   for x in r.first_rejections)
    return out
