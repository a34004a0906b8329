"""The police.uk street-level crime CSV, read exactly as downloaded.

police.uk publishes one CSV per force and month with a fixed header
(:data:`POLICEUK_COLUMNS`); locations are snapped to anonymous map points and
times are months. Any other header rejects the file.

References
----------
Home Office / data.police.uk, *About: street-level crime data* (location
anonymisation to snap points; monthly publication; outcome updates).
"""

from __future__ import annotations

from time import perf_counter
from typing import Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from spatial.errors import InputFormatError
from spatial.events import ATTR_PREFIX, layer_spec
from spatial.io.assemble import (
    arrow_text,
    assemble_events,
    attribute_dicts,
    derived_key_columns,
    dictionary_array,
)
from spatial.io.context import FileContext
from spatial.io.csvtable import read_csv_table, reject_shape, require_rows
from spatial.io.options import check_bounds, check_layer
from spatial.io.result import Bounds, ObjArray, ReadResult, Source, empty_result
from spatial.io.source import load_source
from spatial.io.times import parse_month
from spatial.io.validation import Coded, Rejector, check_wgs84, numeric_pair, reject_long
from spatial.limits import MAX_CATEGORY
from spatial.place.crs import UK_BOUNDS

#: The police.uk street-level crime download header, in order.
POLICEUK_COLUMNS: Final = (
    "Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude",
    "Location", "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context",
)
#: police.uk columns kept in ``attributes`` (empty values omitted).
POLICEUK_ATTRIBUTES: Final = (
    "Crime ID", "Reported by", "Falls within", "Location", "LSOA code", "LSOA name",
    "Last outcome category", "Context",
)
#: police.uk columns the idempotency hash covers (not the ones police.uk revises).
POLICEUK_KEY_COLUMNS: Final = tuple(c for c in POLICEUK_COLUMNS
                                    if c not in ("Last outcome category", "Context"))


