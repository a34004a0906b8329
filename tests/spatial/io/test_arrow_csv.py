"""The Arrow CSV reader gives what the pandas reader gave: cells, rows, keys, rejections.

* All 15 real police.uk files: every part of the read (keys byte for byte,
  times, lon/lat/x/y to the bit, attributes, rejections) equals the digests
  frozen from the reader before the Arrow path (``policeuk_digests.json``).
* Crafted and random CSVs: the Arrow tokeniser gives the pandas tokeniser's
  table whenever it accepts a file, and leaves every irregular file to it.
"""

from __future__ import annotations

import json
import random
from typing import Any

import numpy as np
import pandas as pd
import pytest

from spatial.events import ATTR_PREFIX, EVENT_COLUMNS, attribute_dicts_of, empty_events_frame
from spatial.io import csvtable
from spatial.io.assemble import _to_metric_distinct, derived_keys, derived_keys_coded
from spatial.io.policeuk import POLICEUK_COLUMNS, read_policeuk
from spatial.io.tabular import read_mapped_csv
from spatial.io.validation import Coded
from spatial.place import crs
from tests.spatial.io.reader_digest import FROZEN, files, read_digest

FROZEN_DIGESTS = json.loads(FROZEN.read_text())


@pytest.fixture(scope="module")
def policeuk_files(shared_data):  # noqa: ANN001 (fixture)
    found = files()
    assert len(found) == 15, found
    return found


def _differences(name: str, **kw: Any) -> list[str]:
    path = next(p for p in files() if p.name == name.removeprefix("chunked:"))
    got = read_digest(path, **kw)
    want = FROZEN_DIGESTS[name]
    return [k for k in want if want[k] != got.get(k)]


def test_all_fifteen_files_identical_with_attribute_columns(policeuk_files) -> None:  # noqa: ANN001
    totals = {"accepted": 0, "rejected": 0}
    for path in policeuk_files:
        assert _differences(path.name, attribute_columns=True) == [], path.name
        totals["accepted"] += FROZEN_DIGESTS[path.name]["accepted"]
        totals["rejected"] += FROZEN_DIGESTS[path.name]["rejected"]
    assert totals == {"accepted": 178_243, "rejected": 10_376}


def test_dict_attributes_and_chunks_identical(policeuk_files) -> None:  # noqa: ANN001
    for path in policeuk_files[:3]:
        assert _differences(path.name) == [], path.name
    chunked = next(k for k in FROZEN_DIGESTS if k.startswith("chunked:"))
    assert _differences(chunked, chunk_rows=5000) == []
    assert _differences(chunked, chunk_rows=5000, attribute_columns=True) == []


def test_real_file_read_by_arrow_and_by_pandas_alike(policeuk_files) -> None:  # noqa: ANN001
    data = policeuk_files[1].read_bytes()
    fast = csvtable._arrow_table(data, "utf-8", 0)
    assert fast is not None  # the real files take the fast path
    slow = csvtable._pandas_table(data, "x", encoding="utf-8", row_offset=0)
    _same_table(fast, slow)


def _same_table(a: csvtable.CsvTable, b: csvtable.CsvTable) -> None:
    assert a.header == b.header
    assert np.array_equal(a.rows, b.rows)
    assert np.array_equal(a.nfields, b.nfields)
    pd.testing.assert_frame_equal(a.frame, b.frame)
    for c in a.header:
        assert a.text(c).tolist() == b.text(c).tolist()
        codes, values = a.coded(c)
        assert values.take(codes).tolist() == b.frame[c].tolist()


