"""Layers drawn beside a map's main one: dealing sites and ambulance call-outs.

What a role may see is decided here, where data leaves remap: dealing sites
as points only for roles with point access and only up to the map's cap;
everything else aggregated to H3 cells, health data small-number suppressed
for partners. A context layer the role may not have at this window or unit
is left out (the gate in :func:`service.app.analysis.unit_counts` decides),
never weakened.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from service.app import disclosure
from service.app.analysis import CountsRequest, UnitSpec, boundary_frame, unit_counts
from service.render.geojson import events_features, feature_collection, geometry_features
from service.render.map_inputs import MAX_POINTS, MapLayer
from service.store import EventFilter, Store
from spatial.disclosure import may_see_points, needs_small_number_suppression
from spatial.errors import ParameterError, PermissionDeniedError
from spatial.events import layer_spec

#: Layers drawn beside the main one when the store holds them.
CONTEXT_LAYERS = ("dealing_site", "ambulance")


def boundary_outline(store: Store, name: str, version: int | None) -> dict[str, Any]:
    """A stored boundary set as a FeatureCollection of labelled units."""
    gdf = boundary_frame(store, name, version)
    props = [{"unit_id": u, "label": lab} for u, lab in zip(gdf["unit_id"], gdf["label"],
                                                           strict=True)]
    return feature_collection(geometry_features(gdf.geometry.to_numpy(), props,
                                                ids=list(gdf["unit_id"])))


def _context_resolution(role: str, layer: str) -> int:
    """H3 resolution of an aggregated context layer: 8, or coarser where the policy says."""
    if not needs_small_number_suppression(role, [layer]):
        return 8
    policy = disclosure.current_policy()
    fixed = (policy.h3_resolution if layer_spec(layer).sensitivity == "health"
             else policy.restricted_h3_resolution)
    return 8 if fixed is None else fixed  # None: the gate refuses the layer


def _dealing_site_points(store: Store, req: CountsRequest) -> MapLayer | None:
    """Dealing sites as points, when there are some and no more than a map draws."""
    pts = store.query_events(EventFilter(layers=("dealing_site",), start=req.window.start,
                                         end=req.window.end), limit=MAX_POINTS + 1)
    if not 0 < len(pts) <= MAX_POINTS:
        return None
    return MapLayer(name="Dealing sites (intelligence: restricted)", kind="points",
                    data=feature_collection(events_features(pts)), value_field="category",
                    show=False)


def _aggregated(store: Store, req: CountsRequest, layer: str, role: str,
                actor: str | None) -> MapLayer | None:
    """The layer's non-zero H3 cells as the role may see them, or None if it may not."""
    agg = replace(req, layer=layer, categories=(), unit=UnitSpec.parse(
        f"h3:{_context_resolution(role, layer)}"))
    try:
        uc = unit_counts(store, agg, role=role, actor=actor)
    except (ParameterError, PermissionDeniedError):
        return None
    suppress = needs_small_number_suppression(role, [layer])
    values = disclosure.shown_counts(role, layer, uc.counts)
    keep = [i for i, c in enumerate(uc.counts) if c > 0]
    if not keep:
        return None
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
    return MapLayer(name=title, kind="points_aggregated", data=fc, show=False)


def context_layers(store: Store, req: CountsRequest, role: str,
                   actor: str | None = None) -> list[MapLayer]:
    """Dealing sites and ambulance call-outs near the map, as the role allows."""
    out: list[MapLayer] = []
    present = store.layer_names()
    for layer in CONTEXT_LAYERS:
        if layer not in present or layer == req.layer:
            continue
        if may_see_points(role, layer) and layer == "dealing_site":
            points = _dealing_site_points(store, req)
            if points is not None:
                out.append(points)
                continue
        # everything else is aggregated to H3 cells; health data suppressed for partners
        aggregated = _aggregated(store, req, layer, role, actor)
        if aggregated is not None:
            out.append(aggregated)
    return out