def read_policeuk(source: Source, *, file_name: str | None = None, layer: str = "crime",
                  area_of_interest: Bounds | None = UK_BOUNDS,
                  context: FileContext | None = None,
                  attribute_columns: bool = False, text_as_arrow: bool = False) -> ReadResult:
    """Read a police.uk street-level crime CSV exactly as downloaded.

    Parameters
    ----------
    source : path, bytes or binary file-like
        The CSV (a UTF-8 byte-order mark is tolerated).
    file_name : str, optional
        Name used in rejections; default the path's base name.
    layer : str
        Layer name; its sensitivity comes from :func:`spatial.events.layer_spec`.
    area_of_interest : (minlon, minlat, maxlon, maxlat) or None
        Degrees; points outside are rejected. ``None`` accepts anywhere.
    context : FileContext, optional
        ``source`` is one chunk of a larger file (:mod:`spatial.io.stream`):
        row numbers, keys and the metric CRS continue the file's earlier
        chunks, and the whole-file checks wait for :meth:`FileContext.finish`.
    attribute_columns : bool
        Give the attributes as ``attr:<column>`` columns (``None`` where the
        cell is empty) instead of the ``attributes`` column of dicts; the
        dicts are :func:`spatial.events.attribute_dicts_of` of the frame.
    text_as_arrow : bool
        With ``attribute_columns``: the frame's text columns are the Arrow
        arrays of :attr:`ReadResult.arrow` (pandas Arrow dtype, nulls as
        ``pd.NA``) instead of ``str`` objects, for a writer that stores Arrow
        (the import); the values are the same.

    Returns
    -------
    ReadResult
        ``time`` is the first day of ``Month`` (precision ``month``),
        locations are ``snapped``, ``category`` is ``Crime type``,
        ``source`` is ``"police.uk"``; ``source_id`` is the Crime ID when
        present, else the derived key. Rows without coordinates are rejected
        (field ``Longitude``, or ``Latitude`` when only that is empty).

    Raises
    ------
    InputFormatError
        Empty or non-CSV input, any header other than
        :data:`POLICEUK_COLUMNS`, unparseable quoting, projected coordinates.
    """
    aoi = check_bounds(area_of_interest)
    check_layer(layer)
    if text_as_arrow and not attribute_columns:
        raise ValueError("text_as_arrow needs attribute_columns")
    t0 = perf_counter()
    data, name = load_source(source, file_name)
    table = read_csv_table(data, name, encoding="utf-8", what="a police.uk CSV",
                           row_offset=0 if context is None else context.row_offset,
                           continuation=context is not None and context.continuation)
    _check_policeuk_header(table.header, name)
    if context is None:
        require_rows(table, name)
    else:
        context.rows_read += len(table.rows)
        if not len(table.rows):
            return empty_result(name, layer, [ATTR_PREFIX + c for c in POLICEUK_ATTRIBUTES]
                                if attribute_columns else None)
    t1 = perf_counter()

    # Every column is used coded (distinct values + one code per row, see
    # spatial.io.validation.Coded): each rule runs once per distinct value.
    rej = Rejector(name, table.rows)
    reject_shape(rej, table)
    lon, lat = numeric_pair(rej, table.coded_column("Longitude"), table.coded_column("Latitude"),
                            "Longitude", "Latitude")
    check_wgs84(rej, lon, lat, lon_field="Longitude", lat_field="Latitude",
                pair_field="Longitude/Latitude", aoi=aoi,
                crs_hint="police.uk downloads are WGS84; to read this file anyway, read it as a "
                         "mapped CSV with easting=Longitude,northing=Latitude,crs=27700",
                context=context)
    times = parse_month(rej, table.coded_column("Month"), "Month")
    category = table.coded_column("Crime type")
    rej.add(category.map(lambda v: v == "").astype(bool), "Crime type", "Crime type is empty")
    reject_long(rej, category, "Crime type", MAX_CATEGORY)

    # Crime IDs are (nearly) all distinct: rules and hashes run on the cells as they are
    crime_id = table.plain_column("Crime ID")

    def column(name: str) -> Coded:
        return crime_id if name == "Crime ID" else table.coded_column(name)

    keys, keys_arrow = derived_key_columns([column(c) for c in POLICEUK_KEY_COLUMNS],
                                           None if context is None else context.key_counts,
                                           objects=not text_as_arrow)
    has_id = (crime_id.map(lambda v: v != "") if crime_id.arrow is None else
              pc.not_equal(crime_id.arrow, "").to_numpy(zero_copy_only=False).take(
                  crime_id.codes)).astype(bool)

    ok = rej.ok
    attributes: ObjArray | dict[str, ObjArray | pa.Array]
    arrow: dict[str, pa.Array] = {}
    sensitivity = layer_spec(layer).sensitivity
    if attribute_columns:
        crime_text = (crime_id.arrow if crime_id.arrow is not None else
                      dictionary_array(crime_id.codes, crime_id.values).cast(pa.string()))
        source_arrow = pc.if_else(pa.array(has_id), crime_text, keys_arrow)
        by_row = {ATTR_PREFIX + "Crime ID": crime_text} if crime_id.arrow is not None else {}
        arrow = arrow_text(
            ok, constants={"layer": layer, "time_precision": "month",
                           "location_precision": "snapped", "source": "police.uk",
                           "sensitivity": sensitivity},
            coded={"category": category,
                   **{ATTR_PREFIX + c: table.arrow_dictionary(c) or column(c)
                      for c in POLICEUK_ATTRIBUTES if ATTR_PREFIX + c not in by_row}},
            plain={"event_key": keys_arrow, "source_id": source_arrow, **by_row},
            empty_is_null=tuple(ATTR_PREFIX + c for c in POLICEUK_ATTRIBUTES))
    if text_as_arrow:  # the frame's text columns are the Arrow ones: no str per row
        attributes = {ATTR_PREFIX + c: arrow[ATTR_PREFIX + c] for c in POLICEUK_ATTRIBUTES}
        events = assemble_events(
            layer=arrow["layer"], ok=ok, keys=arrow["event_key"], source_id=arrow["source_id"],
            time=times, time_precision=arrow["time_precision"], lon=lon, lat=lat,
            location_precision=arrow["location_precision"], category=arrow["category"],
            source=arrow["source"], sensitivity=arrow["sensitivity"], attributes=attributes,
            context=context)
    else:
        if attribute_columns:  # "" -> None once per distinct value
            attributes = {ATTR_PREFIX + c: column(c).rows(ok, empty=None)
                          for c in POLICEUK_ATTRIBUTES}
        else:
            attributes = attribute_dicts(pd.DataFrame({c: pd.Series(column(c).rows(ok),
                                                                    dtype=object)
                                                       for c in POLICEUK_ATTRIBUTES}))
        events = assemble_events(
            layer=layer, ok=ok, keys=keys, source_id=np.where(has_id, crime_id.text(), keys),
            time=times, time_precision="month", lon=lon, lat=lat,
            location_precision="snapped", category=category.text(), source="police.uk",
            sensitivity=sensitivity, attributes=attributes, context=context)
    t2 = perf_counter()
    return ReadResult(file=name, layer=layer, rows_read=len(table.rows), events=events,
                      rejections=rej.rejections(), timings={"parse": t1 - t0, "validate": t2 - t1},
                      arrow=arrow)


def _check_policeuk_header(header: list[str], name: str) -> None:
    expected = list(POLICEUK_COLUMNS)
    if header == expected:
        return
    missing = [c for c in expected if c not in header]
    unexpected = [c for c in header if c not in expected]
    parts = []
    if missing:
        parts.append(f"missing columns: {', '.join(missing)}")
    if unexpected:
        parts.append(f"unexpected columns: {', '.join(unexpected)}")
    if not parts:
        parts.append("the columns are in a different order")
    raise InputFormatError(f"{name} is not a police.uk street-level crime CSV: {'; '.join(parts)}. "
                           f"Expected header: {','.join(expected)}", file=name, row=1)