REGULAR = [
    b"a,b,c\n1,2,3\n4,5,6\n",
    b"a,b,c\r\n1,2,3\r\n4,5,6",              # CRLF, no final newline
    b"a,b,c\r1,2,3\r4,5,6\r",                # lone CR
    b'a,b,c\n"x, y",2,"3"\n,5,\n',           # quoted comma, empty cells
    b'a,b,c\n"line\none",2,3\n4,"",6\n',     # quoted newline is one row
    " a , b ,c\nd\u00e9j\u00e0,\u2603,\u00a3\n".encode(),  # header stripped, UTF-8 cells
    b"a,a,b\n1,2,3\n",                        # duplicate header names
    b"a,b\n 1 , 2 \n",                        # spaces kept in cells
    b"a,b\n",                                 # header only
]
IRREGULAR = [
    b"a,b,c\n1,2,3\n\n4,5,6\n",              # blank line
    b"a,b,c\n1,2,3\n   \n4,5,6\n",           # whitespace-only line
    b"a,b,c\r\n1,2,3\r\n\r\n4,5,6\r\n",     # blank line, CRLF
    b"a,b,c\r1,2,3\r\r4,5,6\r",              # blank line, lone CR
    b"a,b,c\n1,2,3\n\n",                     # blank last line
    b"a,b,c\n1,2,3\n,,\n",                   # every cell empty: read as pandas reads it
    b"a,b,c\n1,2\n4,5,6,7\n",                # ragged rows
    b'a,b,c\n"x ""q"" y",2,3\n',             # doubled quote inside a field
    b'a,b,c\nab"c,2,3\n',                    # stray quote
    b"\na,b,c\n1,2,3\n",                     # blank line before the header
    b"a\n1\n\n2\n",                          # one column
    b"a,b\n\xff\xfe,1\n",                    # not UTF-8
]


@pytest.mark.parametrize("data", REGULAR)
def test_regular_csv_same_table_by_arrow(data: bytes) -> None:
    fast = csvtable._arrow_table(data, "utf-8", 7)
    assert fast is not None
    _same_table(fast, csvtable._pandas_table(data, "x", encoding="utf-8", row_offset=7))


@pytest.mark.parametrize("data", IRREGULAR)
def test_irregular_csv_left_to_pandas(data: bytes) -> None:
    assert csvtable._arrow_table(data, "utf-8", 0) is None


def test_other_encodings_left_to_pandas() -> None:
    assert csvtable._arrow_table(b"a,b\n1,2\n", "cp1252", 0) is None


def test_random_regular_csvs_same_table() -> None:
    rng = random.Random(13)
    alphabet = ["a", "b", " ", ",", "\n", "\r\n", "1", ".", "-", "\u00e9", ""]
    for _ in range(60):
        width = rng.randint(2, 5)
        lines = [",".join(f"h{i}" for i in range(width))]
        for _ in range(rng.randint(1, 30)):
            cells = []
            for _ in range(width):
                cell = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6)))
                needs = any(ch in cell for ch in ",\r\n") or rng.random() < 0.2
                cells.append(f'"{cell}"' if needs else cell)
            lines.append(",".join(cells))
        data = ("\r\n" if rng.random() < 0.3 else "\n").join(lines).encode()
        fast = csvtable._arrow_table(data, "utf-8", 0)
        slow = csvtable._pandas_table(data, "x", encoding="utf-8", row_offset=0)
        if fast is not None:
            _same_table(fast, slow)


def _policeuk_csv(rows: list[list[str]]) -> bytes:
    return "\n".join([",".join(POLICEUK_COLUMNS)] + [",".join(r) for r in rows]).encode()


