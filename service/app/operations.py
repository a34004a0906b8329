"""Operations in the store: definitions, the baseline lock and the evaluation report.

An operation is created from a definition (:class:`OperationIn`: target,
buffer, control, windows, layers, options), resolved once against the store
(boundary units become polygons, recorded with the boundary-set version used;
a suggested control becomes the chosen units with the reasons) and kept in
the ``operations`` table with status ``planned``.

Starting it locks the baseline: the before-window counts of every layer and
category in every area, buffer ring, distance-decay ring, H3 cell of the
SPPT and the overdose watch are frozen with a sha256 fingerprint
(:func:`spatial.evaluation.operations.baseline_snapshot`). A report recomputes them
from the events as stored now, **uses the locked figures**, and lists every
difference (e.g. "3 events imported after the baseline lock changed the
before count of crime/Drugs in target: 41 → 44; the locked figures were
used") together with the imports made after the lock. A stored baseline that
no longer matches its fingerprint is reported too.

The analysis itself is :func:`spatial.evaluation.operations.evaluate_operation`; this
module only loads events (:meth:`Store.event_arrays`) and keeps records.
"""

from __future__ import annotations

import json
import math
import weakref
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from shapely.geometry import mapping as shape_mapping

from service.app.analysis import boundary_frame
from service.store import EventFilter, Store
from service.store.base import now as _now
from service.store.tables import imports, operations_table
from spatial.disclosure import POINT_LEVEL_ROLES
from spatial.errors import ConflictError, NotFoundError, ParameterError
from spatial.evaluation import operations as ops
from spatial.place import placement

OPERATION_STATUSES = ("planned", "started")

_READY: weakref.WeakSet[Store] = weakref.WeakSet()


def _ensure_schema(store: Store) -> None:
    """Apply the operations migration to a store opened before this module was imported."""
    if store not in _READY:
        store.migrate()
        _READY.add(store)


# --------------------------------------------------------------------------- the definition


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WindowIn(_Model):
    """An inclusive date window."""

    start: date
    end: date

    @model_validator(mode="after")
    def _order(self) -> WindowIn:
        if self.end < self.start:
            raise ValueError(f"ends {self.end} before it starts {self.start}")
        return self


class WindowsIn(_Model):
    before: WindowIn
    during: WindowIn | None = None
    after: WindowIn


class AreaIn(_Model):
    """An area: ``boundary`` (units of a stored boundary set), ``geojson`` (a WGS84
    polygon), ``circle`` (target only: centre lon/lat and radius in metres) or
    ``suggest`` (control only: chosen from a boundary set's units)."""

    type: Literal["boundary", "geojson", "circle", "suggest"]
    set: str | None = Field(None, description="boundary set name")
    version: int | None = Field(None, ge=1, description="boundary set version (default latest)")
    units: list[str] = Field(default_factory=list, description="unit ids of the set")
    geometry: dict[str, Any] | None = Field(None, description="GeoJSON, WGS84")
    centre: tuple[float, float] | None = Field(None, description="(lon, lat)")
    radius_m: float | None = Field(None, gt=0, le=50_000)
    max_units: int = Field(5, ge=1, le=50, description="suggest: most units in the control")
    max_distance_m: float = Field(5_000.0, gt=0, le=100_000,
                                  description="suggest: farthest a unit may be from the target")
    match_on: list[str] | None = Field(None, description="suggest: layer/category keys whose "
                                                         "baseline counts are matched "
                                                         "(default: every evaluated layer)")

    @model_validator(mode="after")
    def _fields(self) -> AreaIn:
        if self.type == "boundary" and (not self.set or not self.units):
            raise ValueError("a boundary area needs 'set' and at least one of its 'units'")
        if self.type == "geojson" and self.geometry is None:
            raise ValueError("a geojson area needs 'geometry'")
        if self.type == "circle" and (self.centre is None or self.radius_m is None):
            raise ValueError("a circle needs 'centre' [lon, lat] and 'radius_m'")
        return self


class BufferIn(_Model):
    """Rings of the given outer distances (m) from the target's edge, or a polygon."""

    rings_m: list[float] | None = Field(None, min_length=1, max_length=10)
    geometry: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _one(self) -> BufferIn:
        if (self.rings_m is None) == (self.geometry is None):
            raise ValueError("give either 'rings_m' (e.g. [400]) or a 'geometry'")
        if self.rings_m is not None:
            if any(not (0 < r <= 20_000) for r in self.rings_m):
                raise ValueError("ring distances must be in (0, 20000] metres")
            if any(b <= a for a, b in zip(self.rings_m, self.rings_m[1:], strict=False)):
                raise ValueError("ring distances must be strictly increasing")
        return self


