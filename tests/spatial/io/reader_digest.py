"""Digests of a read: what "the same results" means for the police.uk reader, part by part.

Used by ``test_arrow_csv.py`` against digests frozen from the reader as it was
before the Arrow reader (``policeuk_digests.json``, computed with the tree of
``main`` at 1f025ec: ``python -m tests.spatial.io.reader_digest --freeze`` run
there), for the police.uk reader and for police.uk files read as mapped CSVs.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

DATA = Path(os.environ.get("REMAP_SHARED_DATA",
                        Path(__file__).resolve().parents[3].parent / "shared" / "data")) / "policeuk"
FROZEN = Path(__file__).with_name("policeuk_digests.json")


def _h(parts: Iterable[bytes]) -> str:
    d = hashlib.sha256()
    for p in parts:
        d.update(len(p).to_bytes(8, "little"))
        d.update(p)
    return d.hexdigest()


def _attribute_dicts(frame: pd.DataFrame) -> list[dict[str, str]]:
    if "attributes" in frame.columns:
        return list(frame["attributes"])
    from spatial.events import attribute_dicts_of  # the columnar shape (attr:<key> columns)

    return list(attribute_dicts_of(frame))


def digest(events: pd.DataFrame, rejections: list, rows_read: int) -> dict[str, object]:
    """sha256 of each part of a read (keys, times, coordinates to the bit, attributes, ...)."""
    def text(col: str) -> str:
        return _h(str(v).encode() for v in events[col].tolist())

    def bits(col: str, dtype: str) -> str:
        return hashlib.sha256(np.ascontiguousarray(events[col].to_numpy(dtype=dtype))
                              .tobytes()).hexdigest()

    attrs = _attribute_dicts(events)
    return {
        "rows_read": rows_read,
        "accepted": len(events),
        "rejected": len(rejections),
        "columns": [c for c in events.columns
                    if not c.startswith("attr:") and c != "attributes"],
        "event_key": text("event_key"),
        "source_id": text("source_id"),
        "time": bits("time", "datetime64[ns]"),
        "time_precision": text("time_precision"),
        "lon": bits("lon", "float64"),
        "lat": bits("lat", "float64"),
        "x": bits("x", "float64"),
        "y": bits("y", "float64"),
        "crs_epsg": bits("crs_epsg", "int64"),
        "location_precision": text("location_precision"),
        "category": text("category"),
        "source": text("source"),
        "sensitivity": text("sensitivity"),
        "layer": text("layer"),
        "attributes": _h(json.dumps(a, sort_keys=False, ensure_ascii=False).encode()
                         for a in attrs),
        "rejections": _h(f"{r.file}|{r.row}|{r.field}|{r.reason}".encode() for r in rejections),
    }


def read_digest(path: Path, chunk_rows: int | None = None, **kw: Any) -> dict[str, object]:
    """The digest of one police.uk file read whole (``chunk_rows`` None) or in chunks."""
    from spatial.io.stream import read_in_chunks

    frames, rejections, rows = [], [], 0
    for r in read_in_chunks(path, fmt="policeuk", layer="crime", chunk_rows=chunk_rows, **kw):
        frames.append(r.events)
        rejections.extend(r.rejections)
        rows += r.rows_read
    events = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return digest(events, rejections, rows)


#: police.uk files read as mapped CSVs (``fmt="csv"``): the generic CSV path, ids from Crime ID
MAPPED = "time=Month,category=Crime type,id=Crime ID"
#: and with content keys (no id column), attributes chosen
MAPPED_NO_ID = "time=Month,category=Crime type,attributes=Location|Context|LSOA name"


def mapped_digest(path: Path, mapping: str, chunk_rows: int | None = None,
                  **kw: Any) -> dict[str, object]:
    """The digest of one police.uk file read as a mapped CSV."""
    from spatial.io.stream import read_in_chunks

    frames, rejections, rows = [], [], 0
    for r in read_in_chunks(path, fmt="csv", layer="crime", chunk_rows=chunk_rows,
                            mapping=mapping, **kw):
        frames.append(r.events)
        rejections.extend(r.rejections)
        rows += r.rows_read
    events = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return digest(events, rejections, rows)


def files() -> list[Path]:
    return sorted(DATA.glob("*.csv"))


if __name__ == "__main__":
    if "--freeze" in sys.argv:
        out = {p.name: read_digest(p) for p in files()}
        out["chunked:" + files()[1].name] = read_digest(files()[1], chunk_rows=5000)
        for p in files()[:2]:
            out["mapped:" + p.name] = mapped_digest(p, MAPPED)
            out["mapped-no-id:" + p.name] = mapped_digest(p, MAPPED_NO_ID)
        out["mapped-chunked:" + files()[1].name] = mapped_digest(files()[1], MAPPED,
                                                                 chunk_rows=4000)
        FROZEN.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
        print(f"wrote {FROZEN}")
