"""Event readers (:mod:`spatial.io`): validation, keys, the malformed corpus, real data."""

from __future__ import annotations

import csv
import io
import json
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, Point

from spatial.errors import InputFormatError, ParameterError, Rejection
from spatial.events import EVENT_COLUMNS
from spatial.io.geojson import read_geojson
from spatial.io.geopackage import read_geopackage
from spatial.io.mapping import ColumnMapping
from spatial.io.policeuk import POLICEUK_COLUMNS, read_policeuk
from spatial.io.read import detect_format, read_events
from spatial.io.result import ReadResult
from spatial.io.tabular import read_mapped_csv
from spatial.place.crs import BNG, UK_BOUNDS

MALFORMED = Path(__file__).resolve().parents[2] / "fixtures" / "malformed"
HEADER = ",".join(POLICEUK_COLUMNS) + "\n"
CID = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9"
KEY_RE = re.compile(r"^[0-9a-f]{32}-\d+$")


def puk_row(lon: str = "-1.377638", lat: str = "53.098647", cid: str = "", month: str = "2018-10",
            ctype: str = "Anti-social behaviour", outcome: str = "",
            loc: str = "On or near Mansfield Road") -> str:
    """One police.uk street-level row (Derbyshire, as downloaded)."""
    return (f"{cid},{month},Derbyshire Constabulary,Derbyshire Constabulary,{lon},{lat},{loc},"
            f"E01019400,Amber Valley 001A,{ctype},{outcome},\n")


def puk_bytes(*rows: str) -> bytes:
    return (HEADER + "".join(rows)).encode("utf-8")


def triples(result: ReadResult) -> list[tuple[int, str, str]]:
    return [(r.row, r.field, r.reason) for r in result.rejections]


def assert_schema(events: pd.DataFrame) -> None:
    assert list(events.columns) == list(EVENT_COLUMNS)
    assert events["time"].dtype == np.dtype("datetime64[ns]")
    for col in ("lon", "lat", "x", "y"):
        assert events[col].dtype == np.float64
    assert events["crs_epsg"].dtype == np.int64
    assert all(isinstance(a, dict) for a in events["attributes"])
    json.dumps(list(events["attributes"]))  # JSON-serialisable
    assert events["event_key"].is_unique
    assert (events.index == pd.RangeIndex(len(events))).all()


# --------------------------------------------------------------------------- malformed corpus

ROW_CASES: dict[str, tuple[int, list[tuple[int, str, str]]]] = {
    "truncated.csv": (2, [(4, "<row>", "row has 6 fields, header has 12")]),
    "extra_fields.csv": (2, [(3, "<row>", "row has 13 fields, header has 12")]),
    "swapped.csv": (2, [(3, "Longitude/Latitude",
                         "latitude and longitude look swapped: (lon, lat) (53.098647, -1.377638) "
                         "is outside the area of interest (longitude -8.75..1.8, latitude "
                         "49.8..60.9) but would be inside it with the axes exchanged")]),
    "sea.csv": (2, [(4, "Longitude/Latitude",
                     "(lon, lat) (-15, 45) is outside the area of interest "
                     "(longitude -8.75..1.8, latitude 49.8..60.9)")]),
    "non_numeric.csv": (1, [(2, "Longitude", "Longitude 'abc' is not a number"),
                            (3, "Latitude", "Latitude '53.1N' is not a number")]),
    "out_of_range.csv": (1, [
        (2, "Latitude", "Latitude 123.4 is out of range (latitude must be between -90 and 90); "
                        "latitude and longitude swapped?"),
        (3, "Longitude", "Longitude -200 is out of range (longitude must be between -180 and 180)"),
    ]),
    "null_island.csv": (1, [
        (3, "Longitude/Latitude",
         "coordinates are (0, 0), 'null island': a missing location written as zeros"),
        (4, "Longitude/Latitude",
         "coordinates are (0, 0), 'null island': a missing location written as zeros"),
    ]),
    "missing_coords.csv": (1, [
        (2, "Longitude", "missing coordinates: Longitude and Latitude are empty"),
        (3, "Latitude", "missing coordinates: Latitude is empty"),
        (4, "Longitude", "missing coordinates: Longitude is empty"),
    ]),
    "bad_month.csv": (1, [
        (2, "Month", "Month '2018-13' is not a month (expected YYYY-MM)"),
        (3, "Month", "Month is empty"),
        (4, "Month", "Month 'Oct 2018' is not a month (expected YYYY-MM)"),
    ]),
}


@pytest.mark.parametrize("name", sorted(ROW_CASES))
def test_corpus_row_rejections(name: str) -> None:
    accepted, expected = ROW_CASES[name]
    result = read_policeuk(MALFORMED / name)
    assert triples(result) == expected
    assert all(r.file == name for r in result.rejections)
    assert result.rows_accepted == accepted
    assert result.rows_accepted + result.rows_rejected == result.rows_read
    assert_schema(result.events)


