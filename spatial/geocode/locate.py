"""The geocoding step of the mapped-CSV reader: rows placed by postcode and/or address.

:func:`geocode_rows` is called by :func:`spatial.io.tabular.read_mapped_csv`
when the mapping names a ``postcode`` or ``address`` column (instead of
coordinates). With both, the address is tried first and the postcode places
the rows the address did not. Rows placed by neither are rejected naming
their file, row, field and reason; slip-corrected and terminated postcodes
are accepted with a warning naming the row (see
:mod:`spatial.geocode.postcode`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from spatial.errors import ParameterError, Rejection
from spatial.geocode.address import MARGIN, THRESHOLD, AddressIndex, match_addresses
from spatial.geocode.postcode import PostcodeDirectory, geocode_postcodes
from spatial.io.result import IntArray, ObjArray, ReadResult
from spatial.io.validation import Coords, Rejector, column_text

#: Columns added to a geocoded row (kept among its attributes).
MATCH_COLUMNS = ("geocode_match", "geocode_score", "geocode_flag", "geocode_gazetteer")
BNG = 27700


@dataclass(frozen=True)
class Geocoder:
    """The gazetteers a read geocodes against (either may be missing).

    ``postcodes_label`` / ``addresses_label`` name the gazetteer versions
    (e.g. ``"onspd South Yorkshire v2"``); they are kept with every event.
    """

    postcodes: PostcodeDirectory | None = None
    addresses: AddressIndex | None = None
    postcodes_label: str = ""
    addresses_label: str = ""
    threshold: float = THRESHOLD
    margin: float = MARGIN


@dataclass
class GeocodedRows:
    """Coordinates for the reader, the extra attribute columns, precision and warnings."""

    coords: Coords
    columns: dict[str, ObjArray]
    precision: ObjArray
    warning_pos: IntArray
    warning_field: str
    warning_text: ObjArray

    def with_columns(self, frame: pd.DataFrame) -> pd.DataFrame:
        return frame.assign(**{k: v for k, v in self.columns.items()})

    def warnings(self, rej: Rejector) -> list[Rejection]:
        """Warnings of the rows finally accepted (a row rejected later warns of nothing)."""
        keep = self.warning_pos[rej.ok[self.warning_pos]]
        texts = self.warning_text[rej.ok[self.warning_pos]]
        return [Rejection(rej.file, r, self.warning_field, t)
                for r, t in zip(rej.rows[keep].tolist(), texts.tolist(), strict=True)]


def uses_geocoding(roles: dict[str, str]) -> bool:
    return "postcode" in roles or "address" in roles


def geocode_rows(geocoder: Geocoder | None, rej: Rejector, frame: pd.DataFrame,
                 roles: dict[str, str]) -> GeocodedRows:
    """Place the rows of ``frame`` by their mapped postcode/address columns.

    Rows already rejected (``rej``) are left alone; rows placed by neither
    column are rejected with the reason of the last one tried.

    Raises
    ------
    ParameterError
        A column is mapped but no gazetteer of its kind has been imported.
    """
    n = len(frame)
    geo = geocoder or Geocoder()
    e = np.full(n, np.nan)
    no = np.full(n, np.nan)
    precision = np.full(n, None, dtype=object)
    match = np.full(n, "", dtype=object)
    score = np.full(n, "", dtype=object)
    flag = np.full(n, "", dtype=object)
    source = np.full(n, "", dtype=object)
    reason = np.full(n, None, dtype=object)
    reason_field = np.full(n, None, dtype=object)
    warning_pos = np.empty(0, dtype=np.int64)
    warning_text = np.empty(0, dtype=object)
    warning_field = ""
    todo = rej.ok.copy()
    if "address" in roles:
        col = roles["address"]
        if geo.addresses is None:
            raise ParameterError("map", f"address={col} needs an address gazetteer: import "
                                        "one with `remap gazetteer import addresses FILE`")
        idx = np.flatnonzero(todo)
        m = match_addresses(column_text(frame, col)[idx], geo.addresses,
                            threshold=geo.threshold, margin=geo.margin, field=col)
        hit = idx[m.found]
        e[hit], no[hit] = m.easting[m.found], m.northing[m.found]
        precision[hit] = "address"
        match[hit] = m.matched[m.found]
        score[hit] = np.char.mod("%.3f", m.score[m.found]).astype(object)
        flag[hit] = "uprn " + m.uprn[m.found].astype(str)
        source[hit] = geo.addresses_label
        miss = idx[~m.found]
        reason[miss], reason_field[miss] = m.reason[~m.found], col
        todo[hit] = False
    if "postcode" in roles:
        col = roles["postcode"]
        if geo.postcodes is None:
            raise ParameterError("map", f"postcode={col} needs a postcode directory: import "
                                        "one with `remap gazetteer import onspd|codepoint FILE`")
        idx = np.flatnonzero(todo)
        p = geocode_postcodes(column_text(frame, col)[idx], geo.postcodes, field=col)
        hit = idx[p.found]
        e[hit], no[hit] = p.easting[p.found], p.northing[p.found]
        precision[hit] = p.precision[p.found]
        match[hit] = p.matched[p.found]
        flag[hit] = p.flag[p.found]
        source[hit] = geo.postcodes_label
        miss = idx[~p.found]
        reason[miss], reason_field[miss] = p.reason[~p.found], col
        texts = p.warnings(col)
        warn = np.flatnonzero(texts != "")
        warning_pos, warning_text, warning_field = idx[warn], texts[warn], col
        todo[hit] = False
    failed = todo & (reason != None)  # noqa: E711 (element-wise)
    for fld in pd.unique(reason_field[failed]).tolist():
        rej.add(failed & (reason_field == fld), str(fld), lambda mk: reason[mk])
    label = "/".join(roles[k] for k in ("address", "postcode") if k in roles)
    out = GeocodedRows(
        coords=Coords(e, no, label, label, label, BNG, "the gazetteer's positions are "
                      "EPSG:27700"),
        columns=dict(zip(MATCH_COLUMNS, (match, score, flag, source), strict=True)),
        precision=precision, warning_pos=warning_pos, warning_field=warning_field,
        warning_text=warning_text)
    return out


def attach_geocoding(result: ReadResult, placed: GeocodedRows, rej: Rejector) -> ReadResult:
    """``result`` with each accepted event's ``geocode_precision`` and the warnings."""
    ok = rej.ok
    result.events["geocode_precision"] = pd.Series(placed.precision[ok], dtype=object)
    result.warnings = placed.warnings(rej)
    return result
