"""Batch requests on the Dask path, shared by ``remap batch`` and ``/v1/batch``.

A batch request names a dataset folder (Parquet partitions made by ``remap
batch import``, :mod:`spatial.distributed.dataset`), a layer, categories, a
window, a unit and a study area, like ``remap counts`` on the store. The
study area and units are built as the single-machine counts build them
(:mod:`service.app.analysis`): the default study area is the lon/lat box of
the selected events, found by a first pass on the cluster; boundary units come
from a boundary file (``--boundaries``) instead of a stored set. Counts are
then summed on the cluster (:mod:`spatial.distributed.counting`) and pass the
disclosure module as every other count does.

Where the work runs: ``REMAP_DASK_ADDRESS`` (or ``remap --dask``): ``local``
starts a LocalCluster, anything else is a scheduler address.
"""

from __future__ import annotations

import atexit
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely

from service.app import disclosure
from service.app.analysis import AreaSpec, UnitSpec, data_warnings
from service.settings import get_settings
from spatial.categories import match_categories
from spatial.disclosure import needs_small_number_suppression
from spatial.distributed import cluster, counting, hotspots, ingest
from spatial.distributed import dataset as ds
from spatial.errors import ParameterError, PermissionDeniedError
from spatial.io.boundaries import read_boundaries
from spatial.limits import MAX_CATEGORY, check_length, check_name
from spatial.place import units as unitsmod
from spatial.timewindow import TimeWindow, parse_window

# --- where the work runs ------------------------------------------------------------------


def dask_address(option: str | None = None) -> str:
    """``--dask`` when given, else ``REMAP_DASK_ADDRESS``; checked."""
    return cluster.check_address(option or get_settings().dask_address)


@contextmanager
def open_client(address: str | None = None) -> Iterator[Any]:
    """A client for one CLI command (a local cluster lives as long as the command)."""
    settings = get_settings()
    with cluster.connect(dask_address(address),
                         processes=settings.dask_local_processes) as client:
        yield client


_CLIENTS: dict[str, Any] = {}
_CLIENTS_LOCK = threading.Lock()
_CLIENT_EXITS: list[Any] = []


def shared_client(address: str | None = None, *, processes: bool | None = None) -> Any:
    """One client per address for the life of the process (the API's requests share it)."""
    value = dask_address(address)
    with _CLIENTS_LOCK:
        client = _CLIENTS.get(value)
        if client is None or client.status != "running":
            manager = cluster.connect(value, processes=get_settings().dask_local_processes
                                      if processes is None else processes)
            client = manager.__enter__()
            _CLIENTS[value] = client
            _CLIENT_EXITS.append(manager)
        return client


@atexit.register
def _close_clients() -> None:
    while _CLIENT_EXITS:
        manager = _CLIENT_EXITS.pop()
        try:
            manager.__exit__(None, None, None)
        except Exception:  # noqa: BLE001, S110 - the process is ending anyway
            pass
    _CLIENTS.clear()


# --- datasets and boundary files ----------------------------------------------------------


def dataset_path(name: str, root: Path | None = None, field_name: str = "dataset") -> Path:
    """The folder ``name`` under ``REMAP_BATCH_ROOT``; names that leave it are refused."""
    base = root if root is not None else get_settings().batch_root
    if base is None:
        raise ParameterError(field_name, "batch datasets are not served here: set "
                                         "REMAP_BATCH_ROOT to the folder that holds them")
    if not isinstance(name, str) or not name.strip() or name.startswith(("/", "\\")) \
            or "\\" in name or any(part in ("..", ".", "") for part in name.split("/")) \
            or "\x00" in name:
        raise ParameterError(field_name, f"{name!r} is not a dataset name under the batch "
                                         "root (relative, no '..' or '.' parts)")
    base_r = Path(base).resolve()
    path = (base_r / name).resolve()
    if path != base_r and base_r not in path.parents:
        raise ParameterError(field_name, f"{name!r} leaves the batch root")
    return path


