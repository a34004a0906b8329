"""The map of an operation: its areas, before/after counts, the density change, context.

Serves ``GET /v1/maps/operations/{id}`` and ``remap map operation``; the
operation pack (:mod:`service.render.operation_pack`) draws the same layers.
The report is first cut to what the role may see (:func:`report_for`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape

from service.app.analysis import CountsRequest, unit_counts
from service.app.hotspots import HotspotOptions, hotspots
from service.render.context_layers import context_layers
from service.render.geojson import feature_collection, geometry_features
from service.render.info_box import caveats_for
from service.render.map_base import MapOptions, build_map, render_html
from service.render.map_inputs import DensityGrid, MapLayer
from service.render.operation_report import consequence_flags_without_numbers
from service.store import Store
from spatial.disclosure import needs_small_number_suppression, suppress_counts
from spatial.errors import ParameterError


def _suppressed(counts: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Counts per area and window with 1-4 shown as "<5"."""
    return {area: dict(zip(w.keys(), suppress_counts(np.array(list(w.values()))), strict=True))
            for area, w in counts.items()}


def _partner_safe_report(report: dict[str, Any], role: str) -> dict[str, Any]:
    """The report as a role without point access may see it.

    Health layers keep only their verdict code and suppressed counts (their
    measures are functions of small counts); the overdose watch keeps its
    flags with counts of 1-4 shown as "<5".
    """
    if not needs_small_number_suppression(role, ["ambulance"]):
        return report
    out = dict(report)
    layers = []
    for la in report["layers"]:
        if needs_small_number_suppression(role, [la["layer"]]):
            layers.append({"key": la["key"], "layer": la["layer"], "role": la["role"],
                           "counts": _suppressed(la["counts"]),
                           "verdict": {"code": la["verdict"]["code"],
                                       "sentence": "Measures of health data are shown to "
                                                   "analysts only; counts of 1-4 are "
                                                   "shown as <5.", "caveats": []},
                           "measures": None})
        else:
            layers.append(la)
    out["layers"] = layers
    if report.get("phases"):
        out["phases"] = _partner_safe_phases(report["phases"], role)
    if report.get("consequence_watches"):
        out["consequence_watches"] = _partner_safe_watches(report["consequence_watches"], role)
    watch = report.get("overdose_watch") or {}
    if watch.get("available"):
        out["overdose_watch"] = {
            "available": True, "layer": watch["layer"], "counts": _suppressed(watch["counts"]),
            "rise": watch.get("rise"), "flags": _flags_without_numbers(watch)}
    return out


def _partner_safe_phases(phases: dict[str, Any], role: str) -> dict[str, Any]:
    """A rolling operation's phases as a role without point access may see them: health
    layers keep their verdict code and suppressed counts, as in the report's layers."""
    out = {**phases, "phases": []}
    for p in phases["phases"]:
        layers = []
        for la in p["layers"]:
            if needs_small_number_suppression(role, [la["layer"]]):
                layers.append({"key": la["key"], "layer": la["layer"], "role": la["role"],
                               "counts": _suppressed(la["counts"]),
                               "lengths_days": la.get("lengths_days"),
                               "verdict": {"code": la["verdict"]["code"],
                                           "sentence": "Measures of health data are shown to "
                                                       "analysts only.", "caveats": []},
                               "measures": None})
            else:
                layers.append(la)
        out["phases"].append({**p, "layers": layers, "warnings": []})
    out["table"] = [{**row, "counts": _suppressed(row["counts"]), "local_ratio": None,
                     "p_adjusted": None, "sentence": None}
                    if needs_small_number_suppression(role, [row["key"].split("/")[0]])
                    else row for row in phases["table"]]
    return out


def _partner_safe_watches(cw: dict[str, Any], role: str) -> dict[str, Any]:
    """Consequence watches without numbers for a role without point access: which watch
    flags a rise and when, in words; counts of protected layers shown as "<5" when 1-4,
    other layers' counts as they are."""
    watches = []
    for w in cw["watches"]:
        entry = {k: w[k] for k in ("name", "layer", "category", "substance", "watched",
                                   "police_generated", "note") if k in w}
        if not w["watched"]:
            entry["sentence"] = w["sentence"]
        else:
            entry.update(rise=bool(w.get("rise")), rise_windows=w.get("rise_windows", []),
                         comparison=w.get("comparison"),
                         flags=consequence_flags_without_numbers(w))
            entry["sentence"] = ("RISE flagged: " + "; ".join(entry["flags"]) + "."
                                 if entry["flags"] else
                                 "No significant rise in the target and buffer.")
            if not needs_small_number_suppression(role, [w["layer"]]):
                entry["counts"] = w.get("counts")
        watches.append(entry)
    return {**{k: cw[k] for k in ("flagged", "not_watched", "alpha", "multiplicity",
                                  "comparison_rule", "sentence")},
            "watches": watches,
            "flags": [f for w in watches for f in w.get("flags", [])]}


