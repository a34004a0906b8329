"""Building the events frame: idempotency keys, attributes, metric x/y.

The accepted rows of a read become an *events frame* with exactly
:data:`spatial.events.EVENT_COLUMNS` (or, when the reader is asked for
``attribute_columns``, those but ``attributes`` followed by one
``attr:<key>`` column per attribute); ``x``/``y`` are metres in one CRS per
file chosen by :func:`spatial.place.crs.metric_epsg` over the accepted rows.

Idempotency key
---------------
``event_key`` is stable across re-imports of the same file and distinct for
every row of it, including rows identical in every field: two 64-bit
``pandas.util.hash_pandas_object`` hashes with different keys over the row's
raw text (128 bits, 32 hex digits), then ``-{n}`` where ``n`` is the row's
occurrence index among rows with the same hash in the file. For police.uk
the hash leaves out ``Last outcome category`` and ``Context``, the two fields
police.uk updates when it re-publishes a month, so a re-downloaded month keeps
its keys (the ``-{n}`` index still separates rows that differ only there).
Where the source has an id column the key is the id, plus ``-{n}`` for its
second and later occurrences in the file.
"""

from __future__ import annotations

import binascii
from time import perf_counter
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from spatial.events import ATTR_PREFIX, EVENT_COLUMNS, dicts_of_cells, empty_events_frame
from spatial.io.context import FileContext, Occurrences, hash_text
from spatial.io.mapping import ColumnMapping, resolve_roles
from spatial.io.options import ReadOptions
from spatial.io.result import BoolArray, FloatArray, IntArray, ObjArray, ReadResult
from spatial.io.times import parse_times
from spatial.io.validation import Coded, Coords, Rejector, column_text, join, locate, reject_long
from spatial.limits import MAX_CATEGORY
from spatial.place import crs as _crs
from spatial.place.crs import WGS84
from spatial.place.placement import distinct_points

_HASH_KEYS: Final = ("remap-event-key1", "remap-event-key2")  # 16 characters each
_JSON_TYPES: Final = (str, int, float, bool, list, dict)


def as_text(values: pd.Series) -> ObjArray:
    """Cells of any dtype as text; missing values become ""."""
    missing = values.isna().to_numpy(dtype=bool)
    if pd.api.types.is_float_dtype(values.dtype):
        arr = values.to_numpy(dtype=np.float64, na_value=np.nan)
        out = np.asarray(values.astype(str).to_numpy(dtype=object), dtype=object)
        integral = np.isfinite(arr) & (np.abs(arr) < 2.0**53)
        integral[integral] = arr[integral] == np.round(arr[integral])
        out[integral] = arr[integral].astype(np.int64).astype(str).astype(object)
    else:
        out = np.asarray(values.astype(str).to_numpy(dtype=object), dtype=object)
    out[missing] = ""
    return out


def derived_keys(frame: pd.DataFrame, counts: Occurrences | None = None) -> ObjArray:
    """Content-derived idempotency keys: 32 hex digits of two 64-bit row hashes + ``-{n}``.

    ``n`` numbers the rows with the same hash in file order, so rows that are
    identical in every field still get distinct, reproducible keys. ``counts``
    (a file read in chunks) holds the hashes of the file's earlier chunks:
    ``n`` continues from them, and this chunk's hashes are added.
    """
    # Each column is factorised once and hashed as a Categorical: pandas hashes a
    # text column by factorising it and hashing its distinct values, so the hashes
    # are bit for bit those of the text columns, and the factorising (most of
    # the cost) is not done again for the second key.
    coded = pd.DataFrame({i: _categorical(frame.iloc[:, i]) for i in range(frame.shape[1])})
    h1 = pd.util.hash_pandas_object(coded, index=False, hash_key=_HASH_KEYS[0]).to_numpy(np.uint64)
    h2 = pd.util.hash_pandas_object(coded, index=False, hash_key=_HASH_KEYS[1]).to_numpy(np.uint64)
    return _keys_of(h1, h2, counts)[0]


def derived_keys_coded(columns: list[Coded], counts: Occurrences | None = None) -> ObjArray:
    """:func:`derived_keys` of text columns already coded (the Arrow reader's columns).

    The same keys bit for bit: pandas hashes a Categorical column by hashing
    its categories and taking them by code
    (``pandas.Categorical._hash_pandas_object``), and a coded column is that
    Categorical; the columns' hashes are combined by pandas'
    ``combine_hash_arrays`` as in ``hash_pandas_object``. Only the distinct
    values are hashed.
    """
    return derived_key_columns(columns, counts)[0]