FATAL_CASES: dict[str, tuple[str, int | None]] = {
    "empty.csv": ("empty.csv is empty", None),
    "wrong_header.csv": ("missing columns: Crime type, Last outcome category, Context; "
                         "unexpected columns: Outcome type", 1),
    "garbage.bin": ("garbage.bin is binary data, not a police.uk CSV", None),
    "page.csv": ("is an HTML/XML page, not a police.uk CSV", None),
    "truncated_in_quotes.csv": ("the quoted field starting on row 4 is never closed", 4),
    "wrong_crs.csv": ("coordinates look like projected metres (e.g. EPSG:27700)", 2),
}


@pytest.mark.parametrize("name", sorted(FATAL_CASES))
def test_corpus_fatal(name: str) -> None:
    message, row = FATAL_CASES[name]
    with pytest.raises(InputFormatError) as info:
        read_policeuk(MALFORMED / name)
    assert message in info.value.message
    assert info.value.file == name
    assert info.value.row == row


def test_wrong_crs_message_says_how_to_declare_it() -> None:
    with pytest.raises(InputFormatError) as info:
        read_mapped_csv(MALFORMED / "wrong_crs_mapped.csv", layer="crime",
                        mapping="id=ref,time=date,lon=lon,lat=lat,category=offence")
    msg = info.value.message
    assert "coordinates look like projected metres (e.g. EPSG:27700)" in msg
    assert "declare the CRS with crs=" in msg
    assert "row 2: lon 436113, lat 351027" in msg
    assert "easting=lon,northing=lat,crs=27700" in msg
    # ... and declaring it works:
    ok = read_mapped_csv(MALFORMED / "wrong_crs_mapped.csv", layer="crime",
                         mapping="id=ref,time=date,easting=lon,northing=lat,crs=27700,"
                                 "category=offence")
    assert ok.rows_accepted == 2 and ok.rejections == []
    assert ok.events["lat"].between(53.0, 53.2).all()


def test_valid_oddities_bom_blank_lines_crlf_quotes() -> None:
    result = read_policeuk(MALFORMED / "bom_blank_lines.csv")
    assert result.rejections == [] and result.rows_read == 3
    assert result.events["attributes"][1]["Location"] == 'On or near "The Crescent", Belper'
    assert result.events["source_id"][1] == CID
    # the blank line (row 3) is not a row; the rows after it keep spreadsheet numbers
    data = (MALFORMED / "bom_blank_lines.csv").read_bytes().replace(b"-1.377638", b"", 1)
    assert triples(read_policeuk(data)) == [
        (2, "Longitude", "missing coordinates: Longitude is empty")]
    data = (MALFORMED / "bom_blank_lines.csv").read_bytes()
    last = data.rindex(b"-1.377638")
    data = data[:last] + b"x" + data[last + 1:]
    assert triples(read_policeuk(data))[0][:2] == (5, "Longitude")


def test_stray_quote_in_unquoted_field_uses_fallback_and_keeps_rows() -> None:
    data = (MALFORMED / "stray_quote.csv").read_bytes() + puk_row(lat="").encode()
    result = read_policeuk(data, file_name="stray.csv")
    assert result.events["attributes"][0]["Location"] == 'On or near 5" Street'
    assert triples(result) == [(4, "Latitude", "missing coordinates: Latitude is empty")]


def test_multiline_quoted_field_is_one_spreadsheet_row() -> None:
    data = puk_bytes(puk_row(loc='"On or near\nHigh Street"'), puk_row(lon=""),
                     puk_row(loc='"a\r\nb"') + puk_row(lon="x"))
    result = read_policeuk(data)
    assert [(r.row, r.field) for r in result.rejections] == [(3, "Longitude"), (5, "Longitude")]
    assert result.events["attributes"][0]["Location"] == "On or near\nHigh Street"


def test_pandas_implicit_index_trap_is_avoided() -> None:
    # every data row has one field more than the header: pandas would silently
    # use the first column as an index; we reject each row instead.
    data = puk_bytes(puk_row().rstrip("\n") + ",x\n", puk_row().rstrip("\n") + ",y\n")
    result = read_policeuk(data)
    assert triples(result) == [(2, "<row>", "row has 13 fields, header has 12"),
                               (3, "<row>", "row has 13 fields, header has 12")]


def test_other_fatal_inputs() -> None:
    with pytest.raises(InputFormatError, match="has a header but no data rows"):
        read_policeuk(HEADER.encode())
    with pytest.raises(InputFormatError, match="is empty"):
        read_policeuk(b"\xef\xbb\xbf\r\n\n")
    with pytest.raises(InputFormatError, match="ZIP archive"):
        read_policeuk(b"PK\x03\x04" + bytes(100))
    with pytest.raises(InputFormatError, match="SQLite"):
        read_mapped_csv(b"SQLite format 3\x00" + bytes(100), layer="crime", mapping="")
    with pytest.raises(InputFormatError, match="looks like JSON"):
        read_mapped_csv(b'{"type": "FeatureCollection"}', layer="crime", mapping="")
    with pytest.raises(InputFormatError, match="not utf-8 text"):
        read_policeuk(HEADER.encode() + b"\xff\xfe,2018-10\n")
    with pytest.raises(InputFormatError, match="file not found"):
        read_policeuk(MALFORMED / "no-such-file.csv")
    with pytest.raises(InputFormatError, match="the columns are in a different order"):
        cols = list(POLICEUK_COLUMNS)
        cols[4], cols[5] = cols[5], cols[4]
        read_policeuk((",".join(cols) + "\n").encode() + puk_row().encode())