def _flags_without_numbers(watch: dict[str, Any]) -> list[str]:
    # rates per 30 days over known window lengths would give the counts back
    against = " relative to the control" if watch.get("comparison") == "control" else ""
    return [f"overdose call-outs in the target and buffer rose {wn} the operation{against}"
            for wn in watch.get("rise_windows", [])]


def report_for(store: Store, op_id: int, role: str, actor: str) -> dict[str, Any]:
    """The operation's report as ``role`` may see it: hidden operations are 404, health
    measures withheld, and no description or warning quotes a baseline count."""
    from service.app.operations import WITHHELD_WARNINGS, get_operation, operation_report

    record = get_operation(store, op_id, role=role)
    report = _partner_safe_report(operation_report(store, op_id, actor=actor), role)
    if needs_small_number_suppression(role, ["ambulance"]):
        definition = dict(report["parameters"].get("definition") or {})
        definition["control"] = record["resolved"]["control"]["description"]
        report["parameters"] = {**report["parameters"], "definition": definition}
        report["warnings"] = [WITHHELD_WARNINGS] if report.get("warnings") else []
    return report


def operation_caveats(report: dict[str, Any]) -> list[str]:
    """The verdicts' caveats and the report's warnings, once each."""
    cav: list[str] = []
    for la in report["layers"]:
        cav += (la.get("verdict") or {}).get("caveats", [])
    cav += report.get("warnings", [])
    return caveats_for(cav)


def operation_parameters(report: dict[str, Any]) -> dict[str, Any]:
    """The report's parameters a map or pack lists."""
    p = report["parameters"]
    return {k: p[k] for k in ("crs", "areas_km2", "buffer_edges_m", "definition", "windows",
                              "alpha") if k in p}


def _operation_windows(report: dict[str, Any]) -> dict[str, tuple[str, str]]:
    w = report["definition"]["windows"]
    return {k: (w[k]["start"], w[k]["end"]) for k in ("before", "during", "after") if w.get(k)}


def _area_parts(report: dict[str, Any]) -> list[tuple[Any, dict[str, Any]]]:
    """(shapely geometry, properties) of the target, buffer rings and control areas."""
    geo = report["geometry"]
    parts: list[tuple[Any, dict[str, Any]]] = []
    if geo.get("target"):
        parts.append((shape(geo["target"]), {"role": "target", "label": "Target area"}))
    rings = geo.get("buffer_rings") or ([geo["buffer"]] if geo.get("buffer") else [])
    edges = report["parameters"].get("buffer_edges_m", [])
    for i, ring in enumerate(rings):
        label = (f"Buffer {edges[i]:g}-{edges[i + 1]:g} m" if len(edges) > i + 1
                 else "Buffer")
        parts.append((shape(ring), {"role": "buffer", "label": label}))
    for key, label in (("control", "Control area"), ("buffer_control", "Buffer control")):
        if geo.get(key):
            parts.append((shape(geo[key]), {"role": "control", "label": label}))
    return parts


def _window_days(window: tuple[str, str]) -> int:
    """Days in a window of inclusive ISO dates."""
    return int((np.datetime64(window[1]) - np.datetime64(window[0])).astype(int)) + 1


def _per_30_days(fc: dict[str, Any], days: int) -> dict[str, Any]:
    """The collection with each unit's count also as a rate per 30 days (``per_30_days``);
    a suppressed count ("<5") stays text, since a rate would give the count back."""
    feats = []
    for f in fc["features"]:
        c = f["properties"].get("count")
        rate = round(c * 30.0 / days, 3) if isinstance(c, int | float) else c
        feats.append({**f, "properties": {**f["properties"], "per_30_days": rate}})
    return {**fc, "features": feats}


def _outcome_layers(store: Store, main_layer: dict[str, Any], windows: dict[str, tuple[str, str]],
                    bbox: str, role: str, actor: str | None) -> list[MapLayer]:
    """Rates per 30 days before and after at H3 res 9 (windows differ in length, so raw
    counts would not compare), and the density change per 30 days where the role may."""
    layers = []
    cats = [c for c in str(main_layer["category"]).split("+") if c and c != "*"]
    for when in ("before", "after"):
        start, end = windows[when]
        req = CountsRequest.parse(layer=main_layer["layer"], categories=cats, start=start,
                                  end=end, unit="h3:9", area=bbox)
        fc, _ = hotspots(store, req, HotspotOptions(method="count"), role=role, actor=actor)
        layers.append(MapLayer(name=f"{main_layer['key']} {when}, per 30 days "
                                    f"({start} to {end})",
                               kind="choropleth", data=_per_30_days(fc, _window_days(windows[when])),
                               value_field="per_30_days", tooltip_fields=("count",),
                               show=when == "after"))
    if not needs_small_number_suppression(role, [main_layer["layer"]]):
        grid = _difference_surface(store, main_layer["layer"], cats, windows, bbox)
        if grid is not None:
            layers.append(MapLayer(name=f"{main_layer['key']}: change per 30 days "
                                        "(after minus before, density)",
                                   kind="density", data=grid, show=False))
    return layers