class LayerIn(_Model):
    layer: str = Field(min_length=1, max_length=64)
    category: str = Field("*", min_length=1, max_length=200)
    role: Literal["output", "outcome"]
    harm_weight: float | None = Field(None, ge=0, allow_inf_nan=False)


class OptionsIn(_Model):
    alpha: float = Field(0.05, ge=1e-6, le=0.5,
                         description="significance level (1e-6 to 0.5)")
    power: float = Field(0.8, gt=0, lt=1)
    planned_reduction: float = Field(0.3, gt=0, le=1)
    min_count: int | None = Field(None, ge=0)
    area_weights: bool = False
    h3_resolution: int = Field(9, ge=5, le=11)
    kde_cell_m: float = Field(50.0, ge=5, le=1000)
    kde_bandwidth_m: float = Field(200.0, ge=10, le=5000)
    include_surface: bool = False
    decay_step_m: float = Field(100.0, ge=10, le=5000)
    decay_max_m: float | None = Field(None, gt=0, le=20_000)
    overdose_layer: str = "ambulance"
    dealing_site_layer: str = "dealing_site"

    def evaluation(self) -> ops.EvaluationOptions:
        return ops.EvaluationOptions(
            alpha=self.alpha, power=self.power, planned_reduction=self.planned_reduction,
            min_count=self.min_count, area_weights=self.area_weights,
            h3_resolution=self.h3_resolution, kde_cell_m=self.kde_cell_m,
            kde_bandwidth_m=self.kde_bandwidth_m, include_surface=self.include_surface,
            overdose_layer=self.overdose_layer, dealing_site_layer=self.dealing_site_layer)


class OperationIn(_Model):
    """An operation's definition (``POST /v1/operations``)."""

    name: str = Field(min_length=1, max_length=200)
    target: AreaIn
    buffer: BufferIn
    control: AreaIn
    buffer_control: AreaIn | None = None
    windows: WindowsIn
    layers: list[LayerIn] = Field(min_length=1, max_length=30)
    options: OptionsIn = Field(default_factory=lambda: OptionsIn.model_validate({}))

    @model_validator(mode="after")
    def _kinds(self) -> OperationIn:
        if self.target.type == "suggest":
            raise ValueError("target: 'suggest' is only for a control")
        if self.control.type == "circle":
            raise ValueError("control: a circle is only for a target")
        if self.buffer_control is not None and self.buffer_control.type in ("circle", "suggest"):
            raise ValueError("buffer_control: must be 'boundary' or 'geojson'")
        keys = [f"{la.layer}/{la.category}" for la in self.layers]
        if len(set(keys)) != len(keys):
            raise ValueError("layers: a layer/category is listed twice")
        return self


class PlanIn(OperationIn):
    """A proposed operation (``POST /v1/operations/plan``): the name is optional."""

    name: str = Field("proposed operation", min_length=1, max_length=200)


def validate_definition(data: Any, model: type[OperationIn] = OperationIn) -> OperationIn:
    """Validate a definition from the CLI or a file; errors name the field."""
    if isinstance(data, OperationIn):
        return data
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err.get("loc", ()))
        raise ParameterError(loc or "definition", str(err.get("msg", "invalid"))) from exc


def windows_of(req: OperationIn) -> ops.Windows:
    w = req.windows
    return ops.Windows(
        before=ops.Window("before", w.before.start, w.before.end),
        during=ops.Window("during", w.during.start, w.during.end) if w.during else None,
        after=ops.Window("after", w.after.start, w.after.end))


def specs_of(req: OperationIn) -> list[ops.MeasuredLayer]:
    return [ops.MeasuredLayer(la.layer, la.category, la.role, la.harm_weight)
            for la in req.layers]


# --------------------------------------------------------------------------- resolving areas