def derived_key_columns(columns: list[Coded], counts: Occurrences | None = None, *,
                        objects: bool = True) -> tuple[ObjArray, pa.Array]:
    """:func:`derived_keys_coded`, as ``str`` objects and as an Arrow string array (made
    from the same bytes, with no ``str`` per row: for writers that store Arrow);
    ``objects=False``: the Arrow array only (the first is then empty)."""
    from pandas.core.util.hashing import combine_hash_arrays  # type: ignore[attr-defined]

    if not columns:
        raise ValueError("derived_keys_coded needs at least one column")
    n = len(columns[0])

    # pandas hashes a str by its UTF-8 bytes: values given as bytes (made once by Arrow
    # from its own text) hash the same, without an encode per value and key
    hashed = [c.values if c.arrow is None else
              np.asarray(c.arrow.cast(pa.binary()).to_numpy(zero_copy_only=False), dtype=object)
              for c in columns]

    def row_hashes(key: str) -> npt.NDArray[np.uint64]:
        per_column = (pd.util.hash_array(values, hash_key=key, categorize=False)
                      .take(c.codes) for values, c in zip(hashed, columns, strict=True))
        return np.asarray(combine_hash_arrays(per_column, len(columns), n), dtype=np.uint64)

    return _keys_of(row_hashes(_HASH_KEYS[0]), row_hashes(_HASH_KEYS[1]), counts,
                    objects=objects)


def _keys_of(h1: np.ndarray, h2: np.ndarray, counts: Occurrences | None, *,
             objects: bool = True) -> tuple[ObjArray, pa.Array]:
    """Keys from the two row hashes: 32 hex digits, ``-`` and the occurrence index; as
    ``str`` objects (unless ``objects`` is false: empty) and as an Arrow string array."""
    n = len(h1)
    pair = np.empty((n, 2), dtype=">u8")
    pair[:, 0] = h1
    pair[:, 1] = h2
    text = np.empty((n, 35), dtype=np.uint8)
    # lower-case hex of the 16 big-endian bytes (binascii: 5x numpy's nibble look-ups)
    text[:, :32] = np.frombuffer(binascii.hexlify(pair.tobytes()), dtype=np.uint8).reshape(n, 32)
    text[:, 32] = ord("-")
    text[:, 33] = ord("0")
    text[:, 34] = ord("\n")
    index = _occurrence(h1, h2)
    if counts is not None:
        index = index + counts.seen(h1, h2)
        counts.add(h1, h2)
    keys = np.empty(n if objects else 0, dtype=object)
    again = np.flatnonzero(index != 0)
    if objects:
        # one ASCII decode and a split make the n strings (faster than numpy's U -> object)
        keys[:] = text.tobytes().decode("ascii").split("\n")[:n]
    if objects and again.size:  # "<digest>-0" for nearly every row: only repeats spelt out
        digest = text[again, :32].copy().view("S32").reshape(again.size).astype("U32")
        keys[again] = digest.astype(object) + "-" + index[again].astype(str).astype(object)
    # the Arrow array from the same bytes: "<digest>-0" is the 34 bytes before a line
    # end; a repeat joins its digest and its index in Arrow
    offsets = np.arange(0, 34 * n + 1, 34, dtype=np.int32)
    arrow = pa.StringArray.from_buffers(n, pa.py_buffer(offsets),
                                        pa.py_buffer(np.ascontiguousarray(text[:, :34])))
    if again.size:
        digests = pa.StringArray.from_buffers(
            n, pa.py_buffer(np.arange(0, 32 * n + 1, 32, dtype=np.int32)),
            pa.py_buffer(np.ascontiguousarray(text[:, :32])))
        arrow = pc.if_else(pa.array(index != 0), pc.binary_join_element_wise(
            digests, pa.array(index).cast(pa.string()), "-"), arrow)
    return np.asarray(keys, dtype=object), arrow