def test_area_of_interest_none_accepts_anywhere_but_still_checks_ranges() -> None:
    data = puk_bytes(puk_row(lon="-15", lat="45"), puk_row(lon="53.098647", lat="-1.377638"),
                     puk_row(lat="95"))
    result = read_policeuk(data, area_of_interest=None)
    assert result.rows_accepted == 2
    assert [(r.row, r.field) for r in result.rejections] == [(4, "Latitude")]
    assert result.events["crs_epsg"].nunique() == 1
    with pytest.raises(ParameterError):
        read_policeuk(data, area_of_interest=(10, 0, 5, 1))


# --------------------------------------------------------------------------- police.uk semantics


def test_policeuk_event_fields() -> None:
    data = puk_bytes(puk_row(), puk_row(cid=CID, ctype="Drugs", outcome="Under investigation",
                                        lon="-1.47", lat="53.38"))
    result = read_policeuk(data, file_name="2018-10-derbyshire-street.csv")
    ev = result.events
    assert_schema(ev)
    assert result.file == "2018-10-derbyshire-street.csv" and result.layer == "crime"
    assert set(result.timings) == {"parse", "validate"}
    assert all(v >= 0 for v in result.timings.values())
    assert (ev["time"] == pd.Timestamp("2018-10-01")).all()
    assert set(ev["time_precision"]) == {"month"}
    assert set(ev["location_precision"]) == {"snapped"}
    assert set(ev["source"]) == {"police.uk"}
    assert set(ev["sensitivity"]) == {"open"}
    assert list(ev["category"]) == ["Anti-social behaviour", "Drugs"]
    assert ev["lon"].tolist() == [-1.377638, -1.47] and ev["lat"].tolist() == [53.098647, 53.38]
    assert set(ev["crs_epsg"]) == {BNG}
    assert ev["x"].between(400_000, 450_000).all() and ev["y"].between(340_000, 390_000).all()
    # ASB: no Crime ID, so no Crime ID attribute, and source_id is the derived key
    assert ev["attributes"][0] == {
        "Reported by": "Derbyshire Constabulary", "Falls within": "Derbyshire Constabulary",
        "Location": "On or near Mansfield Road", "LSOA code": "E01019400",
        "LSOA name": "Amber Valley 001A"}
    assert ev["source_id"][0] == ev["event_key"][0] and KEY_RE.match(ev["event_key"][0])
    assert ev["attributes"][1]["Crime ID"] == CID
    assert ev["attributes"][1]["Last outcome category"] == "Under investigation"
    assert "Context" not in ev["attributes"][1]
    assert ev["source_id"][1] == CID
    # the layer decides sensitivity
    assert set(read_policeuk(data, layer="ambulance").events["sensitivity"]) == {"health"}


def test_identical_rows_are_kept_with_distinct_stable_keys() -> None:
    asb = puk_row()
    crime = puk_row(cid=CID, ctype="Drugs", outcome="Under investigation")
    moved = puk_row(cid=CID, ctype="Drugs", outcome="Under investigation", lon="-1.38")
    data = puk_bytes(asb, crime, asb, moved, asb, crime)
    first = read_policeuk(data, file_name="a.csv")
    again = read_policeuk(io.BytesIO(data), file_name="renamed.csv")
    assert first.rows_accepted == 6 and first.rejections == []
    keys = first.events["event_key"]
    assert keys.is_unique
    assert keys.tolist() == again.events["event_key"].tolist()
    assert all(KEY_RE.match(k) for k in keys)
    # identical rows share the hash and differ in the occurrence index
    asb_keys = keys[[0, 2, 4]].tolist()
    assert len({k.rsplit("-", 1)[0] for k in asb_keys}) == 1
    assert [k.rsplit("-", 1)[1] for k in asb_keys] == ["0", "1", "2"]
    assert [k.rsplit("-", 1)[1] for k in keys[[1, 5]]] == ["0", "1"]
    # a Crime ID repeated at another location is a separate record, kept
    assert (first.events["source_id"] == CID).sum() == 3
    assert keys[3].endswith("-0")


def test_key_survives_outcome_update_but_not_location_change() -> None:
    def drugs(**kw: str) -> bytes:
        return puk_bytes(puk_row(cid=CID, ctype="Drugs", **kw))

    before = read_policeuk(drugs(outcome="Under investigation"))
    after = read_policeuk(drugs(outcome="Offender given a caution"))
    moved = read_policeuk(drugs(outcome="Under investigation", lon="-1.4"))
    assert before.events["event_key"][0] == after.events["event_key"][0]
    assert before.events["event_key"][0] != moved.events["event_key"][0]


def test_keys_do_not_depend_on_validation_outcome() -> None:
    sea = puk_row(lon="-15", lat="45")
    data = puk_bytes(sea, puk_row(), sea)
    strict = read_policeuk(data)
    loose = read_policeuk(data, area_of_interest=None)
    assert strict.rows_accepted == 1 and loose.rows_accepted == 3
    assert strict.events["event_key"][0] == loose.events["event_key"][1]