def _boundary_area(store: Store, area: AreaIn, name: str) -> tuple[Any, dict[str, Any]]:
    assert area.set is not None
    try:
        info = store.boundary_set(area.set, area.version)
        gdf = boundary_frame(store, area.set, area.version, tuple(area.units))
    except ParameterError as exc:
        raise ParameterError(name, exc.reason) from exc
    geom = shapely.union_all(gdf.geometry.to_numpy())
    labels = dict(zip(gdf["unit_id"].astype(str), gdf["label"].astype(str), strict=True))
    return geom, {"kind": "boundary", "boundary_set": {"name": info.name, "version": info.version},
                  "units": list(area.units), "labels": [labels[u] for u in area.units],
                  "description": f"{len(area.units)} unit(s) of boundary set {info.name!r} v"
                                 f"{info.version}: " + ", ".join(
                                     f"{u} {labels[u]}" for u in area.units)}


def _area_geometry(store: Store, area: AreaIn, name: str) -> tuple[Any, dict[str, Any]]:
    if area.type == "boundary":
        return _boundary_area(store, area, name)
    if area.type == "geojson":
        geom = ops.polygon_from_geojson(area.geometry, name)
        return geom, {"kind": "geojson", "description": "a polygon given as GeoJSON"}
    raise ParameterError(name, f"type {area.type!r} is not allowed here")


def _wanted(specs: list[ops.MeasuredLayer], extra_layers: tuple[str, ...] = ()
            ) -> dict[str, set[str] | None]:
    """Layer -> the categories to load (``None``: all of them)."""
    out: dict[str, set[str] | None] = {}
    for s in specs:
        if not s.categories:
            out[s.layer] = None
        elif s.layer not in out or out[s.layer] is not None:
            out[s.layer] = (out.get(s.layer) or set()) | set(s.categories)
    for layer in extra_layers:
        out[layer] = None
    return out


