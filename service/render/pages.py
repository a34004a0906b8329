"""Maps and tasking packs: requests to Folium pages, with disclosure applied once.

The same functions serve ``GET /v1/maps/...``, ``GET /v1/packs/...`` and
``remap map`` / ``remap pack``. What a role may see is decided here, where data
leaves remap: point layers only for roles with point access, health data
aggregated and small-number suppressed otherwise. Large layers are always
aggregated to units; raw points are drawn only for the restricted layers
whose volumes are small (dealing sites) and only up to the map's cap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np

from service.app import disclosure
from service.app.analysis import AreaSpec, CountsRequest, UnitSpec, boundary_frame, unit_counts
from service.app.hotspots import HotspotOptions, hotspots
from service.render import maps as mapsmod
from service.render.geojson import feature_collection, geometry_features
from service.render.html import Section, Table, Verdict, render
from service.store import EventFilter, Store
from spatial.disclosure import (
    may_see_points,
    needs_small_number_suppression,
    suppress_counts,
)
from spatial.errors import ParameterError, PermissionDeniedError
from spatial.events import layer_spec

#: Layers drawn beside the main one when the store holds them.
CONTEXT_LAYERS = ("dealing_site", "ambulance")


@dataclass(frozen=True)
class MapOptions:
    offline: bool = True
    #: None: inline every asset (a self-contained file); else link them under this URL
    asset_base_url: str | None = None


def _boundary_outline(store: Store, name: str, version: int | None) -> dict[str, Any]:
    gdf = boundary_frame(store, name, version)
    props = [{"unit_id": u, "label": lab} for u, lab in zip(gdf["unit_id"], gdf["label"],
                                                           strict=True)]
    return feature_collection(geometry_features(gdf.geometry.to_numpy(), props,
                                                ids=list(gdf["unit_id"])))


def _monthly(store: Store, req: CountsRequest, role: str,
             actor: str | None = None) -> dict[str, Any] | None:
    """Counts per unit and month, for the time slider."""
    uc = unit_counts(store, req, role=role, actor=actor)
    inside = uc.index >= 0
    if not inside.any():
        return None
    months = uc.events.loc[inside, "time"].dt.strftime("%Y-%m").to_numpy()
    labels, month_idx = np.unique(months, return_inverse=True)
    table = np.zeros((len(uc.unit_ids), len(labels)), dtype=np.int64)
    np.add.at(table, (uc.index[inside], month_idx), 1)
    props = []
    for i, (u, lab) in enumerate(zip(uc.unit_ids, uc.labels, strict=True)):
        row = disclosure.shown_counts(role, req.layer, table[i])
        props.append({"unit_id": str(u), "label": lab,
                      "months": dict(zip(labels.tolist(), row, strict=True))})
    return feature_collection(geometry_features(uc.units.geometry.to_numpy(), props,
                                                ids=[str(u) for u in uc.unit_ids]),
                              parameters={"unit": req.unit.describe(),
                                          "months": labels.tolist()})


def context_layers(store: Store, req: CountsRequest, role: str,
                   actor: str | None = None) -> list[mapsmod.MapLayer]:
    """Dealing sites and ambulance call-outs near the map, as the role allows.

    A context layer the role may not have at this window or unit is left out
    (the gate in :func:`service.app.analysis.unit_counts` decides), never weakened.
    """
    out: list[mapsmod.MapLayer] = []
    present = store.layer_names()
    for layer in CONTEXT_LAYERS:
        if layer not in present or layer == req.layer:
            continue
        if may_see_points(role, layer) and layer == "dealing_site":
            pts = store.query_events(EventFilter(layers=(layer,), start=req.window.start,
                                                 end=req.window.end),
                                     limit=mapsmod.MAX_POINTS + 1)
            if 0 < len(pts) <= mapsmod.MAX_POINTS:
                from service.render.geojson import events_features

                out.append(mapsmod.MapLayer(
                    name="Dealing sites (intelligence: restricted)", kind="points",
                    data=feature_collection(events_features(pts)), value_field="category",
                    show=False))
                continue
        # everything else is aggregated to H3 cells; health data suppressed for partners
        agg = replace(req, layer=layer, categories=(), unit=UnitSpec.parse(
            f"h3:{_context_resolution(role, layer)}"))
        try:
            uc = unit_counts(store, agg, role=role, actor=actor)
        except (ParameterError, PermissionDeniedError):
            continue
        suppress = needs_small_number_suppression(role, [layer])
        values = disclosure.shown_counts(role, layer, uc.counts)
        keep = [i for i, c in enumerate(uc.counts) if c > 0]
        if not keep:
            continue
        props = [{"unit_id": str(uc.unit_ids[i]), "layer": layer, "count": values[i]}
                 for i in keep]
        fc = feature_collection(geometry_features(uc.units.geometry.to_numpy()[keep], props,
                                                  ids=[str(uc.unit_ids[i]) for i in keep]),
                                warnings=uc.warnings)
        res = agg.unit.resolution
        title = {"ambulance": f"Ambulance overdose call-outs (H3 res {res}"
                              + (", counts under 5 suppressed, others rounded to 5)"
                                 if suppress else ")"),
                 "dealing_site": f"Dealing sites (H3 res {res}, aggregated)"}[layer]
        out.append(mapsmod.MapLayer(name=title, kind="points_aggregated", data=fc, show=False))
    return out


def _context_resolution(role: str, layer: str) -> int:
    """H3 resolution of an aggregated context layer: 8, or coarser where the policy says."""
    if not needs_small_number_suppression(role, [layer]):
        return 8
    policy = disclosure.current_policy()
    fixed = (policy.h3_resolution if layer_spec(layer).sensitivity == "health"
             else policy.restricted_h3_resolution)
    return 8 if fixed is None else fixed  # None: the gate refuses the layer


#: Above this many units a map draws only the units that carry information (non-zero
#: counts, significant Gi* bins, LISA clusters): a 17,000-cell map is 170 MB otherwise.
MAX_DRAWN_UNITS = 3_000


def _only(fc: dict[str, Any], keep: Any, note: str) -> dict[str, Any]:
    """``fc`` with only the features ``keep(properties)`` accepts, and a warning saying so."""
    feats = [f for f in fc["features"] if keep(f["properties"])]
    dropped = len(fc["features"]) - len(feats)
    warnings = list(fc.get("warnings", []))
    if dropped:
        warnings.append(f"{dropped:,} of {len(fc['features']):,} units not drawn ({note}); "
                        "the API and --out GeoJSON have every unit")
    return {**fc, "features": feats, "warnings": warnings}


def _thin(layer: mapsmod.MapLayer, n_units: int) -> mapsmod.MapLayer:
    if n_units <= MAX_DRAWN_UNITS:
        return layer
    rules = {
        "choropleth": (lambda p: p.get("count") not in (0, None), "zero counts"),
        "gi_bins": (lambda p: p.get("Gi_Bin", 0) != 0, "not significant"),
        "lisa": (lambda p: p.get("cluster", "ns") != "ns", "not significant"),
        "monthly": (lambda p: any(v not in (0, None) for v in p.get("months", {}).values()),
                    "no events in any month"),
    }
    if layer.kind not in rules:
        return layer
    keep, note = rules[layer.kind]
    return replace(layer, data=_only(layer.data, keep, note))


def hotspot_layers(store: Store, req: CountsRequest, opts: HotspotOptions,
                   role: str, actor: str | None = None
                   ) -> tuple[list[mapsmod.MapLayer], dict[str, Any]]:
    """Counts, Gi*, LISA and density layers of one request, plus its parameters.

    Maps of more than :data:`MAX_DRAWN_UNITS` units draw only informative units.
    """
    suppress = needs_small_number_suppression(role, [req.layer])
    what = f"{req.layer}" + (f" ({', '.join(req.categories)})" if req.categories else "")
    counts_fc, _ = hotspots(store, req, replace(opts, method="count"), role=role, actor=actor)
    layers = [mapsmod.MapLayer(name=f"Counts: {what}", kind="choropleth", data=counts_fc,
                               value_field="count")]
    params: dict[str, Any] = dict(counts_fc["parameters"])
    if not suppress:
        gi_fc, _ = hotspots(store, req, replace(opts, method="gistar"), role=role)
        layers.append(mapsmod.MapLayer(name="Getis-Ord Gi* hot and cold spots", kind="gi_bins",
                                       data=gi_fc, show=False,
                                       tooltip_fields=("count", "GiZScore", "GiPValueAdjusted",
                                                       "NNeighbors")))
        lisa_fc, _ = hotspots(store, req, replace(opts, method="lisa"), role=role)
        layers.append(mapsmod.MapLayer(name="Local Moran clusters (LISA)", kind="lisa",
                                       data=lisa_fc, show=False,
                                       tooltip_fields=("count", "Is", "p_adjusted")))
        kde_fc, surface = hotspots(store, req, replace(opts, method="kde"), role=role)
        if surface is not None:
            grid = mapsmod.DensityGrid.coerce(
                {"result": surface, "epsg": int(kde_fc["parameters"]["crs"].split(":")[1])})
            layers.append(mapsmod.MapLayer(name="Kernel density", kind="density", data=grid,
                                           show=False))
        params["gistar"] = {k: v for k, v in gi_fc["parameters"].items() if k.startswith("gi_")}
        params["lisa"] = {k: v for k, v in lisa_fc["parameters"].items()
                          if k.startswith("lisa_")}
        params["kde"] = {k: kde_fc["parameters"].get(k)
                         for k in ("bandwidth_m", "cell_size_m", "kernel", "crs")}
    monthly = _monthly(store, req, role, actor)
    if monthly is not None and len(monthly["parameters"]["months"]) > 1:
        layers.append(mapsmod.MapLayer(name="Monthly counts (time slider)", kind="monthly",
                                       data=monthly, show=False))
    n_units = len(counts_fc["features"])
    layers = [_thin(layer, n_units) for layer in layers]
    outline = _outline_for(store, req)
    if outline is not None:
        layers.append(outline)
    layers += context_layers(store, req, role, actor)
    return layers, params


def _outline_for(store: Store, req: CountsRequest) -> mapsmod.MapLayer | None:
    name, version = None, None
    if req.unit.kind == "boundary":
        name, version = req.unit.boundary_set, req.unit.version
    elif req.area.kind == "boundary":
        name, version = req.area.boundary_set, req.area.version
    if name is None:
        return None
    return mapsmod.MapLayer(name=f"Boundaries: {name}", kind="outline",
                            data=_boundary_outline(store, name, version))


def caveats_for(warnings: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(warnings))


def hotspot_map_html(store: Store, req: CountsRequest, opts: HotspotOptions, *, role: str,
                     options: MapOptions = MapOptions(), actor: str | None = None) -> str:
    layers, params = hotspot_layers(store, req, opts, role, actor)
    title = (f"remap: {req.layer}" + (f" ({', '.join(req.categories)})" if req.categories
                                      else "") + f" by {req.unit.describe()}")
    m = mapsmod.build_map(layers, title=title, caveats=[], parameters=params,
                          offline=options.offline, asset_base_url=options.asset_base_url)
    return mapsmod.render_html(m, offline=options.offline,
                               asset_base_url=options.asset_base_url)


# ------------------------------------------------------------------ tasking packs

def pack_page(*, title: str, subtitle: str, map_html: str, sections: Sequence[Section],
              caveats: Sequence[str], parameters: dict[str, Any]) -> str:
    """One self-contained page: the map (inline, offline) and the tables, A4 print CSS."""
    made = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return render("pack.html", title=title, subtitle=subtitle, made=made, map_html=map_html,
                  sections=sections, caveats=caveats, parameters=parameters)


def area_pack_html(store: Store, req: CountsRequest, opts: HotspotOptions, *,
                   role: str, actor: str | None = None) -> str:
    """A tasking pack for an area: map, top units, hot spots, caveats, parameters."""
    layers, params = hotspot_layers(store, req, opts, role, actor)
    what = f"{req.layer}" + (f" ({', '.join(req.categories)})" if req.categories else "")
    m = mapsmod.build_map(layers, title=f"{what} by {req.unit.describe()}", caveats=[],
                          parameters=params, offline=True)
    map_html = mapsmod.render_html(m, offline=True)
    counts_fc = layers[0].data
    feats = sorted(counts_fc["features"], key=lambda f: -_sort_value(f["properties"]["count"]))
    top = [(f["properties"]["unit_id"], f["properties"].get("label") or "",
            f["properties"]["count"]) for f in feats[:15]]
    sections = [Section("Highest counts", Table(["unit", "name", "events"], top))]
    gi = next((la.data for la in layers if la.kind == "gi_bins"), None)
    if gi is not None:
        hot = sorted((f["properties"] for f in gi["features"] if f["properties"]["Gi_Bin"] > 0),
                     key=lambda p: (-p["Gi_Bin"], -(p["GiZScore"] or 0)))[:15]
        rows = [(p["unit_id"], p.get("label") or "", p["count"], p["GiZScore"],
                 p["GiPValueAdjusted"], p["Gi_Bin"]) for p in hot]
        sections.append(Section(
            "Hot spots (Getis-Ord Gi*, two-sided, Benjamini-Hochberg FDR)",
            Table(["unit", "name", "events", "z", "adjusted p", "Gi_Bin"], rows) if rows
            else None,
            text=None if rows else "No unit is a significant hot spot after correction."))
    caveats = caveats_for(counts_fc.get("warnings", []) + [mapsmod.BASE_CAVEAT])
    window = req.window.as_dict()
    subtitle = (f"{req.area.describe()} · window {window['start'] or 'start'} to "
                f"{window['end_exclusive'] or 'now'} (end exclusive)")
    return pack_page(title=f"Tasking pack: {what}", subtitle=subtitle, map_html=map_html,
                     sections=sections, caveats=caveats, parameters=params)


def _sort_value(v: Any) -> float:
    return float(v) if isinstance(v, int | float) else 2.5  # "<5" sorts among small counts


def parse_map_request(layer: str, categories: Sequence[str], start: str | None,
                      end: str | None, unit: str, area: str | None) -> CountsRequest:
    if not layer:
        raise ParameterError("layer", "a layer is needed")
    return CountsRequest.parse(layer=layer, categories=tuple(categories), start=start, end=end,
                               unit=unit, area=area)


__all__ = ["AreaSpec", "MapOptions", "area_pack_html", "hotspot_map_html", "pack_page",
           "parse_map_request"]


# ------------------------------------------------------------------ operations

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
            counts = {area: dict(zip(w.keys(), suppress_counts(np.array(list(w.values()))),
                                     strict=True))
                      for area, w in la["counts"].items()}
            layers.append({"key": la["key"], "layer": la["layer"], "role": la["role"],
                           "counts": counts,
                           "verdict": {"code": la["verdict"]["code"],
                                       "sentence": "Measures of health data are shown to "
                                                   "analysts only; counts of 1-4 are "
                                                   "shown as <5.", "caveats": []},
                           "measures": None})
        else:
            layers.append(la)
    out["layers"] = layers
    watch = report.get("overdose_watch") or {}
    if watch.get("available"):
        out["overdose_watch"] = {
            "available": True, "layer": watch["layer"],
            "counts": {area: dict(zip(w.keys(), suppress_counts(np.array(list(w.values()))),
                                      strict=True))
                       for area, w in watch["counts"].items()},
            "rise": watch.get("rise"), "flags": watch.get("flags", [])}
    return out


def _report_for(store: Store, op_id: int, role: str, actor: str) -> dict[str, Any]:
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


def _operation_windows(report: dict[str, Any]) -> dict[str, tuple[str, str]]:
    w = report["definition"]["windows"]
    return {k: (w[k]["start"], w[k]["end"]) for k in ("before", "during", "after") if w.get(k)}


def operation_layers(store: Store, report: dict[str, Any], role: str, actor: str | None = None
                     ) -> list[mapsmod.MapLayer]:
    """Areas, before/after counts, the density difference and context layers."""
    import shapely
    from shapely.geometry import shape

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
    areas_fc = feature_collection(geometry_features([g for g, _ in parts],
                                                    [p for _, p in parts]))
    layers = [mapsmod.MapLayer(name="Operation: target, buffer, control", kind="areas",
                               data=areas_fc)]
    outer = shapely.union_all([g for g, p in parts if p["role"] in ("target", "buffer")])
    minx, miny, maxx, maxy = outer.bounds
    bbox = f"bbox:{minx:.6f},{miny:.6f},{maxx:.6f},{maxy:.6f}"
    # the first outcome layer the role may see in full; protected layers are not drawn
    # at h3:9 for controlled roles (the gate would refuse them)
    visible = [la for la in report["layers"]
               if not needs_small_number_suppression(role, [la["layer"]])]
    main_layer = next((la for la in visible if la["role"] == "outcome"),
                      visible[0] if visible else None)
    windows = _operation_windows(report)
    if main_layer is not None:
        cats = [c for c in str(main_layer["category"]).split("+") if c and c != "*"]
        for when in ("before", "after"):
            start, end = windows[when]
            req = CountsRequest.parse(layer=main_layer["layer"], categories=cats, start=start,
                                      end=end, unit="h3:9", area=bbox)
            fc, _ = hotspots(store, req, HotspotOptions(method="count"), role=role,
                             actor=actor)
            layers.append(mapsmod.MapLayer(
                name=f"{main_layer['key']} {when} ({start} to {end})", kind="choropleth",
                data=fc, show=when == "after"))
        if not needs_small_number_suppression(role, [main_layer["layer"]]):
            grid = _difference_surface(store, main_layer["layer"], cats, windows, bbox, role)
            if grid is not None:
                layers.append(mapsmod.MapLayer(name=f"{main_layer['key']}: density change "
                                                    "(after minus before)",
                                               kind="density", data=grid, show=False))
        ctx_req = CountsRequest.parse(layer=main_layer["layer"], unit="h3:9", area=bbox,
                                      start=windows["before"][0], end=windows["after"][1])
        layers += context_layers(store, ctx_req, role, actor)
    return layers


def _difference_surface(store: Store, layer: str, cats: list[str],
                        windows: dict[str, tuple[str, str]], bbox: str,
                        role: str) -> mapsmod.DensityGrid | None:
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
    from spatial.place.crs import to_metric

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
    grid = mapsmod.DensityGrid.coerce({"result": diff, "epsg": epsg,
                                       "units": "events per km² per 30 days"})
    return grid


def operation_map_html(store: Store, op_id: int, *, role: str, actor: str,
                       options: MapOptions = MapOptions()) -> str:
    report = _report_for(store, op_id, role, actor)
    layers = operation_layers(store, report, role, actor)
    m = mapsmod.build_map(layers, title=f"remap: {report['operation']['name']}",
                          caveats=_operation_caveats(report),
                          parameters=_operation_parameters(report),
                          offline=options.offline, asset_base_url=options.asset_base_url)
    return mapsmod.render_html(m, offline=options.offline,
                               asset_base_url=options.asset_base_url)


def _operation_caveats(report: dict[str, Any]) -> list[str]:
    cav: list[str] = []
    for la in report["layers"]:
        cav += (la.get("verdict") or {}).get("caveats", [])
    cav += report.get("warnings", [])
    return caveats_for(cav)


def _operation_parameters(report: dict[str, Any]) -> dict[str, Any]:
    p = report["parameters"]
    return {k: p[k] for k in ("crs", "areas_km2", "buffer_edges_m", "definition", "windows",
                              "alpha") if k in p}


def operation_pack_html(store: Store, op_id: int, *, role: str, actor: str) -> str:
    """The operation's tasking pack: map, count tables, measures, verdicts, caveats."""
    report = _report_for(store, op_id, role, actor)
    layers = operation_layers(store, report, role, actor)
    m = mapsmod.build_map(layers, title=report["operation"]["name"], caveats=[],
                          parameters=_operation_parameters(report), offline=True)
    map_html = mapsmod.render_html(m, offline=True)
    sections = [Section("Verdicts", verdicts=[
        Verdict(la["key"], la["role"], la["verdict"]["code"], la["verdict"]["sentence"])
        for la in report["layers"]])]
    rows = []
    for la in report["layers"]:
        for area, w in la["counts"].items():
            rows.append((la["key"], area, w.get("before"), w.get("during"), w.get("after")))
    sections.append(Section("Counts", Table(["layer", "area", "before", "during", "after"],
                                            rows)))
    mrows = []
    for la in report["layers"]:
        ms = la.get("measures")
        if not ms:
            continue
        for name in ("local_effect", "displacement_effect", "wdd"):
            e = ms.get(name) or {}
            mrows.append((la["key"], name.replace("_", " "), e.get("estimate"), e.get("se"),
                          e.get("z"), e.get("p_value"),
                          None if e.get("ci_low") is None
                          else f"{e['ci_low']:.3g} to {e['ci_high']:.3g}",
                          e.get("reason") or ""))
        for name, label in (("success_measure", "SM"), ("buffer_displacement_measure", "BDM"),
                            ("wdq", "WDQ"), ("total_net_effect", "TNE")):
            e = ms.get(name) or {}
            mrows.append((la["key"], label, e.get("value"), None, None, None, None,
                          e.get("reason") or e.get("label") or ""))
    if mrows:
        sections.append(Section("Measures (Wheeler & Ratcliffe 2018; Bowers & Johnson 2003; "
                                "Guerette 2009)",
                                Table(["layer", "measure", "estimate", "SE", "z", "p",
                                       "95 % CI", "note"], mrows)))
    watch = report.get("overdose_watch") or {}
    if watch.get("available"):
        wrows = [(area, w.get("before"), w.get("during"), w.get("after"))
                 for area, w in watch["counts"].items()]
        flag = "RISE flagged" if watch.get("rise") else "no significant rise"
        sections.append(Section(f"Overdose watch ({flag})",
                                Table(["area", "before", "during", "after"], wrows)))
    sites = report.get("dealing_sites") or {}
    if sites.get("available"):
        srows = [(area, *v.values()) for area, v in sites["by_area"].items()]
        head = ["area", *next(iter(sites["by_area"].values())).keys()]
        sections.append(Section("Dealing-site re-map (partial intelligence)",
                                Table(head, srows), text=str(sites.get("sentence", ""))))
    windows = report["parameters"].get("windows", {})
    subtitle = " · ".join(f"{k} {v['start']} to {v['end']}" for k, v in windows.items())
    return pack_page(title=f"Operation pack: {report['operation']['name']}", subtitle=subtitle,
                     map_html=map_html, sections=sections,
                     caveats=_operation_caveats(report) + [mapsmod.BASE_CAVEAT],
                     parameters=_operation_parameters(report))
