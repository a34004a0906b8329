"""Event readers: police.uk CSV, mapped CSV, GeoJSON and GeoPackage.

Every reader returns a :class:`~spatial.io.result.ReadResult`: an *events
frame* with exactly :data:`spatial.events.EVENT_COLUMNS` (accepted rows) and
one :class:`~spatial.errors.Rejection` per rejected row. A whole input that is
unusable (empty, not the format it claims, wrong header, a mapping that names
missing columns, coordinates that are plainly in the wrong CRS) raises
:class:`~spatial.errors.InputFormatError` and nothing is returned.

Design
------
* Pure functions: bytes in, frame out. No database, no web.
* Vectorised. CSV text is tokenised by ``pyarrow.csv`` (regular files) or
  the pandas C parser (any other, :mod:`spatial.io.csvtable`); every
  validation rule and the idempotency key are array operations, run once per
  distinct cell value where the rule depends on the cell only. (GeoJSON features are
  Python objects once ``json`` has parsed them, so turning them into arrays
  is a comprehension; validation after that is vectorised too.)
* One rejection per rejected row: the first rule it fails, in the order
  row shape, coordinates, time, category.
* Coordinates: all CRS and axis-order knowledge lives in :mod:`spatial.place.crs`.
  Projected input is converted to WGS84 there and then checked like any
  lon/lat; ``x``/``y`` are metres in one CRS per file chosen by
  :func:`spatial.place.crs.metric_epsg` over the accepted rows.
* ``row`` in a rejection is the row number a spreadsheet shows (header = 1,
  first data row = 2; a quoted field spanning lines is still one row); for
  GeoJSON and GeoPackage it is the 1-based feature number.
* The readers: :mod:`spatial.io.policeuk`, :mod:`spatial.io.tabular` (mapped
  CSV), :mod:`spatial.io.geojson`, :mod:`spatial.io.geopackage`; keys and the
  events frame: :mod:`spatial.io.assemble`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from spatial.errors import ParameterError
from spatial.io.geojson import read_geojson
from spatial.io.geopackage import read_geopackage
from spatial.io.mapping import ColumnMapping
from spatial.io.policeuk import POLICEUK_COLUMNS, read_policeuk
from spatial.io.result import ReadResult, Source
from spatial.io.source import BOM, load_source
from spatial.io.tabular import read_mapped_csv

#: Formats :func:`read_events` dispatches on (``"auto"`` sniffs one of them).
FORMATS: Final = ("policeuk", "csv", "geojson", "gpkg")


def read_events(source: Source, *, fmt: str, layer: str,
                mapping: ColumnMapping | str | Mapping[str, Any] | None = None,
                **kw: Any) -> ReadResult:
    """Dispatch to the reader of ``fmt``.

    Parameters
    ----------
    fmt : {"policeuk", "csv", "geojson", "gpkg", "auto"}
        ``"auto"`` sniffs the bytes (:func:`detect_format`).
    layer : str
        Layer name.
    mapping : ColumnMapping, str or dict, optional
        Required for ``csv`` unless the columns are auto-detected; not
        allowed for ``policeuk``.
    **kw
        Keyword options of the chosen reader. ``attribute_columns`` (police.uk
        and CSV: ``attr:<key>`` columns instead of dicts) is accepted for
        every format; GeoJSON and GeoPackage always give dicts, so read any
        frame's attributes with :func:`spatial.events.attribute_dicts_of`.
    """
    fmt_n = str(fmt).strip().lower()
    fmt_n = {"police.uk": "policeuk", "police_uk": "policeuk", "geopackage": "gpkg",
             "json": "geojson"}.get(fmt_n, fmt_n)
    if fmt_n == "auto":
        data, name = load_source(source, kw.pop("file_name", None))
        fmt_n = detect_format(data, name)
        source, kw["file_name"] = data, name
    if fmt_n == "policeuk":
        if mapping is not None:
            raise ParameterError("mapping", "police.uk files have a fixed header; "
                                            "do not pass a mapping")
        return read_policeuk(source, layer=layer, **kw)
    if fmt_n == "csv":
        return read_mapped_csv(source, layer=layer, mapping=mapping or ColumnMapping(), **kw)
    if fmt_n in ("geojson", "gpkg"):
        kw.pop("attribute_columns", None)
    if fmt_n == "geojson":
        return read_geojson(source, layer=layer, mapping=mapping, **kw)
    if fmt_n == "gpkg":
        return read_geopackage(source, layer=layer, mapping=mapping, **kw)
    raise ParameterError("fmt", f"unknown format {fmt!r}; use one of {', '.join(FORMATS)} or auto")


def detect_format(data: bytes, name: str = "") -> str:
    """Guess the format of ``data``: ``gpkg``, ``geojson``, ``policeuk`` or ``csv``."""
    if data.startswith(b"SQLite format 3\x00"):
        return "gpkg"
    body = data[3:] if data.startswith(BOM) else data
    head = body[:4096].lstrip()
    if head.startswith((b"{", b"[")) or name.lower().endswith((".geojson", ".json")):
        return "geojson"
    first = head.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8", "replace")
    if [c.strip() for c in first.split(",")] == list(POLICEUK_COLUMNS):
        return "policeuk"
    return "csv"
