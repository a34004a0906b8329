"""Streaming import (issue 13): a file read and written in chunks gives what it gives whole.

Tiny chunk sizes put duplicates, repeats, rejections and quoted multi-line
fields on both sides of chunk boundaries; every result is compared with the
whole-file read (one chunk) or with an independent count (the csv module).
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from service.app.importer import import_events
from service.store import Store
from spatial.errors import InputFormatError
from spatial.io import stream
from spatial.io.context import Occurrences
from spatial.io.mapping import ColumnMapping
from spatial.io.read import read_events
from spatial.io.stream import csv_chunks, read_in_chunks

HEADER = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,"
          "LSOA name,Crime type,Last outcome category,Context")
REPO = Path(__file__).resolve().parents[3]


def _row(i: int, *, crime_id: str = "", lon: str | None = None, month: str = "2019-03",
         location: str = "On or near Park Road", outcome: str = "") -> str:
    lon = f"{-1.47 + (i % 7) * 0.001:.6f}" if lon is None else lon
    lat = "" if lon == "" else f"{53.38 + (i % 5) * 0.001:.6f}"
    return (f"{crime_id},{month},South Yorkshire Police,South Yorkshire Police,{lon},{lat},"
            f"{location},E01000001,Sheffield 001A,Drugs,{outcome},")


def policeuk_text(n: int = 40, *, seed: int = 3) -> str:
    """police.uk rows with repeats (identical ASB-style rows), repeated Crime IDs, rows
    without coordinates, bad months, a quoted location spanning two lines and blank lines,
    spread through the file."""
    rng = np.random.default_rng(seed)
    lines = [HEADER]
    for i in range(n):
        kind = int(rng.integers(0, 8))
        if kind == 0:
            lines.append(_row(1))                        # the same row again and again
        elif kind == 1:
            lines.append(_row(i, lon=""))                # rejected: no coordinates
        elif kind == 2:
            lines.append(_row(i, month="2019-13"))       # rejected: not a month
        elif kind == 3:
            lines.append(_row(i, crime_id="abc123"))     # a repeated Crime ID
        elif kind == 4:
            lines.append(_row(i, location='"On or near ""The"" Crescent,\nUpper"'))
        elif kind == 5:
            lines.append("")                             # a blank line
        else:
            lines.append(_row(i, outcome="Under investigation" if i % 2 else ""))
    return "\r\n".join(lines) + "\r\n"


def whole_and_chunked(data: bytes, chunk_rows: int, **kw: object) -> tuple[object, list]:
    whole = read_events(data, fmt="policeuk", layer="crime", file_name="f.csv", **kw)
    parts = list(read_in_chunks(data, fmt="policeuk", layer="crime", file_name="f.csv",
                                chunk_rows=chunk_rows, **kw))
    return whole, parts


def assert_same_read(whole, parts) -> None:  # type: ignore[no-untyped-def]
    events = pd.concat([p.events for p in parts], ignore_index=True)
    pd.testing.assert_frame_equal(whole.events.reset_index(drop=True), events)
    assert whole.rejections == [r for p in parts for r in p.rejections]
    assert whole.rows_read == sum(p.rows_read for p in parts)


@pytest.mark.parametrize("chunk_rows", [1, 2, 3, 7, 1000])
def test_chunked_read_equals_whole_read(chunk_rows: int) -> None:
    data = policeuk_text(60).encode()
    whole, parts = whole_and_chunked(data, chunk_rows)
    assert len(whole.rejections) > 5 and whole.events["event_key"].str.endswith("-3").any()
    if chunk_rows < 10:
        assert len(parts) > 5
    assert_same_read(whole, parts)


def test_small_reads_and_scans_cut_records_right(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reads of a few bytes: a CR LF, a doubled quote and a quoted newline fall across reads
    and across scan pieces."""
    monkeypatch.setattr(stream, "_FIRST_READ", 5)
    monkeypatch.setattr(stream, "_SCAN_BYTES", 3)
    data = ("\ufeff" + "\r\n" + policeuk_text(30, seed=9)).encode()  # BOM, blank line, header
    for chunk_rows in (1, 4):
        whole, parts = whole_and_chunked(data, chunk_rows)
        assert_same_read(whole, parts)
        chunks = list(csv_chunks(io.BytesIO(data), "f.csv", chunk_rows=chunk_rows))
        header = data.split(b"\r\n")[1] + b"\r\n"
        rebuilt = chunks[0].data + b"".join(c.data.removeprefix(header) for c in chunks[1:])
        assert rebuilt == data
        assert all(c.data.startswith(header) for c in chunks[1:])


