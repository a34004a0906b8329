"""Import pipeline: read and validate every input, place events, write once.

Shared by the CLI and the API. All inputs of one request are read and
validated before anything is written: a fatal error in any of them
(wrong format, wrong header) leaves the store exactly as it was; otherwise
every accepted row of every input is committed in one transaction.
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
import shapely

from service.app import geocoding
from service.store import Store
from spatial.errors import InputFormatError, ParameterError, Rejection
from spatial.io.boundaries import read_boundaries
from spatial.io.mapping import ColumnMapping
from spatial.io.read import FORMATS, read_events
from spatial.limits import MAX_LABEL, check_length, check_name
from spatial.place import crs, placement

#: (file name, path or binary stream)
Source = tuple[str, "str | Path | IO[bytes]"]
Progress = Callable[[str, int, int], None]


@dataclass
class FileReport:
    file: str
    rows: int
    accepted: int
    rejected: int
    duplicates: int = 0
    inserted: int = 0


@dataclass
class ImportReport:
    """What an import did. ``accepted + rejected`` equals the rows read."""

    layer: str
    format: str
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    inserted: int = 0
    files: list[FileReport] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    timings_s: dict[str, float] = field(default_factory=dict)
    peak_memory_mb: float | None = None
    h3_resolution: int = 0
    boundary_sets_placed: list[str] = field(default_factory=list)
    warnings: list[Rejection] = field(default_factory=list)  # e.g. corrected postcodes

    def as_dict(self, max_rejections: int | None = None) -> dict[str, Any]:
        rej = self.rejections if max_rejections is None else self.rejections[:max_rejections]
        return {
            "layer": self.layer, "format": self.format,
            "accepted": self.accepted, "rejected": self.rejected,
            "duplicates": self.duplicates, "inserted": self.inserted,
            "files": [vars(f) for f in self.files],
            "rejections": [r.as_dict() for r in rej],
            "rejections_total": len(self.rejections),
            "timings_s": {k: round(v, 4) for k, v in self.timings_s.items()},
            "h3_resolution": self.h3_resolution,
            "boundary_sets_placed": self.boundary_sets_placed,
            "warnings": [w.as_dict() for w in self.warnings[:1000]],
            "warnings_total": len(self.warnings),
        }


def import_events(store: Store, sources: Sequence[Source], *, fmt: str, layer: str,
                  mapping: ColumnMapping | None = None,
                  area_of_interest: tuple[float, float, float, float] | None = crs.UK_BOUNDS,
                  actor: str = "cli", progress: Progress | None = None,
                  measure_memory: bool = False, **reader_options: Any) -> ImportReport:
    """Read, validate, place and store events from ``sources``.

    Raises :class:`InputFormatError` (nothing written) when any source is
    unusable as a whole.
    """
    if fmt not in FORMATS:
        raise ParameterError("format", f"{fmt!r} is not one of {', '.join(FORMATS)}")
    if fmt != "policeuk" and mapping is None:
        raise ParameterError("map", f"format {fmt!r} needs a column mapping "
                                    "(e.g. id=ref,time=date,lon=lon,lat=lat,category=type)")
    if not sources:
        raise ParameterError("files", "no input files given")
    check_name(layer, "layer")
    if measure_memory:
        tracemalloc.start()
    report = ImportReport(layer=layer, format=fmt, h3_resolution=store.h3_resolution)
    timings = {"parse": 0.0, "validate": 0.0, "place": 0.0, "write": 0.0}
    frames: list[pd.DataFrame] = []
    reader_options = geocoding.reader_options(store, fmt, mapping, reader_options)
    for i, (name, source) in enumerate(sources):
        if progress:
            progress("read", i, len(sources))
        kwargs: dict[str, Any] = dict(fmt=fmt, layer=layer, file_name=name,
                                      area_of_interest=area_of_interest, **reader_options)
        if fmt != "policeuk":
            kwargs["mapping"] = mapping
        result = read_events(source, **kwargs)
        if len(result.events) and result.events["category"].isna().any():
            # the store keeps a category for every event: say so before anything is written
            raise ParameterError("map", f"{name}: no category column is mapped: add "
                                        "category=COLUMN to the mapping, or give every row one "
                                        "category (--category-default; category_default in "
                                        "the API)")
        for stage in ("parse", "validate"):
            timings[stage] += result.timings.get(stage, 0.0)
        report.files.append(FileReport(file=name, rows=result.rows_read,
                                       accepted=len(result.events),
                                       rejected=len(result.rejections)))
        report.rejections.extend(result.rejections)
        report.warnings.extend(result.warnings)
        frames.append(result.events.assign(_file=i))
    if progress:
        progress("read", len(sources), len(sources))

    batch = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    report.rejected = len(report.rejections)
    store_events(store, batch, report, timings=timings, file_names=[n for n, _ in sources],
                 actor=actor, progress=progress)
    report.timings_s = timings
    if measure_memory:
        report.peak_memory_mb = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return report


def store_events(store: Store, batch: pd.DataFrame, report: ImportReport, *,
                 timings: dict[str, float], file_names: list[str], actor: str,
                 progress: Progress | None = None) -> None:
    """Place validated events and write the new ones, in one transaction.

    ``batch`` is an events frame (plus ``_file``, the index of its input in
    ``file_names``). Fills the counts of ``report``.
    """
    t0 = time.perf_counter()
    if "_file" not in batch:
        batch = batch.assign(_file=0)
    report.accepted = len(batch)
    if not batch.empty:
        cells = placement.h3_cells(batch["lon"].to_numpy(), batch["lat"].to_numpy(),
                                   store.h3_resolution)
        batch["h3"] = placement.cells_to_str(cells)
    timings["place"] = timings.get("place", 0.0) + time.perf_counter() - t0

    t0 = time.perf_counter()
    with store.begin(bulk=True) as conn:
        store.ensure_layer(conn, report.layer)
        import_id = store.record_import(conn, layer=report.layer,
                                        file_name=", ".join(file_names)[:2000],
                                        fmt=report.format, actor=actor)
        if not batch.empty:
            # the same row given twice in one request counts as a duplicate too
            in_batch_dup = batch.duplicated("event_key", keep="first").to_numpy()
            existing = store.existing_keys(conn, report.layer, batch["event_key"].tolist())
            dup = in_batch_dup | batch["event_key"].isin(existing).to_numpy()
            new = batch.loc[~dup]
            dup_per_file = np.bincount(batch["_file"].to_numpy()[dup],
                                       minlength=len(file_names))
            for fr, n_dup in zip(report.files, dup_per_file, strict=False):
                fr.duplicates = int(n_dup)
                fr.inserted = fr.accepted - fr.duplicates
            report.duplicates = int(dup.sum())
            if progress:
                progress("write", 0, len(new))
            ids = store.insert_events(conn, new.drop(columns="_file"), import_id)
            report.inserted = len(ids)
            timings["write"] = timings.get("write", 0.0) + time.perf_counter() - t0
            t1 = time.perf_counter()
            report.boundary_sets_placed = _place_in_all_sets(store, conn, ids, new)
            timings["place"] += time.perf_counter() - t1
            t0 = time.perf_counter()
        store.finish_import(conn, import_id, accepted=report.accepted, rejected=report.rejected,
                            duplicates=report.duplicates)
        store.audit(conn, actor, "import", {"layer": report.layer, "format": report.format,
                                            "files": file_names, "accepted": report.accepted,
                                            "rejected": report.rejected,
                                            "inserted": report.inserted})
    timings["write"] = timings.get("write", 0.0) + time.perf_counter() - t0
    if progress:
        progress("write", report.inserted, report.inserted)


def _place_in_all_sets(store: Store, conn: Any, event_ids: np.ndarray,
                       frame: pd.DataFrame) -> list[str]:
    """Place new events in every stored boundary-set version (NULL: outside all)."""
    placed = []
    for info in store.boundary_sets_list():
        units = store.boundary_units_frame(info.id)
        place_events_in_set(store, conn, info.id, units, event_ids,
                            frame["lon"].to_numpy(), frame["lat"].to_numpy())
        placed.append(f"{info.name} v{info.version}")
    return placed


def place_events_in_set(store: Store, conn: Any, set_id: int, units: pd.DataFrame,
                        event_ids: np.ndarray, lon: np.ndarray, lat: np.ndarray) -> None:
    """Exact point-in-polygon of events into one set's polygons (WGS84 both)."""
    polygons = shapely.from_wkb(units["wkb"].to_numpy())
    index = placement.assign_polygons(lon, lat, polygons)
    unit_ids = units["unit_id"].to_numpy(dtype=object)
    # index -1 (outside every polygon) picks the trailing None
    assigned = np.append(unit_ids, np.array([None], dtype=object))[index]
    store.write_placements(conn, set_id, event_ids, assigned.tolist())


