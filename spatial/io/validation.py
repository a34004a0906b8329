"""Vectorised row validation: one rejection per rejected row.

:class:`Rejector` holds per-row state; every rule is an array operation that
rejects the rows it fails and were not rejected yet, so each rejected row
reports the *first* rule it fails, in the order row shape, coordinates,
time, category. Coordinates: all CRS and axis-order knowledge lives in
:mod:`spatial.place.crs`; projected input is converted to WGS84 there and then
checked like any lon/lat.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from spatial.errors import InputFormatError, ParameterError, Rejection
from spatial.io.context import FileContext
from spatial.io.result import BoolArray, Bounds, FloatArray, IntArray, ObjArray
from spatial.place import crs as _crs
from spatial.place.crs import WGS84


class Rejector:
    """Per-row rejection state: the first rule a row fails is the one reported."""

    def __init__(self, file: str, rows: IntArray) -> None:
        self.file = file
        self.rows = rows
        self.bad = np.zeros(len(rows), dtype=bool)
        self.field = np.empty(len(rows), dtype=object)
        self.reason = np.empty(len(rows), dtype=object)

    @property
    def ok(self) -> BoolArray:
        return ~self.bad

    def add(self, mask: BoolArray, field: str,
            reason: str | Callable[[BoolArray], ObjArray]) -> None:
        """Reject rows in ``mask`` not rejected yet; ``reason`` may build texts for them."""
        m = np.asarray(mask, dtype=bool) & ~self.bad
        if not m.any():
            return
        self.field[m] = field
        self.reason[m] = reason(m) if callable(reason) else reason
        self.bad |= m

    def rejections(self) -> list[Rejection]:
        idx = np.flatnonzero(self.bad)
        return [Rejection(self.file, r, f, s) for r, f, s in
                zip(self.rows[idx].tolist(), self.field[idx].tolist(),
                    self.reason[idx].tolist(), strict=True)]


def join(*parts: Any) -> ObjArray:
    """Element-wise string concatenation of scalars and equal-length arrays."""
    out: Any = ""
    for p in parts:
        if isinstance(p, str):
            out = out + p
        else:
            arr = np.asarray(p)
            if arr.dtype.kind == "f":
                text = np.char.mod("%.10g", arr).astype(object)
            else:
                text = arr.astype(str).astype(object)
            out = out + text
    return np.asarray(out, dtype=object)


def quoted(values: ObjArray) -> ObjArray:
    """``'value'`` with long values cut, for reasons."""
    text = pd.Series(values, dtype=object).astype(str).str.slice(0, 60)
    return np.asarray("'" + text.to_numpy(dtype=object) + "'", dtype=object)


def column_text(frame: pd.DataFrame, name: str) -> ObjArray:
    return np.asarray(frame[name].to_numpy(dtype=object), dtype=object)


@dataclass(frozen=True)
class Coded:
    """A text column as its distinct values and one code per row (``values[codes]``);
    a column of mostly distinct cells (an id) may instead give every row's cell as
    a value (codes ``0..n-1``), the rules' answers being the same.

    Rules that depend on the cell only (parse a number, a month; measure a
    length) run once per distinct value and are spread to the rows with
    ``take``: the same answer as per row, for a fraction of the work when the
    column repeats itself (police.uk: one month per file, a few thousand snap
    points).
    """

    codes: IntArray
    given_values: ObjArray | None
    arrow: pa.StringArray | None = None  # ``values`` as Arrow text, when the reader has it

    @property
    def values(self) -> ObjArray:
        """The distinct values (``str``); made from :attr:`arrow` on first use when only
        that was given (a column the import stores as Arrow never needs them)."""
        if self.given_values is None:
            assert self.arrow is not None
            object.__setattr__(self, "given_values", np.asarray(
                self.arrow.to_numpy(zero_copy_only=False), dtype=object))
        assert self.given_values is not None
        return self.given_values

    @classmethod
    def of(cls, cells: ObjArray | Coded) -> Coded:
        """``cells`` coded (already coded: as it is)."""
        if isinstance(cells, Coded):
            return cells
        codes, values = pd.factorize(np.asarray(cells, dtype=object), sort=False)
        return cls(codes.astype(np.int64, copy=False), np.asarray(values, dtype=object))

    def __len__(self) -> int:
        return len(self.codes)

    def text(self) -> ObjArray:
        """Every row's cell (the distinct ``str`` objects, not copies)."""
        return np.asarray(self.values.take(self.codes), dtype=object)

    def rows(self, mask: BoolArray, *, empty: object = "") -> ObjArray:
        """The cells of the rows in ``mask``; ``empty`` in place of "" (e.g. ``None``)."""
        values = self.values
        if empty != "":
            values = values.copy()
            values[values == ""] = empty
        return np.asarray(values.take(self.codes[mask]), dtype=object)

    def map(self, per_value: Callable[[ObjArray], np.ndarray]) -> np.ndarray:
        """``per_value`` applied to the distinct values, spread to the rows."""
        return np.asarray(per_value(self.values)).take(self.codes)


