"""Operations in the store: definitions, the baseline lock and the evaluation report.

An operation is created from a definition (:class:`OperationIn`: target,
buffer, control, windows, layers, options), resolved once against the store
(boundary units become polygons, recorded with the boundary-set version used;
a suggested control becomes the chosen units with the reasons) and kept in
the ``operations`` table with status ``planned``.

Starting it locks the baseline: the before-window counts of every layer and
category in every area, buffer ring, distance-decay ring, H3 cell of the
SPPT and the overdose watch are frozen with a sha256 fingerprint
(:func:`spatial.evaluation.baseline.baseline_snapshot`). A report recomputes them
from the events as stored now, **uses the locked figures**, and lists every
difference (e.g. "3 events imported after the baseline lock changed the
before count of crime/Drugs in target: 41 → 44; the locked figures were
used") together with the imports made after the lock. A stored baseline that
no longer matches its fingerprint is reported too.

The analysis itself is :func:`spatial.evaluation.evaluate.evaluate_operation`, worded by
:func:`service.render.operation_report.operation_report_dict`; this module only loads
events (:meth:`Store.event_arrays`) and keeps records. The definition is
:mod:`service.app.operation_definitions`, its areas :mod:`service.app.operation_areas`
and its rows :mod:`service.store.operations`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import shapely

from service.app.operation_areas import (
    _kde_pad,
    _wanted,
    areas_from_definition,
    events_for,
    layers_needed,
    resolve_definition,
)
from service.app.operation_definitions import (
    OperationIn,
    PlanIn,
    phases_of,
    specs_of,
    validate_definition,
    windows_of,
)
from service.render.operation_report import (
    consequence_watches_dict,
    operation_report_dict,
    phases_dict,
)
from service.store import Store
from service.store.base import now as _now
from service.store.event_scan import ScanColumns, ScanSlice, slice_mask
from service.store.operations import StoredOperation
from spatial.disclosure import POINT_LEVEL_ROLES
from spatial.errors import ConflictError, NotFoundError
from spatial.evaluation.areas import (
    OperationAreas,
    polygon_from_geojson,
    to_geojson,
)
from spatial.evaluation.baseline import fingerprint
from spatial.evaluation.consequence_watch import (
    SUBSTANCE_ATTRIBUTE,
    consequence_watches,
    default_watches,
)
from spatial.evaluation.counting import EventArrays, count_table, pair_codes
from spatial.evaluation.evaluate import current_baseline, evaluate_operation
from spatial.evaluation.phases import evaluate_phases, phase_windows
from spatial.evaluation.planning import plan_layer
from spatial.evaluation.sites import SiteRecords
from spatial.evaluation.time_context import time_context_span
from spatial.evaluation.windows import Windows, month_window_notes

# --------------------------------------------------------------------------- records


def _record(row: StoredOperation, *, full: bool = True) -> dict[str, Any]:
    defn = json.loads(row.definition)
    baseline = json.loads(row.baseline) if row.baseline else None
    out: dict[str, Any] = {
        "id": row.id, "name": row.name, "status": row.status,
        "created_at": row.created_at.isoformat() if row.created_at else None,
        "created_by": row.created_by,
        "started_at": row.started_at.isoformat() if row.started_at else None,
        "baseline_fingerprint": baseline["fingerprint"] if baseline else None,
        "shared": row.shared,
    }
    if full:
        out["definition"] = defn["request"]
        out["resolved"] = defn["resolved"]
    return out


def create_operation(store: Store, data: Any, *, actor: str) -> dict[str, Any]:
    """Validate, resolve and store a new operation (status ``planned``)."""
    req = _stored_categories(store, validate_definition(data))
    windows_of(req)  # validates the order of the windows (and of the phases)
    resolved = resolve_definition(store, req)
    if req.phases:
        resolved["phases"] = [
            None if ph.target is None else resolve_definition(store, phase_request(req, i))
            for i, ph in enumerate(req.phases)]
    definition = {"request": req.model_dump(mode="json"), "resolved": resolved}
    with store.begin() as conn:
        op_id = store.insert_operation(conn, name=req.name, definition=json.dumps(definition),
                                       created_by=actor)
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
        # a phase's own (suggested) control quotes baseline counts too
        for ph in out["resolved"].get("phases") or []:
            if ph is not None:
                ph["control"] = public_control(ph["control"])
                ph["warnings"] = [WITHHELD_WARNINGS] if ph.get("warnings") else []
    return out


WITHHELD_WARNINGS = ("warnings about the areas and the control choice quote baseline counts "
                     "and are shown to analysts only")


def check_visible(store: Store, op_id: int, role: str) -> StoredOperation:
    """The operation's row, if ``role`` may see it: partners and viewers see only
    operations an analyst shared, and only once started (a planned target and its
    dates never leave); otherwise it does not exist for them (404)."""
    row = store.operation(op_id)
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
    store.operation(op_id)  # 404 before anything is written
    with store.begin() as conn:
        store.set_operation_shared(conn, op_id, shared)
        store.audit(conn, actor, "operation_share", {"id": op_id, "shared": shared})
    return get_operation(store, op_id)


def list_operations(store: Store) -> list[dict[str, Any]]:
    return [_record(r, full=False) for r in store.operations()]


def start_operation(store: Store, op_id: int, *, actor: str) -> dict[str, Any]:
    """Mark an operation started and lock its baseline (before-window counts + sha256)."""
    row = store.operation(op_id)
    if row.status == "started":
        assert row.started_at is not None
        raise ConflictError(f"operation {op_id} was already started at "
                            f"{row.started_at.isoformat()}; its baseline is locked")
    defn = json.loads(row.definition)
    req = OperationIn.model_validate(defn["request"])
    areas = areas_from_definition(defn)
    windows = windows_of(req)
    events = events_for(store, req, areas, req.windows.before.start, req.windows.before.end)
    snapshot = current_baseline(events, areas, windows, specs_of(req),
                                    options=req.options.evaluation())
    now = _now()
    baseline = {"locked_at": now.isoformat(), "fingerprint": fingerprint(snapshot),
                "counts": snapshot}
    with store.begin() as conn:
        # only a planned operation is updated: a concurrent start is a ConflictError
        store.lock_baseline(conn, op_id, started_at=now, baseline=json.dumps(baseline))
        store.audit(conn, actor, "operation_start", {"id": op_id,
                                                     "fingerprint": baseline["fingerprint"]})
    return get_operation(store, op_id)


def _concurrent(store: Store, op_id: int | None, req: OperationIn,
                outline: dict[str, Any] | None, areas: OperationAreas) -> list[dict[str, Any]]:
    """Other stored operations whose windows overlap and whose target + buffer meets
    this operation's areas."""
    mine = shapely.union_all([g for g in (
        polygon_from_geojson(outline, "outline") if outline else None,
        polygon_from_geojson(to_geojson(areas.control, areas.epsg), "control"),
    ) if g is not None])
    lo, hi = req.windows.before.start, req.windows.after.end
    out = []
    for r in store.operations():
        if op_id is not None and r.id == op_id:
            continue
        d = json.loads(r.definition)
        w = d["request"]["windows"]
        o_lo = date.fromisoformat(w["before"]["start"])
        o_hi = date.fromisoformat(w["after"]["end"])
        if o_hi < lo or o_lo > hi:
            continue
        other = d["resolved"].get("outline")
        if other and shapely.intersects(mine, polygon_from_geojson(other, "outline")):
            out.append({"id": r.id, "name": r.name, "status": r.status})
    return out


