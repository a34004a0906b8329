"""CSV tokenising: text cells, spreadsheet row numbers and field counts.

Two tokenisers give the same :class:`CsvTable`:

* **Arrow** (:func:`_arrow_table`, the fast path): ``pyarrow.csv`` reads a
  *regular* UTF-8 file, one whose every record has the header's number of
  fields, with no blank line and no quote other than those enclosing a
  field, and the columns stay Arrow strings. A column is then used as its
  distinct values and one code per row (:meth:`CsvTable.coded`, Arrow's
  ``dictionary_encode``): police.uk columns have few distinct values (one
  ``Month``, a few thousand snap points), so parsing, hashing and checking
  are done once per distinct value, not per row.
* **pandas** (any other file: blank lines, ragged rows, irregular quoting,
  other encodings): the pandas C parser, with record boundaries and field
  counts from one numpy pass over the bytes (:func:`_field_counts_fast`) and
  the ``csv`` module as the fallback for irregular quoting.

Both give the same cells, so every reader downstream sees the same table
whichever read it; ``tests/spatial/io/test_arrow_csv.py`` checks the two
against each other. ``row`` is the row number a spreadsheet shows (header = 1,
first data row = 2; a quoted field spanning lines is still one row).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from spatial.errors import InputFormatError, ParameterError
from spatial.io.result import BoolArray, IntArray, ObjArray
from spatial.io.source import BOM, sniff
from spatial.io.validation import Coded, Rejector, join

#: A quote that neither opens nor closes a field (inside a field, or doubled): the
#: files where Arrow and pandas might tokenise differently go to pandas.
_INNER_QUOTE: Final = re.compile(rb'(?<=[^,\r\n])"(?=[^,\r\n])')
#: what ``body.lstrip().startswith((b"{", b"["))`` finds, without copying the body
_JSON_START: Final = re.compile(rb"[ \t\n\r\x0b\x0c]*[{\[]")


@dataclass
class CsvTable:
    """A CSV as text cells: header names, data rows (blank lines dropped).

    Cells are ``str`` (missing cells ""). Built from Arrow (``arrow``) or from
    pandas (``frame`` given); either way :attr:`frame`, :meth:`text` and
    :meth:`coded` give the same cells.
    """

    header: list[str]
    rows: IntArray       # spreadsheet row number of each frame row
    nfields: IntArray    # fields in each row as written
    arrow: pa.Table | None = None          # Arrow strings, columns = header
    _frame: pd.DataFrame | None = None     # object dtype, columns = header
    _coded: dict[str, Coded] = field(default_factory=dict)
    _dictionaries: dict[str, pa.DictionaryArray] = field(default_factory=dict)

    @property
    def frame(self) -> pd.DataFrame:
        """Every column as ``str`` cells (object dtype), columns = header."""
        if self._frame is None:
            self._frame = pd.DataFrame({c: pd.Series(self.text(c), dtype=object)
                                        for c in self.header}, columns=self.header)
        return self._frame

    def coded(self, name: str) -> tuple[IntArray, ObjArray]:
        """Column ``name`` as ``(codes, values)``: ``values[codes]`` are its cells.

        ``values`` are the distinct cells (``str``) in order of first appearance.
        """
        column = self.coded_column(name)
        return column.codes, column.values

    def arrow_dictionary(self, name: str) -> pa.DictionaryArray | None:
        """Column ``name`` dictionary-encoded by Arrow (the same codes and distinct values
        as :meth:`coded`); ``None`` for a table the pandas path read."""
        if self.arrow is None:
            return None
        if name not in self._dictionaries:
            encoded = pc.dictionary_encode(self.arrow.column(self.header.index(name)))
            chunks = pa.table({"c": encoded}).unify_dictionaries().column(0).chunks
            self._dictionaries[name] = (
                chunks[0] if len(chunks) == 1 else pa.concat_arrays(chunks) if chunks
                else pa.DictionaryArray.from_arrays(pa.array([], pa.int32()),
                                                    pa.array([], pa.string())))
        return self._dictionaries[name]

    def coded_column(self, name: str) -> Coded:
        """Column ``name`` as a :class:`Coded` (cached); from an Arrow table its distinct
        values stay Arrow text until they are asked for."""
        if name not in self._coded:
            encoded = self.arrow_dictionary(name)
            if encoded is None:
                codes, uniques = pd.factorize(self.frame[name].to_numpy(dtype=object), sort=False)
                self._coded[name] = Coded(codes.astype(np.int64, copy=False),
                                          np.asarray(uniques, dtype=object))
            else:
                self._coded[name] = Coded(
                    encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64),
                    None, encoded.dictionary)
        return self._coded[name]

    def plain_column(self, name: str) -> Coded:
        """Column ``name`` as a :class:`Coded` of its cells as they are, one value per row
        (codes ``0..n-1``): for a column of mostly distinct cells (an id), where finding
        the distinct values costs more than the rules save; from a table the pandas path
        read, :meth:`coded_column`."""
        if self.arrow is None:
            return self.coded_column(name)
        column = self.arrow.column(self.header.index(name)).combine_chunks()
        return Coded(np.arange(len(column), dtype=np.int64), None, column)

    def text(self, name: str) -> ObjArray:
        """Column ``name`` as an object array of ``str``."""
        if self._frame is not None:
            return np.asarray(self._frame[name].to_numpy(dtype=object), dtype=object)
        codes, values = self.coded(name)
        return np.asarray(values.take(codes), dtype=object)


def read_csv_table(data: bytes, name: str, *, encoding: str, what: str,
                   row_offset: int = 0, continuation: bool = False) -> CsvTable:
    """Tokenise a CSV; rows keep their spreadsheet numbers and field counts.

    A later chunk of a file read in chunks (:mod:`spatial.io.stream`) is the
    file's header line followed by the chunk's records (``continuation``: the
    whole-file checks of the first bytes are not repeated); ``row_offset`` is
    added to its row numbers so that they are the file's.
    """
    if not continuation:
        sniff(data, name, what)
    body = data[3:] if data.startswith(BOM) else data
    if not continuation and _JSON_START.match(body) is not None:
        raise InputFormatError(f"{name} looks like JSON (GeoJSON?), not {what}", file=name)
    fast = _arrow_table(body, encoding, row_offset)
    if fast is not None:
        return fast
    return _pandas_table(body, name, encoding=encoding, row_offset=row_offset)


def _arrow_table(body: bytes, encoding: str, row_offset: int) -> CsvTable | None:
    """The table of a regular UTF-8 CSV read by Arrow; ``None`` for any other file.

    Regular: every record has the header's number of fields (at least two, so
    that a blank line cannot pass for a record), no blank or whitespace-only
    line, no quote inside a field, valid UTF-8. Anything else, including any
    error Arrow reports, is left to the pandas path, which reads every file
    and reports its problems.
    """
    if codecs_name(encoding) != "utf-8":
        return None
    newline = body.find(b"\n")
    first_line = body if newline < 0 else body[:newline]
    if not first_line.strip() or first_line.count(b",") < 1:
        return None  # leading blank lines, or a one-column file: pandas path
    if not body.isascii():
        try:  # checked here so that bad UTF-8 goes to the pandas path, which says where
            body.decode("utf-8")
        except UnicodeDecodeError:
            return None
    quoted = b'"' in body
    if quoted and _has_inner_quote(body):
        return None
    try:
        table = pacsv.read_csv(
            pa.py_buffer(body),
            read_options=pacsv.ReadOptions(autogenerate_column_names=True, use_threads=False,
                                           block_size=max(1 << 20, min(len(body) + 1, 1 << 30))),
            parse_options=pacsv.ParseOptions(delimiter=",", quote_char='"', double_quote=True,
                                             escape_char=False, newlines_in_values=quoted,
                                             ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(
                column_types={f"f{i}": pa.string() for i in range(first_line.count(b",") + 1)},
                strings_can_be_null=False, quoted_strings_can_be_null=False,
                check_utf8=True))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None  # e.g. a record with another number of fields
    if table.num_rows == 0 or table.num_columns < 2:
        return None
    if any(t != pa.string() for t in table.schema.types):
        return None
    if _has_empty_record(table):
        return None  # a blank line (Arrow gives it as a row of empty cells), or ",,,"
    head = table.slice(0, 1).to_pylist()[0]
    header = _dedupe([str(head[c]).strip() for c in table.column_names])
    data = table.slice(1).rename_columns(header)
    n = data.num_rows
    m = len(header)
    return CsvTable(header=header, rows=np.arange(2, n + 2, dtype=np.int64) + row_offset,
                    nfields=np.full(n, m, dtype=np.int64), arrow=data)


_FIELD_EDGE: Final = np.array([0x2C, 0x0D, 0x0A], dtype=np.uint8)


def _has_inner_quote(body: bytes) -> bool:
    """Whether ``_INNER_QUOTE`` matches ``body``: a quote with a byte other than a comma,
    CR or LF on both sides. By numpy over the quotes' neighbours (the regex crawled
    at about 60 MB/s through a file that quotes every field)."""
    b = np.frombuffer(body, dtype=np.uint8)
    at = np.flatnonzero(b[1:-1] == 0x22) + 1  # a quote at either end has no neighbour
    return bool((~np.isin(b[at - 1], _FIELD_EDGE) & ~np.isin(b[at + 1], _FIELD_EDGE)).any())


def _has_empty_record(table: pa.Table) -> bool:
    """Whether a record has every cell empty (a blank line read by Arrow looks like one)."""
    length = None
    for column in table.columns:
        cells = pc.binary_length(column)
        length = cells if length is None else pc.add(length, cells)
    return length is not None and bool(pc.any(pc.equal(length, 0)).as_py())


def codecs_name(encoding: str) -> str:
    """The codec name of ``encoding`` (``"utf-8"`` for ``"UTF8"``, ``"utf_8"``...); the
    name itself when unknown (the pandas path reports it)."""
    import codecs

    try:
        return codecs.lookup(encoding).name
    except LookupError:
        return encoding


def _pandas_table(body: bytes, name: str, *, encoding: str, row_offset: int) -> CsvTable:
    """The table of any CSV, by the pandas C parser (see the module docstring)."""
    try:
        body.decode(encoding)  # checked here; decoded again only by the csv-module fallback
    except UnicodeDecodeError as exc:
        raise InputFormatError(f"{name} is not {encoding} text ({exc.reason} at byte {exc.start}): "
                               f"binary data, or pass the right encoding", file=name) from None
    except LookupError:
        raise ParameterError("encoding", f"unknown text encoding {encoding!r}") from None

    counted = _field_counts_fast(body)
    if counted is None:
        counted = _field_counts_csv(body.decode(encoding), name)
    counts, blank = counted
    try:
        raw = _pandas_cells(body, encoding, int(counts.max()))
    except (pd.errors.ParserError, ValueError) as exc:
        where = re.search(r"EOF inside string starting at row (\d+)", str(exc))
        if where:  # pandas counts records from 0 with header=None; spreadsheets from 1
            row = int(where.group(1)) + 1 + row_offset
            raise InputFormatError(f"{name} cannot be parsed as CSV: the quoted field starting "
                                   f"on row {row} is never closed (unbalanced quotes, or a "
                                   "truncated file)", file=name, row=row) from None
        raise InputFormatError(f"{name} cannot be parsed as CSV: {str(exc).strip()}",
                               file=name) from None
    if len(raw) != len(counts):
        counts, blank = _field_counts_csv(body.decode(encoding), name)
        if len(raw) != len(counts):
            raise InputFormatError(f"{name} cannot be parsed as CSV consistently "
                                   f"({len(raw)} vs {len(counts)} records)", file=name)

    single = np.flatnonzero(counts == 1)
    if single.size:  # whitespace-only lines are blank lines too
        cells = pd.Series(raw.iloc[single, 0].to_numpy(dtype=object), dtype=object)
        blank[single] |= (cells.str.strip() == "").to_numpy(dtype=bool)
    nonblank = np.flatnonzero(~blank)
    h = int(nonblank[0])  # sniff guarantees some non-blank text
    m = int(counts[h])
    header = _dedupe([str(v).strip() for v in raw.iloc[h, :m].tolist()])
    data_idx = nonblank[nonblank > h]
    if data_idx.size == len(raw) - h - 1:
        frame = raw.iloc[h + 1:, :m]
    else:
        frame = raw.iloc[data_idx, :m]
    frame = frame.set_axis(header, axis=1).reset_index(drop=True)
    return CsvTable(header=header, rows=(data_idx + 1 + row_offset).astype(np.int64),
                    nfields=counts[data_idx].astype(np.int64), _frame=frame)


def require_rows(table: CsvTable, name: str) -> None:
    if len(table.rows) == 0:
        raise InputFormatError(f"{name} has a header but no data rows", file=name)


def _pandas_cells(body: bytes, encoding: str, width: int) -> pd.DataFrame:
    """Every record as ``width`` text cells (short records padded with "")."""
    return pd.read_csv(
        io.BytesIO(body), header=None, names=list(range(width)), index_col=False,
        dtype=object, keep_default_na=False, na_filter=False, skip_blank_lines=False,
        encoding=encoding, on_bad_lines="error", engine="c", quotechar='"', doublequote=True,
    )


#: bytes per numpy pass of :func:`_field_counts_fast` (bounds its temporary arrays)
_PIECE_BYTES = 8 * 2**20


def _field_counts_fast(body: bytes) -> tuple[IntArray, BoolArray] | None:
    """Fields per record and blank-record flags, from numpy passes over the bytes.

    Quote state is the running parity of ``"``; that equals the CSV grammar
    when every opening quote starts a field and every closing quote ends one
    (checked here). Files breaking that (stray quotes inside unquoted fields)
    return ``None`` and are counted by the ``csv`` module instead. The bytes
    are scanned in pieces of :data:`_PIECE_BYTES` (the parity carried from one
    to the next), so the temporary arrays stay a few times that size whatever
    the size of the input.
    """
    b = np.frombuffer(body, dtype=np.uint8)
    n = b.size
    terms: list[IntArray] = []
    commas: list[IntArray] = []
    inside_quotes = False
    for start in range(0, n, _PIECE_BYTES):
        end = min(start + _PIECE_BYTES, n)
        piece = b[start:end]
        m = piece.size
        nxt = np.empty(m, dtype=np.uint8)
        nxt[:-1] = piece[1:]
        nxt[-1] = b[end] if end < n else 0x2C
        quote = piece == 0x22
        if quote.any() or inside_quotes:
            after = np.logical_xor.accumulate(quote) ^ inside_quotes
            inside = np.empty(m, dtype=bool)
            inside[0] = inside_quotes
            inside[1:] = after[:-1]
            prev = np.empty(m, dtype=np.uint8)
            prev[0] = b[start - 1] if start else 0x2C
            prev[1:] = piece[:-1]
            structural = np.array([0x2C, 0x0A, 0x0D, 0x22], dtype=np.uint8)
            if not (np.isin(prev[quote & ~inside], structural).all()
                    and np.isin(nxt[quote & inside], structural).all()):
                return None
            inside_quotes = bool(after[-1])
            outside = ~inside
            newline = (piece == 0x0A) & outside
            cr = (piece == 0x0D) & outside
            comma = (piece == 0x2C) & outside
        else:
            newline = piece == 0x0A
            cr = piece == 0x0D
            comma = piece == 0x2C
        cr &= nxt != 0x0A  # a lone CR ends a record; CR LF ends it at the LF
        terms.append(np.flatnonzero(newline | cr) + start)
        commas.append(np.flatnonzero(comma) + start)
    if inside_quotes:
        return None  # an unterminated quote: let the parsers report it
    term = np.concatenate(terms) if terms else np.zeros(0, dtype=np.int64)
    starts = np.concatenate(([0], term + 1))
    ends = np.concatenate((term, [n]))
    if starts[-1] >= n:
        starts, ends = starts[:-1], ends[:-1]
    record = np.searchsorted(term, np.concatenate(commas) if commas
                             else np.zeros(0, dtype=np.int64))
    counts = np.bincount(record, minlength=starts.size).astype(np.int64) + 1
    length = ends - starts
    first = b[np.minimum(starts, n - 1)] if n else np.zeros(0, dtype=np.uint8)
    blank = (length == 0) | ((length == 1) & (first == 0x0D))
    return counts, blank


def _field_counts_csv(text: str, name: str) -> tuple[IntArray, BoolArray]:
    """Fields per record with the ``csv`` module (fallback for irregular quoting)."""
    try:
        counts = np.fromiter((len(r) for r in csv.reader(io.StringIO(text, newline=""))),
                             dtype=np.int64)
    except csv.Error as exc:
        raise InputFormatError(f"{name} cannot be parsed as CSV: {exc}", file=name) from None
    blank = counts == 0
    counts[blank] = 1
    return counts, blank


def _dedupe(names: list[str]) -> list[str]:
    """Unique column names: blanks become ``Unnamed: i``, repeats get ``.1``, ``.2``."""
    out: list[str] = []
    seen: dict[str, int] = {}
    for i, nm in enumerate(names):
        nm = nm or f"Unnamed: {i}"
        base = nm
        while nm in seen:
            seen[base] += 1
            nm = f"{base}.{seen[base]}"
        seen.setdefault(nm, 0)
        out.append(nm)
    return out


def reject_shape(rej: Rejector, table: CsvTable) -> None:
    m = len(table.header)
    wrong = table.nfields != m
    rej.add(wrong, "<row>",
            lambda k: join("row has ", table.nfields[k], f" fields, header has {m}"))