def dictionary_array(codes: npt.NDArray[np.integer], values: ObjArray) -> pa.DictionaryArray:
    """``values[codes]`` as an Arrow dictionary of text (a ``None`` value: a null row; Parquet
    takes nulls in the indices, not in the dictionary)."""
    missing = pd.isna(values)
    if missing.any():
        values = np.where(missing, "", values).astype(object)
    indices = np.asarray(codes, dtype=np.int32)
    return pa.DictionaryArray.from_arrays(
        pa.array(indices, mask=missing[indices] if missing.any() else None),
        pa.array(values, type=pa.string()))


def arrow_text(ok: BoolArray, *, constants: dict[str, str] | None = None,
               coded: dict[str, Coded | pa.DictionaryArray] | None = None,
               plain: dict[str, pa.Array] | None = None,
               empty_is_null: tuple[str, ...] = ()) -> dict[str, pa.Array]:
    """Arrow forms of text columns of an events frame (its rows: the ``ok`` rows), made
    from what the reader holds without a ``str`` per row: a ``constants`` column is a
    one-value dictionary; a ``coded`` one (every row of the read: a :class:`Coded`,
    or Arrow's dictionary encoding of the column) a dictionary of its distinct values,
    or plain text when most of its values are distinct, ``""`` as null where the
    column is in ``empty_is_null`` (as :meth:`Coded.rows` with ``empty=None``); a
    ``plain`` one (every row of the read) filtered, ``""`` as null likewise. See
    :attr:`ReadResult.arrow`."""
    count = int(ok.sum())
    keep = pa.array(ok)
    out: dict[str, pa.Array] = {}
    for name, value in (constants or {}).items():
        out[name] = pa.DictionaryArray.from_arrays(
            pa.array(np.zeros(count, dtype=np.int32)), pa.array([value], type=pa.string()))
    for name, column in (coded or {}).items():
        encoded = (column if isinstance(column, pa.DictionaryArray)
                   else dictionary_array(column.codes, column.values)).filter(keep)
        if name in empty_is_null:
            blank = pc.index(encoded.dictionary, "").as_py()
            if blank >= 0:
                indices = pc.if_else(pc.equal(encoded.indices, blank),
                                     pa.scalar(None, encoded.indices.type), encoded.indices)
                encoded = pa.DictionaryArray.from_arrays(indices, encoded.dictionary)
        # a dictionary of mostly distinct values (ids) only adds its indices
        out[name] = (encoded.cast(pa.string()) if 2 * len(encoded.dictionary) > count
                     else encoded)
    for name, array in (plain or {}).items():
        kept = array.filter(keep)
        out[name] = (pc.if_else(pc.equal(kept, ""), pa.scalar(None, kept.type), kept)
                     if name in empty_is_null else kept)
    return out


def _occurrence(h1: np.ndarray, h2: np.ndarray) -> IntArray:
    """How many earlier rows have the same ``(h1, h2)``; counted only where ``h1`` repeats."""
    index = np.zeros(len(h1), dtype=np.int64)
    # a sort (numpy releases the GIL for it) finds the few repeated h1 values
    ordered = np.sort(h1)
    again = ordered[1:][ordered[1:] == ordered[:-1]]
    repeated = np.flatnonzero(np.isin(h1, again)) if again.size else again[:0]
    if repeated.size:
        a, a_values = pd.factorize(h1[repeated], sort=False)
        b, b_values = pd.factorize(h2[repeated], sort=False)
        group, _ = pd.factorize(a.astype(np.int64) * max(len(b_values), 1) + b, sort=False)
        order = np.argsort(group, kind="stable")  # rows of each group, in file order
        sorted_group = group[order]
        starts = np.flatnonzero(np.r_[True, sorted_group[1:] != sorted_group[:-1]])
        sizes = np.diff(np.r_[starts, len(order)])
        rank = np.arange(len(order), dtype=np.int64) - np.repeat(starts, sizes)
        index[repeated[order]] = rank
    return index


def _categorical(values: pd.Series) -> pd.Series:
    """A text column as a Categorical of its distinct values (hashes the same, see above);
    other dtypes as they are."""
    if isinstance(values.dtype, pd.CategoricalDtype) or not (
            values.dtype == object or pd.api.types.is_string_dtype(values.dtype)):
        return values.reset_index(drop=True)
    codes, uniques = pd.factorize(values, sort=False)
    if (codes < 0).any():  # missing cells: leave pandas its own handling
        return values.reset_index(drop=True)
    return pd.Series(pd.Categorical.from_codes(codes, categories=pd.Index(uniques, dtype=object)))


