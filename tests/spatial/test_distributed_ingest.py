"""Batch import by chunks: the same events, keys and rejections as reading each file whole."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from spatial.distributed import dataset as ds
from spatial.distributed import ingest
from spatial.errors import InputFormatError, ParameterError
from spatial.io.policeuk import POLICEUK_COLUMNS
from spatial.io.read import read_events
from tests.dask_cluster import dask_client  # noqa: F401 - the fixture

CRIMES = ("Drugs", "Burglary", "Anti-social behaviour")


def _rows(n: int, seed: int) -> list[list[str]]:
    """police.uk rows around Sheffield; some duplicated far apart, some invalid."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        lon = -1.47 + rng.normal(0, 0.02)
        lat = 53.38 + rng.normal(0, 0.015)
        month = f"2019-{1 + i % 3:02d}"
        cat = CRIMES[i % 3]
        crime_id = "" if cat == CRIMES[2] else f"{rng.integers(0, 2**62):064x}"
        rows.append([crime_id, month, "South Yorkshire Police", "South Yorkshire Police",
                     f"{lon:.6f}", f"{lat:.6f}", f"On or near Street {i % 50}",
                     "E01000001", "Sheffield 001A", cat, "", ""])
    for i in range(0, n, 37):  # missing coordinates
        rows[i][4] = rows[i][5] = ""
    for i in range(5, n, 101):  # not a month
        rows[i][1] = "2019-13"
    # anti-social behaviour rows (no Crime ID) repeated from the start to the end of the file
    dup = [list(rows[i]) for i in range(2, min(n, 400), 3) if rows[i][4]]
    return rows + dup


def _write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(POLICEUK_COLUMNS)
        w.writerows(rows)
    return path


def _events(folder: Path, layer: str = "crime") -> pd.DataFrame:
    parts = ds.parts(folder, layer)
    return pd.concat([pq.read_table(p).to_pandas() for p in parts], ignore_index=True)


def test_chunked_import_equals_whole_file_read(dask_client, tmp_path: Path) -> None:  # noqa: F811
    src = _write(tmp_path / "2019-01-sy-street.csv", _rows(3000, 1))
    whole = read_events(src, fmt="policeuk", layer="crime")
    out = tmp_path / "ds"
    rep = ingest.import_files(dask_client, [src], out, layer="crime", chunk_bytes=1 << 16,
                              first_rejections=10_000)
    assert rep.chunks > 3  # really in chunks
    assert rep.keys_renumbered > 0  # duplicates in different chunks
    assert (rep.rows_read, rep.accepted, rep.rejected) == (
        whole.rows_read, len(whole.events), len(whole.rejections))
    got = _events(out).sort_values("event_key").reset_index(drop=True)
    want = whole.events.sort_values("event_key").reset_index(drop=True)
    assert got["event_key"].tolist() == want["event_key"].tolist()
    assert got["source_id"].tolist() == want["source_id"].tolist()
    np.testing.assert_array_equal(got["x"].to_numpy(), want["x"].to_numpy())
    np.testing.assert_array_equal(got["time"].to_numpy(), want["time"].to_numpy())
    assert [(r.file, r.row, r.field, r.reason) for r in rep.rejections] == [
        (r.file, r.row, r.field, r.reason) for r in whole.rejections]
    # the stored cell is the store's: H3 at the dataset's resolution
    from spatial.place.placement import h3_cells
    np.testing.assert_array_equal(got["h3"].to_numpy(np.uint64),
                                  h3_cells(want["lon"].to_numpy(), want["lat"].to_numpy(), 11))
    info = ds.DatasetInfo.read(out)
    assert info.layer("crime").accepted == len(whole.events)
    assert sum(info.layer("crime").categories.values()) == len(whole.events)


def test_rejections_name_file_row_and_field(dask_client, tmp_path: Path) -> None:  # noqa: F811
    rows = _rows(200, 2)
    src = _write(tmp_path / "f.csv", rows)
    rep = ingest.import_files(dask_client, [src], tmp_path / "ds", layer="crime",
                              first_rejections=3)
    assert len(rep.rejections) == 3 and rep.rejected > 3
    first = rep.rejections[0]
    assert (first.file, first.row, first.field) == ("f.csv", 2, "Longitude")
    assert "missing coordinates" in first.reason
    month = [r for r in ingest.import_files(dask_client, [src], tmp_path / "ds2",
                                            layer="crime", first_rejections=100).rejections
             if r.field == "Month"]
    assert month[0].row == 7 and "not a month" in month[0].reason


def test_a_fatal_file_writes_nothing(dask_client, tmp_path: Path) -> None:  # noqa: F811
    good = _write(tmp_path / "good.csv", _rows(100, 3))
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,c\n1,2,3\n", encoding="utf-8")
    out = tmp_path / "ds"
    with pytest.raises(InputFormatError, match="not a police.uk"):
        ingest.import_files(dask_client, [good, bad], out, layer="crime")
    assert not ds.layer_dir(out, "crime").exists()
    assert not (out / ds.META_FILE).exists()
    assert not list(out.glob(".staging-*"))


def test_a_layer_goes_in_once(dask_client, tmp_path: Path) -> None:  # noqa: F811
    src = _write(tmp_path / "f.csv", _rows(50, 4))
    ingest.import_files(dask_client, [src], tmp_path / "ds", layer="crime")
    with pytest.raises(ParameterError) as err:
        ingest.import_files(dask_client, [src], tmp_path / "ds", layer="crime")
    assert err.value.parameter == "out" and "already holds" in err.value.reason


def test_split_keys_reads_hash_and_occurrence() -> None:
    keys = np.array(["0123456789abcdef" * 2 + "-0", "ffffffffffffffff0000000000000001-12"],
                    dtype=object)
    h1, h2, occ = ingest.split_keys(keys)
    assert h1.tolist() == [0x0123456789ABCDEF, 0xFFFFFFFFFFFFFFFF]
    assert h2.tolist() == [0x0123456789ABCDEF, 1]
    assert occ.tolist() == [0, 12]


def test_count_records_ignores_newlines_in_quotes() -> None:
    assert ingest.count_records(b'a,"x\ny",c\nd,e,f\n') == 2
    assert ingest.count_records(b"a\nb") == 2
    assert ingest.count_records(b"") == 0
