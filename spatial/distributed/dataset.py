"""The batch dataset: events as Parquet partitioned by layer and month, and its metadata.

Layout under a dataset folder::

    DIR/_remap_batch.json                       what was imported (see :class:`DatasetInfo`)
    DIR/layer=crime/month=2018-10/part-00003-00000.parquet

One file per (input file, chunk, month): ``part-FFFFF-CCCCC``. Columns are the
events frame's (:data:`spatial.events.EVENT_COLUMNS`) with ``attributes`` as a
struct of the row's non-empty attribute values, plus ``h3`` (uint64, the cell at
the dataset's H3 resolution, as the store keeps it). A window selects whole
month partitions first (an event's ``time`` lies in its partition's month),
then ``time`` within them.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from spatial.errors import NotFoundError, ParameterError
from spatial.limits import check_name

META_FILE: Final = "_remap_batch.json"
FORMAT_VERSION: Final = 1
_MONTH_DIR: Final = re.compile(r"month=(\d{4})-(\d{2})")
#: Columns the counts, density and hotspot passes read.
ANALYSIS_COLUMNS: Final = ("time", "category", "lon", "lat", "x", "y", "crs_epsg", "h3",
                           "time_precision", "location_precision")


@dataclass
class LayerInfo:
    """One layer of a dataset: where it came from and what it holds."""

    sensitivity: str
    files: list[str] = field(default_factory=list)
    rows_read: int = 0
    accepted: int = 0
    rejected: int = 0
    categories: dict[str, int] = field(default_factory=dict)
    months: list[str] = field(default_factory=list)
    crs_epsg: list[int] = field(default_factory=list)


@dataclass
class DatasetInfo:
    """``_remap_batch.json``: the H3 resolution stored and every layer imported."""

    h3_resolution: int
    layers: dict[str, LayerInfo] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    def layer(self, name: str) -> LayerInfo:
        if name not in self.layers:
            known = ", ".join(sorted(self.layers)) or "none"
            raise NotFoundError(f"layer {name!r} is not in this dataset; its layers: {known}")
        return self.layers[name]

    def write(self, folder: Path) -> None:
        path = folder / META_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=1, sort_keys=True), encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def read(cls, folder: Path) -> DatasetInfo:
        path = Path(folder) / META_FILE
        if not path.is_file():
            raise NotFoundError(f"{folder} is not a remap batch dataset (no {META_FILE}); "
                                "make one with 'remap batch import'")
        raw = json.loads(path.read_text(encoding="utf-8"))
        if raw.get("format_version") != FORMAT_VERSION:
            raise ParameterError("dataset", f"{folder}: dataset format "
                                 f"{raw.get('format_version')!r} is not {FORMAT_VERSION}")
        layers = {k: LayerInfo(**v) for k, v in raw.get("layers", {}).items()}
        return cls(h3_resolution=int(raw["h3_resolution"]), layers=layers)


def layer_dir(folder: Path, layer: str) -> Path:
    return Path(folder) / f"layer={check_name(layer, 'layer')}"


def part_path(folder: Path, layer: str, month: str, file_index: int, chunk: int) -> Path:
    return layer_dir(folder, layer) / f"month={month}" / f"part-{file_index:05d}-{chunk:05d}.parquet"


def parts(folder: Path, layer: str, start: datetime | None = None,
          end: datetime | None = None) -> list[str]:
    """Parquet files of ``layer`` whose month overlaps ``[start, end)``, in path order."""
    out: list[str] = []
    for month_dir in sorted(layer_dir(folder, layer).glob("month=*")):
        m = _MONTH_DIR.fullmatch(month_dir.name)
        if m is None:
            continue
        first = datetime(int(m.group(1)), int(m.group(2)), 1)
        after = (datetime(first.year + 1, 1, 1) if first.month == 12
                 else datetime(first.year, first.month + 1, 1))
        if (end is not None and first >= end) or (start is not None and after <= start):
            continue
        out.extend(str(p) for p in sorted(month_dir.glob("*.parquet")))
    return out


def write_events(frame: pd.DataFrame, h3_cells: np.ndarray, folder: Path, layer: str,
                 file_index: int, chunk: int) -> list[str]:
    """Write an events frame (plus its H3 cells) as one Parquet file per month."""
    if frame.empty:
        return []
    month = frame["time"].to_numpy(dtype="datetime64[ns]").astype("datetime64[M]")
    labels = np.datetime_as_string(month, unit="M")
    table = _arrow_table(frame, h3_cells)
    written = []
    order = np.argsort(labels, kind="stable")
    uniq, starts = np.unique(labels[order], return_index=True)
    bounds = [*starts.tolist(), len(order)]
    for i, label in enumerate(uniq.tolist()):
        rows = order[bounds[i]:bounds[i + 1]]
        path = part_path(folder, layer, str(label), file_index, chunk)
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table.take(pa.array(rows)), path, compression="zstd")
        written.append(str(path))
    return written


def _arrow_table(frame: pd.DataFrame, h3_cells: np.ndarray) -> pa.Table:
    """The events frame as Arrow: text as strings, attributes as a struct of strings."""
    columns: dict[str, pa.Array] = {}
    for name in frame.columns:
        if name == "attributes":
            continue
        values = frame[name]
        if values.dtype == object:
            columns[name] = pa.array(values.to_numpy(dtype=object), type=pa.string())
        else:
            columns[name] = pa.array(values.to_numpy())
    columns["h3"] = pa.array(np.asarray(h3_cells, dtype=np.uint64))
    # dicts to columns in C (from_records), then one string column per attribute name
    attrs = pd.DataFrame.from_records(frame["attributes"].tolist(), index=range(len(frame)))
    if attrs.shape[1]:
        arrays = [pa.array(attrs[c].to_numpy(dtype=object), type=pa.string(), from_pandas=True)
                  if attrs[c].dtype == object
                  else pa.array(attrs[c].astype(str).where(attrs[c].notna()).to_numpy(dtype=object),
                                type=pa.string(), from_pandas=True)
                  for c in attrs.columns]
        columns["attributes"] = pa.StructArray.from_arrays(arrays, names=[str(c) for c in
                                                                          attrs.columns])
    return pa.table(columns)


def read_part(path: str, columns: tuple[str, ...] = ANALYSIS_COLUMNS,
              start: datetime | None = None, end: datetime | None = None,
              categories: tuple[str, ...] = ()) -> pd.DataFrame:
    """One Parquet part's events in ``[start, end)`` of ``categories`` (all when empty)."""
    table = pq.read_table(path, columns=list(columns))
    frame = table.to_pandas()
    keep = np.ones(len(frame), dtype=bool)
    if start is not None or end is not None:
        t = frame["time"].to_numpy(dtype="datetime64[ns]")
        if start is not None:
            keep &= t >= np.datetime64(start, "ns")
        if end is not None:
            keep &= t < np.datetime64(end, "ns")
    if categories:
        keep &= frame["category"].isin(list(categories)).to_numpy()
    return frame.loc[keep].reset_index(drop=True) if not keep.all() else frame