@dataclass(frozen=True)
class BoundarySource:
    """A boundary file giving the units of ``boundary:NAME`` (and areas ``boundary:NAME:...``)."""

    name: str
    path: Path
    id_field: str
    label_field: str | None = None

    def frame(self) -> Any:
        read = read_boundaries(self.path, id_field=self.id_field, label_field=self.label_field)
        gdf = read.units
        if gdf.empty:
            raise ParameterError("boundaries", f"{self.path.name}: no usable polygons")
        # in unit id order, as the store lists a boundary set's units
        return gdf.sort_values("unit_id", kind="stable").reset_index(drop=True)


# --- requests -----------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchRequest:
    """Layer, categories, window, unit and study area over a batch dataset."""

    folder: Path
    layer: str
    categories: tuple[str, ...]
    window: TimeWindow
    unit: UnitSpec
    area: AreaSpec
    boundaries: BoundarySource | None = None

    @classmethod
    def parse(cls, *, folder: Path, layer: str, unit: str,
              categories: tuple[str, ...] | list[str] = (), start: str | None = None,
              end: str | None = None, area: str | None = None,
              boundaries: BoundarySource | None = None) -> BatchRequest:
        check_name(layer, "layer")
        for c in categories:
            check_length(c, "category", MAX_CATEGORY)
        spec = UnitSpec.parse(unit)
        area_spec = AreaSpec.parse(area)
        for kind, set_name, what in ((spec.kind, spec.boundary_set, "unit"),
                                     (area_spec.kind, area_spec.boundary_set, "area")):
            if kind == "boundary" and (boundaries is None or boundaries.name != set_name):
                raise ParameterError(what, f"boundary:{set_name} needs its boundary file: "
                                           f"give --boundaries FILE --boundary-name {set_name} "
                                           "(boundaries in the API)")
        return cls(folder=Path(folder), layer=layer, categories=tuple(categories),
                   window=parse_window(start, end), unit=spec, area=area_spec,
                   boundaries=boundaries)

    def selection(self, info: ds.DatasetInfo) -> counting.Selection:
        """The events selected, categories spelled as the dataset holds them."""
        known = info.layer(self.layer).categories
        cats = (match_categories(self.categories, known, layer=self.layer)
                if self.categories and known else self.categories)
        return counting.Selection(self.layer, tuple(cats), self.window.start, self.window.end)


class _SelectedEvents:
    """What :func:`service.app.disclosure.check_counts_request` asks of a store."""

    def __init__(self, n: int) -> None:
        self.n = n

    def count_events(self, _filter: Any) -> int:
        return self.n


@dataclass
class BatchCounts:
    """Counts per unit from the cluster, as the caller may see them."""

    units: unitsmod.UnitSet
    unit_ids: np.ndarray
    labels: np.ndarray
    counts: np.ndarray            # exact counts (for statistics; not shown as such)
    shown: list[Any]              # counts as the role may see them
    parameters: dict[str, Any]
    warnings: list[str]
    cluster: dict[str, Any]
    selection: counting.Selection
    timings_s: dict[str, float] = field(default_factory=dict)

    def meta(self) -> dict[str, Any]:
        """What every batch answer carries beside its unit rows (CLI and API)."""
        return {"cluster": self.cluster, "parameters": self.parameters,
                "warnings": self.warnings, "timings_s": self.timings_s}

    def rows(self) -> list[dict[str, Any]]:
        return [{"unit_id": str(u), "label": None if lab is None else str(lab), "count": c}
                for u, lab, c in zip(self.unit_ids, self.labels, self.shown, strict=True)]


