"""Re-emergence watches: create, list, get and check, shared by ``remap watch`` and
``/v1/watches``.

A watch belongs to a stored operation. It watches layers (by default the
operation's outcome layers, the dealing-site intelligence layer and the
ambulance layer) in areas: the operation's target and buffer, and a circle
around each dealing site known in target and buffer before the operation
(the nearest ``max_sites`` to the target, fixed when the watch is created).
A check is computed from the store on demand
(:func:`spatial.evaluation.reemergence.watch_charts`): counts per period from
the end of the operation, the post-operation level from the baseline periods
(by default the operation's after window), the pre-operation level from its
before window, and a Poisson CUSUM per series from then to the last whole
period the store holds. The alarms of every check are recorded, append only
(:meth:`Store.record_alarms`).

Disclosure: every check leaves through
:func:`service.app.disclosure.shown_watch_series`; partners and viewers see
a watch only when its operation was shared with them and started
(:func:`service.app.operations.check_visible`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import shapely
from pydantic import BaseModel, ConfigDict, Field, model_validator

from service.app import disclosure
from service.app.operation_areas import areas_from_definition
from service.app.operation_definitions import OperationIn, validate_definition, windows_of
from service.app.operations import check_visible
from service.store import EventFilter, Store
from spatial.disclosure import is_protected
from spatial.errors import InsufficientDataError, NotFoundError, ParameterError
from spatial.evaluation.areas import OperationAreas
from spatial.evaluation.counting import EventArrays, MeasuredLayer
from spatial.evaluation.reemergence import (
    DEFAULT_RISE,
    PERIOD_DAYS,
    WatchResult,
    bin_counts,
    period_starts,
    watch_charts,
)
from spatial.place import crs

#: The areas a watch may hold besides its sites.
OPERATION_AREAS = ("target", "buffer")


class WatchIn(BaseModel):
    """A watch's definition (``POST /v1/watches``)."""

    model_config = ConfigDict(extra="forbid")

    operation_id: int = Field(ge=1, lt=2**63)
    name: str = Field(min_length=1, max_length=200)
    layers: list[str] | None = Field(
        None, min_length=1, max_length=20,
        description="LAYER/CATEGORY keys (category * for all, + joins several); default: "
                    "the operation's outcome layers, dealing_site/* and ambulance/*")
    period: Literal["week", "28days", "month"] = "week"
    arl0: float | None = Field(None, gt=1, le=100_000, allow_inf_nan=False,
                               description="in-control average run length per series, "
                                           "periods (default: one false alarm a year)")
    false_alarms_per_year: float | None = Field(
        None, gt=0, le=1000, allow_inf_nan=False,
        description="instead of arl0: the expected false alarms a year across the watch")
    mu1_rule: Literal["pre", "rise"] = "pre"
    rise: float = Field(DEFAULT_RISE, gt=0, le=10, allow_inf_nan=False)
    baseline_periods: int | None = Field(
        None, ge=1, le=520, description="periods after the operation that set the "
                                        "post-operation level (default: the after window)")
    site_radius_m: float = Field(150.0, ge=25, le=1000)
    max_sites: int = Field(5, ge=0, le=20)

    @model_validator(mode="after")
    def _one_rate(self) -> WatchIn:
        if self.arl0 is not None and self.false_alarms_per_year is not None:
            raise ValueError("give arl0 or false_alarms_per_year, not both")
        return self


def _validate(data: Any) -> WatchIn:
    if isinstance(data, WatchIn):
        return data
    from pydantic import ValidationError

    try:
        return WatchIn.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err.get("loc", ()))
        raise ParameterError(loc or "watch", str(err.get("msg", "invalid"))) from exc


def _operation(store: Store, op_id: int) -> tuple[OperationIn, dict[str, Any], OperationAreas]:
    defn = json.loads(store.operation(op_id).definition)
    req = validate_definition(defn["request"])
    return req, defn, areas_from_definition(defn)


