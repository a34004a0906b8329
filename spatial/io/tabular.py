"""Generic CSV files whose columns a :class:`~spatial.io.mapping.ColumnMapping` names."""

from __future__ import annotations

from collections.abc import Mapping
from time import perf_counter
from typing import Any

import pandas as pd

from spatial.events import ATTR_PREFIX
from spatial.geocode.locate import (
    MATCH_COLUMNS,
    Geocoder,
    attach_geocoding,
    geocode_rows,
    uses_geocoding,
)
from spatial.io.assemble import finish_mapped
from spatial.io.context import FileContext
from spatial.io.csvtable import read_csv_table, reject_shape, require_rows
from spatial.io.mapping import ColumnMapping, resolve_roles
from spatial.io.options import ReadOptions
from spatial.io.result import Bounds, ReadResult, Source, empty_result
from spatial.io.source import load_source
from spatial.io.validation import Coded, Coords, Rejector, column_text, numeric_pair
from spatial.place.crs import UK_BOUNDS, WGS84


def read_mapped_csv(source: Source, *, layer: str,
                    mapping: ColumnMapping | str | Mapping[str, Any],
                    file_name: str | None = None, source_name: str = "csv",
                    sensitivity: str | None = None, location_precision: str = "exact",
                    area_of_interest: Bounds | None = UK_BOUNDS, encoding: str = "utf-8",
                    na_values: tuple[str, ...] = (), timezone: str = "UTC",
                    category_default: str | None = None,
                    geocoder: Geocoder | None = None,
                    context: FileContext | None = None,
                    attribute_columns: bool = False) -> ReadResult:
    """Read a generic CSV whose columns are named by a :class:`ColumnMapping`.

    Parameters
    ----------
    source : path, bytes or binary file-like
        The CSV (comma-separated, ``"``-quoted, header on the first line).
    layer : str
        Layer name.
    mapping : ColumnMapping, str or dict
        Which columns mean what (see :meth:`spatial.io.mapping.ColumnMapping.parse`).
    file_name : str, optional
        Name used in rejections.
    source_name : str
        Value of the ``source`` column.
    sensitivity : {"open", "restricted", "health"} or None
        ``None``: the layer's default (:func:`spatial.events.layer_spec`).
    location_precision : {"exact", "snapped", "rounded"}
        How precise the locations are (Tempe EMS: ``rounded``).
    area_of_interest : (minlon, minlat, maxlon, maxlat) or None
        Degrees; ``None`` accepts anywhere.
    encoding : str
        Text encoding (``"cp1252"`` for some Excel exports).
    na_values : tuple of str
        Extra cell values meaning "empty" (e.g. ``("NA",)``); ``""`` always is.
    timezone : str
        IANA zone of instants written without a UTC offset (default UTC);
        they are converted to naive UTC. Dates and months are not shifted.
    category_default : str or None
        ``category`` for every row when no category column is mapped.
    geocoder : Geocoder or None
        The gazetteers for a mapping that names ``postcode``/``address``.
    context : FileContext, optional
        ``source`` is one chunk of a larger file (see
        :func:`spatial.io.policeuk.read_policeuk`).
    attribute_columns : bool
        Give the attributes as ``attr:<column>`` columns (``None`` where the
        cell is empty) instead of the ``attributes`` column of dicts.

    Returns
    -------
    ReadResult

    Raises
    ------
    InputFormatError
        Empty/non-CSV input, unparseable quoting, a mapping naming columns the
        file does not have (the message lists the columns it does have), no
        coordinate or time column, coordinates plainly in another CRS.
    ParameterError
        Bad option values.
    """
    mapping = ColumnMapping.parse(mapping)
    options = ReadOptions.make(layer, source_name, sensitivity, location_precision,
                               area_of_interest, timezone, category_default, attribute_columns)
    t0 = perf_counter()
    data, name = load_source(source, file_name)
    table = read_csv_table(data, name, encoding=encoding, what="a CSV file",
                           row_offset=0 if context is None else context.row_offset,
                           continuation=context is not None and context.continuation)
    roles = resolve_roles(mapping, table.header, name, geometry=False)
    if context is None:
        require_rows(table, name)
    else:
        context.rows_read += len(table.rows)
        if not len(table.rows):
            return empty_result(name, options.layer, _attribute_names(mapping, table.header, roles)
                                if attribute_columns else None)
    t1 = perf_counter()

    frame = table.frame
    keysrc: pd.DataFrame | list[Coded]
    if na_values:
        frame = frame.mask(frame.isin([v for v in na_values if v != ""]), "")
        keysrc = frame
    else:  # the table's coded columns: each distinct cell hashed once
        keysrc = [Coded(*table.coded(c)) for c in table.header]
    rej = Rejector(name, table.rows)
    reject_shape(rej, table)
    if uses_geocoding(roles):
        placed = geocode_rows(geocoder, rej, frame, roles)
        result = finish_mapped(name=name, frame=placed.with_columns(frame),
                               rows_read=len(table.rows), rej=rej, roles=roles,
                               mapping=mapping, coords=placed.coords, keysrc=keysrc,
                               options=options, t0=t0, t1=t1, text=True, context=context)
        return attach_geocoding(result, placed, rej)
    coords = _coords(rej, frame, roles, mapping)
    return finish_mapped(name=name, frame=frame, rows_read=len(table.rows), rej=rej,
                         roles=roles, mapping=mapping, coords=coords, keysrc=keysrc,
                         options=options, t0=t0, t1=t1, text=True, context=context)


def _attribute_names(mapping: ColumnMapping, header: list[str],
                     roles: dict[str, str]) -> list[str]:
    """The ``attr:<key>`` columns of a read of this file (see ``finish_mapped``)."""
    used = set(roles.values())
    columns = [*header, *MATCH_COLUMNS] if uses_geocoding(roles) else header
    keys = (list(mapping.attributes) if mapping.attributes is not None
            else [c for c in columns if c not in used])
    return [ATTR_PREFIX + c for c in keys]


def _coords(rej: Rejector, frame: pd.DataFrame, roles: dict[str, str],
            mapping: ColumnMapping) -> Coords:
    """The mapped coordinate columns as numbers, empty and non-numeric cells rejected."""
    if "lon" in roles:
        lon, lat = roles["lon"], roles["lat"]
        a, b = numeric_pair(rej, column_text(frame, lon), column_text(frame, lat), lon, lat)
        return Coords(a, b, lon, lat, f"{lon}/{lat}", WGS84,
                      f"map them as easting={lon},northing={lat},crs=27700 "
                      "or the CRS they are in")
    east, north = roles["easting"], roles["northing"]
    a, b = numeric_pair(rej, column_text(frame, east), column_text(frame, north), east, north)
    assert mapping.crs is not None  # guaranteed by ColumnMapping
    return Coords(a, b, east, north, f"{east}/{north}", mapping.crs,
                  "map the columns as lon=/lat= instead")