def numeric_pair(rej: Rejector, raw_a: ObjArray | Coded, raw_b: ObjArray | Coded, a_field: str,
                 b_field: str) -> tuple[FloatArray, FloatArray]:
    """Two text coordinate columns as floats; empty and non-numeric cells rejected."""
    ca, cb = Coded.of(raw_a), Coded.of(raw_b)
    a_empty, b_empty = _empty(ca), _empty(cb)
    rej.add(a_empty & b_empty, a_field, f"missing coordinates: {a_field} and {b_field} are empty")
    rej.add(a_empty, a_field, f"missing coordinates: {a_field} is empty")
    rej.add(b_empty, b_field, f"missing coordinates: {b_field} is empty")
    a = (ca.map(_to_float) if ca.arrow is None else _arrow_float(ca)).astype(np.float64)
    b = (cb.map(_to_float) if cb.arrow is None else _arrow_float(cb)).astype(np.float64)
    rej.add(~np.isfinite(a), a_field, lambda m: join(f"{a_field} ", quoted(ca.rows(m)),
                                                     " is not a number"))
    rej.add(~np.isfinite(b), b_field, lambda m: join(f"{b_field} ", quoted(cb.rows(m)),
                                                     " is not a number"))
    return a, b


#: an integer literal (a column of only these pandas reads as integers: "-0" is +0.0)
_INTEGER = re.compile(r"[+-]?[0-9]+")


def _empty(column: Coded) -> BoolArray:
    """Rows whose cell is ""; from the Arrow values when the column has them (its
    distinct values need not become ``str``)."""
    if column.arrow is None:
        return np.asarray(column.map(lambda v: v == ""), dtype=bool)
    per_value = pc.equal(column.arrow, "").to_numpy(zero_copy_only=False)
    return np.asarray(per_value, dtype=bool).take(column.codes)


def _arrow_float(column: Coded) -> FloatArray:
    """:func:`_to_float` of a column's cells, parsed by Arrow from its distinct values as
    Arrow text, with no per-value Python; any value Arrow does not read (spaces around
    a number, "1,5", ...) sends them all to :func:`_to_float`. Both parsers round
    correctly; pandas reads "-0" as the integer 0 (+0.0) when every value is an
    integer literal, and as -0.0 otherwise, and so does this."""
    text = column.arrow
    assert text is not None
    try:
        parsed = pc.cast(pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text),
                         pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return column.map(_to_float)
    out = np.array(parsed.to_numpy(zero_copy_only=False), dtype=np.float64)
    negative_zero = (out == 0.0) & np.signbit(out)
    # pandas gives integers, so +0.0 for "-0", only when every value is an integer literal
    if negative_zero.any() and all(_INTEGER.fullmatch(str(v)) for v in column.values):
        out[negative_zero] = 0.0
    out[~np.isfinite(out)] = np.nan
    return out.take(column.codes)