def _default_layers(req: OperationIn) -> list[str]:
    keys = [f"{la.layer}/{la.category}" for la in req.layers if la.role == "outcome"]
    keys += [f"{req.options.dealing_site_layer}/*", f"{req.options.overdose_layer}/*"]
    return list(dict.fromkeys(keys))


def _spec(key: str) -> MeasuredLayer:
    layer, sep, category = key.partition("/")
    if not sep or not layer:
        raise ParameterError("layers", f"{key!r}: expected LAYER/CATEGORY, e.g. crime/Drugs or "
                                       "ambulance/*")
    return MeasuredLayer(layer.strip(), category.strip() or "*", "outcome")


def _known_sites(store: Store, req: OperationIn, areas: OperationAreas, before: date,
                 radius_m: float, most: int) -> list[dict[str, Any]]:
    """Dealing sites recorded in target or buffer before ``before``, nearest the target
    first (at most ``most``), as circles (centre lon/lat, radius)."""
    layer = req.options.dealing_site_layer
    if most == 0 or layer not in store.layer_names():
        return []
    frame = store.event_arrays(EventFilter(
        layers=(layer,), end=datetime.combine(before, datetime.min.time()),
        bbox=areas.extent_wgs84(0.0)))
    ev = EventArrays.from_frame(frame, areas.epsg)
    if not len(ev):
        return []
    inside = shapely.contains_xy(areas.outer, ev.x, ev.y)
    x, y = ev.x[inside], ev.y[inside]
    if not x.size:
        return []
    dist = shapely.distance(areas.target, shapely.points(x, y))
    order = np.lexsort((y, x, dist))[:most]
    lon, lat = crs.to_wgs84(x[order], y[order], areas.epsg)
    return [{"name": f"site {i + 1}", "kind": "site", "centre": [float(a), float(b)],
             "radius_m": radius_m} for i, (a, b) in enumerate(zip(lon, lat, strict=True))]


def create_watch(store: Store, data: Any, *, actor: str) -> dict[str, Any]:
    """Validate and store a watch on a stored operation."""
    w = _validate(data)
    req, _, areas = _operation(store, w.operation_id)
    layers = w.layers or _default_layers(req)
    for key in layers:
        _spec(key)
    windows = windows_of(req)
    first = windows.during.start if windows.during else windows.after.start
    sites = _known_sites(store, req, areas, first, w.site_radius_m, w.max_sites)
    definition = {**w.model_dump(mode="json"), "layers": layers,
                  "areas": [{"name": a, "kind": a} for a in OPERATION_AREAS] + sites}
    with store.begin() as conn:
        watch_id = store.insert_watch(conn, operation_id=w.operation_id, name=w.name,
                                      definition=json.dumps(definition), created_by=actor)
        store.audit(conn, actor, "watch_create", {"id": watch_id,
                                                  "operation_id": w.operation_id})
    return get_watch(store, watch_id)


def _record(store: Store, watch_id: int, role: str) -> dict[str, Any]:
    row = store.watch(watch_id)
    check_visible(store, row.operation_id, role)  # 404 where the operation is not shared
    d = json.loads(row.definition)
    areas = d["areas"]
    if disclosure.is_controlled(role):
        areas = [a for a in areas if a["kind"] != "site"]
    out = {"id": row.id, "operation_id": row.operation_id, "name": row.name,
           "created_by": row.created_by, "created_at": row.created_at.isoformat(),
           "layers": d["layers"], "areas": areas, "period": d["period"], "arl0": d["arl0"],
           "false_alarms_per_year": d["false_alarms_per_year"], "mu1_rule": d["mu1_rule"],
           "rise": d["rise"], "baseline_periods": d["baseline_periods"],
           "site_radius_m": d["site_radius_m"], "max_sites": d["max_sites"]}
    if disclosure.is_controlled(role):
        out["withheld"] = [disclosure.WATCH_SITES_WITHHELD.format(role=role)]
    return out