@dataclass
class BoundaryImportReport:
    name: str
    version: int
    set_id: int
    units: int
    repairs: list[str]
    rejections: list[Rejection]
    events_placed: int
    events_outside: int

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "id": self.set_id,
                "units": self.units, "repairs": self.repairs,
                "rejections": [r.as_dict() for r in self.rejections],
                "events_placed": self.events_placed, "events_outside": self.events_outside}


def import_boundaries(store: Store, source: str | Path | IO[bytes], *, file_name: str,
                      name: str, id_field: str, label_field: str | None = None,
                      effective_date: date | None = None, layer: str | None = None,
                      actor: str = "cli", zip_limits: tuple[int, float] | None = None
                      ) -> BoundaryImportReport:
    """Store a new version of boundary set ``name`` and place every stored event in it."""
    check_name(name, "name")
    check_length(id_field, "id_field", MAX_LABEL)
    if label_field is not None:
        check_length(label_field, "label_field", MAX_LABEL)
    read = read_boundaries(source, id_field=id_field, label_field=label_field,
                           file_name=file_name, layer=layer, zip_limits=zip_limits)
    gdf = read.units
    if gdf.empty:
        raise InputFormatError("no usable polygons in the file", file=file_name)
    centroids = gdf.geometry.representative_point()
    epsg = crs.metric_epsg(centroids.x.to_numpy(), centroids.y.to_numpy())
    areas = gdf.to_crs(epsg).area.to_numpy()
    wkb = shapely.to_wkb(gdf.geometry.to_numpy(), hex=True)
    units = list(zip(gdf["unit_id"].astype(str), gdf["label"].astype(str), wkb,
                     areas.astype(float), strict=True))
    with store.begin() as conn:
        set_id, version = store.add_boundary_set(
            conn, name=name, id_field=id_field, label_field=label_field,
            effective_date=effective_date, source_file=file_name, repairs=read.repairs,
            units=units)
        positions = store.all_event_positions(conn)
        units_frame = pd.DataFrame({"unit_id": gdf["unit_id"].astype(str).to_numpy(),
                                    "wkb": wkb})
        place_events_in_set(store, conn, set_id, units_frame,
                            positions["id"].to_numpy(), positions["lon"].to_numpy(),
                            positions["lat"].to_numpy())
        store.audit(conn, actor, "boundaries_import",
                    {"name": name, "version": version, "units": len(units),
                     "repairs": len(read.repairs), "file": file_name})
    counts = store.placement_counts(set_id)
    outside = counts.get(None, 0)
    return BoundaryImportReport(name=name, version=version, set_id=set_id, units=len(units),
                                repairs=read.repairs, rejections=read.rejections,
                                events_placed=sum(counts.values()) - outside,
                                events_outside=outside)