def _id_keys(ids: ObjArray, derived: ObjArray, context: FileContext | None = None) -> ObjArray:
    """Keys from a source id column: the id, ``id-{n}`` for its n-th repeat; derived when empty.

    ``context`` (a file read in chunks): ``n`` and the clash rule take the
    file's earlier chunks into account.
    """
    has = ids != ""
    occurrence = (pd.Series(ids, dtype=object).groupby(ids, sort=False).cumcount()
                  .to_numpy(dtype=np.int64, copy=True))
    if context is not None and has.any():
        i1, i2 = hash_text(ids[has])
        occurrence[has] += context.id_counts.seen(i1, i2)
        context.id_counts.add(i1, i2)
    keys = np.where(has, ids, derived).astype(object)
    again = has & (occurrence > 0)
    keys[again] = join(ids[again], "-", occurrence[again])
    clash = pd.Series(keys, dtype=object).duplicated(keep="first").to_numpy()
    if context is not None:
        k1, k2 = hash_text(keys)
        clash = clash | (context.keys_given.seen(k1, k2) > 0)
        context.keys_given.add(k1, k2)
    if clash.any():  # an id that literally reads like "<other id>-1": fall back to content
        keys[clash] = join(keys[clash], "#", derived[clash])
    return np.asarray(keys, dtype=object)


def attribute_dicts(frame: pd.DataFrame) -> ObjArray:
    """One dict per row of ``frame``'s non-empty cells (JSON-serialisable values).

    Rows are grouped by which of their cells are empty (police.uk has a
    handful of such patterns); each group's dicts are then built by C-level
    ``map``/``zip`` over the group's cells, with no Python-level loop over rows.
    """
    columns = [str(c) for c in frame.columns]
    cells = frame.to_numpy(dtype=object)
    return dicts_of_cells(cells, ~(pd.isna(cells) | (cells == "")), columns)


def attribute_columns(columns: dict[str, ObjArray]) -> dict[str, ObjArray]:
    """Attribute cells as ``attr:<key>`` columns: the value, or ``None`` where it is empty.

    The columnar form of :func:`attribute_dicts` (see
    :func:`spatial.events.attribute_dicts_of`): a cell that is missing or ""
    is ``None`` (absent from the row's dict), any other keeps its value.
    """
    out = {}
    for key, cells in columns.items():
        values = np.array(cells, dtype=object)  # a copy: the caller's array is not changed
        absent = pd.isna(values) | (values == "")
        values[absent] = None
        out[ATTR_PREFIX + str(key)] = values
    return out


def finish_mapped(*, name: str, frame: pd.DataFrame, rows_read: int, rej: Rejector,
                  roles: dict[str, str], mapping: ColumnMapping, coords: Coords,
                  keysrc: pd.DataFrame | list[Coded], options: ReadOptions, t0: float, t1: float,
                  text: bool, context: FileContext | None = None) -> ReadResult:
    """Shared tail of the mapped readers: locate, time, category, keys, attributes.

    ``keysrc``: the cells the content key hashes, as a frame or as coded
    columns (the same keys either way).

    ``context``: the file is read in chunks and this is one of them.
    """
    def cells(col: str) -> ObjArray:
        return column_text(frame, col) if text else as_text(frame[col])

    lon, lat = locate(rej, coords, options.aoi, context)
    times, precision = parse_times(rej, cells(roles["time"]), roles["time"],
                                   mapping.time_format, mapping.time_precision, options.timezone)
    n = len(frame)
    if "category" in roles:
        category = cells(roles["category"])
        rej.add(category == "", roles["category"], f"{roles['category']} is empty")
        reject_long(rej, category, roles["category"], MAX_CATEGORY)
    else:
        category = np.full(n, options.category_default, dtype=object)
    counts = None if context is None else context.key_counts
    derived = (derived_keys_coded(keysrc, counts) if isinstance(keysrc, list)
               else derived_keys(keysrc, counts))
    if "id" in roles:
        ids = cells(roles["id"])
        keys = _id_keys(ids, derived, context)
        source_id = np.where(ids != "", ids, keys).astype(object)
    else:
        keys = source_id = derived
    used = set(roles.values())
    attr_cols = (list(mapping.attributes) if mapping.attributes is not None
                 else [c for c in frame.columns if c not in used])
    ok = rej.ok
    attr_frame = frame.loc[ok, attr_cols]
    if not text:
        attr_frame = _jsonable(attr_frame)
    attributes: ObjArray | dict[str, ObjArray]
    if options.attribute_columns:
        attributes = attribute_columns({c: attr_frame[c].to_numpy(dtype=object)
                                        for c in attr_frame.columns})
    else:
        attributes = attribute_dicts(attr_frame)
    events = assemble_events(
        layer=options.layer, ok=ok, keys=keys, source_id=source_id, time=times,
        time_precision=precision, lon=lon, lat=lat,
        location_precision=options.location_precision, category=category,
        source=options.source_name, sensitivity=options.sensitivity,
        attributes=attributes,
        native=None if coords.epsg == WGS84 else (coords.a, coords.b, coords.epsg),
        context=context,
    )
    t2 = perf_counter()
    return ReadResult(file=name, layer=options.layer, rows_read=rows_read, events=events,
                      rejections=rej.rejections(), timings={"parse": t1 - t0, "validate": t2 - t1})