def get_watch(store: Store, watch_id: int, *, role: str = "admin") -> dict[str, Any]:
    """A watch's record, as ``role`` may see it."""
    return _record(store, watch_id, role)


def list_watches(store: Store, *, role: str = "admin", operation_id: int | None = None
                 ) -> list[dict[str, Any]]:
    """Every watch ``role`` may see (of one operation)."""
    out = []
    for row in store.watches(operation_id):
        try:
            out.append(_record(store, row.id, role))
        except NotFoundError:  # its operation is not shared with the role
            continue
    return out


# --------------------------------------------------------------------------- checks


def _anchor(after_start: date, period: str) -> date:
    """The first period starts on the after window's first day (months: the first month
    starting on or after it)."""
    if period != "month" or after_start.day == 1:
        return after_start
    nxt = after_start.replace(day=28) + timedelta(days=4)
    return nxt.replace(day=1)


def _geometry(area: dict[str, Any], areas: OperationAreas) -> Any:
    if area["kind"] in OPERATION_AREAS:
        return areas.geometry(area["kind"])
    lon, lat = area["centre"]
    x, y = crs.to_metric(np.array([lon]), np.array([lat]), areas.epsg)
    return shapely.Point(float(x[0]), float(y[0])).buffer(float(area["radius_m"]), 32)


def _series_geometry_wgs84(geom: Any, epsg: int) -> dict[str, Any]:
    from shapely.geometry import mapping

    return dict(mapping(crs.geometry_to_wgs84(shapely.segmentize(geom, 50.0), epsg)[()]))