def test_file_like_sources_and_names() -> None:
    data = puk_bytes(puk_row(lon=""))
    assert read_policeuk(io.BytesIO(data)).rejections[0].file == "<upload>"
    assert read_policeuk(io.BytesIO(data), file_name="up.csv").rejections[0].file == "up.csv"
    assert read_policeuk(data).file == "<bytes>"


# --------------------------------------------------------------------------- mapping


def test_column_mapping_parse() -> None:
    m = ColumnMapping.parse("id=ref, time=date,lon=x,lat=y,category=offence")
    assert m == ColumnMapping(id="ref", time="date", lon="x", lat="y", category="offence")
    m = ColumnMapping.parse("easting=E,northing=N,crs=EPSG:27700,time=t,attributes=a|b;c")
    assert m.crs == 27700 and m.attributes == ("a", "b", "c")
    assert ColumnMapping.parse("attributes=").attributes == ()
    m = ColumnMapping.parse({"time": "when", "crs": 32612, "easting": "e", "northing": "n",
                             "attributes": ["k"]})
    assert m.crs == 32612 and m.attributes == ("k",)
    assert ColumnMapping.parse(m) is m
    assert m.columns() == {"time": "when", "easting": "e", "northing": "n"}
    for bad in ("colour=red", "lon=x", "easting=e,northing=n", "time", "time=a,time=b",
                "time_precision=week", "crs=abc", "lon=x,lat=y,crs=27700", "id="):
        with pytest.raises(ParameterError):
            ColumnMapping.parse(bad)
    with pytest.raises(ParameterError, match="unknown key"):
        ColumnMapping.parse({"latitude": "lat"})


MAPPED = (b"ref,when,e,n,offence,notes\n"
          b"R1,2019-01-05T10:30:00,435300,387200,Drugs,first\n"
          b"R1,2019-01-05,435300,387200,Drugs,\n"
          b"R2,2019-01,435400,387300,Drugs,x\n"
          b"R3,2019-02-30,435400,387300,Drugs,\n"
          b"R4,2019-02-01,0,0,Drugs,\n"
          b"R5,2019-02-01,-1.47,53.38,Drugs,\n"
          b"R6,2019-02-01,435400,387300,,\n"
          b"R7,2019-02-01,435400,abc,Drugs,\n")


def test_mapped_csv_projected_input() -> None:
    result = read_mapped_csv(MAPPED, layer="crime", file_name="bng.csv",
                             mapping="id=ref,time=when,easting=e,northing=n,crs=27700,"
                                     "category=offence")
    ev = result.events
    assert_schema(ev)
    assert triples(result) == [
        (5, "when", "when '2019-02-30' is not an ISO-8601 date/time (YYYY-MM, YYYY-MM-DD or "
                    "YYYY-MM-DDTHH:MM:SS); pass time_format=... for other layouts"),
        (6, "e/n", "coordinates are (0, 0): a missing location written as zeros"),
        (7, "e/n", "(-1.47, 53.38) looks like degrees, not metres of EPSG:27700"),
        (8, "offence", "offence is empty"),
        (9, "n", "n 'abc' is not a number"),
    ]
    assert ev["event_key"].tolist() == ["R1", "R1-1", "R2"]
    assert ev["source_id"].tolist() == ["R1", "R1", "R2"]
    assert ev["time_precision"].tolist() == ["instant", "day", "month"]
    assert ev["time"].tolist() == [pd.Timestamp("2019-01-05 10:30"), pd.Timestamp("2019-01-05"),
                                   pd.Timestamp("2019-01-01")]
    # near Sheffield Town Hall; the OSTN15 figure to about a centimetre
    assert ev["lon"][0] == pytest.approx(-1.4708015, abs=2e-7)
    assert ev["lat"][0] == pytest.approx(53.3804773, abs=2e-7)
    # metric CRS is the input's own: x/y are the input values exactly
    assert set(ev["crs_epsg"]) == {BNG}
    assert ev["x"].tolist() == [435300.0, 435300.0, 435400.0]
    assert ev["y"].tolist() == [387200.0, 387200.0, 387300.0]
    assert ev["attributes"].tolist() == [{"notes": "first"}, {}, {"notes": "x"}]
    assert set(ev["source"]) == {"csv"} and set(ev["location_precision"]) == {"exact"}


def test_mapped_csv_projected_all_degrees_is_fatal() -> None:
    data = b"t,e,n\n2019-01-01,-1.47,53.38\n2019-01-02,-1.48,53.39\n"
    with pytest.raises(InputFormatError, match="look like WGS84 degrees, not metres of EPSG:27700"):
        read_mapped_csv(data, layer="crime", mapping="time=t,easting=e,northing=n,crs=27700")


def test_mapped_csv_unknown_columns_list_available() -> None:
    with pytest.raises(InputFormatError) as info:
        read_mapped_csv(MAPPED, layer="crime", mapping="time=date,lon=x,lat=n")
    msg = info.value.message
    assert "time='date'" in msg and "lon='x'" in msg and "lat=" not in msg
    assert "available columns: ref, when, e, n, offence, notes" in msg
    with pytest.raises(InputFormatError, match="attributes 'colour'"):
        read_mapped_csv(MAPPED, layer="crime", mapping="time=when,easting=e,northing=n,crs=27700,"
                                                       "attributes=colour")
    with pytest.raises(InputFormatError, match="no coordinate columns"):
        read_mapped_csv(MAPPED, layer="crime", mapping="time=when")
    with pytest.raises(InputFormatError, match="no time column"):
        read_mapped_csv(b"lat,lon\n53,-1\n", layer="crime", mapping="")


