"""Reading CSV event files in chunks of records: memory bounded by the chunk, not the file.

:func:`read_in_chunks` reads a police.uk or mapped CSV file as a sequence of
:class:`~spatial.io.result.ReadResult`, one per chunk of ``chunk_rows``
records, that together are exactly the whole-file read: the same accepted
events with the same keys, the same rejections with the file's row numbers,
and the same fatal errors (raised at the chunk that shows them, or at the end
of the file for the checks that need every row). GeoJSON and GeoPackage are
read whole (one result): their parsers need the whole document.

Chunks are cut at record boundaries found from the bytes (:func:`csv_chunks`):
quote parity by numpy over pieces of the stream (a quoted field spanning
lines stays in one chunk), with the ``csv`` module as the fallback for
irregular quoting, as in :mod:`spatial.io.csvtable`. Each later chunk is read
with the file's header line in front of it. Text encodings that do not keep
``,``, ``"``, CR and LF as single bytes (UTF-16) are read whole.

What is carried between chunks (keys' occurrence indexes, the metric CRS,
the deferred "wrong CRS" check): :mod:`spatial.io.context`.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

import numpy as np

from spatial.errors import InputFormatError, ParameterError
from spatial.io.context import FileContext
from spatial.io.mapping import ColumnMapping
from spatial.io.read import read_events
from spatial.io.result import ReadResult, Source
from spatial.io.source import BOM, load_source

#: formats read in chunks; the others are read whole
STREAMED_FORMATS: Final = ("policeuk", "csv")
#: bytes scanned for record ends per numpy pass (bounds the scan's temporary arrays)
_SCAN_BYTES: Final = 8 * 2**20
#: bytes read at a time before the size of a record is known
_FIRST_READ: Final = 4 * 2**20
_STRUCTURAL: Final = np.array([0x2C, 0x0A, 0x0D, 0x22], dtype=np.uint8)


@dataclass(frozen=True)
class CsvChunk:
    """Bytes a CSV reader can read alone, and where they sit in the file.

    ``data`` is the file's first records (the header among them) for the
    first chunk; for a later one (``continuation``) the header line and then
    the chunk's records. ``row_offset`` turns the chunk's row numbers into the
    file's.
    """

    data: bytes
    row_offset: int
    continuation: bool
    whole: bool = False  # the whole file: read as a file is read whole


def read_in_chunks(source: Source, *, fmt: str, layer: str, chunk_rows: int | None,
                   file_name: str | None = None,
                   mapping: ColumnMapping | str | Mapping[str, Any] | None = None,
                   **kw: Any) -> Iterator[ReadResult]:
    """Read ``source`` as results of at most ``chunk_rows`` records each.

    ``chunk_rows`` None, or a format not in :data:`STREAMED_FORMATS`: one
    result of the whole file (:func:`spatial.io.read.read_events`). The
    whole-file checks (no data rows, every row in another CRS) raise after
    the last chunk: a caller that writes chunk by chunk must write them in
    one transaction and roll it back on any error.
    """
    if chunk_rows is not None and chunk_rows < 1:
        raise ParameterError("chunk_rows", f"must be at least 1, not {chunk_rows}")
    if fmt not in STREAMED_FORMATS or chunk_rows is None:
        yield read_events(source, fmt=fmt, layer=layer, mapping=mapping, file_name=file_name,
                          **kw)
        return
    stream, name, owned = _open(source, file_name)
    try:
        context = FileContext(name)
        for chunk in csv_chunks(stream, name, chunk_rows=chunk_rows,
                                encoding=str(kw.get("encoding", "utf-8"))):
            if chunk.whole:  # one piece: the whole-file read, whole-file checks included
                yield read_events(chunk.data, fmt=fmt, layer=layer, mapping=mapping,
                                  file_name=name, **kw)
                return
            context.row_offset = chunk.row_offset
            context.continuation = chunk.continuation
            yield read_events(chunk.data, fmt=fmt, layer=layer, mapping=mapping,
                              file_name=name, context=context, **kw)
        context.finish()
    finally:
        if owned:
            stream.close()


def _open(source: Source, file_name: str | None) -> tuple[IO[bytes], str, bool]:
    """A binary stream of ``source``, the name rejections carry, and whether we opened it."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        name = file_name or path.name
        try:
            return path.open("rb"), name, True
        except FileNotFoundError:
            raise InputFormatError(f"file not found: {path}", file=name) from None
        except IsADirectoryError:
            raise InputFormatError(f"{path} is a directory, not a file", file=name) from None
    if isinstance(source, (bytes, bytearray, memoryview)) or isinstance(source, io.TextIOBase):
        data, name = load_source(source, file_name)
        return io.BytesIO(data), name, True
    if getattr(source, "read", None) is None:
        raise ParameterError("source", f"expected a path, bytes or a binary file, "
                                       f"not {type(source).__name__}")
    label = getattr(source, "name", None)
    name = file_name or (Path(label).name if isinstance(label, str) and label else "<upload>")
    return source, name, False