def _load_events(store: Store, wanted: dict[str, set[str] | None], start: date,
                 end_inclusive: date, bbox: tuple[float, float, float, float]) -> pd.DataFrame:
    """Events of the wanted layers and categories in ``[start, end_inclusive]`` and ``bbox``,
    one :meth:`Store.event_arrays` query per layer (categories filtered in the database)."""
    frames = []
    for layer, cats in sorted(wanted.items()):
        frames.append(store.event_arrays(EventFilter(
            layers=(layer,), categories=tuple(sorted(cats)) if cats else (),
            start=datetime.combine(start, datetime.min.time()),
            end=datetime.combine(end_inclusive + timedelta(days=1), datetime.min.time()),
            bbox=bbox)))
    frames = [f for f in frames if len(f)] or frames[:1]
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def _suggest_control(store: Store, req: OperationIn, areas: ops.OperationAreas,
                     target_desc: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """Choose control units from a boundary set (see :func:`spatial.evaluation.operations.suggest_controls`)."""
    c = req.control
    set_name = c.set or (target_desc.get("boundary_set") or {}).get("name")
    if not set_name:
        raise ParameterError("control.set", "a suggested control needs a boundary set of "
                             "candidate units (the target's set when it is one)")
    version = c.version
    if version is None and target_desc.get("boundary_set", {}).get("name") == set_name:
        version = target_desc["boundary_set"]["version"]
    try:
        info = store.boundary_set(set_name, version)
        gdf = boundary_frame(store, set_name, info.version)
    except ParameterError as exc:
        raise ParameterError("control.set", exc.reason) from exc
    if target_desc.get("boundary_set", {}).get("name") == set_name:
        gdf = gdf[~gdf["unit_id"].isin(target_desc.get("units", []))]
    specs = specs_of(req)
    keys = c.match_on or [s.key for s in specs]
    match = []
    for key in keys:
        found = [s for s in specs if s.key == key]
        if not found:
            layer, _, cat = key.partition("/")
            found = [ops.MeasuredLayer(layer, cat or "*", "outcome")]
        match.extend(found)
    geoms_wgs = gdf.geometry.to_numpy()
    geoms_m = np.asarray([ops.to_metric(g, areas.epsg) for g in geoms_wgs], dtype=object)
    cb = shapely.total_bounds(geoms_wgs)
    ext = areas.extent_wgs84(0.0)
    bbox = (min(float(cb[0]), ext[0]), min(float(cb[1]), ext[1]),
            max(float(cb[2]), ext[2]), max(float(cb[3]), ext[3]))
    frame = _load_events(store, _wanted(match), req.windows.before.start,
                         req.windows.before.end, bbox)
    ev = ops.EventArrays.from_frame(frame, areas.epsg)
    unit_idx = placement.assign_polygons(ev.x, ev.y, geoms_m)
    in_target = placement.assign_polygons(ev.x, ev.y,
                                          np.array([areas.target], dtype=object)) >= 0
    cand_counts = np.zeros((len(geoms_m), len(match)))
    target_counts = np.zeros(len(match))
    for k, s in enumerate(match):
        m = s.matches(ev.layer, ev.category)
        hit = m & (unit_idx >= 0)
        cand_counts[:, k] = np.bincount(unit_idx[hit], minlength=len(geoms_m))
        target_counts[k] = float((m & in_target).sum())
    result = ops.suggest_controls(gdf["unit_id"].astype(str).tolist(), geoms_m, cand_counts,
                                  target_counts, target_m=areas.target, buffer_m=areas.buffer,
                                  labels=gdf["label"].astype(str).tolist(),
                                  columns=[s.key for s in match],
                                  max_units=c.max_units, max_distance_m=c.max_distance_m)
    result["matched_on"] = [s.key for s in match]
    result["boundary_set"] = {"name": info.name, "version": info.version}
    if not result["chosen"]:
        reasons = "; ".join(f"{e['id']}: {e['reason']}" for e in result["excluded"][:8])
        raise ParameterError("control", "no unit of boundary set "
                             f"{info.name!r} qualifies as a control ({reasons}); give a control "
                             "area or widen max_distance_m")
    chosen = gdf[gdf["unit_id"].astype(str).isin(result["chosen"])]
    labels = dict(zip(chosen["unit_id"].astype(str), chosen["label"].astype(str), strict=True))
    geom = shapely.union_all(chosen.geometry.to_numpy())
    desc = {"kind": "suggested", "boundary_set": result["boundary_set"],
            "units": result["chosen"], "labels": [labels[u] for u in result["chosen"]],
            "description": (f"suggested: {len(result['chosen'])} unit(s) of {info.name!r} v"
                            f"{info.version} not touching the buffer, before-window "
                            + "; ".join(f"{k} {c:g} against the target's {t:g}" for k, c, t in
                                        zip(result["columns"], result["control_baseline"],
                                            result["target_baseline"], strict=True))
                            + ": " + ", ".join(f"{u} {labels[u]}" for u in result["chosen"])),
            "suggestion": result}
    return geom, desc


def resolve_definition(store: Store, req: OperationIn) -> dict[str, Any]:
    """Resolve a definition against the store: polygons (WGS84 GeoJSON), the boundary-set
    versions used, and the suggested control with its reasons."""
    opts = req.options
    target_geom = None
    circle = None
    if req.target.type == "circle":
        assert req.target.centre is not None and req.target.radius_m is not None
        circle = (float(req.target.centre[0]), float(req.target.centre[1]),
                  float(req.target.radius_m))
        target_desc: dict[str, Any] = {"kind": "circle", "centre": list(req.target.centre),
                                       "radius_m": req.target.radius_m,
                                       "description": f"circle of {req.target.radius_m:g} m"}
    else:
        target_geom, target_desc = _area_geometry(store, req.target, "target")
    buffer_geom = (ops.polygon_from_geojson(req.buffer.geometry, "buffer.geometry")
                   if req.buffer.geometry is not None else None)
    base = ops.build_areas(target=target_geom, circle=circle, buffer_m=req.buffer.rings_m,
                           buffer=buffer_geom, decay_step_m=opts.decay_step_m,
                           decay_max_m=opts.decay_max_m)
    if req.control.type == "suggest":
        control_geom, control_desc = _suggest_control(store, req, base, target_desc)
    else:
        control_geom, control_desc = _area_geometry(store, req.control, "control")
    bc_geom, bc_desc = (None, None)
    if req.buffer_control is not None:
        bc_geom, bc_desc = _area_geometry(store, req.buffer_control, "buffer_control")
    areas = ops.build_areas(target=target_geom, circle=circle, buffer_m=req.buffer.rings_m,
                            buffer=buffer_geom, control=control_geom, buffer_control=bc_geom,
                            decay_step_m=opts.decay_step_m, decay_max_m=opts.decay_max_m,
                            epsg=base.epsg)
    outline = ops.to_geojson(areas.outer, areas.epsg)
    return {
        "epsg": areas.epsg,
        "target": {**target_desc, "geometry": (dict(shape_mapping(target_geom))
                                               if target_geom is not None else None)},
        "buffer": {"rings_m": req.buffer.rings_m,
                   "geometry": dict(shape_mapping(buffer_geom)) if buffer_geom is not None
                   else None},
        "control": {**control_desc, "geometry": dict(shape_mapping(control_geom))},
        "buffer_control": (None if bc_geom is None else
                           {**(bc_desc or {}), "geometry": dict(shape_mapping(bc_geom))}),
        "outline": outline,
        "warnings": areas.warnings + list((control_desc.get("suggestion") or {})
                                          .get("warnings", [])),
    }


def areas_from_definition(defn: dict[str, Any]) -> ops.OperationAreas:
    """Rebuild the metric areas from a stored (resolved) definition."""
    req = OperationIn.model_validate(defn["request"])
    res = defn["resolved"]
    circle = None
    target = None
    if res["target"]["kind"] == "circle":
        lon, lat = res["target"]["centre"]
        circle = (float(lon), float(lat), float(res["target"]["radius_m"]))
    else:
        target = ops.polygon_from_geojson(res["target"]["geometry"], "target")
    buffer = (ops.polygon_from_geojson(res["buffer"]["geometry"], "buffer")
              if res["buffer"].get("geometry") else None)
    control = ops.polygon_from_geojson(res["control"]["geometry"], "control")
    bc = (ops.polygon_from_geojson(res["buffer_control"]["geometry"], "buffer_control")
          if res.get("buffer_control") else None)
    desc = {"target": res["target"]["description"], "control": res["control"]["description"]}
    if res.get("buffer_control"):
        desc["buffer_control"] = res["buffer_control"]["description"]
    return ops.build_areas(target=target, circle=circle, buffer_m=res["buffer"]["rings_m"],
                           buffer=buffer, control=control, buffer_control=bc,
                           decay_step_m=req.options.decay_step_m,
                           decay_max_m=req.options.decay_max_m, epsg=int(res["epsg"]),
                           description=desc)


# --------------------------------------------------------------------------- records


def _record(row: Any, *, full: bool = True) -> dict[str, Any]:
    defn = json.loads(row.definition)
    baseline = json.loads(row.baseline) if row.baseline else None
    out: dict[str, Any] = {
        "id": int(row.id), "name": row.name, "status": row.status,
        "created_at": row.created_at.isoformat() if row.created_at else None,
        "created_by": row.created_by,
        "started_at": row.started_at.isoformat() if row.started_at else None,
        "baseline_fingerprint": baseline["fingerprint"] if baseline else None,
        "shared": bool(row.shared),
    }
    if full:
        out["definition"] = defn["request"]
        out["resolved"] = defn["resolved"]
    return out


def _row(store: Store, op_id: int) -> Any:
    if not 1 <= op_id < 2**63:  # beyond any database integer: it cannot exist
        raise NotFoundError(f"operation {op_id} does not exist")
    _ensure_schema(store)
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(operations_table).where(operations_table.c.id == op_id)
                           ).first()
    if row is None:
        raise NotFoundError(f"operation {op_id} does not exist")
    return row