def operation_report(store: Store, op_id: int, *, actor: str, harm_index: str | None = None,
                     include_police_generated: bool | None = None) -> dict[str, Any]:
    """The evaluation report of a stored operation (JSON-able dict).

    ``harm_index`` (``cchi``, ``css`` or a table's path) and ``include_police_generated``
    override the definition's options for this report: it gains a ``harm`` section
    (:func:`service.render.operation_report.harm_dict`)."""
    row = store.operation(op_id)
    defn = json.loads(row.definition)
    req = OperationIn.model_validate(defn["request"])
    areas = areas_from_definition(defn)
    windows = windows_of(req)
    known = store.layer_names()
    summary = store.layer_summaries(sorted(layers_needed(req) | {"crime"}))
    held = {layer: (sorted(summary[layer]) if layer in known else None)
            for layer in ("crime", req.options.overdose_layer)}
    loaded = _report_inputs(store, req, areas, _all_windows(req, windows), held=held,
                            sites=req.options.dealing_site_layer in known)
    events, sites = loaded.events, loaded.sites
    baseline = json.loads(row.baseline) if row.baseline else None
    locked = baseline["counts"] if baseline else None
    concurrent = _concurrent(store, op_id, req, defn["resolved"].get("outline"), areas)
    caveats = ["concurrent_operations"] if concurrent else []
    options = req.options.evaluation()
    if harm_index is not None:
        options = replace(options, harm_index=harm_index)
    if include_police_generated is not None:
        options = replace(options, harm_include_police_generated=include_police_generated)
    coverage = {name: min(summary[name].values()).date()
                for name in sorted(layers_needed(req)) if summary[name]}
    if req.phases:
        own_areas, own_events = _phase_inputs(store, req, defn, windows)
        phased = evaluate_phases(events, areas, windows, phases_of(req), specs_of(req),
                                 phase_areas=own_areas, phase_events=own_events,
                                 options=options, sites=sites, locked=locked,
                                 caveats=caveats, coverage=coverage)
        report = operation_report_dict(phased.cumulative)
        report["phases"] = phases_dict(phased, [
            (defn["resolved"].get("phases") or [None] * len(req.phases))[i]
            for i in range(len(req.phases))])
    else:
        report = operation_report_dict(evaluate_operation(
            events, areas, windows, specs_of(req), options=options, sites=sites,
            locked=locked, caveats=caveats, coverage=coverage))
    report["consequence_watches"] = consequence_watch_report(
        store, req, areas, windows, locked_overdose=(locked or {}).get("overdose"),
        held=held, loaded=loaded)
    missing = sorted({la.layer for la in req.layers} - known)
    if missing:
        report["warnings"].append(f"layer(s) {', '.join(missing)} have no events in the store: "
                                  "their counts are all zero")
    lock = report["baseline_lock"]
    if baseline:
        assert row.started_at is not None  # a baseline is locked when starting
        verified = fingerprint(baseline["counts"]) == baseline["fingerprint"]
        lock.update({"locked_at": baseline["locked_at"], "fingerprint": baseline["fingerprint"],
                     "fingerprint_verified": verified,
                     "imports_after_lock": store.imports_after(row.started_at,
                                                               layers_needed(req))})
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