def main_map_layer(report: dict[str, Any], role: str, layer: str | None = None
                   ) -> dict[str, Any] | None:
    """The report layer the map draws: ``layer`` (a key such as ``crime/Drugs``) or, by
    default, the operation's first layer the role may see in full.

    Raises
    ------
    ParameterError
        ``layer`` is not a layer of the operation, or the role may not see it mapped.
    """
    keys = [la["key"] for la in report["layers"]]
    # protected layers are not drawn at h3:9 for controlled roles (the gate would refuse them)
    visible = [la for la in report["layers"]
               if not needs_small_number_suppression(role, [la["layer"]])]
    if layer is None:
        return visible[0] if visible else None
    chosen = next((la for la in report["layers"] if la["key"].casefold() == layer.casefold()),
                  None)
    if chosen is None:
        raise ParameterError("layer", f"{layer!r} is not a layer of this operation; "
                                      f"its layers are {', '.join(keys)}")
    if chosen not in visible:
        raise ParameterError("layer", f"{chosen['key']} is shown to this role only as "
                                      "suppressed area counts, not on a map")
    return chosen


def operation_layers(store: Store, report: dict[str, Any], role: str, actor: str | None = None,
                     layer: str | None = None) -> list[MapLayer]:
    """Areas, before/after rates of ``layer`` (default: the first layer), the density
    difference and context layers."""
    parts = _area_parts(report)
    areas_fc = feature_collection(geometry_features([g for g, _ in parts],
                                                    [p for _, p in parts]))
    layers = [MapLayer(name="Operation: target, buffer, control", kind="areas", data=areas_fc)]
    outer = shapely.union_all([g for g, p in parts if p["role"] in ("target", "buffer")])
    minx, miny, maxx, maxy = outer.bounds
    bbox = f"bbox:{minx:.6f},{miny:.6f},{maxx:.6f},{maxy:.6f}"
    main_layer = main_map_layer(report, role, layer)
    if main_layer is not None:
        windows = _operation_windows(report)
        layers += _outcome_layers(store, main_layer, windows, bbox, role, actor)
        ctx_req = CountsRequest.parse(layer=main_layer["layer"], unit="h3:9", area=bbox,
                                      start=windows["before"][0], end=windows["after"][1])
        layers += context_layers(store, ctx_req, role, actor)
    return layers


def _difference_surface(store: Store, layer: str, cats: list[str],
                        windows: dict[str, tuple[str, str]], bbox: str) -> DensityGrid | None:
    """Kernel density after minus before, in events per km² per 30 days."""
    from spatial.place.crs import to_metric
    from spatial.stats import density

    surfaces = []
    for when in ("before", "after"):
        req = CountsRequest.parse(layer=layer, categories=cats, start=windows[when][0],
                                  end=windows[when][1], unit="grid:100", area=bbox)
        uc = unit_counts(store, req)
        ev = uc.events.loc[uc.index >= 0]
        if len(ev) < 2:
            return None
        surfaces.append((ev, uc.units.epsg))
    epsg = surfaces[0][1]
    (b_ev, _), (a_ev, _) = surfaces
    bx, by = to_metric(b_ev["lon"].to_numpy(float), b_ev["lat"].to_numpy(float), epsg)
    ax, ay = to_metric(a_ev["lon"].to_numpy(float), a_ev["lat"].to_numpy(float), epsg)
    xs, ys = np.concatenate([bx, ax]), np.concatenate([by, ay])
    bounds = (xs.min() - 500, ys.min() - 500, xs.max() + 500, ys.max() + 500)
    days = {w: (np.datetime64(windows[w][1]) - np.datetime64(windows[w][0])).astype(int) + 1
            for w in ("before", "after")}
    before = density.kde(bx, by, cell_size_m=25, bandwidth_m=200, bounds=bounds,
                         weights=np.full(len(bx), 30.0 / days["before"]))
    after = density.kde(ax, ay, cell_size_m=25, bandwidth_m=200, bounds=bounds,
                        weights=np.full(len(ax), 30.0 / days["after"]))
    diff = density.dual(after, before, mode="difference")
    return DensityGrid.coerce({"result": diff, "epsg": epsg,
                               "units": "events per km² per 30 days"})


def operation_map_html(store: Store, op_id: int, *, role: str, actor: str,
                       options: MapOptions = MapOptions(), layer: str | None = None) -> str:
    """The operation's map of ``layer`` (default: its first) as ``role`` may see it."""
    report = report_for(store, op_id, role, actor)
    layers = operation_layers(store, report, role, actor, layer)
    m = build_map(layers, title=f"remap: {report['operation']['name']}",
                  caveats=operation_caveats(report), parameters=operation_parameters(report),
                  offline=options.offline, asset_base_url=options.asset_base_url,
                  route_prefix=options.route_prefix)
    return render_html(m, offline=options.offline, asset_base_url=options.asset_base_url)