def create_operation(store: Store, data: Any, *, actor: str) -> dict[str, Any]:
    """Validate, resolve and store a new operation (status ``planned``)."""
    _ensure_schema(store)
    req = validate_definition(data)
    windows_of(req)  # validates the order of the windows
    resolved = resolve_definition(store, req)
    definition = {"request": req.model_dump(mode="json"), "resolved": resolved}
    with store.begin() as conn:
        res = conn.execute(operations_table.insert().values(
            name=req.name, definition=json.dumps(definition), status="planned",
            created_at=_now(), created_by=actor))
        key = res.inserted_primary_key
        assert key is not None
        op_id = int(key[0])
        store.audit(conn, actor, "operation_create", {"id": op_id, "name": req.name})
    return get_operation(store, op_id)


def get_operation(store: Store, op_id: int, *, role: str = "admin") -> dict[str, Any]:
    """An operation's record, as ``role`` may see it (:func:`check_visible`,
    :func:`public_control`)."""
    row = check_visible(store, op_id, role)
    out = _record(row)
    if role not in POINT_LEVEL_ROLES:
        out["resolved"]["control"] = public_control(out["resolved"]["control"])
        out["resolved"]["warnings"] = [WITHHELD_WARNINGS] if out["resolved"]["warnings"] else []
    return out