#: Substance values that name no substance: no watch of their own (they count in
#: the overdoses watch).
UNKNOWN_SUBSTANCES = frozenset({"unknown", "not known", "none", "n/a", "na", "other"})


def consequence_watch_report(store: Store, req: OperationIn, areas: OperationAreas,
                             windows: Windows, *,
                             locked_overdose: dict[str, int] | None = None,
                             held: dict[str, list[str] | None] | None = None,
                             loaded: _Loaded | None = None) -> dict[str, Any]:
    """The unintended-consequence watches of an operation, in words
    (:func:`spatial.evaluation.consequence_watch.consequence_watches`): violence,
    weapons and public disorder from the crime layer, overdoses (and overdoses by
    suspected substance, when the call-outs record one) from the overdose layer;
    each only when the store holds its layer and category. The overdoses watch uses
    the baseline lock's before counts, as the overdose watch does.

    ``held`` and ``loaded`` are the store's categories (:func:`_held`) and the
    report's one scan (:func:`_report_inputs`) when the report has them already."""
    od = req.options.overdose_layer
    if held is None:
        held = _held(store, req, store.layer_names())
    if loaded is None or loaded.watch is None:
        loaded = _report_inputs(store, req, areas, [], held=held, sites=False,
                                evaluation=False)
    assert loaded.watch is not None
    events, substance = loaded.watch
    names = sorted({str(v) for v in pd.unique(substance) if v is not None and str(v).strip()
                    and str(v).strip().casefold() not in UNKNOWN_SUBSTANCES})
    result = consequence_watches(
        events, areas, windows, default_watches(od, names), held=held, substance=substance,
        alpha=req.options.alpha,
        locked_before={"overdoses": locked_overdose} if locked_overdose else None)
    return consequence_watches_dict(result)


def _held(store: Store, req: OperationIn, known: set[str]) -> dict[str, list[str] | None]:
    """The categories the store holds of the crime and overdose layers (``None``: no
    such layer), which decide the consequence watches."""
    return {layer: (store.layer_categories(layer) if layer in known else None)
            for layer in ("crime", req.options.overdose_layer)}


@dataclass(frozen=True, eq=False)
class _Loaded:
    """What a report reads from the store, from one scan (:func:`_report_inputs`):
    the evaluation's events, the consequence watches' events with each one's
    suspected substance, and the dealing-site records."""

    events: EventArrays
    watch: tuple[EventArrays, np.ndarray] | None
    sites: SiteRecords | None
    slices: dict[str, ScanSlice]


def _at_midnight(d: date) -> datetime:
    return datetime.combine(d, datetime.min.time())