def test_mapped_csv_autodetects_and_derives_keys() -> None:
    data = (b"Date,Latitude,Longitude,kind\n2019-01-01,53.38,-1.47,a\n"
            b"2019-01-01,53.38,-1.47,a\n2019-01-02,53.39,-1.46,\n")
    result = read_mapped_csv(data, layer="needle_find", mapping=ColumnMapping(),
                             source_name="council", category_default="needle",
                             location_precision="rounded")
    ev = result.events
    assert result.rejections == [] and len(ev) == 3
    keys = ev["event_key"].tolist()
    assert all(KEY_RE.match(k) for k in keys) and len(set(keys)) == 3
    assert keys[0].rsplit("-", 1)[0] == keys[1].rsplit("-", 1)[0]
    assert ev["source_id"].tolist() == keys
    assert set(ev["category"]) == {"needle"} and set(ev["source"]) == {"council"}
    assert ev["attributes"].tolist() == [{"kind": "a"}, {"kind": "a"}, {}]
    assert set(ev["location_precision"]) == {"rounded"}
    again = read_mapped_csv(data, layer="needle_find", mapping=ColumnMapping())
    assert again.events["event_key"].tolist() == keys


def test_mapped_csv_times() -> None:
    data = (b"t,lon,lat\n05/01/2019 10:30,-1.47,53.38\n2019-01-05,-1.47,53.38\n"
            b"31/02/2019 10:00,-1.47,53.38\n")
    result = read_mapped_csv(data, layer="crime", mapping="time=t,time_format=%d/%m/%Y %H:%M,"
                                                          "lon=lon,lat=lat")
    assert result.events["time"].tolist() == [pd.Timestamp("2019-01-05 10:30")]
    assert result.events["time_precision"].tolist() == ["instant"]
    assert [(r.row, r.field) for r in result.rejections] == [(3, "t"), (4, "t")]
    assert "does not match time_format '%d/%m/%Y %H:%M'" in result.rejections[0].reason

    daily = read_mapped_csv(b"t,lon,lat\n05/01/2019,-1.47,53.38\n", layer="crime",
                            mapping={"time": "t", "time_format": "%d/%m/%Y", "lon": "lon",
                                     "lat": "lat"})
    assert daily.events["time_precision"].tolist() == ["day"]

    local = (b"t,lon,lat\n2019-07-01T10:00:00,-1.47,53.38\n2019-07-01T10:00:00+02:00,-1.47,53.38\n"
             b"2019-07-01,-1.47,53.38\n2019-03-31T01:30:00,-1.47,53.38\n"
             b"2019-01-15 08:00,-1.47,53.38\n"
             b"2019,-1.47,53.38\n1500-01-01,-1.47,53.38\n")
    london = read_mapped_csv(local, layer="crime", mapping="time=t,lon=lon,lat=lat",
                             timezone="Europe/London")
    assert london.events["time"].tolist() == [
        pd.Timestamp("2019-07-01 09:00"), pd.Timestamp("2019-07-01 08:00"),
        pd.Timestamp("2019-07-01"), pd.Timestamp("2019-01-15 08:00")]
    assert london.events["time_precision"].tolist() == ["instant", "instant", "day", "instant"]
    assert [(r.row, r.field) for r in london.rejections] == [(5, "t"), (7, "t"), (8, "t")]
    assert "does not exist in Europe/London" in london.rejections[0].reason
    assert "outside the supported years" in london.rejections[2].reason

    floored = read_mapped_csv(local, layer="crime", area_of_interest=None,
                              mapping="time=t,lon=lon,lat=lat,time_precision=month")
    assert set(floored.events["time"]) == {pd.Timestamp("2019-07-01"), pd.Timestamp("2019-03-01"),
                                           pd.Timestamp("2019-01-01")}
    with pytest.raises(ParameterError):
        read_mapped_csv(local, layer="crime", mapping="time=t,lon=lon,lat=lat",
                        timezone="Mars/Base")


def test_mapped_csv_options() -> None:
    data = b"t,lon,lat,flag,n\n2019-01-01,-1.47,53.38,NA,1\n2019-01-02,-1.47,53.38,TRUE,2\n"
    result = read_mapped_csv(data, layer="x", mapping="time=t,lon=lon,lat=lat,attributes=flag",
                             na_values=("NA",), sensitivity="restricted")
    assert result.events["attributes"].tolist() == [{}, {"flag": "TRUE"}]
    assert set(result.events["sensitivity"]) == {"restricted"}
    with pytest.raises(ParameterError):
        read_mapped_csv(data, layer="x", mapping="time=t,lon=lon,lat=lat", sensitivity="secret")
    with pytest.raises(ParameterError):
        read_mapped_csv(data, layer="x", mapping="time=t,lon=lon,lat=lat",
                        location_precision="fuzzy")
    with pytest.raises(ParameterError):
        read_mapped_csv(data, layer=" ", mapping="time=t,lon=lon,lat=lat")
    latin = "t,lon,lat,place\n2019-01-01,-1.47,53.38,Caf\u00e9\n".encode("cp1252")
    with pytest.raises(InputFormatError, match="not utf-8 text"):
        read_mapped_csv(latin, layer="x", mapping="time=t,lon=lon,lat=lat")
    ok = read_mapped_csv(latin, layer="x", mapping="time=t,lon=lon,lat=lat", encoding="cp1252")
    assert ok.events["attributes"][0] == {"place": "Caf\u00e9"}