def test_attribute_columns_rebuild_the_dicts() -> None:
    base = ["", "2019-01", "South Yorkshire Police", "South Yorkshire Police", "-1.47",
            "53.38", "On or near X", "E01", "Sheffield 1", "Drugs", "", ""]
    rows = [base, [*base[:9], "Burglary", "Under investigation", ""],
            ["abc", *base[1:]], base, [*base[:4], "", "", *base[6:]]]
    data = _policeuk_csv(rows)
    dicts = read_policeuk(data, file_name="t.csv")
    cols = read_policeuk(data, file_name="t.csv", attribute_columns=True)
    assert "attributes" not in cols.events
    assert [c for c in cols.events if str(c).startswith(ATTR_PREFIX)] == [
        "attr:Crime ID", "attr:Reported by", "attr:Falls within", "attr:Location",
        "attr:LSOA code", "attr:LSOA name", "attr:Last outcome category", "attr:Context"]
    assert cols.events["attr:Crime ID"].tolist() == [None, None, "abc", None]
    assert attribute_dicts_of(cols.events) == list(dicts.events["attributes"])
    assert attribute_dicts_of(dicts.events) == list(dicts.events["attributes"])
    pd.testing.assert_frame_equal(cols.events.drop(columns=[c for c in cols.events
                                                            if str(c).startswith(ATTR_PREFIX)]),
                                  dicts.events.drop(columns="attributes"))
    assert [(r.row, r.field) for r in cols.rejections] == [(6, "Longitude")]
    want = empty_events_frame().dtypes.to_dict()
    want["time"] = np.dtype("datetime64[ns]")
    for frame in (cols.events, dicts.events):  # the frame shape readers always gave
        assert [c for c in frame.columns if not str(c).startswith(ATTR_PREFIX)] == [
            c for c in EVENT_COLUMNS if c != "attributes" or c in frame]
        assert {c: frame[c].dtype for c in frame.columns if c in want} == {
            c: t for c, t in want.items() if c in frame}
    # repeated rows: the same content hash, told apart by -0, -1
    assert cols.events["event_key"].str[-2:].tolist() == ["-0", "-0", "-0", "-1"]


def test_mapped_csv_attribute_columns() -> None:
    data = b"when,lon,lat,kind,note,ref\n2019-01-02,-1.47,53.38,x,,r1\n2019-01-03,-1.48,53.39,y,n,\n"
    mapping = "time=when,category=kind"
    dicts = read_mapped_csv(data, layer="crime", mapping=mapping, file_name="m.csv")
    cols = read_mapped_csv(data, layer="crime", mapping=mapping, file_name="m.csv",
                           attribute_columns=True)
    assert cols.events["attr:note"].tolist() == [None, "n"]
    assert cols.events["attr:ref"].tolist() == ["r1", None]
    assert list(dicts.events["attributes"]) == [{"ref": "r1"}, {"note": "n"}]
    assert attribute_dicts_of(cols.events) == list(dicts.events["attributes"])


def test_attribute_dicts_of_without_attributes() -> None:
    frame = pd.DataFrame({"event_key": ["a", "b"]})
    assert attribute_dicts_of(frame) == [{}, {}]


def test_coded_keys_equal_frame_keys() -> None:
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({c: rng.choice(["", "x", "y", "\u00e9", "long value"], 500).astype(object)
                          for c in "abc"})
    coded = [Coded.of(frame[c].to_numpy(dtype=object)) for c in frame.columns]
    keys = derived_keys_coded(coded)
    assert keys.tolist() == derived_keys(frame).tolist()
    assert len(set(keys.tolist())) == 500  # repeats numbered, so all distinct


def test_distinct_projection_is_bitwise_the_projection() -> None:
    rng = np.random.default_rng(3)
    lon = np.round(rng.uniform(-1.6, -1.3, 5000), 3)
    lat = np.round(rng.uniform(53.3, 53.5, 5000), 3)
    lon[:3] = [-0.0, 0.0, -0.0]
    lat[:3] = [51.5, 51.5, 51.5]
    x, y = _to_metric_distinct(lon, lat, 27700)
    x0, y0 = crs.to_metric(lon, lat, 27700)
    assert x.tobytes() == np.asarray(x0, dtype=np.float64).tobytes()
    assert y.tobytes() == np.asarray(y0, dtype=np.float64).tobytes()