def test_rejected_rows_carry_the_files_row_numbers() -> None:
    """Row numbers of rejections in later chunks are the file's (csv module, independently)."""
    text = policeuk_text(80, seed=11)
    expected = set()
    rows = list(csv.reader(io.StringIO(text, newline="")))
    # spreadsheet rows: the csv module's records, numbered from 1 (blank lines too)
    for number, row in enumerate(rows, start=1):
        if number > 1 and row and (row[4] == "" or row[1] == "2019-13"):
            expected.add(number)
    parts = list(read_in_chunks(text.encode(), fmt="policeuk", layer="crime",
                                file_name="f.csv", chunk_rows=4))
    got = {r.row for p in parts for r in p.rejections}
    assert got == expected and max(got) > 40


def test_irregular_quoting_falls_back_to_the_csv_module(monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    monkeypatch.setattr(stream, "_FIRST_READ", 16)
    lines = [HEADER] + [_row(i, location=f'On or near 5" Road {i}') for i in range(12)]
    data = ("\n".join(lines) + "\n").encode()
    whole, parts = whole_and_chunked(data, 5)
    assert len(parts) == 3 and len(whole.events) == 12
    assert_same_read(whole, parts)


def test_mapped_ids_repeat_and_clash_across_chunks() -> None:
    """Repeated ids get ``id-n`` counted over the whole file; an id that reads like another's
    repeat falls back to content, whichever chunk the first one was in."""
    rows = ["ref,time,lon,lat,type"]
    ids = ["a", "b", "a", "a-1", "c", "a", "", "", "b-1", "b"]
    for i, ref in enumerate(ids):
        rows.append(f"{ref},2020-01-0{1 + i % 9},-1.47,53.38,Drugs")
    data = ("\n".join(rows) + "\n").encode()
    mapping = ColumnMapping.parse("id=ref,time=time,lon=lon,lat=lat,category=type")
    whole = read_events(data, fmt="csv", layer="x", mapping=mapping, file_name="m.csv")
    for chunk_rows in (1, 3):
        parts = list(read_in_chunks(data, fmt="csv", layer="x", mapping=mapping,
                                    file_name="m.csv", chunk_rows=chunk_rows))
        assert_same_read(whole, parts)
    keys = whole.events["event_key"].tolist()
    assert keys[:3] == ["a", "b", "a-1"] and keys[3].startswith("a-1#")


def test_wrong_crs_is_decided_over_the_whole_file() -> None:
    """Projected metres in every row: fatal (at the end); in the first chunk only: those
    rows are rejected, as when the file is read whole."""
    metres = "ref,time,lon,lat,type\n" + "".join(
        f"r{i},2020-01-01,{430000 + i},{387000 + i},Drugs\n" for i in range(6))
    mapping = ColumnMapping.parse("id=ref,time=time,lon=lon,lat=lat,category=type")
    with pytest.raises(InputFormatError, match="projected metres") as whole_err:
        read_events(metres.encode(), fmt="csv", layer="x", mapping=mapping, file_name="m.csv")
    with pytest.raises(InputFormatError, match="projected metres") as chunk_err:
        list(read_in_chunks(metres.encode(), fmt="csv", layer="x", mapping=mapping,
                            file_name="m.csv", chunk_rows=2))
    assert str(chunk_err.value) == str(whole_err.value)
    mixed = (metres + "r9,2020-01-01,-1.47,53.38,Drugs\n").encode()
    whole = read_events(mixed, fmt="csv", layer="x", mapping=mapping, file_name="m.csv")
    parts = list(read_in_chunks(mixed, fmt="csv", layer="x", mapping=mapping,
                                file_name="m.csv", chunk_rows=2))
    assert_same_read(whole, parts)
    assert len(whole.events) == 1 and len(whole.rejections) == 6


def test_occurrences_count_pairs_that_share_the_first_hash() -> None:
    occ = Occurrences()
    a = np.array([5, 5, 9, 1], dtype=np.uint64)
    b = np.array([2, 1, 3, 2], dtype=np.uint64)
    occ.add(a, b)
    occ.add(np.array([5, 7], dtype=np.uint64), np.array([2, 7], dtype=np.uint64))
    q1 = np.array([5, 5, 5, 9, 7, 1, 2], dtype=np.uint64)
    q2 = np.array([1, 2, 3, 3, 7, 2, 2], dtype=np.uint64)
    assert occ.seen(q1, q2).tolist() == [1, 2, 0, 1, 1, 1, 0]
    assert np.all(np.diff(occ.h1.astype(np.float64)) >= 0)


# ------------------------------------------------------------------ the import itself

def _events(store: Store) -> pd.DataFrame:
    from service.store.events import EventFilter

    got = store.query_events(EventFilter(), columns=[
        "event_key", "source_id", "time", "lon", "lat", "x", "y", "h3", "category",
        "attributes"]).drop(columns="id").rename(columns={"event_key": "key"})
    frame = got.sort_values("key", kind="stable").reset_index(drop=True)
    # the same values whatever the backend's types (timestamps, JSON text)
    frame["time"] = pd.to_datetime(frame["time"]).astype("datetime64[ns]")
    frame["attributes"] = [a if isinstance(a, dict) else json.loads(a)
                           for a in frame["attributes"]]
    return frame.astype({c: object for c in ("key", "source_id", "h3", "category")})


def test_import_in_chunks_stores_what_the_whole_import_stores(store: Store, tmp_path: Path
                                                              ) -> None:
    a = tmp_path / "a.csv"
    b = tmp_path / "b.csv"
    a.write_text(policeuk_text(50, seed=1), newline="")
    b.write_text(policeuk_text(50, seed=2), newline="")
    whole_store = Store(f"sqlite:///{tmp_path / 'whole.db'}")
    sources = [("a.csv", a), ("b.csv", b), ("a-again.csv", a)]
    whole = import_events(whole_store, sources, fmt="policeuk", layer="crime",
                          chunk_rows=10**6)
    chunked = import_events(store, sources, fmt="policeuk", layer="crime", chunk_rows=3)
    w, c = whole.as_dict(), chunked.as_dict()
    for k in ("accepted", "rejected", "duplicates", "inserted", "files", "rejections",
              "rejections_total"):
        assert c[k] == w[k], k
    # the third file repeats the first: every accepted row of it is a duplicate
    assert c["files"][2]["inserted"] == 0 and c["files"][2]["duplicates"] > 0
    pd.testing.assert_frame_equal(_events(store), _events(whole_store))
    again = import_events(store, sources, fmt="policeuk", layer="crime", chunk_rows=4)
    assert again.inserted == 0 and again.duplicates == again.accepted == chunked.accepted
    whole_store.dispose()


def test_a_fatal_error_in_a_later_chunk_writes_nothing(store: Store, tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text(policeuk_text(30), newline="")
    import_events(store, [("good.csv", good)], fmt="policeuk", layer="crime", chunk_rows=5)
    before = store.table_counts()
    broken = tmp_path / "broken.csv"  # a quote never closed, rows after several chunks
    broken.write_text(policeuk_text(30, seed=5) + _row(99, location='"On or near\nnowhere'),
                      newline="")
    with pytest.raises(InputFormatError, match="never closed") as err:
        import_events(store, [("good2.csv", good), ("broken.csv", broken)], fmt="policeuk",
                      layer="other", chunk_rows=4)
    lines = (tmp_path / "broken.csv").read_text().count("\n")
    assert err.value.row is not None and err.value.row > 20 and err.value.row <= lines
    wrong_header = tmp_path / "wrong.csv"
    wrong_header.write_text("a,b\n1,2\n")
    with pytest.raises(InputFormatError, match="not a police.uk"):
        import_events(store, [("good.csv", good), ("wrong.csv", wrong_header)],
                      fmt="policeuk", layer="other", chunk_rows=2)
    assert store.table_counts() == before


def test_rejections_are_counted_but_only_the_first_kept(store: Store, tmp_path: Path) -> None:
    f = tmp_path / "f.csv"
    f.write_text(policeuk_text(60), newline="")
    rep = import_events(store, [("f.csv", f)], fmt="policeuk", layer="crime", chunk_rows=5,
                        rejections_kept=3)
    d = rep.as_dict()
    assert len(d["rejections"]) == 3 and d["rejections_total"] == d["rejected"] > 3
    assert d["accepted"] + d["rejected"] == d["files"][0]["rows"]
    assert [r["row"] for r in d["rejections"]] == sorted(r["row"] for r in d["rejections"])


_KILL_SCRIPT = """
import sys
from service.app.importer import import_events
from service.store import Store
store = Store(sys.argv[1])
def progress(stage, done, total):
    if stage == "write" and done > 0:
        print("WROTE", done, flush=True)
import_events(store, [("big.csv", sys.argv[2])], fmt="policeuk", layer="crime",
              chunk_rows=200, progress=progress)
print("DONE", flush=True)
"""


def test_a_killed_import_leaves_no_trace(tmp_path: Path) -> None:
    """SIGKILL after several batches are written (SQLite): the earlier committed import is
    intact, nothing of the killed one is left, and running it again stores it whole."""
    url = f"sqlite:///{tmp_path / 'remap.db'}"
    small = tmp_path / "small.csv"
    small.write_text(policeuk_text(30), newline="")
    store = Store(url)
    import_events(store, [("small.csv", small)], fmt="policeuk", layer="crime")
    before = store.table_counts()
    store.dispose()
    big = tmp_path / "big.csv"
    lines = [HEADER] + [_row(i, crime_id=f"id{i}", location=f"On or near Road {i}")
                        for i in range(20_000)]
    big.write_text("\n".join(lines) + "\n")
    proc = subprocess.Popen([sys.executable, "-c", _KILL_SCRIPT, url, str(big)], cwd=REPO,
                            stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.stdout is not None
    seen = 0
    deadline = time.monotonic() + 300
    while seen < 3 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        assert line.startswith("WROTE"), line  # killed before the end, not after
        seen += 1
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert seen == 3
    store = Store(url)
    try:
        assert store.table_counts() == before
        rep = import_events(store, [("big.csv", big)], fmt="policeuk", layer="crime",
                            chunk_rows=5000)
        assert rep.inserted == 20_000
        assert store.table_counts()["events"] == before["events"] + 20_000
    finally:
        store.dispose()


def test_field_counts_are_the_same_whatever_the_scan_piece(monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    """The byte scan of csvtable in pieces of 3 bytes (parity carried over) counts what the
    csv module counts, on random quoting."""
    from spatial.io import csvtable

    monkeypatch.setattr(csvtable, "_PIECE_BYTES", 3)
    rng = np.random.default_rng(4)
    alphabet = np.array(["a", ",", '"', "\n", "\r\n", "b", '""', " "], dtype=object)
    checked = 0
    for _ in range(1500):
        text = "".join(rng.choice(alphabet, int(rng.integers(1, 40))))
        got = csvtable._field_counts_fast(text.encode())
        if got is None:
            continue
        counts, blank = csvtable._field_counts_csv(text, "t.csv")
        assert got[0].tolist() == counts.tolist(), text
        checked += 1
    assert checked > 150


def test_a_file_that_fits_one_chunk_is_read_whole_without_a_scan(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Fewer line ends than a chunk's records: one chunk, the whole-file read, and the
    record scan never runs; more records than a chunk's and the scan cuts it."""
    data = policeuk_text(40).encode()
    lines = data.count(b"\n") + data.count(b"\r")  # CR LF: two line ends each

    def no_scan(*_a: object, **_k: object) -> None:
        raise AssertionError("the record scan ran")

    monkeypatch.setattr(stream._RecordEnds, "scan", no_scan)
    chunks = list(csv_chunks(io.BytesIO(data), "f.csv", chunk_rows=lines + 1))
    assert [(c.data, c.whole) for c in chunks] == [(data, True)]
    whole = read_events(data, fmt="policeuk", layer="crime", file_name="f.csv")
    assert_same_read(whole, list(read_in_chunks(io.BytesIO(data), fmt="policeuk",
                                                layer="crime", file_name="f.csv",
                                                chunk_rows=lines + 1)))
    monkeypatch.undo()
    cut = list(csv_chunks(io.BytesIO(data), "f.csv", chunk_rows=lines // 2 - 5))
    assert len(cut) >= 2 and not any(c.whole for c in cut)


def test_read_ahead_keeps_order_and_errors_and_closes_the_reads() -> None:
    """The import's read-ahead thread gives the items in order, raises a reader's error
    after the items before it, and closes the reads when the caller stops early."""
    from service.app.importer import _ReadAhead

    closed: list[str] = []

    def reads(fail_at: int | None) -> object:
        try:
            for i in range(5):
                if i == fail_at:
                    raise InputFormatError(f"bad file {i}", file=f"f{i}")
                yield i
        finally:
            closed.append("closed")

    with _ReadAhead(reads(None)) as items:
        assert list(items) == [0, 1, 2, 3, 4]
    got: list[int] = []
    with pytest.raises(InputFormatError, match="bad file 3"):
        with _ReadAhead(reads(3)) as items:
            for item in items:
                got.append(item)
    assert got == [0, 1, 2]
    with pytest.raises(RuntimeError, match="writer failed"):
        with _ReadAhead(reads(None)) as items:
            for item in items:
                if item == 1:
                    raise RuntimeError("writer failed")
    assert closed == ["closed"] * 3


def test_occurrences_in_capped_runs_count_as_a_plain_counter(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs merged like a binary counter up to a cap, beyond it kept apart: every count
    is what a plain dictionary counts, pairs sharing h1 included."""
    from collections import Counter

    from spatial.io import context

    monkeypatch.setattr(context, "RUN_CAP", 40)
    rng = np.random.default_rng(11)
    occ, plain = Occurrences(), Counter()
    for _ in range(30):
        q1 = rng.integers(0, 25, int(rng.integers(1, 30))).astype(np.uint64)
        q2 = rng.integers(0, 3, q1.size).astype(np.uint64)
        seen = occ.seen(q1, q2)
        pairs = list(zip(q1.tolist(), q2.tolist(), strict=True))
        assert seen.tolist() == [plain[p] for p in pairs]
        occ.add(q1, q2)
        plain.update(pairs)
    assert len(occ) == len(plain)
    assert all(len(run[0]) <= 40 for run in occ._runs) and len(occ._runs) > 1


def test_each_file_keeps_its_own_report_entry_when_one_gives_no_read(
        store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # every reader yields a read or raises today; the report must not lean on it
    import service.app.importer as importer

    paths = []
    for k in range(4):
        path = tmp_path / f"f{k}.csv"
        path.write_text(policeuk_text(20 + 10 * k, seed=k), newline="")
        paths.append((path.name, path))
    real_read = importer._read

    def read(source, *, name, **kwargs):  # type: ignore[no-untyped-def]
        if name in ("f1.csv", "f3.csv"):  # a middle and a last file give nothing
            return iter(())
        return real_read(source, name=name, **kwargs)

    monkeypatch.setattr(importer, "_read", read)
    report = import_events(store, paths, fmt="policeuk", layer="crime").as_dict()
    files = {f["file"]: f for f in report["files"]}
    assert [f["file"] for f in report["files"]] == ["f0.csv", "f1.csv", "f2.csv", "f3.csv"]
    # the same import without the two files that gave nothing
    other = Store(f"sqlite:///{tmp_path / 'without.db'}")
    without = import_events(other, paths[::2], fmt="policeuk", layer="crime").as_dict()
    other.dispose()
    for entry in without["files"]:
        assert entry["rows"] > 0 and files[entry["file"]] == entry
    for name in ("f1.csv", "f3.csv"):
        assert files[name]["rows"] == files[name]["accepted"] == files[name]["inserted"] == 0
    assert report["accepted"] == sum(f["accepted"] for f in report["files"])
