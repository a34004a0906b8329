"""The hotspot map page: counts, Gi*, LISA, density and monthly layers of one request.

Serves ``GET /v1/maps/hotspots`` and ``remap map hotspots``; the area pack
(:mod:`service.render.area_pack`) draws the same layers. Large layers are
always aggregated to units, and maps of many units draw only the units that
carry information.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from service.app import disclosure
from service.app.analysis import CountsRequest, unit_counts
from service.app.hotspots import HotspotOptions, hotspots
from service.render.context_layers import boundary_outline, context_layers
from service.render.geojson import feature_collection, geometry_features
from service.render.map_base import MapOptions, build_map, render_html
from service.render.map_inputs import DensityGrid, MapLayer
from service.store import Store
from spatial.disclosure import needs_small_number_suppression
from spatial.errors import ParameterError

#: Above this many units a map draws only the units that carry information (non-zero
#: counts, significant Gi* bins, LISA clusters): a 17,000-cell map is 170 MB otherwise.
MAX_DRAWN_UNITS = 3_000

#: Per kind: which units carry information, and what the others are called.
_INFORMATIVE: dict[str, tuple[Callable[[dict[str, Any]], bool], str]] = {
    "choropleth": (lambda p: p.get("count") not in (0, None), "zero counts"),
    "gi_bins": (lambda p: p.get("Gi_Bin", 0) != 0, "not significant"),
    "lisa": (lambda p: p.get("cluster", "ns") != "ns", "not significant"),
    "monthly": (lambda p: any(v not in (0, None) for v in p.get("months", {}).values()),
                "no events in any month"),
}


def parse_map_request(layer: str, categories: Sequence[str], start: str | None,
                      end: str | None, unit: str, area: str | None) -> CountsRequest:
    """The counts request of a map, from its query parameters or CLI options."""
    if not layer:
        raise ParameterError("layer", "a layer is needed")
    return CountsRequest.parse(layer=layer, categories=tuple(categories), start=start, end=end,
                               unit=unit, area=area)


def describe(req: CountsRequest) -> str:
    """The layer and its categories, e.g. ``crime (Drugs, Robbery)``."""
    return f"{req.layer}" + (f" ({', '.join(req.categories)})" if req.categories else "")


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


def _only(fc: dict[str, Any], keep: Any, note: str) -> dict[str, Any]:
    """``fc`` with only the features ``keep(properties)`` accepts, and a warning saying so."""
    feats = [f for f in fc["features"] if keep(f["properties"])]
    dropped = len(fc["features"]) - len(feats)
    warnings = list(fc.get("warnings", []))
    if dropped:
        warnings.append(f"{dropped:,} of {len(fc['features']):,} units not drawn ({note}); "
                        "the API and --out GeoJSON have every unit")
    return {**fc, "features": feats, "warnings": warnings}


def _thin(layer: MapLayer, n_units: int) -> MapLayer:
    if n_units <= MAX_DRAWN_UNITS or layer.kind not in _INFORMATIVE:
        return layer
    keep, note = _INFORMATIVE[layer.kind]
    return replace(layer, data=_only(layer.data, keep, note))


def _statistics_layers(store: Store, req: CountsRequest, opts: HotspotOptions, role: str
                       ) -> tuple[list[MapLayer], dict[str, Any]]:
    """Gi*, LISA and kernel density layers, and their parameters."""
    gi_fc, _ = hotspots(store, req, replace(opts, method="gistar"), role=role)
    layers = [MapLayer(name="Getis-Ord Gi* hot and cold spots", kind="gi_bins", data=gi_fc,
                       show=False, tooltip_fields=("count", "GiZScore", "GiPValueAdjusted",
                                                   "NNeighbors"))]
    lisa_fc, _ = hotspots(store, req, replace(opts, method="lisa"), role=role)
    layers.append(MapLayer(name="Local Moran clusters (LISA)", kind="lisa", data=lisa_fc,
                           show=False, tooltip_fields=("count", "Is", "p_adjusted")))
    kde_fc, surface = hotspots(store, req, replace(opts, method="kde"), role=role)
    if surface is not None:
        grid = DensityGrid.coerce(
            {"result": surface, "epsg": int(kde_fc["parameters"]["crs"].split(":")[1])})
        layers.append(MapLayer(name="Kernel density", kind="density", data=grid, show=False))
    params = {
        "gistar": {k: v for k, v in gi_fc["parameters"].items() if k.startswith("gi_")},
        "lisa": {k: v for k, v in lisa_fc["parameters"].items() if k.startswith("lisa_")},
        "kde": {k: kde_fc["parameters"].get(k)
                for k in ("bandwidth_m", "cell_size_m", "kernel", "crs")},
    }
    return layers, params


def hotspot_layers(store: Store, req: CountsRequest, opts: HotspotOptions,
                   role: str, actor: str | None = None
                   ) -> tuple[list[MapLayer], dict[str, Any]]:
    """Counts, Gi*, LISA and density layers of one request, plus its parameters.

    Maps of more than :data:`MAX_DRAWN_UNITS` units draw only informative units.
    """
    suppress = needs_small_number_suppression(role, [req.layer])
    counts_fc, _ = hotspots(store, req, replace(opts, method="count"), role=role, actor=actor)
    layers = [MapLayer(name=f"Counts: {describe(req)}", kind="choropleth", data=counts_fc,
                       value_field="count")]
    params: dict[str, Any] = dict(counts_fc["parameters"])
    if not suppress:
        stats_layers, stats_params = _statistics_layers(store, req, opts, role)
        layers += stats_layers
        params.update(stats_params)
    monthly = _monthly(store, req, role, actor)
    if monthly is not None and len(monthly["parameters"]["months"]) > 1:
        layers.append(MapLayer(name="Monthly counts (time slider)", kind="monthly",
                               data=monthly, show=False))
    n_units = len(counts_fc["features"])
    layers = [_thin(layer, n_units) for layer in layers]
    outline = _outline_for(store, req)
    if outline is not None:
        layers.append(outline)
    layers += context_layers(store, req, role, actor)
    return layers, params


def _outline_for(store: Store, req: CountsRequest) -> MapLayer | None:
    name, version = None, None
    if req.unit.kind == "boundary":
        name, version = req.unit.boundary_set, req.unit.version
    elif req.area.kind == "boundary":
        name, version = req.area.boundary_set, req.area.version
    if name is None:
        return None
    return MapLayer(name=f"Boundaries: {name}", kind="outline",
                    data=boundary_outline(store, name, version))


def hotspot_map_html(store: Store, req: CountsRequest, opts: HotspotOptions, *, role: str,
                     options: MapOptions = MapOptions(), actor: str | None = None) -> str:
    """The hotspot map of one request as an HTML page."""
    layers, params = hotspot_layers(store, req, opts, role, actor)
    title = f"remap: {describe(req)} by {req.unit.describe()}"
    m = build_map(layers, title=title, caveats=[], parameters=params,
                  offline=options.offline, asset_base_url=options.asset_base_url,
                  route_prefix=options.route_prefix)
    return render_html(m, offline=options.offline, asset_base_url=options.asset_base_url)