@pytest.mark.parametrize("kind", ["mapped", "mapped-no-id", "mapped-chunked"])
def test_mapped_csv_identical(policeuk_files, kind: str) -> None:  # noqa: ANN001
    from tests.spatial.io.reader_digest import MAPPED, MAPPED_NO_ID, mapped_digest

    for name in [k for k in FROZEN_DIGESTS if k.startswith(kind + ":")]:
        path = next(p for p in policeuk_files if p.name == name.split(":", 1)[1])
        mapping = MAPPED_NO_ID if kind == "mapped-no-id" else MAPPED
        chunk_rows = 4000 if kind == "mapped-chunked" else None
        for shape in (False, True):
            got = mapped_digest(path, mapping, chunk_rows, attribute_columns=shape)
            want = FROZEN_DIGESTS[name]
            assert [k for k in want if want[k] != got.get(k)] == [], (name, shape)


def test_every_chunk_has_the_same_columns() -> None:
    from spatial.io.stream import read_in_chunks

    row = ",2019-01,SYP,SYP,-1.47,53.38,On or near X,E01,Sheffield 1,Drugs,,"
    data = ("\n".join([",".join(POLICEUK_COLUMNS), row, row, "", "", "", "", row]) + "\n").encode()
    for fmt, mapping in (("policeuk", None), ("csv", "time=Month,category=Crime type")):
        results = list(read_in_chunks(data, fmt=fmt, layer="crime", chunk_rows=2,
                                      file_name="c.csv", mapping=mapping,
                                      attribute_columns=True))
        assert [r.rows_read for r in results] == [2, 0, 0, 1], fmt  # chunks of blank lines only
        shapes = {tuple(r.events.columns) for r in results}
        assert len(shapes) == 1, (fmt, shapes)
        assert not any(c == "attributes" for c in shapes.pop())


def _assert_arrow_matches_frame(result: Any) -> None:
    """Every Arrow column of a read holds exactly the frame's values (None where the
    frame has None), row for row."""
    assert result.arrow, "the police.uk reader gives Arrow text columns"
    for name, array in result.arrow.items():
        assert len(array) == len(result.events), name
        assert array.to_pylist() == result.events[name].tolist(), name


def test_arrow_text_columns_are_the_frame_columns(policeuk_files) -> None:  # noqa: ANN001
    """ReadResult.arrow (stored instead of the frame's text, with no str per row) equals
    the frame on every real file, whole and in chunks."""
    from spatial.io.stream import read_in_chunks

    for path in policeuk_files:
        _assert_arrow_matches_frame(read_policeuk(path, attribute_columns=True))
    for result in read_in_chunks(policeuk_files[0], fmt="policeuk", layer="crime",
                                 chunk_rows=3000, attribute_columns=True):
        _assert_arrow_matches_frame(result)


def test_arrow_text_columns_of_crafted_files() -> None:
    """Repeated rows (keys with -1), empty attribute cells, a rejected row, and a file the
    pandas path reads (a blank line): the Arrow columns still equal the frame's."""
    header = ",".join(POLICEUK_COLUMNS)
    row = "id1,2019-01,Force,Force,-1.47,53.38,On or near X,E01,Sheff 1,Drugs,,"
    same = ",2019-01,Force,Force,-1.47,53.38,On or near X,E01,Sheff 1,Drugs,,"
    bad = ",2019-01,Force,Force,,,On or near Y,E01,Sheff 1,Drugs,,"
    for body in ([row, same, same, bad], [row, "", same, same]):
        data = ("\n".join([header, *body]) + "\n").encode()
        result = read_policeuk(data, file_name="f.csv", attribute_columns=True)
        assert len(result.events) == 3
        _assert_arrow_matches_frame(result)
        assert result.events["event_key"].str.endswith("-1").sum() == 1