def _events_of(cols: ScanColumns, index: np.ndarray | slice, epsg: int) -> EventArrays:
    return EventArrays.from_columns(
        lon=cols.lon[index], lat=cols.lat[index], x=cols.x[index], y=cols.y[index],
        crs_epsg=cols.crs_epsg[index], time=cols.time[index], layer=cols.layer[index],
        category=cols.category[index], time_precision=cols.time_precision[index],
        location_precision=cols.location_precision[index], epsg=epsg)


def _by_layer(layer_rank: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Positions of ``mask``'s events, layer by layer in name order (``layer_rank``: each
    event's layer's rank among the names), each by id (the order the per-layer reads
    gave)."""
    idx = np.flatnonzero(mask)
    return idx[np.argsort(layer_rank[idx], kind="stable")]


def _layer_ranks(events: EventArrays) -> np.ndarray:
    """Each event's layer's rank among the layer names in sorted order, from the
    (layer, category) codes the evaluation uses too (one hash pass for both)."""
    codes, pairs = pair_codes(events)
    names = sorted({str(la) for la, _ in pairs})
    rank = np.array([names.index(str(la)) for la, _ in pairs], dtype=np.int64)
    return rank[codes] if rank.size else np.zeros(codes.size, dtype=np.int64)


def _report_inputs(store: Store, req: OperationIn, areas: OperationAreas,
                   windows: list[Windows], *, held: dict[str, list[str] | None] | None,
                   sites: bool, evaluation: bool = True) -> _Loaded:
    """Everything a report reads from the events, in **one** query
    (:func:`service.store.event_scan.scan_events`), split again in NumPy:

    * ``windows``: the evaluated layers (and the overdose layer) from the before
      window's first day to the after window's last, in the areas' extent with the
      density margin;
    * ``earlier``: the same layers in the months before it that the time context
      needs (:func:`spatial.evaluation.time_context.time_context_span`, the earliest
      over ``windows``), in the areas' extent without the margin;
    * ``watch_crime`` / ``watch_overdose``: the consequence watches' crime
      categories and the overdose layer in the windows' span and the extent;
    * ``sites``: every dealing-site record within 100 m of the extent.
    """
    od = req.options.overdose_layer
    start = _at_midnight(req.windows.before.start)
    end = _at_midnight(req.windows.after.end + timedelta(days=1))
    extent = areas.extent_wgs84(0.0)
    slices: dict[str, ScanSlice] = {}
    if evaluation:
        wanted = {k: (None if v is None else frozenset(v))
                  for k, v in _wanted(specs_of(req), (od,)).items()}
        slices["windows"] = ScanSlice(wanted, start, end, areas.extent_wgs84(_kde_pad(req)))
        first = min((time_context_span(w)[0] for w in windows),
                    default=req.windows.before.start)
        if first < req.windows.before.start:
            slices["earlier"] = ScanSlice(wanted, _at_midnight(first), start, extent)
    if held is not None:
        watched_crime = [w.category for w in default_watches(od) if w.layer == "crime"]
        cats = frozenset(c for c in watched_crime if c in (held.get("crime") or []))
        if cats:
            slices["watch_crime"] = ScanSlice({"crime": cats}, start, end, extent)
        if held.get(od) is not None:
            slices["watch_overdose"] = ScanSlice({od: None}, start, end, extent)
    ds = req.options.dealing_site_layer
    if sites:
        slices["sites"] = ScanSlice({ds: None}, bbox=areas.extent_wgs84(100.0))
    # the usual values (police.uk crime, the areas' CRS) come back as NULL: fewer objects
    cols = store.scan_events(list(slices.values()),
                             attribute=(od, SUBSTANCE_ATTRIBUTE) if "watch_overdose" in slices
                             else None,
                             attributes_layer=ds if sites else None,
                             usual={"layer": "crime", "crs_epsg": areas.epsg,
                                    "time_precision": "month",
                                    "location_precision": "snapped"})
    mask = {name: slice_mask(cols, s) for name, s in slices.items()}
    none = np.zeros(len(cols), dtype=bool)
    # every scanned event once as EventArrays (one conversion, one (layer, category)
    # factorisation), then the subsets taken from it
    scanned = _events_of(cols, slice(None), areas.epsg)
    rank = _layer_ranks(scanned)
    idx = np.concatenate([_by_layer(rank, mask.get("earlier", none)),
                          _by_layer(rank, mask.get("windows", none))])
    watch = None
    if held is not None:
        crime = np.flatnonzero(mask.get("watch_crime", none))
        amb = np.flatnonzero(mask.get("watch_overdose", none))
        substance = np.concatenate([np.full(crime.size, None, dtype=object),
                                    cols.attribute[amb]])
        watch = (scanned.take(np.concatenate([crime, amb])), substance)
    site_records = None
    if sites:
        at = np.flatnonzero(mask["sites"])
        site_records = SiteRecords.from_attributes(
            scanned.x[at], scanned.y[at],
            [json.loads(a) if a is not None else {} for a in cols.attributes[at]])
    return _Loaded(events=scanned.take(idx), watch=watch, sites=site_records,
                   slices=slices)


def phase_request(req: OperationIn, i: int) -> OperationIn:
    """Phase ``i``'s own definition: its target and buffer, its control or the
    operation's, and nothing else changed (no phases)."""
    ph = (req.phases or [])[i]
    return req.model_copy(update={"target": ph.target or req.target,
                                  "buffer": ph.buffer or req.buffer,
                                  "control": ph.control or req.control, "phases": None})