def _study_units(req: BatchRequest, extent: counting.Extent, h3_stored: int
                 ) -> tuple[unitsmod.UnitSet, np.ndarray, np.ndarray]:
    """Units of the study area, built as :func:`service.app.analysis._study_units` does."""
    gdf = req.boundaries.frame() if req.boundaries is not None else None

    def subset_of(tokens: tuple[str, ...], param: str) -> Any:
        from service.app.unit_names import resolve_unit_ids

        assert gdf is not None and req.boundaries is not None
        if not tokens:
            return gdf
        with_label = gdf if "label" in gdf else gdf.assign(label=None)
        return gdf[gdf["unit_id"].isin(resolve_unit_ids(with_label, tokens, param,
                                                        req.boundaries.name))]

    def area_geometry() -> Any:
        if req.area.kind == "boundary":
            return shapely.union_all(subset_of(req.area.units, "area").geometry.to_numpy())
        if req.area.kind == "bbox":
            assert req.area.bbox is not None
            return shapely.box(*req.area.bbox)
        if extent.bbox is None:
            raise ParameterError("area", "no events match and no study area was given; pass "
                                         "--area bbox:... or boundary:NAME")
        return shapely.box(*extent.bbox)

    if req.unit.kind == "boundary":
        assert gdf is not None and req.boundaries is not None
        same_set = req.area.kind == "boundary" and req.area.boundary_set == req.unit.boundary_set
        frame = subset_of(req.area.units if same_set else (), "area")
        units = unitsmod.boundary_units(frame, set_name=req.boundaries.name)
        if req.area.kind != "extent" and not same_set:
            geom = area_geometry()
            keep = units.geometry.intersects(geom).to_numpy()
            frame = frame[keep]
            units = unitsmod.boundary_units(frame, set_name=req.boundaries.name, area=geom)
        labels = (frame["label"].to_numpy(dtype=object) if "label" in frame
                  else np.full(len(frame), None, dtype=object))
        return units, labels, frame["unit_id"].astype(str).to_numpy(dtype=object)
    geom = area_geometry()
    if req.unit.kind == "h3":
        assert req.unit.resolution is not None
        if req.unit.resolution > h3_stored:
            raise ParameterError("unit", f"H3 resolution {req.unit.resolution} is finer than "
                                         f"the stored {h3_stored}")
        units = unitsmod.h3_units(geom, req.unit.resolution)
    else:
        assert req.unit.cell_size_m is not None
        units = unitsmod.grid_units(geom, req.unit.cell_size_m, epsg=extent.epsg)
    return units, np.full(len(units.ids), None, dtype=object), units.ids