def compute_check(store: Store, watch_id: int) -> tuple[WatchResult, list[dict[str, Any]],
                                                        dict[str, Any]]:
    """The charts of every series of a watch as the store holds its events now, with
    each series' layer, area, geometry and per-month counts (for disclosure), and the
    parameters of the check."""
    row = store.watch(watch_id)
    d = json.loads(row.definition)
    req, _, areas = _operation(store, row.operation_id)
    windows = windows_of(req)
    specs = [_spec(k) for k in d["layers"]]
    geoms = [_geometry(a, areas) for a in d["areas"]]
    box: Any = crs.geometry_to_wgs84(shapely.segmentize(shapely.box(*shapely.union_all(
        geoms).bounds), 100.0), areas.epsg)[()]
    bbox = box.bounds
    start = windows.before.start
    frames = []
    for spec in specs:
        frames.append(store.event_arrays(EventFilter(
            layers=(spec.layer,), categories=spec.categories,
            start=datetime.combine(start, datetime.min.time()), bbox=tuple(bbox))))
    frame = pd.concat([f for f in frames if len(f)] or frames[:1], ignore_index=True)
    ev = EventArrays.from_frame(frame, areas.epsg)
    warnings: list[str] = []
    period = d["period"]
    if period != "month" and bool((ev.time_precision == "month").any()):
        period = "month"
        warnings.append("some watched events are known to the month only: the watch counts "
                        "per calendar month, not per " + d["period"])
    anchor = _anchor(windows.after.start, period)
    as_of = (pd.Timestamp(ev.time.max()).date() + timedelta(days=1)) if len(ev) else anchor
    if period == "month" and len(ev):  # the last month holding an event counts as whole
        as_of = _anchor(as_of, "month")
    step = PERIOD_DAYS[period]
    n_after = max(0, int((as_of - anchor).days // step) + 2)
    edges = [e for e in period_starts(anchor, 0, n_after, period) if e <= as_of]
    n_base = d["baseline_periods"]
    if n_base is None:
        after_end = windows.after.end + timedelta(days=1)
        n_base = max(1, sum(1 for e in edges[1:] if e <= after_end))
    if len(edges) - 1 < n_base:
        raise InsufficientDataError(
            f"the store holds {max(len(edges) - 1, 0)} whole {period} period(s) after the "
            f"operation (to {as_of.isoformat()}); the watch needs {n_base} to set the "
            "post-operation level")
    names, members, layer_of, area_of = [], [], [], []
    for spec in specs:
        m = spec.matches(ev.layer, ev.category)
        for area, geom in zip(d["areas"], geoms, strict=True):
            names.append(f"{spec.key} @ {area['name']}")
            members.append(m & shapely.contains_xy(geom, ev.x, ev.y))
            layer_of.append(spec.layer)
            area_of.append(area)
    member = np.array(members, dtype=bool).reshape(len(names), len(ev))
    counts = bin_counts(ev.time, member, edges)
    b0, b1 = windows.before.start, windows.before.end + timedelta(days=1)
    in_before = (ev.time >= np.datetime64(b0, "ns")) & (ev.time < np.datetime64(b1, "ns"))
    pre = (member & in_before[None, :]).sum(axis=1) / ((b1 - b0).days / step)
    res = watch_charts(names, counts[:, :n_base], counts[:, n_base:], pre, period=period,
                       arl0=d["arl0"], false_alarms_per_year=d["false_alarms_per_year"],
                       mu1_rule=d["mu1_rule"], rise=d["rise"],
                       period_starts=edges[n_base:-1], baseline_starts=edges[:n_base])
    # calendar-month counts at each series' alarms, for the disclosure rule
    months = np.asarray(ev.time, dtype="datetime64[M]")
    info = []
    for i, s in enumerate(res.series):
        alarm_months = sorted({edges[n_base + t].strftime("%Y-%m") for t in s.alarms})
        month_counts = {mo: int((member[i] & (months == np.datetime64(mo, "M"))).sum())
                        for mo in alarm_months}
        info.append({"layer": layer_of[i], "area": area_of[i],
                     "alarm_month_counts": month_counts})
    params = {**res.parameters, "as_of": as_of.isoformat(), "anchor": anchor.isoformat(),
              "pre_window": {"start": b0.isoformat(), "end": windows.before.end.isoformat()},
              "period_asked": d["period"]}
    for s in res.series:
        warnings += list(s.warnings)
    warnings += [w for w in res.warnings if w not in warnings]
    params["warnings"] = warnings
    return res, info, params


def _series_dict(s: Any, info: dict[str, Any], res: WatchResult) -> dict[str, Any]:
    starts = res.period_starts
    design = s.design.as_dict() if s.design else None
    return {"name": s.name, "layer": info["layer"], "area": info["area"]["name"],
            "area_kind": info["area"]["kind"],
            "alarm": bool(s.alarms),
            "alarm_periods": [starts[t].isoformat() for t in s.alarms],
            "first_alarm": starts[s.first_alarm].isoformat() if s.first_alarm is not None
            else None,
            "alarm_months": sorted(info["alarm_month_counts"]),
            "counts": list(s.counts), "baseline_counts": list(s.baseline_counts),
            "cusum": list(s.cusum), "pre_level": s.pre_level,
            "mu0_interval": list(s.mu0_interval), "mu1_rule": s.mu1_rule, "design": design,
            "warnings": list(s.warnings)}


def check_watch(store: Store, watch_id: int, *, role: str = "admin",
                actor: str = "cli") -> dict[str, Any]:
    """Check a watch now: every series charted, its alarms recorded (append only), the
    result as ``role`` may see it (:func:`service.app.disclosure.shown_watch_series`)."""
    record = _record(store, watch_id, role)
    res, info, params = compute_check(store, watch_id)
    alarms = [{"series": s.name, "layer": inf["layer"], "area": inf["area"]["name"],
               "period_start": res.period_starts[t], "cusum": s.cusum[t],
               "h": s.design.h if s.design else 0.0}
              for s, inf in zip(res.series, info, strict=True) for t in s.alarms]
    with store.begin() as conn:
        new = store.record_alarms(conn, watch_id, alarms, actor=actor)
        store.audit(conn, actor, "watch_check", {"id": watch_id, "alarms": len(alarms),
                                                 "new_alarms": new, "role": role})
    series = []
    withheld: list[str] = []
    for s, inf in zip(res.series, info, strict=True):
        shown = disclosure.shown_watch_series(role, inf["layer"], inf["area"]["kind"],
                                              _series_dict(s, inf, res),
                                              inf["alarm_month_counts"])
        if shown is None:
            continue
        series.append(shown)
    for layer in sorted({inf["layer"] for inf in info}):
        disclosure.audit_read(store, actor, role, layer, events=sum(
            sum(s.counts) + sum(s.baseline_counts) for s, inf in zip(res.series, info,
                                                                      strict=True)
            if inf["layer"] == layer), what={"watch": watch_id})
    if disclosure.is_controlled(role):
        withheld = disclosure.watch_withheld(role, [inf["layer"] for inf in info])
    recorded = [{"series": a.series, "layer": a.layer, "area": a.area,
                 "period_start": a.period_start.isoformat(),
                 "recorded_at": a.recorded_at.isoformat()}
                for a in store.recorded_alarms(watch_id)]
    recorded = disclosure.shown_recorded_alarms(role, recorded)
    return {"watch": record, "checked_at": datetime.now().replace(microsecond=0).isoformat(),
            "parameters": {k: v for k, v in params.items() if k != "warnings"},
            "series": series, "alarming": [s["name"] for s in series if s["alarm"]],
            "new_alarms_recorded": new, "recorded_alarms": recorded, "withheld": withheld,
            "warnings": params["warnings"] if not disclosure.is_controlled(role)
            else disclosure.watch_warnings(role, params["warnings"], [
                s.name for s, inf in zip(res.series, info, strict=True)
                if inf["area"]["kind"] == "site" or is_protected(role, inf["layer"])])}


def watch_geometries(store: Store, watch_id: int, *, role: str = "admin"
                     ) -> list[dict[str, Any]]:
    """The watched areas as WGS84 GeoJSON geometries (sites only for point-level roles)."""
    row = store.watch(watch_id)
    check_visible(store, row.operation_id, role)
    d = json.loads(row.definition)
    _, _, areas = _operation(store, row.operation_id)
    return [{"name": a["name"], "kind": a["kind"],
             "geometry": _series_geometry_wgs84(_geometry(a, areas), areas.epsg)}
            for a in d["areas"]
            if not (a["kind"] == "site" and disclosure.is_controlled(role))]


def demo_watch(store: Store, out_dir: Path, say: Callable[[str], None]) -> dict[str, Any]:
    """On the demo store after its operation was created: a watch on it, checked.

    Writes ``watch_check.json`` and ``map_watch.html``; returns a summary."""
    from service.render.watch_layer import watch_map_html

    op = store.operations()[-1]
    created = create_watch(store, {"operation_id": op.id, "name": f"{op.name}: re-emergence",
                                   "period": "month", "false_alarms_per_year": 2.0},
                           actor="demo")
    check = check_watch(store, created["id"], role="analyst", actor="demo")
    path = out_dir / "watch_check.json"
    path.write_text(json.dumps(check, indent=1, default=str))
    page = out_dir / "map_watch.html"
    page.write_text(watch_map_html(store, created["id"], check, role="analyst"),
                    encoding="utf-8")
    p = check["parameters"]
    say(f"  re-emergence watch {created['id']} on operation {op.id}: {p['series']} series, "
        f"per {p['period']}, ARL0 {p['arl0_per_series']:g} periods per series "
        f"(~{p['false_alarms_per_year_designed']:.1f} false alarms a year across the watch)")
    say("    alarming: " + (", ".join(check["alarming"]) or "none"))
    say(f"  watch check: {path}; map: {page}")
    return {"id": created["id"], "alarming": check["alarming"], "check": str(path),
            "map": str(page)}