def _phase_inputs(store: Store, req: OperationIn, defn: dict[str, Any],
                  windows: Windows) -> tuple[list[OperationAreas | None],
                                             list[EventArrays | None]]:
    """Each phase's own areas and events (``None``: the operation's)."""
    areas: list[OperationAreas | None] = []
    events: list[EventArrays | None] = []
    resolved = defn["resolved"].get("phases") or [None] * len(req.phases or [])
    for i, res in enumerate(resolved):
        if res is None:
            areas.append(None)
            events.append(None)
            continue
        sub = phase_request(req, i)
        pa = areas_from_definition({"request": sub.model_dump(mode="json"), "resolved": res})
        areas.append(pa)
        events.append(_with_time_context_events(store, sub, pa, _all_windows(req, windows)))
    return areas, events


def _all_windows(req: OperationIn, windows: Windows) -> list[Windows]:
    """The operation's windows and, with phases, every phase's."""
    phases = phases_of(req)
    return [windows] + ([pw.windows for pw in phase_windows(windows, phases)] if phases else [])


def _with_time_context_events(store: Store, req: OperationIn, areas: OperationAreas,
                              windows: Windows | list[Windows]) -> EventArrays:
    """The windows' events as always, and before them the months the time context needs
    (a year earlier, the 24-month series, the long run, the placebo) and nothing older.
    Those earlier months are only counted inside the areas, so they need no density
    margin around them. With several windows (a rolling operation's phases), the
    earliest month any of them needs. One query (:func:`_report_inputs`)."""
    every = windows if isinstance(windows, list) else [windows]
    return _report_inputs(store, req, areas, every, held=None, sites=False).events


def plan_operation(store: Store, data: Any, *, actor: str) -> dict[str, Any]:
    """Planning figures for a proposed definition, before creating it."""
    req = _stored_categories(store, validate_definition(data, PlanIn))
    windows = windows_of(req)
    resolved = resolve_definition(store, req)
    areas = areas_from_definition({"request": req.model_dump(mode="json"),
                                   "resolved": resolved})
    events = events_for(store, req, areas, req.windows.before.start, req.windows.before.end)
    specs = specs_of(req)
    counts = count_table(events, areas, windows, specs)
    opts = req.options
    has_bc = areas.buffer_control is not None
    layers = [plan_layer(lc, alpha=opts.alpha, power=opts.power,
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
                                 "of the counts); see spatial.evaluation.wdd."
                                 "minimum_detectable_change"},
        "control_suggestion": resolved["control"].get("suggestion"),
        "geometry": areas.as_geojson(),
        "warnings": resolved["warnings"] + (month_window_notes(windows) if any(
            lc.month_precision for lc in counts.values()) else []),
    })


OpIn = TypeVar("OpIn", bound=OperationIn)


def _stored_categories(store: Store, req: OpIn) -> OpIn:
    """``req`` with its layers' categories as the store spells them (``drugs`` counts
    ``Drugs``); a category a layer does not hold is an error, not zeros."""
    from service.app.analysis import resolve_category_spec

    layers = [la.model_copy(update={"category": resolve_category_spec(
        store, la.layer, la.category, f"layers[{i}].category")})
        for i, la in enumerate(req.layers)]
    return req.model_copy(update={"layers": layers})


def _json_safe(value: Any) -> Any:
    """NaN/inf to None, numpy to Python, recursively."""
    # the plain JSON types first, by exact type (most of a report's ten thousand values)
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is dict:
        return {str(k): _json_safe(v) for k, v in value.items()}
    if kind is list:
        return [_json_safe(v) for v in value]
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
