"""Counts per unit in classes (``choropleth``), and counts aggregated by the caller
(``points_aggregated``: H3 hexagons, or points drawn as proportional circles).

Colours: ColorBrewer OrRd for counts, Purples for aggregated points; the
classes are those of :func:`service.render.classify.classify_values`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

import folium

from service.render.classify import Classification, as_float, classify_values, value_kind
from service.render.colours import BORDER, PURPLES, SEQUENTIAL
from service.render.features import MapContext, add_geojson, drawn_features
from service.render.legend import add_legend, class_legend
from service.render.map_inputs import MapLayer
from service.render.street_labels import add_street_labels, is_line_layer
from service.render.tooltips import DEFAULT_STATS, slim_features

#: Circle radius (pixels) of a point whose value is not a number; numbers grow from
#: 3 px to 15 px with the square root of the value (circle area grows with the count).
_UNSIZED_RADIUS: Final = 4.0


def class_style(classification: Classification, field_name: str) -> Any:
    """Folium style function filling each unit with its class's colour."""
    def style(f: Mapping[str, Any]) -> dict[str, Any]:
        c = classification.classify((f.get("properties") or {}).get(field_name))
        return {"fillColor": c.colour, "fillOpacity": 0.8 if c.kind != "zero" else 0.55,
                "color": BORDER, "weight": 0.6, "opacity": 0.9}
    return style


def _circle_style(classification: Classification, field_name: str, top: float) -> Any:
    def style(f: Mapping[str, Any]) -> dict[str, Any]:
        v = (f.get("properties") or {}).get(field_name)
        c = classification.classify(v)
        size = _UNSIZED_RADIUS if value_kind(v) != "range" else 3 + 12 * math.sqrt(
            max(as_float(v), 0.0) / top)
        return {"fill": True, "fillColor": c.colour, "fillOpacity": 0.85,
                "color": "#252525", "weight": 0.8, "radius": size}
    return style


def add_choropleth(group: folium.FeatureGroup, layer: MapLayer, ctx: MapContext,
                   palette: Sequence[str] = SEQUENTIAL) -> None:
    """Units filled by class; all-point layers as circles sized by value."""
    feats = drawn_features(layer, ctx)
    vf = layer.value_field or "count"
    values = [(f.get("properties") or {}).get(vf) for f in feats]
    cl = classify_values(values, k=layer.classes, scheme=layer.scheme, palette=palette)

    def class_of(f: Mapping[str, Any]) -> list[tuple[str, str]]:
        return [("Class", cl.classify((f.get("properties") or {}).get(vf)).label)]

    slims = slim_features(feats, layer, (vf, *DEFAULT_STATS[layer.kind]), class_of)
    points = [f for f in slims if f["geometry"].get("type") in ("Point", "MultiPoint")]
    if points and len(points) == len(slims):
        top = max((as_float(v) for v in values if value_kind(v) == "range"), default=1.0) or 1.0
        add_geojson(group, layer, slims, _circle_style(cl, vf, top),
                    marker=folium.CircleMarker(radius=5))
        add_legend(ctx, group, layer, class_legend(cl, "Circle area grows with the count.",
                                                   circle=True))
    else:
        add_geojson(group, layer, slims, class_style(cl, vf))
        if is_line_layer(feats):  # street units: each street's name once
            add_street_labels(group, layer, feats)
        add_legend(ctx, group, layer, class_legend(cl))


def add_points_aggregated(group: folium.FeatureGroup, layer: MapLayer,
                          ctx: MapContext) -> None:
    """Counts aggregated by the caller, in Purples."""
    add_choropleth(group, layer, ctx, palette=PURPLES)