def batch_counts(client: Any, req: BatchRequest, *, role: str = "admin",
                 actor: str | None = None, audit_store: Any = None,
                 requested: str = "local") -> BatchCounts:
    """Counts per unit of ``req`` summed on the cluster of ``client``.

    The disclosure gate of :func:`service.app.analysis.unit_counts`: a request
    ``role`` may not make is refused; protected counts and totals are rounded;
    protected layers are counted on whole units; reads of health and restricted
    layers are audited in ``audit_store`` (the API's store) when given.
    """
    t0 = time.perf_counter()
    info = ds.DatasetInfo.read(req.folder)
    sel = req.selection(info)
    layers = (req.layer,)
    disclosure.check_counts_request(_SelectedEvents(0), role=role, layers=layers,
                                    unit=req.unit, window=req.window, categories=(),
                                    event_filter=None)
    extent = counting.scan(client, req.folder, sel)
    if sel.categories:
        disclosure.check_counts_request(_SelectedEvents(extent.events), role=role,
                                        layers=layers, unit=req.unit, window=req.window,
                                        categories=sel.categories, event_filter=None)
    units, labels, plain_ids = _study_units(req, extent, info.h3_resolution)
    tally = counting.count_units(client, req.folder, sel, units)
    whole = units.area is not None and disclosure.whole_units_only(role, layers)
    counts = tally.whole_unit_counts if whole else tally.counts
    inside = int(counts.sum())
    clipped = 0 if whole else tally.clipped

    def total(n: int) -> Any:
        return disclosure.shown_total(role, layers, n)

    params: dict[str, Any] = {
        "dataset": req.folder.name, "layer": req.layer,
        "categories": list(sel.categories) or "all", "window": req.window.as_dict(),
        "unit": req.unit.describe(),
        "area": (f"boundary file {req.boundaries.name}" if req.unit.kind == "boundary"
                 and req.boundaries is not None and req.area.kind == "extent"
                 else req.area.describe()),
        "units": len(units), "zero_units": int((counts == 0).sum()),
        "events_selected": total(extent.events), "events_counted": total(inside),
        "events_outside_area": total(extent.events - inside),
        "events_outside_area_in_edge_units": total(clipped),
        **{f"unit_{k}": v for k, v in units.parameters.items()},
        "small_number_suppression": disclosure.suppression_note(role, layers),
        "partitions": tally.partitions, "h3_resolution_stored": info.h3_resolution,
    }
    if whole:
        params["unit_edge_units"] = "counted whole (disclosure control)"
    warnings: list[str] = []
    if req.area.kind == "extent" and req.unit.kind != "boundary":
        warnings.append("no study area given: the bounding box of the selected events was "
                        "used, so units beyond it are not reported")
    if clipped:
        warnings.append(f"not counted: {total(clipped)} "
                        f"{'event' if clipped == 1 else 'events'} outside the study area in "
                        "units that reach beyond its edge (an edge unit counts only the "
                        "events inside the study area)")
    flags = pd.DataFrame({
        "time_precision": ["month" if extent.month_precision else "day"],
        "location_precision": ["snapped" if extent.snapped else
                               "rounded" if extent.rounded else "exact"]})
    if extent.snapped and extent.rounded:
        flags = pd.concat([flags, pd.DataFrame({"time_precision": ["day"],
                                                "location_precision": ["rounded"]})])
    warnings += data_warnings(flags if extent.events else flags.iloc[:0], len(units), inside,
                              shown=total(inside))
    if audit_store is not None:
        disclosure.audit_read(audit_store, actor, role, req.layer, events=inside,
                              what={"unit": req.unit.describe(), "window": req.window.as_dict(),
                                    "categories": list(sel.categories), "batch": True})
    return BatchCounts(units=units, unit_ids=plain_ids, labels=labels, counts=counts,
                       shown=disclosure.shown_counts(role, req.layer, counts),
                       parameters=params, warnings=warnings,
                       cluster=cluster.cluster_info(client, requested).as_dict(),
                       selection=sel,
                       timings_s={"scan": round(extent.seconds, 3),
                                  "count": round(tally.seconds, 3),
                                  "total": round(time.perf_counter() - t0, 3)})


# --- hotspots -----------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchHotspotOptions:
    method: str = "gistar"
    k: int = 1
    permutations: int | None = None
    seed: int | None = None
    correction: str = "fdr_bh"
    alpha: float = 0.05

    def __post_init__(self) -> None:
        from service.app.hotspots import HotspotOptions

        HotspotOptions(method=self.method, k=self.k, permutations=self.permutations,
                       seed=self.seed, correction=self.correction, alpha=self.alpha)
        if self.method not in hotspots.METHODS:
            raise ParameterError("method", f"{self.method!r}: batch hotspots are "
                                           f"{' or '.join(hotspots.METHODS)}")


def refuse_statistics(role: str, layer: str) -> None:
    """Unit statistics are invertible functions of exact counts: not for protected layers."""
    if needs_small_number_suppression(role, [layer]):
        raise PermissionDeniedError(
            f"layer {layer!r} is health or restricted data: role {role!r} receives its "
            "protected counts only, not unit statistics or density surfaces, which would "
            "reveal exact counts")