def _to_float(raw: ObjArray) -> FloatArray:
    values = pd.to_numeric(pd.Series(raw, dtype=object), errors="coerce")
    out = np.array(values.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
    out[~np.isfinite(out)] = np.nan
    return out


@dataclass
class Coords:
    """Coordinates as parsed (floats, NaN where already rejected) and how to read them."""

    a: FloatArray
    b: FloatArray
    a_field: str
    b_field: str
    pair_field: str
    epsg: int
    crs_hint: str


def locate(rej: Rejector, c: Coords, aoi: Bounds | None,
           context: FileContext | None = None) -> tuple[FloatArray, FloatArray]:
    """WGS84 lon/lat of ``c``, every invalid row rejected."""
    if c.epsg == WGS84:
        check_wgs84(rej, c.a, c.b, lon_field=c.a_field, lat_field=c.b_field,
                    pair_field=c.pair_field, aoi=aoi, crs_hint=c.crs_hint, context=context)
        return c.a, c.b
    return _check_projected(rej, c, aoi, context)


def _wrong_crs(error: InputFormatError, context: FileContext | None, suspect: bool) -> None:
    """Raise ``error`` now (a whole file), or leave it to the end of the file (a chunk)."""
    if context is None:
        if suspect:
            raise error
    elif suspect:
        context.suspect_crs(error)
    else:
        context.clear_crs()


def check_wgs84(rej: Rejector, lon: FloatArray, lat: FloatArray, *, lon_field: str,
                lat_field: str, pair_field: str, aoi: Bounds | None, crs_hint: str,
                declared: bool = True,
                shown: Callable[[BoolArray], ObjArray] | None = None,
                context: FileContext | None = None) -> None:
    """Range, null island, swapped axes and area of interest, in that order.

    ``declared``: the values were given as WGS84 (not converted from another
    CRS), so a file whose every row is out of range is in the wrong CRS (fatal;
    for a file read in chunks, ``context``, decided at the end of the file).
    ``shown`` describes the point in reasons (default ``(lon, lat)``).
    """
    finite = np.isfinite(lon) & np.isfinite(lat) & rej.ok
    outside = (np.abs(lon) > 180.0) | (np.abs(lat) > 90.0)
    if declared and finite.any():
        first = int(np.flatnonzero(finite)[0])
        _wrong_crs(InputFormatError(
            f"{rej.file}: coordinates look like projected metres (e.g. EPSG:27700), not WGS84 "
            f"degrees: every row is outside longitude -180..180 / latitude -90..90 (row "
            f"{int(rej.rows[first])}: {lon_field} {lon[first]:.10g}, "
            f"{lat_field} {lat[first]:.10g}); "
            f"declare the CRS with crs=... ({crs_hint})",
            file=rej.file, field=pair_field, row=int(rej.rows[first])),
            context, bool(outside[finite].all()))
    describe = shown or (lambda m: join("(", lon[m], ", ", lat[m], ")"))
    hint = (np.abs(lat) <= 180.0) & (np.abs(lon) <= 90.0)
    rej.add(np.abs(lat) > 90.0, lat_field, lambda m: join(
        f"{lat_field} ", lat[m], " is out of range (latitude must be between -90 and 90)",
        np.where(hint[m], "; latitude and longitude swapped?", "")))
    rej.add(np.abs(lon) > 180.0, lon_field, lambda m: join(
        f"{lon_field} ", lon[m], " is out of range (longitude must be between -180 and 180)"))
    rej.add((lon == 0.0) & (lat == 0.0), pair_field,
            "coordinates are (0, 0), 'null island': a missing location written as zeros")
    if aoi is None:
        return
    minlon, minlat, maxlon, maxlat = aoi
    where = f"(longitude {minlon:g}..{maxlon:g}, latitude {minlat:g}..{maxlat:g})"
    rej.add(_crs.looks_swapped(lon, lat, aoi), pair_field, lambda m: join(
        "latitude and longitude look swapped: (lon, lat) ", describe(m),
        f" is outside the area of interest {where} but would be inside it with the axes exchanged"))
    rej.add(~_crs.in_bounds(lon, lat, aoi), pair_field, lambda m: join(
        "(lon, lat) ", describe(m), f" is outside the area of interest {where}"))


def _check_projected(rej: Rejector, c: Coords, aoi: Bounds | None,
                     context: FileContext | None = None) -> tuple[FloatArray, FloatArray]:
    """Projected coordinates to WGS84 via :mod:`spatial.place.crs`, then the WGS84 checks."""
    try:
        source_crs = _crs.transformer(c.epsg, WGS84).source_crs
    except Exception as exc:  # pyproj.exceptions.CRSError and friends
        raise ParameterError("crs", f"EPSG:{c.epsg} is not a usable CRS ({exc})") from None
    e, n = c.a, c.b
    finite = np.isfinite(e) & np.isfinite(n) & rej.ok
    if source_crs is not None and source_crs.is_projected:
        degrees = (np.abs(e) <= 180.0) & (np.abs(n) <= 90.0) & ~((e == 0.0) & (n == 0.0))
        if finite.any():
            first = int(np.flatnonzero(finite)[0])
            _wrong_crs(InputFormatError(
                f"{rej.file}: coordinates look like WGS84 degrees, not metres of EPSG:{c.epsg} "
                f"(row {int(rej.rows[first])}: {c.a_field} {e[first]:.10g}, {c.b_field} "
                f"{n[first]:.10g}); {c.crs_hint}", file=rej.file, field=c.pair_field,
                row=int(rej.rows[first])), context, bool(degrees[finite].all()))
        rej.add((e == 0.0) & (n == 0.0), c.pair_field,
                "coordinates are (0, 0): a missing location written as zeros")
        rej.add(degrees, c.pair_field, lambda m: join(
            "(", e[m], ", ", n[m], f") looks like degrees, not metres of EPSG:{c.epsg}"))
    lon = np.full(e.shape, np.nan)
    lat = np.full(e.shape, np.nan)
    todo = finite & rej.ok
    if todo.any():
        lon[todo], lat[todo] = _crs.to_wgs84(e[todo], n[todo], c.epsg)
    rej.add(todo & ~(np.isfinite(lon) & np.isfinite(lat)), c.pair_field, lambda m: join(
        "(", e[m], ", ", n[m], f") is not a valid position in EPSG:{c.epsg}"))
    check_wgs84(rej, lon, lat, lon_field=c.pair_field, lat_field=c.pair_field,
                pair_field=c.pair_field, aoi=aoi, crs_hint=c.crs_hint, declared=False,
                shown=lambda m: join("(", lon[m], ", ", lat[m], f") from EPSG:{c.epsg} (",
                                     e[m], ", ", n[m], ")"))
    return lon, lat


def reject_long(rej: Rejector, values: ObjArray | Coded, field: str, limit: int) -> None:
    """Reject rows whose ``field`` is longer than ``limit`` characters."""
    if isinstance(values, Coded):
        lengths = values.map(lambda v: np.fromiter(map(len, map(str, v)), dtype=np.int64,
                                                   count=len(v))).astype(np.int64)
    else:
        lengths = np.fromiter(map(len, map(str, values)), dtype=np.int64, count=len(values))
    rej.add(lengths > limit, field, lambda m: np.array(
        [f"{field} is longer than {limit} characters ({n})" for n in lengths[m]], dtype=object))
