"""Resolving an operation's areas against the store, and loading its events.

A definition is resolved once (:func:`resolve_definition`): boundary units
become polygons, recorded with the boundary-set version used; a suggested
control becomes the chosen units with the reasons
(:func:`spatial.evaluation.controls.suggest_controls`). A stored definition is
turned back into metric areas by :func:`areas_from_definition`.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import shapely
from shapely.geometry import mapping as shape_mapping

from service.app.analysis import boundary_frame
from service.app.operation_definitions import AreaIn, OperationIn, specs_of
from service.app.unit_names import resolve_unit_ids
from service.store import EventFilter, Store
from spatial.errors import ParameterError
from spatial.evaluation.areas import (
    OperationAreas,
    build_areas,
    polygon_from_geojson,
    to_geojson,
    to_metric,
)
from spatial.evaluation.controls import suggest_controls
from spatial.evaluation.counting import EventArrays, MeasuredLayer
from spatial.place import placement


def _boundary_area(store: Store, area: AreaIn, name: str) -> tuple[Any, dict[str, Any]]:
    assert area.set is not None
    try:
        info = store.boundary_set(area.set, area.version)
        gdf = boundary_frame(store, area.set, area.version, tuple(area.units))
        # units may be named: the resolved definition records their ids
        unit_ids = resolve_unit_ids(gdf, area.units, name, area.set)
    except ParameterError as exc:
        raise ParameterError(name, exc.reason) from exc
    geom = shapely.union_all(gdf.geometry.to_numpy())
    labels = dict(zip(gdf["unit_id"].astype(str), gdf["label"].astype(str), strict=True))
    return geom, {"kind": "boundary", "boundary_set": {"name": info.name, "version": info.version},
                  "units": unit_ids, "labels": [labels[u] for u in unit_ids],
                  "description": f"{len(unit_ids)} unit(s) of boundary set {info.name!r} v"
                                 f"{info.version}: " + ", ".join(
                                     f"{u} {labels[u]}" for u in unit_ids)}


def _area_geometry(store: Store, area: AreaIn, name: str) -> tuple[Any, dict[str, Any]]:
    if area.type == "boundary":
        return _boundary_area(store, area, name)
    if area.type == "geojson":
        geom = polygon_from_geojson(area.geometry, name)
        return geom, {"kind": "geojson", "description": "a polygon given as GeoJSON"}
    raise ParameterError(name, f"type {area.type!r} is not allowed here")


def _wanted(specs: list[MeasuredLayer], extra_layers: tuple[str, ...] = ()
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


def _suggest_control(store: Store, req: OperationIn, areas: OperationAreas,
                     target_desc: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """Choose control units from a boundary set (see :func:`spatial.evaluation.controls.suggest_controls`)."""
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
            found = [MeasuredLayer(layer, cat or "*", "outcome")]
        match.extend(found)
    geoms_wgs = gdf.geometry.to_numpy()
    geoms_m = np.asarray([to_metric(g, areas.epsg) for g in geoms_wgs], dtype=object)
    cb = shapely.total_bounds(geoms_wgs)
    ext = areas.extent_wgs84(0.0)
    bbox = (min(float(cb[0]), ext[0]), min(float(cb[1]), ext[1]),
            max(float(cb[2]), ext[2]), max(float(cb[3]), ext[3]))
    frame = _load_events(store, _wanted(match), req.windows.before.start,
                         req.windows.before.end, bbox)
    ev = EventArrays.from_frame(frame, areas.epsg)
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
    result = suggest_controls(gdf["unit_id"].astype(str).tolist(), geoms_m, cand_counts,
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
    buffer_geom = (polygon_from_geojson(req.buffer.geometry, "buffer.geometry")
                   if req.buffer.geometry is not None else None)
    base = build_areas(target=target_geom, circle=circle, buffer_m=req.buffer.rings_m,
                           buffer=buffer_geom, decay_step_m=opts.decay_step_m,
                           decay_max_m=opts.decay_max_m)
    if req.control.type == "suggest":
        control_geom, control_desc = _suggest_control(store, req, base, target_desc)
    else:
        control_geom, control_desc = _area_geometry(store, req.control, "control")
    bc_geom, bc_desc = (None, None)
    if req.buffer_control is not None:
        bc_geom, bc_desc = _area_geometry(store, req.buffer_control, "buffer_control")
    areas = build_areas(target=target_geom, circle=circle, buffer_m=req.buffer.rings_m,
                            buffer=buffer_geom, control=control_geom, buffer_control=bc_geom,
                            decay_step_m=opts.decay_step_m, decay_max_m=opts.decay_max_m,
                            epsg=base.epsg)
    outline = to_geojson(areas.outer, areas.epsg)
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


def areas_from_definition(defn: dict[str, Any]) -> OperationAreas:
    """Rebuild the metric areas from a stored (resolved) definition."""
    req = OperationIn.model_validate(defn["request"])
    res = defn["resolved"]
    circle = None
    target = None
    if res["target"]["kind"] == "circle":
        lon, lat = res["target"]["centre"]
        circle = (float(lon), float(lat), float(res["target"]["radius_m"]))
    else:
        target = polygon_from_geojson(res["target"]["geometry"], "target")
    buffer = (polygon_from_geojson(res["buffer"]["geometry"], "buffer")
              if res["buffer"].get("geometry") else None)
    control = polygon_from_geojson(res["control"]["geometry"], "control")
    bc = (polygon_from_geojson(res["buffer_control"]["geometry"], "buffer_control")
          if res.get("buffer_control") else None)
    desc = {"target": res["target"]["description"], "control": res["control"]["description"]}
    if res.get("buffer_control"):
        desc["buffer_control"] = res["buffer_control"]["description"]
    return build_areas(target=target, circle=circle, buffer_m=res["buffer"]["rings_m"],
                           buffer=buffer, control=control, buffer_control=bc,
                           decay_step_m=req.options.decay_step_m,
                           decay_max_m=req.options.decay_max_m, epsg=int(res["epsg"]),
                           description=desc)


def layers_needed(req: OperationIn) -> set[str]:
    return {la.layer for la in req.layers} | {req.options.overdose_layer}


def _kde_pad(req: OperationIn) -> float:
    return 6.0 * req.options.kde_bandwidth_m


def events_for(store: Store, req: OperationIn, areas: OperationAreas, start: date,
                end: date, *, pad_m: float | None = None) -> EventArrays:
    """Events of the operation's layers (and the overdose layer) from ``start`` to ``end``
    in the areas' extent, padded by ``pad_m`` (default: the density margin)."""
    frame = _load_events(store, _wanted(specs_of(req), (req.options.overdose_layer,)), start,
                         end,
                         areas.extent_wgs84(_kde_pad(req) if pad_m is None else pad_m))
    return EventArrays.from_frame(frame, areas.epsg)