def _ascii_compatible(encoding: str) -> bool:
    """Whether ``,``, ``"``, CR and LF are those single bytes in ``encoding`` (and no byte of
    another character can be one of them)."""
    try:
        info = codecs.lookup(encoding)
    except LookupError:
        return False  # the reader reports the unknown encoding
    if info.name.startswith(("utf-16", "utf-32", "utf_16", "utf_32")):
        return False
    try:
        return ',"\r\n'.encode(info.name) == b',"\r\n'
    except UnicodeError:
        return False


class _RecordEnds:
    """End offsets of the complete records of a growing buffer, scanned once each.

    Offsets are exclusive ends (after the record's CR, LF or CR LF) relative to
    the buffer's start. Quote state is the running parity of ``"``, valid while
    every opening quote starts a field and every closing quote ends one; from
    the first piece where that fails, records are found by the ``csv`` module.
    """

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self.ends = np.empty(0, dtype=np.int64)
        self.scanned = 0          # bytes of the buffer scanned (parity known up to here)
        self.inside = False       # inside a quoted field at ``scanned``
        self.regular = True

    def shift(self, cut: int) -> None:
        """The buffer lost its first ``cut`` bytes (a record end)."""
        self.ends = self.ends[np.searchsorted(self.ends, cut, side="right"):] - cut
        self.scanned -= cut

    def scan(self, buf: bytes, eof: bool) -> None:
        """Find the record ends in the bytes of ``buf`` not scanned yet."""
        stop = len(buf) if eof else len(buf) - 1  # a byte's successor must be known
        found = [self.ends]
        while self.regular and self.scanned < stop:
            end = min(self.scanned + _SCAN_BYTES, stop)
            piece = self._scan_piece(buf, self.scanned, end, eof)
            if piece is None:
                self.regular = False
                break
            found.append(piece)
            self.scanned = end
        self.ends = np.concatenate(found)
        if not self.regular:
            start = int(self.ends[-1]) if len(self.ends) else 0
            self.ends = np.concatenate([self.ends, self._csv_ends(buf, start, eof)])

    def _scan_piece(self, buf: bytes, start: int, end: int, eof: bool) -> np.ndarray | None:
        b = np.frombuffer(buf, dtype=np.uint8, count=end - start, offset=start)
        n = b.size
        quote = b == 0x22
        prev = np.empty(n, dtype=np.uint8)
        prev[0] = buf[start - 1] if start else 0x2C
        prev[1:] = b[:-1]
        nxt = np.empty(n, dtype=np.uint8)
        nxt[:-1] = b[1:]
        nxt[-1] = buf[end] if end < len(buf) else 0x2C
        if quote.any() or self.inside:
            after = np.logical_xor.accumulate(quote) ^ self.inside
            inside = np.empty(n, dtype=bool)
            inside[0] = self.inside
            inside[1:] = after[:-1]
            if not (np.isin(prev[quote & ~inside], _STRUCTURAL).all()
                    and np.isin(nxt[quote & inside], _STRUCTURAL).all()):
                return None
            self.inside = bool(after[-1])
            outside = ~inside
            term = ((b == 0x0A) & outside) | ((b == 0x0D) & outside & (nxt != 0x0A))
        else:
            term = (b == 0x0A) | ((b == 0x0D) & (nxt != 0x0A))
        return np.flatnonzero(term).astype(np.int64) + start + 1

    def _csv_ends(self, buf: bytes, start: int, eof: bool) -> np.ndarray:
        """Record ends after ``start`` as the ``csv`` module reads them (irregular quoting)."""
        lines = buf[start:].splitlines(keepends=True)
        consumed = start
        ends: list[int] = []

        def text_lines() -> Iterator[str]:
            nonlocal consumed
            for line in lines:
                consumed += len(line)
                yield line.decode(self.encoding, errors="replace")

        try:
            for _ in csv.reader(text_lines()):
                ends.append(consumed)
        except csv.Error:
            pass  # the rest goes to the reader as it is, which reports it
        if ends and not eof and ends[-1] == len(buf):
            ends.pop()  # the last line may continue in the next read
        return np.asarray(ends, dtype=np.int64)