@pytest.mark.realdata
def test_tempe_ems_calls(shared_data: Path) -> None:
    path = shared_data / "ems" / "tempe_opioid_calls.csv"
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    result = read_mapped_csv(path, layer="ambulance", area_of_interest=None,
                             location_precision="rounded", na_values=("NA",),
                             mapping="time=incident_date,lon=longitude,lat=latitude")
    ev = result.events
    assert_schema(ev)
    assert result.rows_read == len(rows) == 3379
    assert result.rejections == [] and len(ev) == 3379
    assert set(ev["crs_epsg"]) == {32612}
    assert set(ev["time_precision"]) == {"day"}
    assert ev["time"].min() == pd.Timestamp("2017-01-03")
    assert ev["time"].max() == pd.Timestamp("2024-09-30")
    assert set(ev["sensitivity"]) == {"health"} and set(ev["location_precision"]) == {"rounded"}
    narcan = Counter(a.get("narcan_given", "<none>") for a in ev["attributes"])
    assert narcan == Counter(r["narcan_given"] if r["narcan_given"] != "NA" else "<none>"
                             for r in rows)
    assert ev["x"].between(380_000, 450_000).all()  # UTM 12N eastings around Tempe
    # with the default UK area of interest every row is rejected, not silently dropped
    uk = read_mapped_csv(path, layer="ambulance",
                         mapping="time=incident_date,lon=longitude,lat=latitude")
    assert uk.rows_accepted == 0 and uk.rows_rejected == 3379
    assert_schema(uk.events)


# --------------------------------------------------------------------------- GeoJSON, GeoPackage


def test_geojson_corpus_rejections() -> None:
    result = read_geojson(MALFORMED / "features.geojson", layer="needle_find",
                          mapping="id=ref,time=date,category=kind")
    assert triples(result) == [
        (2, "geometry", "feature has no geometry"),
        (3, "geometry", "geometry is Polygon, not Point"),
        (4, "geometry", 'Point coordinates ["-1.47", "53.38"] are not numbers'),
        (5, "date", "date '07/01/2019' is not an ISO-8601 date/time (YYYY-MM, YYYY-MM-DD or "
                    "YYYY-MM-DDTHH:MM:SS); pass time_format=... for other layouts"),
        (6, "kind", "kind is empty"),
    ]
    ev = result.events
    assert_schema(ev)
    assert ev["event_key"].tolist() == ["N1"] and ev["category"].tolist() == ["needle"]
    assert ev["attributes"].tolist() == [{}]


@pytest.mark.parametrize("name, message", [
    ("bad_crs.geojson", "cannot use its crs member"),
    ("truncated.geojson", "is not valid JSON"),
    ("garbage.bin", "binary data"),
    ("empty.csv", "is empty"),
])
def test_geojson_fatal(name: str, message: str) -> None:
    with pytest.raises(InputFormatError, match=message):
        read_geojson(MALFORMED / name, layer="crime", mapping="time=date")


def _feature(x: float, y: float, **props: object) -> dict[str, object]:
    return {"type": "Feature", "properties": props,
            "geometry": {"type": "Point", "coordinates": [x, y]}}


def test_geojson_crs_member_and_wrong_crs() -> None:
    doc = {"type": "FeatureCollection",
           "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::27700"}},
           "features": [_feature(435300, 387200, t="2019-01-01")]}
    result = read_geojson(json.dumps(doc).encode(), layer="crime", mapping="time=t")
    assert result.events["lon"][0] == pytest.approx(-1.4708015, abs=2e-7)
    assert (result.events["x"][0], result.events["y"][0]) == (435300.0, 387200.0)
    assert result.events["crs_epsg"][0] == BNG
    with pytest.raises(InputFormatError, match="crs=4326 was given|declares EPSG:27700"):
        read_geojson(json.dumps(doc).encode(), layer="crime", mapping="time=t,crs=4326")
    del doc["crs"]
    with pytest.raises(InputFormatError, match="coordinates look like projected metres"):
        read_geojson(json.dumps(doc).encode(), layer="crime", mapping="time=t")
    declared = read_geojson(json.dumps(doc).encode(), layer="crime", mapping="time=t,crs=27700")
    assert declared.rows_accepted == 1
    with pytest.raises(InputFormatError, match="no features"):
        read_geojson(b'{"type": "FeatureCollection", "features": []}', layer="crime")
    with pytest.raises(InputFormatError, match="not a GeoJSON FeatureCollection"):
        read_geojson(b'{"type": "Point", "coordinates": [0, 1]}', layer="crime")
    with pytest.raises(ParameterError, match="come from the geometry"):
        read_geojson(json.dumps(doc).encode(), layer="crime", mapping="time=t,lon=a,lat=b")
    with pytest.raises(InputFormatError, match=r"available properties: t"):
        read_geojson(json.dumps(doc).encode(), layer="crime", mapping="time=when")