def test_dictionary_array_and_arrow_text() -> None:
    import pyarrow as pa

    from spatial.io.assemble import arrow_text, dictionary_array

    values = np.array(["a", None, "b"], dtype=object)
    got = dictionary_array(np.array([0, 1, 2, 2, 1]), values)
    assert got.to_pylist() == ["a", None, "b", "b", None]
    ok = np.array([True, False, True, True])
    coded = Coded(np.array([0, 1, 2, 0]), np.array(["x", "", "z"], dtype=object))
    out = arrow_text(ok, constants={"layer": "crime"}, coded={"c": coded, "d": coded},
                     plain={"p": pa.array(["1", "2", "3", "4"])}, empty_is_null=("d",))
    assert out["layer"].to_pylist() == ["crime"] * 3
    assert out["c"].to_pylist() == ["x", "z", "x"]
    assert out["p"].to_pylist() == ["1", "3", "4"]
    blank = Coded(np.array([1, 1, 0, 1]), np.array(["x", ""], dtype=object))
    assert arrow_text(ok, coded={"d": blank}, empty_is_null=("d",))["d"].to_pylist() == \
        [None, "x", None]
    # mostly distinct values (ids): plain text, not a dictionary
    ids = Coded(np.arange(4), np.array(["i0", "i1", "i2", "i3"], dtype=object))
    assert arrow_text(ok, coded={"i": ids})["i"].type == pa.string()


def test_text_as_arrow_reads_the_same_values(policeuk_files) -> None:  # noqa: ANN001
    """The import's read (text columns as the Arrow arrays they are stored from) has the
    columns, values (pd.NA for None) and rejections of the ordinary read."""
    for path in policeuk_files[:5]:
        plain = read_policeuk(path, attribute_columns=True)
        fast = read_policeuk(path, attribute_columns=True, text_as_arrow=True)
        assert list(fast.events.columns) == list(plain.events.columns)
        for column in plain.events.columns:
            got = [None if v is pd.NA else v for v in fast.events[column].tolist()]
            assert got == plain.events[column].tolist(), (path.name, column)
        assert fast.rejections == plain.rejections
    with pytest.raises(ValueError, match="attribute_columns"):
        read_policeuk(policeuk_files[0], text_as_arrow=True)


def test_inner_quotes_found_as_the_regex_finds_them() -> None:
    """The numpy test of quotes inside fields answers as the regular expression does."""
    rng = random.Random(7)
    alphabet = [b'"', b",", b"\n", b"\r", b"a", b" "]
    cases = [b"", b'"', b'""', b'a"b', b'"a"', b'a,"b",c\n', b'"a""b"', b'x"', b'"x']
    cases += [b"".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
              for _ in range(3000)]
    for body in cases:
        assert csvtable._has_inner_quote(body) == (
            csvtable._INNER_QUOTE.search(body) is not None), body


def test_arrow_coordinates_parse_as_pandas_to_the_bit() -> None:
    """Coordinates parsed by Arrow (police.uk) equal pandas' parse bit for bit, signed
    zeros included (pandas makes "-0" +0.0 only in a column of integer literals), and the
    same cells are rejected."""
    import pyarrow as pa

    from spatial.io.validation import Rejector, numeric_pair

    pool = ["-0", "0", "+0", "-00", "7", "-7", "1.5", "-0.0", "", "x", "1e2", " 2", "-1.4712"]
    rng = random.Random(5)
    for _ in range(400):
        values = list(dict.fromkeys(rng.choice(pool) for _ in range(rng.randint(1, 6))))
        codes = np.array([rng.randrange(len(values)) for _ in range(8)], dtype=np.int64)
        lazy = Coded(codes, None, pa.array(values, type=pa.string()))
        plain = Coded(codes, np.array(values, dtype=object))
        r1, r2 = Rejector("f", np.arange(8)), Rejector("f", np.arange(8))
        a1, _ = numeric_pair(r1, lazy, lazy, "Longitude", "Latitude")
        a2, _ = numeric_pair(r2, plain, plain, "Longitude", "Latitude")
        assert a1.tobytes() == a2.tobytes(), values
        assert r1.rejections() == r2.rejections(), values