def _line_ends(data: bytes) -> int:
    """How many LF and CR bytes ``data`` holds (an upper bound of its line ends); counted
    by numpy, which lets the import's other thread run meanwhile (``bytes.count`` holds
    the GIL)."""
    b = np.frombuffer(data, dtype=np.uint8)
    return int(np.count_nonzero(b == 0x0A)) + (int(np.count_nonzero(b == 0x0D))
                                                if b"\r" in data else 0)


def _blank(record: bytes) -> bool:
    """A record the CSV readers skip as a blank line (whitespace only, one field)."""
    text = record.removeprefix(BOM).strip()
    return b"," not in text and not text.strip(b'"').strip()


def csv_chunks(stream: IO[bytes], name: str, *, chunk_rows: int,
               encoding: str = "utf-8") -> Iterator[CsvChunk]:
    """Cut a CSV stream into chunks of ``chunk_rows`` records (blank lines count as records,
    as they do in spreadsheet row numbers); the first chunk also holds the header."""
    if not _ascii_compatible(encoding):
        data = stream.read()
        yield CsvChunk(data, 0, False, whole=True)
        return
    pending = b""
    eof = False
    while len(pending) < _FIRST_READ and not eof:
        block = stream.read(_FIRST_READ)
        if isinstance(block, str):
            raise ParameterError("source", "expected a binary file, not a text stream")
        eof = not block
        pending += block
    # records <= line ends + 1 (a quoted line break only joins lines): a file with fewer
    # line ends than a chunk's records is one chunk, and its records need no scan
    if eof and _line_ends(pending) < chunk_rows:
        yield CsvChunk(pending, 0, False, whole=True)
        return
    finder = _RecordEnds(encoding)
    finder.scan(pending, eof)
    header: bytes | None = None
    header_records = 0         # records up to and including the header (first chunk)
    records_before = 0         # records of the file before ``pending``
    read_size = _FIRST_READ
    while True:
        if header is None:
            header, header_records = _find_header(pending, finder.ends)
        want = chunk_rows + (header_records if records_before == 0 else 0)
        if (header is None or len(finder.ends) < want) and not eof:
            block = stream.read(read_size)
            if isinstance(block, str):
                raise ParameterError("source", "expected a binary file, not a text stream")
            if not block:
                eof = True
            pending += block
            finder.scan(pending, eof)
            if len(finder.ends) and records_before + len(finder.ends) >= 64:
                # read about what the chunk still needs, from the records' mean size
                mean = finder.ends[-1] / len(finder.ends)
                missing = max(want - len(finder.ends), 1)
                read_size = int(min(max(missing * mean * 1.05, _FIRST_READ), 2**30))
            continue
        first = records_before == 0
        if len(finder.ends) >= want:
            cut = int(finder.ends[want - 1])
            records = want
        else:  # the end of the file: whatever is left
            cut = len(pending)
            records = len(finder.ends) + (1 if cut > (finder.ends[-1] if len(finder.ends)
                                                      else 0) else 0)
            if not first and not pending.strip():
                return
        body = pending[:cut]
        if first:
            yield CsvChunk(body, 0, False)
        else:
            assert header is not None
            yield CsvChunk(header + body, records_before - 1, True)
        records_before += records
        pending = pending[cut:]
        finder.shift(cut)
        if eof and not pending:
            return


def _find_header(pending: bytes, ends: np.ndarray) -> tuple[bytes | None, int]:
    """The header record (first non-blank one, without a byte-order mark) and the number of
    records up to and including it; ``None`` while it is not complete yet."""
    start = 0
    for i, end in enumerate(ends.tolist()):
        record = pending[start:end]
        if not _blank(record):
            return record.removeprefix(BOM), i + 1
        start = end
    return None, 0