def test_geojson_round_trip_via_geopandas(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame(
        {"ref": ["a", "b"], "when": ["2019-01-01T10:00:00Z", "2019-01-02"],
         "cat": ["Drugs", "Robbery"], "count": [3, 4]},
        geometry=[Point(-1.4705, 53.3803), Point(-1.2, 52.9)], crs=4326)
    path = tmp_path / "points.geojson"
    gdf.to_file(path, driver="GeoJSON")
    result = read_geojson(path, layer="crime", mapping="id=ref,time=when,category=cat")
    ev = result.events
    assert_schema(ev)
    assert result.rejections == [] and result.file == "points.geojson"
    assert ev["lon"].tolist() == [-1.4705, -1.2] and ev["lat"].tolist() == [53.3803, 52.9]
    assert ev["event_key"].tolist() == ["a", "b"]
    assert ev["time"].tolist() == [pd.Timestamp("2019-01-01 10:00"), pd.Timestamp("2019-01-02")]
    assert ev["attributes"].tolist() == [{"count": 3}, {"count": 4}]


def test_geopackage_round_trip(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame(
        {"ref": [1, 2, 3, 4], "when": ["2019-01-05 10:00:00", "2019-01-06", "2019-01-07",
                                       "2019-01-08"],
         "cat": ["Drugs", "Drugs", None, "Drugs"], "weight": [1.5, None, 2.0, 3.0]},
        geometry=[Point(435300, 387200), Point(436000, 388000), Point(437000, 389000),
                  LineString([(435000, 387000), (436000, 388000)])], crs=BNG)
    path = tmp_path / "sites.gpkg"
    gdf.to_file(path, layer="sites", driver="GPKG")
    gpd.GeoDataFrame({"name": ["x"]}, geometry=[Point(0, 0).buffer(1)], crs=4326).to_file(
        path, layer="areas", driver="GPKG")
    with pytest.raises(InputFormatError, match=r"has 2 layers; choose one with gpkg_layer"):
        read_geopackage(path, layer="dealing_site", mapping="time=when")
    with pytest.raises(InputFormatError, match=r"no layer 'nope'; layers: sites"):
        read_geopackage(path, layer="dealing_site", mapping="time=when", gpkg_layer="nope")
    result = read_geopackage(io.BytesIO(path.read_bytes()), file_name="sites.gpkg",
                             layer="dealing_site", gpkg_layer="sites",
                             mapping="id=ref,time=when,category=cat")
    ev = result.events
    assert_schema(ev)
    assert triples(result) == [(3, "cat", "cat is empty"),
                               (4, "geometry", "geometry is LineString, not Point")]
    assert ev["event_key"].tolist() == ["1", "2"] and ev["source_id"].tolist() == ["1", "2"]
    assert ev["x"].tolist() == [435300.0, 436000.0] and set(ev["crs_epsg"]) == {BNG}
    assert ev["lon"][0] == pytest.approx(-1.4708015, abs=2e-7)
    assert ev["time"].tolist() == [pd.Timestamp("2019-01-05 10:00"), pd.Timestamp("2019-01-06")]
    assert ev["attributes"].tolist() == [{"weight": 1.5}, {}]
    assert set(ev["sensitivity"]) == {"restricted"} and set(ev["source"]) == {"gpkg"}

    wgs = tmp_path / "wgs.gpkg"
    gdf.iloc[:2].to_crs(4326).to_file(wgs, driver="GPKG")
    back = read_geopackage(wgs, layer="dealing_site", mapping="id=ref,time=when")
    assert back.events["x"].to_numpy() == pytest.approx([435300.0, 436000.0], abs=1e-3)
    with pytest.raises(InputFormatError, match="not a GeoPackage"):
        read_geopackage(MAPPED, layer="crime")


# --------------------------------------------------------------------------- dispatcher


def test_read_events_dispatch(tmp_path: Path) -> None:
    puk = puk_bytes(puk_row())
    assert read_events(puk, fmt="policeuk", layer="crime").rows_accepted == 1
    assert read_events(puk, fmt="auto", layer="crime").events["source"][0] == "police.uk"
    csv_result = read_events(MAPPED, fmt="csv", layer="crime", file_name="m.csv",
                             mapping="time=when,easting=e,northing=n,crs=27700")
    assert csv_result.file == "m.csv" and csv_result.rows_accepted == 4  # category not mapped
    gj = (MALFORMED / "features.geojson").read_bytes()
    assert read_events(gj, fmt="geojson", layer="x", mapping="time=date").rows_accepted == 2
    assert read_events(gj, fmt="auto", layer="x", mapping="time=date").rows_accepted == 2
    assert detect_format(gj) == "geojson" and detect_format(MAPPED) == "csv"
    assert detect_format(b"SQLite format 3\x00") == "gpkg"
    assert detect_format(b"\xef\xbb\xbf" + puk) == "policeuk"
    with pytest.raises(ParameterError, match="unknown format"):
        read_events(puk, fmt="xlsx", layer="crime")
    with pytest.raises(ParameterError, match="fixed header"):
        read_events(puk, fmt="policeuk", layer="crime", mapping="time=Month")


# --------------------------------------------------------------------------- real data


@dataclass
class FileScan:
    """What the csv module alone says about one police.uk file."""

    rows: int = 0
    missing: list[int] = field(default_factory=list)  # spreadsheet rows without coordinates
    drugs: int = 0
    drugs_located: int = 0


def _independent_scan(folder: Path) -> dict[str, FileScan]:
    """Per file, with the csv module only: rows, rows lacking coordinates, Drugs counts."""
    out: dict[str, FileScan] = {}
    for path in sorted(folder.glob("*.csv")):
        scan = FileScan()
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = next(reader)
            lon, lat = header.index("Longitude"), header.index("Latitude")
            kind = header.index("Crime type")
            for number, rec in enumerate(reader, start=2):
                scan.rows += 1
                located = rec[lon] != "" and rec[lat] != ""
                if not located:
                    scan.missing.append(number)
                if rec[kind] == "Drugs":
                    scan.drugs += 1
                    scan.drugs_located += int(located)
        out[path.name] = scan
    return out


@pytest.fixture(scope="module")
def policeuk_scan(shared_data: Path) -> dict[str, FileScan]:
    return _independent_scan(shared_data / "policeuk")


@pytest.fixture(scope="module")
def policeuk_read(shared_data: Path) -> tuple[dict[str, ReadResult], float]:
    files = sorted((shared_data / "policeuk").glob("*.csv"))
    start = time.perf_counter()
    results = {p.name: read_policeuk(p) for p in files}
    return results, time.perf_counter() - start


FORCES = ("derbyshire", "south-yorkshire", "thames-valley")
ReadAll = tuple[dict[str, ReadResult], float]


@pytest.mark.realdata
def test_policeuk_real_files(policeuk_read: ReadAll, policeuk_scan: dict[str, FileScan]) -> None:
    results, seconds = policeuk_read
    assert len(results) == 15 and set(results) == set(policeuk_scan)
    total = sum(r.rows_read for r in results.values())
    accepted = sum(r.rows_accepted for r in results.values())
    rejected = sum(r.rows_rejected for r in results.values())
    assert total == 188_619 and accepted + rejected == total
    assert rejected == sum(len(s.missing) for s in policeuk_scan.values()) == 10_376
    for name, result in results.items():
        assert result.rows_read == policeuk_scan[name].rows
        assert result.rows_accepted + result.rows_rejected == result.rows_read
        assert [r.row for r in result.rejections] == policeuk_scan[name].missing
        assert {(r.file, r.field, r.reason) for r in result.rejections} <= {
            (name, "Longitude", "missing coordinates: Longitude and Latitude are empty")}
        assert_schema(result.events)
        assert set(result.events["crs_epsg"]) == {BNG}
        month = pd.Timestamp(name[:7] + "-01")
        assert (result.events["time"] == month).all()
    # none missing in Derbyshire, as published
    assert all(results[n].rows_rejected == 0 for n in results if "derbyshire" in n)
    # keys unique across all 15 files
    keys = pd.concat([r.events["event_key"] for r in results.values()], ignore_index=True)
    assert keys.is_unique and len(keys) == 178_243
    # reading + validating everything takes a few seconds (generous bound for loaded CI)
    assert seconds < 30


@pytest.mark.realdata
def test_policeuk_real_drugs_counts(policeuk_read: ReadAll,
                                    policeuk_scan: dict[str, FileScan]) -> None:
    results, _ = policeuk_read
    raw = {f: sum(s.drugs for n, s in policeuk_scan.items() if f in n) for f in FORCES}
    located = {f: sum(s.drugs_located for n, s in policeuk_scan.items() if f in n)
               for f in FORCES}
    assert raw == {"derbyshire": 990, "south-yorkshire": 1199, "thames-valley": 2135}
    measured = {f: sum(int((r.events["category"] == "Drugs").sum())
                       for n, r in results.items() if f in n) for f in FORCES}
    assert measured == located == {"derbyshire": 990, "south-yorkshire": 1126,
                                   "thames-valley": 1935}


@pytest.mark.realdata
def test_policeuk_real_reimport_is_idempotent(shared_data: Path, policeuk_read: ReadAll) -> None:
    results, _ = policeuk_read
    name = "2018-10-thames-valley-street.csv"
    path = shared_data / "policeuk" / name
    with path.open("rb") as fh:
        again = read_policeuk(fh, file_name="upload.csv")
    first = results[name].events
    assert again.events["event_key"].tolist() == first["event_key"].tolist()
    # rows identical in every field exist in the data and are all kept
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    located = raw[(raw["Longitude"] != "") & (raw["Latitude"] != "")]
    assert located.duplicated().sum() > 0
    assert len(first) == len(located)
    crimes = first[first["source_id"].str.len() == 64]
    assert (crimes["source_id"] == crimes["attributes"].map(lambda a: a["Crime ID"])).all()


def test_rejection_type() -> None:
    r = read_policeuk(puk_bytes(puk_row(lon=""))).rejections[0]
    assert isinstance(r, Rejection)
    assert r.as_dict() == {"file": "<bytes>", "row": 2, "field": "Longitude",
                           "reason": "missing coordinates: Longitude is empty"}
    assert UK_BOUNDS == (-8.75, 49.8, 1.8, 60.9)
