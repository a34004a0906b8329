"""Gazetteer files in their published layouts: ONSPD, Code-Point Open, address extracts.

* **ONS Postcode Directory** (ONSPD) CSV: a header row; the columns used are
  found by name (``pcds``, else ``pcd``/``pcd2``; ``oseast1m``,
  ``osnrth1m``; ``doterm``; ``osgrdind``), any others are ignored (ONS,
  *ONSPD User Guide*, "Record layout"). ``osgrdind`` 9 means "no grid
  reference" (a postcode without a position): such rows are rejected.
* **Code-Point Open** CSV: no header; columns by position (OS, *Code-Point
  Open user guide*, "Data structure"): 1 ``Postcode`` (7-character, e.g.
  ``S9  3XX``), 2 ``Positional_quality_indicator`` (90: no coordinates),
  3 ``Eastings``, 4 ``Northings``, then codes remap does not use. Code-Point
  Open lists live postcodes only (no termination dates).
* **Address extract** (AddressBase / LLPG export): a header row, columns
  ``UPRN``, ``ADDRESS``, ``X_COORDINATE``, ``Y_COORDINATE`` by default, or as
  a mapping names them (``uprn=...,address=...,easting=...,northing=...``).

Coordinates are British National Grid (EPSG:27700) metres; rows outside
Great Britain's grid (0..700,000 E, 0..1,300,000 N), unparseable or
duplicated are rejected, one :class:`~spatial.errors.Rejection` each, naming
file, row (header = 1) and field.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from spatial.errors import InputFormatError, ParameterError, Rejection
from spatial.geocode.postcode import normalise_postcodes
from spatial.io.result import Source
from spatial.io.source import load_source

KINDS: Final = ("onspd", "codepoint", "addresses")
ADDRESS_DEFAULTS: Final = {"uprn": "UPRN", "address": "ADDRESS", "easting": "X_COORDINATE",
                           "northing": "Y_COORDINATE"}
_BNG_MAX: Final = (700_000.0, 1_300_000.0)


@dataclass
class GazetteerRead:
    """Rows read from a gazetteer file: ``frame`` holds the accepted ones.

    Postcode kinds: ``postcode`` (normalised), ``easting``, ``northing``,
    ``terminated`` (``""`` when live). Addresses: ``uprn``, ``text``,
    ``easting``, ``northing``.
    """

    kind: str
    file: str
    rows_read: int
    frame: pd.DataFrame
    rejections: list[Rejection]


def parse_address_map(spec: str | Mapping[str, str] | None) -> dict[str, str]:
    """``uprn=UPRN,address=ADDRESS,easting=X,northing=Y`` -> a dict (defaults filled)."""
    out = dict(ADDRESS_DEFAULTS)
    if spec is None or spec == "":
        return out
    if isinstance(spec, str):
        parts = [p.strip() for p in spec.split(",") if p.strip()]
        bad = [p for p in parts if "=" not in p]
        if bad:
            raise ParameterError("map", f"{bad[0]!r} is not key=value (e.g. uprn=UPRN,"
                                        "address=ADDRESS,easting=X,northing=Y)")
        items = dict(p.split("=", 1) for p in parts)
    else:
        items = dict(spec)
    for key, value in items.items():
        key = key.strip().lower()
        if key not in out:
            raise ParameterError("map", f"unknown key {key!r}; known keys: "
                                        f"{', '.join(ADDRESS_DEFAULTS)}")
        if not str(value).strip():
            raise ParameterError("map", f"{key} has an empty value")
        out[key] = str(value).strip()
    return out


def read_gazetteer(source: Source, kind: str, *, file_name: str | None = None,
                   address_map: str | Mapping[str, str] | None = None) -> GazetteerRead:
    """Read a gazetteer file of ``kind`` (``onspd``, ``codepoint``, ``addresses``).

    Raises
    ------
    InputFormatError
        Not a CSV, or required columns missing (the message lists those present).
    ParameterError
        Unknown ``kind`` or a bad ``address_map``.
    """
    if kind not in KINDS:
        raise ParameterError("kind", f"{kind!r} is not one of {', '.join(KINDS)}")
    if kind != "addresses" and address_map:
        raise ParameterError("map", f"--map is for address extracts; {kind} columns are "
                                    "fixed by their published layout")
    data, name = load_source(source, file_name)
    header = None if kind == "codepoint" else 0
    try:
        table = pd.read_csv(io.BytesIO(data), header=header, dtype=str, keep_default_na=False,
                            encoding="utf-8-sig", skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputFormatError(f"{name}: not a readable CSV file ({exc})", file=name) from None
    if kind == "codepoint":
        return _codepoint(table, name)
    if kind == "onspd":
        return _onspd(table, name)
    return _addresses(table, name, parse_address_map(address_map))


def _pick(columns: list[str], names: tuple[str, ...], name: str, what: str) -> str:
    lowered = {c.strip().lower(): c for c in columns}
    for n in names:
        if n in lowered:
            return lowered[n]
    raise InputFormatError(f"{name}: no {what} column (looked for {', '.join(names)}); "
                           f"columns present: {', '.join(map(str, columns))[:500]}",
                           file=name, field=names[0])


class _Rows:
    """First-failure rejection per row (like spatial.io.validation.Rejector)."""

    def __init__(self, name: str, n: int) -> None:
        self.name = name
        self.bad = np.zeros(n, dtype=bool)
        self.field = np.empty(n, dtype=object)
        self.reason = np.empty(n, dtype=object)

    def add(self, mask: np.ndarray, field: str, reason: np.ndarray | str) -> None:
        m = np.asarray(mask, dtype=bool) & ~self.bad
        self.field[m] = field
        self.reason[m] = reason[m] if isinstance(reason, np.ndarray) else reason
        self.bad |= m

    def rejections(self, first_row: int) -> list[Rejection]:
        idx = np.flatnonzero(self.bad)
        return [Rejection(self.name, int(i) + first_row, f, r)
                for i, f, r in zip(idx.tolist(), self.field[idx].tolist(),
                                   self.reason[idx].tolist(), strict=True)]


def _coordinates(rows: _Rows, e_text: pd.Series, n_text: pd.Series, e_field: str,
                 n_field: str) -> tuple[np.ndarray, np.ndarray]:
    e = pd.to_numeric(e_text.str.strip(), errors="coerce").to_numpy(dtype=np.float64)
    n = pd.to_numeric(n_text.str.strip(), errors="coerce").to_numpy(dtype=np.float64)
    rows.add(~np.isfinite(e), e_field, np.asarray(
        f"{e_field} " + e_text.map(repr) + " is not a number", dtype=object))
    rows.add(~np.isfinite(n), n_field, np.asarray(
        f"{n_field} " + n_text.map(repr) + " is not a number", dtype=object))
    outside = ~((e >= 0) & (e <= _BNG_MAX[0]) & (n >= 0) & (n <= _BNG_MAX[1]))
    rows.add(outside, f"{e_field}/{n_field}",
             "not a British National Grid position (EPSG:27700: easting 0..700000, "
             "northing 0..1300000)")
    return e, n


def _postcode_rows(rows: _Rows, raw: pd.Series, field: str) -> np.ndarray:
    norm = normalise_postcodes(raw.to_numpy(dtype=object))
    code = norm["code"].to_numpy(dtype=object)
    ok = (norm["kind"] == "full").to_numpy() & ~norm["corrected"].to_numpy(dtype=bool)
    rows.add(~ok, field, np.asarray(f"{field} " + raw.map(repr) + " is not a full UK postcode",
                                    dtype=object))
    dup = pd.Series(code, dtype=object).where(ok).duplicated(keep="first").to_numpy() & ok
    rows.add(dup, field, np.asarray(f"{field} " + pd.Series(code, dtype=object)
                                    + " appears more than once (first kept)", dtype=object))
    return code


def _onspd(table: pd.DataFrame, name: str) -> GazetteerRead:
    cols = [str(c) for c in table.columns]
    pc = _pick(cols, ("pcds", "pcd2", "pcd"), name, "postcode")
    east = _pick(cols, ("oseast1m",), name, "easting")
    north = _pick(cols, ("osnrth1m",), name, "northing")
    doterm = next((c for c in cols if c.strip().lower() == "doterm"), None)
    grdind = next((c for c in cols if c.strip().lower() == "osgrdind"), None)
    rows = _Rows(name, len(table))
    code = _postcode_rows(rows, table[pc], pc)
    if grdind is not None:
        rows.add((table[grdind].str.strip() == "9").to_numpy(), grdind,
                 f"{grdind} 9: the postcode has no grid reference")
    e, n = _coordinates(rows, table[east], table[north], east, north)
    term = (table[doterm].str.strip().to_numpy(dtype=object) if doterm is not None
            else np.full(len(table), "", dtype=object))
    ok = ~rows.bad
    frame = pd.DataFrame({"postcode": code[ok], "easting": e[ok], "northing": n[ok],
                          "terminated": term[ok]})
    return GazetteerRead("onspd", name, len(table), frame, rows.rejections(first_row=2))


def _codepoint(table: pd.DataFrame, name: str) -> GazetteerRead:
    if table.shape[1] < 4:
        raise InputFormatError(f"{name}: Code-Point Open rows have at least 4 columns "
                               "(Postcode, Positional_quality_indicator, Eastings, "
                               f"Northings, ...); this file has {table.shape[1]}", file=name)
    first = str(table.iloc[0, 0]).strip().lower() if len(table) else ""
    if first in ("postcode", "pc", "pcd"):
        raise InputFormatError(f"{name}: Code-Point Open CSVs have no header row; this one "
                               "starts with a header (use kind onspd, or remove it)", file=name,
                               row=1)
    rows = _Rows(name, len(table))
    code = _postcode_rows(rows, table[0], "Postcode")
    rows.add((table[1].str.strip() == "90").to_numpy(), "Positional_quality_indicator",
             "Positional_quality_indicator 90: the postcode has no coordinates")
    e, n = _coordinates(rows, table[2], table[3], "Eastings", "Northings")
    ok = ~rows.bad
    frame = pd.DataFrame({"postcode": code[ok], "easting": e[ok], "northing": n[ok],
                          "terminated": np.full(int(ok.sum()), "", dtype=object)})
    return GazetteerRead("codepoint", name, len(table), frame, rows.rejections(first_row=1))


def _addresses(table: pd.DataFrame, name: str, names: dict[str, str]) -> GazetteerRead:
    cols = [str(c) for c in table.columns]
    missing = [f"{k}={v!r}" for k, v in names.items() if v not in cols]
    if missing:
        raise InputFormatError(f"{name}: the address extract has no column(s) "
                               f"{', '.join(missing)}; columns present: {', '.join(cols)}; "
                               "name them with --map uprn=...,address=...,easting=...,"
                               "northing=...", file=name, field=missing[0].split("=")[0])
    rows = _Rows(name, len(table))
    uprn = table[names["uprn"]].str.strip()
    text = table[names["address"]].str.strip()
    rows.add((uprn == "").to_numpy(), names["uprn"], f"{names['uprn']} is empty")
    rows.add((text == "").to_numpy(), names["address"], f"{names['address']} is empty")
    e, n = _coordinates(rows, table[names["easting"]], table[names["northing"]],
                        names["easting"], names["northing"])
    dup = uprn.where(~rows.bad).duplicated(keep="first").to_numpy() & ~rows.bad
    rows.add(dup, names["uprn"], np.asarray(f"{names['uprn']} " + uprn
                                            + " appears more than once (first kept)",
                                            dtype=object))
    ok = ~rows.bad
    frame = pd.DataFrame({"uprn": uprn.to_numpy(dtype=object)[ok],
                          "text": text.to_numpy(dtype=object)[ok], "easting": e[ok],
                          "northing": n[ok]})
    return GazetteerRead("addresses", name, len(table), frame, rows.rejections(first_row=2))