def batch_hotspots(client: Any, req: BatchRequest, opts: BatchHotspotOptions, *,
                   role: str = "admin", actor: str | None = None, audit_store: Any = None,
                   requested: str = "local") -> tuple[BatchCounts, list[dict[str, Any]]]:
    """Gi* or LISA per unit: counts aggregated on the cluster, statistics here."""
    refuse_statistics(role, req.layer)
    bc = batch_counts(client, req, role=role, actor=actor, audit_store=audit_store,
                      requested=requested)
    t0 = time.perf_counter()
    seed = opts.seed if opts.seed is not None else secrets.randbelow(2**31 - 1)
    result, params = hotspots.unit_statistics(
        bc.units, bc.counts, method=opts.method, k=opts.k, permutations=opts.permutations,
        seed=seed, correction=opts.correction, alpha=opts.alpha)
    bc.parameters.update({"method": opts.method, **params, "p_values": "two-sided"})
    bc.warnings.extend(result.warnings)
    rows = bc.rows()
    if opts.method == "gistar":
        for i, r in enumerate(rows):
            r.update({"GiZScore": _f(result.z[i]), "GiPValue": _f(result.p[i]),
                      "GiPValueAdjusted": _f(result.p_adjusted[i]), "Gi_Bin": int(result.bin[i]),
                      "NNeighbors": int(result.n_neighbours[i])})
            if result.p_sim is not None:
                r["GiPValuePermutation"] = _f(result.p_sim[i])
    else:
        for i, r in enumerate(rows):
            r.update({"Is": _f(result.Is[i]), "z": _f(result.z[i]),
                      "p": _f(result.p_sim[i] if result.p_sim is not None
                              else result.p_norm[i]),
                      "p_adjusted": _f(result.p_adjusted[i]), "quadrant": int(result.q[i]),
                      "cluster": str(result.labels[i])})
    bc.timings_s["statistic"] = round(time.perf_counter() - t0, 3)
    return bc, rows


def _f(v: Any) -> float | None:
    v = float(v)
    return None if not np.isfinite(v) else v


# --- import -------------------------------------------------------------------------------


def batch_import(client: Any, files: list[str], out: Path, *, layer: str, fmt: str = "policeuk",
                 chunk_bytes: int = ingest.CHUNK_BYTES,
                 first_rejections: int = ingest.FIRST_REJECTIONS) -> ingest.BatchImport:
    """Files to a batch dataset at the store's H3 resolution and area of interest."""
    settings = get_settings()
    return ingest.import_files(client, files, out, layer=layer, fmt=fmt,
                               h3_resolution=settings.h3_resolution,
                               area_of_interest=settings.aoi_bounds, chunk_bytes=chunk_bytes,
                               first_rejections=first_rejections)


# --- density ------------------------------------------------------------------------------


def batch_kde(client: Any, req: BatchRequest, *, bandwidth: float | str = "silverman",
              cell_size_m: float | None = None, kernel: str = "gaussian",
              tile_cells: int = 256, role: str = "admin", actor: str | None = None,
              audit_store: Any = None, requested: str = "local"
              ) -> tuple[BatchCounts, list[dict[str, Any]], Any]:
    """Kernel density by tiles on the cluster; the mean density of every unit.

    The surface is that of ``remap hotspots --method kde`` (same grid, bandwidth
    rule and kernel); returns the counts, the unit rows with ``density`` (events
    per km²) and the surface.
    """
    from spatial.distributed.density import tiled_kde
    from spatial.place.crs import geometry_to_metric
    from spatial.stats import density

    refuse_statistics(role, req.layer)
    bc = batch_counts(client, req, role=role, actor=actor, audit_store=audit_store,
                      requested=requested)
    t0 = time.perf_counter()
    surface, info = tiled_kde(client, str(req.folder), bc.selection, bc.units,
                              cell_size_m=cell_size_m, bandwidth_m=bandwidth, kernel=kernel,
                              tile_cells=tile_cells)
    polys = geometry_to_metric(np.asarray(bc.units.geometry.values, dtype=object),
                               bc.units.epsg)
    values = density.mean_per_unit(surface, list(polys))
    rows = bc.rows()
    for r, v in zip(rows, values.tolist(), strict=True):
        r["density"] = _f(v)
    bc.parameters.update({"method": "kde", **{"kde_" + k: v for k, v in
                                               surface.parameters.items()},
                          "bandwidth_m": surface.bandwidth_m,
                          "cell_size_m": surface.cell_size_m, "kernel": surface.kernel,
                          "mass_in_grid": surface.mass_in_grid,
                          "density_units": "events per km²"})
    bc.timings_s["kde"] = round(time.perf_counter() - t0, 3)
    bc.timings_s["kde_tiles"] = info["tiles"]
    return bc, rows, surface