WITHHELD_WARNINGS = ("warnings about the areas and the control choice quote baseline counts "
                     "and are shown to analysts only")


def check_visible(store: Store, op_id: int, role: str) -> Any:
    """The operation's row, if ``role`` may see it: partners and viewers see only
    operations an analyst shared, and only once started (a planned target and its
    dates never leave); otherwise it does not exist for them (404)."""
    row = _row(store, op_id)
    if role not in POINT_LEVEL_ROLES and not (row.shared and row.status == "started"):
        raise NotFoundError(f"operation {op_id} does not exist")
    return row


def public_control(control: dict[str, Any]) -> dict[str, Any]:
    """A control's description without baseline counts (which may be small health counts)."""
    if control.get("kind") != "suggested":
        return control
    units = control.get("units", [])
    labels = control.get("labels", [])
    set_info = control.get("boundary_set") or {}
    named = ", ".join(f"{u} {lab}" for u, lab in zip(units, labels, strict=False))
    return {**control, "suggestion": {"withheld": "per-unit baseline counts are shown to "
                                                  "analysts and admins only"},
            "description": (f"suggested: {len(units)} unit(s) of {set_info.get('name')!r} v"
                            f"{set_info.get('version')} not touching the buffer, matched on "
                            f"before-window counts: {named}")}


def share_operation(store: Store, op_id: int, *, shared: bool, actor: str) -> dict[str, Any]:
    """Mark an operation shared with (or withdrawn from) partners and viewers."""
    _row(store, op_id)
    with store.begin() as conn:
        conn.execute(operations_table.update().where(operations_table.c.id == op_id)
                     .values(shared=shared))
        store.audit(conn, actor, "operation_share", {"id": op_id, "shared": shared})
    return get_operation(store, op_id)


def list_operations(store: Store) -> list[dict[str, Any]]:
    _ensure_schema(store)
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(operations_table).order_by(operations_table.c.id)).all()
    return [_record(r, full=False) for r in rows]


def _layers_needed(req: OperationIn) -> set[str]:
    return {la.layer for la in req.layers} | {req.options.overdose_layer}


def _kde_pad(req: OperationIn) -> float:
    return 6.0 * req.options.kde_bandwidth_m


def _events_for(store: Store, req: OperationIn, areas: ops.OperationAreas, start: date,
                end: date) -> ops.EventArrays:
    frame = _load_events(store, _wanted(specs_of(req), (req.options.overdose_layer,)), start,
                         end,
                         areas.extent_wgs84(_kde_pad(req)))
    return ops.EventArrays.from_frame(frame, areas.epsg)


def start_operation(store: Store, op_id: int, *, actor: str) -> dict[str, Any]:
    """Mark an operation started and lock its baseline (before-window counts + sha256)."""
    row = _row(store, op_id)
    if row.status == "started":
        raise ConflictError(f"operation {op_id} was already started at "
                            f"{row.started_at.isoformat()}; its baseline is locked")
    defn = json.loads(row.definition)
    req = OperationIn.model_validate(defn["request"])
    areas = areas_from_definition(defn)
    windows = windows_of(req)
    events = _events_for(store, req, areas, req.windows.before.start, req.windows.before.end)
    snapshot = ops.current_baseline(events, areas, windows, specs_of(req),
                                    options=req.options.evaluation())
    now = _now()
    baseline = {"locked_at": now.isoformat(), "fingerprint": ops.fingerprint(snapshot),
                "counts": snapshot}
    with store.begin() as conn:
        res = conn.execute(operations_table.update().where(
            operations_table.c.id == op_id, operations_table.c.status == "planned").values(
            status="started", started_at=now, baseline=json.dumps(baseline)))
        if res.rowcount == 0:
            raise ConflictError(f"operation {op_id} was started by someone else just now")
        store.audit(conn, actor, "operation_start", {"id": op_id,
                                                     "fingerprint": baseline["fingerprint"]})
    return get_operation(store, op_id)


def _imports_after(store: Store, when: datetime, layers: set[str]) -> list[dict[str, Any]]:
    q = (sa.select(imports).where(imports.c.imported_at > when, imports.c.layer.in_(layers))
         .order_by(imports.c.id))
    with store.engine.connect() as conn:
        return [{"id": r.id, "layer": r.layer, "file_name": r.file_name,
                 "imported_at": r.imported_at.isoformat(),
                 "added": int(r.accepted) - int(r.duplicates)} for r in conn.execute(q)]