def finish_geometry_points(*, name: str, frame: pd.DataFrame, x: FloatArray, y: FloatArray,
                           problem: ObjArray, epsg: int, crs_hint: str, keysrc: pd.DataFrame,
                           mapping: ColumnMapping, options: ReadOptions,
                           t0: float) -> ReadResult:
    """Shared tail of the readers whose points come from a geometry (GeoJSON, GeoPackage).

    ``x``/``y`` are the points in ``epsg``; ``problem`` holds a reason for each
    row whose geometry is not a usable point (None where it is); ``crs_hint``
    says how to fix a CRS that looks wrong.
    """
    roles = resolve_roles(mapping, list(frame.columns), name, geometry=True)
    t1 = perf_counter()
    rej = Rejector(name, np.arange(1, len(frame) + 1, dtype=np.int64))
    rej.add(problem != None, "geometry", lambda m: problem[m])  # noqa: E711 (element-wise)
    coords = Coords(x, y, "geometry", "geometry", "geometry", epsg, crs_hint)
    return finish_mapped(name=name, frame=frame, rows_read=len(frame), rej=rej, roles=roles,
                         mapping=mapping, coords=coords, keysrc=keysrc, options=options,
                         t0=t0, t1=t1, text=False)


def _jsonable(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns converted so that ``to_dict`` yields JSON-serialisable values."""
    out = {}
    for c in frame.columns:
        s = frame[c]
        if pd.api.types.is_datetime64_any_dtype(s.dtype):
            s = s.map(lambda v: v.isoformat(), na_action="ignore").astype(object)
        elif s.dtype == object:
            bad = s.map(lambda v: not (v is None or isinstance(v, _JSON_TYPES)))
            if bad.any():
                s = s.where(~bad, s.astype(str))
        out[c] = s
    return pd.DataFrame(out, index=frame.index)


def _to_metric_distinct(lon: FloatArray, lat: FloatArray, epsg: int) -> tuple[FloatArray, FloatArray]:
    """:func:`spatial.place.crs.to_metric` of each distinct point once, spread to the rows.

    Points are told apart by their bits (``-0.0`` is not ``0.0``), and a
    projection is a function of the point, so every row gets the very bits it
    would get alone; police.uk snaps locations to a few thousand map points per
    file, which are projected once each.
    """
    first, inverse = distinct_points(lon, lat)
    x, y = _crs.to_metric(np.ascontiguousarray(lon[first]), np.ascontiguousarray(lat[first]),
                          epsg)
    return np.asarray(x, dtype=np.float64).take(inverse), np.asarray(y, dtype=np.float64).take(inverse)


def assemble_events(*, layer: str | pa.Array, ok: BoolArray, keys: ObjArray | pa.Array,
                    source_id: ObjArray | pa.Array,
                    time: npt.NDArray[np.datetime64],
                    time_precision: str | ObjArray | pa.Array,
                    lon: FloatArray, lat: FloatArray, location_precision: str | pa.Array,
                    category: ObjArray | pa.Array, source: str | pa.Array,
                    sensitivity: str | pa.Array,
                    attributes: ObjArray | dict[str, ObjArray] | dict[str, ObjArray | pa.Array],
                    native: tuple[FloatArray, FloatArray, int] | None = None,
                    context: FileContext | None = None) -> pd.DataFrame:
    """The events frame of the accepted rows, x/y in one metric CRS for the file.

    A text value given as an Arrow array holds the accepted rows' values already and
    becomes a column of the pandas Arrow dtype (see ``text_as_arrow`` of
    :func:`spatial.io.policeuk.read_policeuk`).

    ``attributes`` (accepted rows only): one dict per row (the frame's
    ``attributes`` column), or ``attr:<key>`` columns
    (:func:`attribute_columns`), which replace the ``attributes`` column.

    ``native`` is the input's own projected ``(x, y, epsg)``: when the file's
    metric CRS is that one, its values are kept instead of a round trip.
    ``context`` (a file read in chunks): the metric CRS is chosen by the
    file's first chunk with accepted rows and kept for the rest of the file
    (one CRS per file, as whole; the median of a first chunk of up to
    ``REMAP_IMPORT_CHUNK_ROWS`` rows instead of the whole file's).
    """
    count = int(ok.sum())
    if count == 0:
        empty = empty_events_frame()
        empty["time"] = empty["time"].astype("datetime64[ns]")  # pandas 3 infers [s] when empty
        if isinstance(attributes, dict):
            empty = empty.drop(columns="attributes").assign(
                **{k: pd.Series(dtype=object) for k in attributes})
        return empty
    lon_ok = np.ascontiguousarray(lon[ok], dtype=np.float64)
    lat_ok = np.ascontiguousarray(lat[ok], dtype=np.float64)
    if context is not None and context.metric_epsg is not None:
        epsg = context.metric_epsg
    else:
        epsg = _crs.metric_epsg(lon_ok, lat_ok)
        if context is not None:
            context.metric_epsg = epsg
    if native is not None and native[2] == epsg:
        x, y = native[0][ok].astype(np.float64), native[1][ok].astype(np.float64)
    else:
        x, y = _to_metric_distinct(lon_ok, lat_ok, epsg)

    # The text columns are written straight into one 2-D object block (what
    # pandas would consolidate them into, with a copy), then the typed columns
    # are inserted at their places: the frame of EVENT_COLUMNS, in order.
    texts: dict[str, Any] = {
        "layer": layer, "event_key": keys, "source_id": source_id,
        "time_precision": time_precision, "location_precision": location_precision,
        "category": category, "source": source, "sensitivity": sensitivity,
    }
    if isinstance(attributes, dict):
        texts.update(attributes)
        given = set(attributes)
    else:
        texts["attributes"] = attributes
        given = {"attributes"}
    order = list(texts)
    # Arrow text (the accepted rows' values): a column of the pandas Arrow dtype, no copy
    arrow = {k: v for k, v in texts.items() if isinstance(v, pa.Array)}
    texts = {k: v for k, v in texts.items() if k not in arrow}
    block = np.empty((len(texts), count), dtype=object)
    for row, (name, values) in zip(block, texts.items(), strict=True):
        if isinstance(values, str) or values is None:
            row.fill(values)
        elif name in given:  # attributes: already the accepted rows
            row[:] = values
        else:
            np.compress(ok, values, out=row)
    typed = {
        "time": np.asarray(time[ok], dtype="datetime64[ns]"),
        "lon": lon_ok, "lat": lat_ok,
        "x": np.asarray(x, dtype=np.float64), "y": np.asarray(y, dtype=np.float64),
        "crs_epsg": np.full(count, epsg, dtype=np.int64),
    }
    if not texts:  # every text column Arrow: the frame in one piece, no object block
        final = list(order)
        for name in typed:
            final.insert(list(EVENT_COLUMNS).index(name), name)
        return pd.DataFrame({c: typed[c] if c in typed else pd.arrays.ArrowExtensionArray(arrow[c])
                             for c in final}, copy=False)
    frame = pd.DataFrame(block.T, columns=list(texts), dtype=object, copy=False)
    if arrow:
        for name, values in arrow.items():
            frame[name] = pd.arrays.ArrowExtensionArray(values)
        frame = frame[order]
    for name, values in typed.items():
        frame.insert(list(EVENT_COLUMNS).index(name), name, values)
    return frame