def _concurrent(store: Store, op_id: int | None, req: OperationIn,
                outline: dict[str, Any] | None, areas: ops.OperationAreas) -> list[dict[str, Any]]:
    """Other stored operations whose windows overlap and whose target + buffer meets
    this operation's areas."""
    _ensure_schema(store)
    mine = shapely.union_all([g for g in (
        ops.polygon_from_geojson(outline, "outline") if outline else None,
        ops.polygon_from_geojson(ops.to_geojson(areas.control, areas.epsg), "control"),
    ) if g is not None])
    lo, hi = req.windows.before.start, req.windows.after.end
    out = []
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(operations_table)).all()
    for r in rows:
        if op_id is not None and int(r.id) == op_id:
            continue
        d = json.loads(r.definition)
        w = d["request"]["windows"]
        o_lo = date.fromisoformat(w["before"]["start"])
        o_hi = date.fromisoformat(w["after"]["end"])
        if o_hi < lo or o_lo > hi:
            continue
        other = d["resolved"].get("outline")
        if other and shapely.intersects(mine, ops.polygon_from_geojson(other, "outline")):
            out.append({"id": int(r.id), "name": r.name, "status": r.status})
    return out


def operation_report(store: Store, op_id: int, *, actor: str) -> dict[str, Any]:
    """The evaluation report of a stored operation (JSON-able dict)."""
    row = _row(store, op_id)
    defn = json.loads(row.definition)
    req = OperationIn.model_validate(defn["request"])
    areas = areas_from_definition(defn)
    windows = windows_of(req)
    events = _events_for(store, req, areas, req.windows.before.start, req.windows.after.end)
    sites = None
    if req.options.dealing_site_layer in store.layer_names():
        frame = store.query_events(EventFilter(layers=(req.options.dealing_site_layer,),
                                               bbox=areas.extent_wgs84(100.0)))
        sites = ops.SiteRecords.from_frame(frame, areas.epsg)
    baseline = json.loads(row.baseline) if row.baseline else None
    locked = baseline["counts"] if baseline else None
    concurrent = _concurrent(store, op_id, req, defn["resolved"].get("outline"), areas)
    caveats = ["concurrent_operations"] if concurrent else []
    report = ops.evaluate_operation(events, areas, windows, specs_of(req),
                                    options=req.options.evaluation(), sites=sites,
                                    locked=locked, caveats=caveats)
    known = store.layer_names()
    missing = sorted({la.layer for la in req.layers} - known)
    if missing:
        report["warnings"].append(f"layer(s) {', '.join(missing)} have no events in the store: "
                                  "their counts are all zero")
    lock = report["baseline_lock"]
    if baseline:
        verified = ops.fingerprint(baseline["counts"]) == baseline["fingerprint"]
        lock.update({"locked_at": baseline["locked_at"], "fingerprint": baseline["fingerprint"],
                     "fingerprint_verified": verified,
                     "imports_after_lock": _imports_after(store, row.started_at,
                                                          _layers_needed(req))})
        if not verified:
            report["warnings"].insert(0, "the stored baseline no longer matches its sha256 "
                                         "fingerprint: it was altered after the lock, so the "
                                         "locked figures cannot be trusted")
    report["operation"] = _record(row, full=False)
    report["definition"] = defn["request"]
    report["geometry"] = areas.as_geojson()
    report["control_suggestion"] = defn["resolved"]["control"].get("suggestion")
    report["concurrent_operations"] = concurrent
    report["warnings"] = list(dict.fromkeys(defn["resolved"].get("warnings", [])
                                            + report["warnings"]))
    store.audit(None, actor, "operation_report", {"id": op_id})
    return _json_safe(report)


def plan_operation(store: Store, data: Any, *, actor: str) -> dict[str, Any]:
    """Planning figures for a proposed definition, before creating it."""
    _ensure_schema(store)
    req = validate_definition(data, PlanIn)
    windows = windows_of(req)
    resolved = resolve_definition(store, req)
    areas = areas_from_definition({"request": req.model_dump(mode="json"),
                                   "resolved": resolved})
    events = _events_for(store, req, areas, req.windows.before.start, req.windows.before.end)
    specs = specs_of(req)
    counts = ops.count_table(events, areas, windows, specs)
    opts = req.options
    has_bc = areas.buffer_control is not None
    layers = [ops.plan_layer(lc, alpha=opts.alpha, power=opts.power,
                             reduction=opts.planned_reduction, has_buffer_control=has_bc,
                             min_count=opts.min_count) | {"key": key, "role": lc.spec.role}
              for key, lc in counts.items()]
    store.audit(None, actor, "operation_plan", {"name": req.name})
    return _json_safe({
        "name": req.name, "layers": layers,
        "parameters": {**areas.parameters(), "windows": windows.as_dict(),
                       "alpha": opts.alpha, "power": opts.power,
                       "planned_reduction": opts.planned_reduction,
                       "method": "minimum detectable change of the WDD z-test (variance = sum "
                                 "of the counts); see spatial.evaluation.displacement."
                                 "minimum_detectable_change"},
        "control_suggestion": resolved["control"].get("suggestion"),
        "geometry": areas.as_geojson(),
        "warnings": resolved["warnings"] + (ops.month_window_notes(windows) if any(
            lc.month_precision for lc in counts.values()) else []),
    })


def _json_safe(value: Any) -> Any:
    """NaN/inf to None, numpy to Python, recursively."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


# --------------------------------------------------------------------------- demo


def demo_operation(store: Store, town: Any, out_dir: Path, say: Callable[[str], None]
                   ) -> dict[str, Any]:
    """Evaluate the synthetic town's planted operation and write ``operation_report.json``.

    Expects the town's beats as boundary set ``beats`` and its events stored.
    """
    op = town.operation
    definition = {
        "name": op.name,
        "target": {"type": "boundary", "set": "beats", "units": list(op.target_beats)},
        "buffer": {"rings_m": [op.buffer_m]},
        "control": {"type": "suggest", "set": "beats", "max_units": 4},
        "windows": {"before": {"start": op.before[0].isoformat(), "end": op.before[1].isoformat()},
                    "during": {"start": op.during[0].isoformat(), "end": op.during[1].isoformat()},
                    "after": {"start": op.after[0].isoformat(), "end": op.after[1].isoformat()}},
        "layers": [{"layer": "crime", "category": "Drugs", "role": "output"},
                   {"layer": "crime", "category": "Anti-social behaviour", "role": "outcome",
                    "harm_weight": 1.0},
                   {"layer": "crime", "category": "+".join(op.affected_categories),
                    "role": "outcome"},
                   {"layer": "crime", "category": "Violence and sexual offences",
                    "role": "outcome", "harm_weight": 3.0},
                   {"layer": "ambulance", "category": "*", "role": "outcome"}],
    }
    created = create_operation(store, definition, actor="demo")
    start_operation(store, created["id"], actor="demo")
    report = operation_report(store, created["id"], actor="demo")
    path = out_dir / "operation_report.json"
    path.write_text(json.dumps(report, indent=1, default=str))
    say(f"  operation {op.name!r} (planted effect: {op.effect}); control "
        f"{created['resolved']['control']['description']}")
    verdicts = {}
    for layer in report["layers"]:
        verdicts[layer["key"]] = layer["verdict"]["code"]
        say(f"    {layer['key']:<40} {layer['verdict']['code']}")
    combined = f"crime/{'+'.join(op.affected_categories)}"
    recovered = verdicts.get(combined) in ("reduction_with_displacement",
                                           "displacement_exceeds_reduction")
    say(f"    planted {op.effect} of {' + '.join(op.affected_categories)} (target x"
        f"{op.target_multiplier:g}, buffer x{op.buffer_multiplier:g}): "
        + ("recovered" if recovered else f"NOT recovered ({verdicts.get(combined)})"))
    watch = report["overdose_watch"]
    if watch.get("available"):
        say(f"    overdose watch: {'RISE flagged' if watch['rise'] else 'no significant rise'}")
    sites = report["dealing_sites"]
    if sites.get("available"):
        say(f"    {sites['sentence']}")
    say(f"  operation report: {path}")
    return {"id": created["id"], "report": str(path), "verdicts": verdicts,
            "planted_effect_recovered": recovered,
            "overdose_rise": bool(watch.get("rise")),
            "new_sites_in_buffer": sites.get("new_in_buffer_possible_displacement")}
