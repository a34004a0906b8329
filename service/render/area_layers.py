"""Outlines and areas drawn over the data: unit outlines with labels (``outline``)
and an operation's areas (``areas``).

Outlines (beats, boundaries) carry permanent labels at representative
points; areas (property ``role``: target, buffer, ring, control,
displacement...) get distinct colours and dash patterns. Both take the
mouse only on their outline, so the units under them keep their tooltips.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import folium
import shapely.geometry

from service.render.colours import AREA_LABELS, AREA_STYLES
from service.render.features import STROKE_ONLY, MapContext, add_geojson, drawn_features
from service.render.html import macros
from service.render.legend import add_legend, join, swatch
from service.render.map_inputs import MapLayer
from service.render.tooltips import (
    DEFAULT_STATS,
    label_of,
    slim_features,
    unit_of,
)

#: Legend order of area roles.
_ROLE_ORDER: Final = ("target", "buffer", "ring", "control", "other")


def _add_labels(group: folium.FeatureGroup, layer: MapLayer,
                feats: list[dict[str, Any]]) -> None:
    """Each unit's name (or id) at a point inside it, not interactive. Its rank (the
    unit's area) decides which labels stay where they would overlap
    (:class:`service.render.map_base.LabelThinning`): the larger units keep theirs."""
    for f in feats:
        text = label_of(f, layer)
        if text is None:
            text = unit_of(f)
        if text is None:
            continue
        geom = shapely.geometry.shape(f["geometry"])
        if geom.is_empty:
            continue
        pt = geom.representative_point()
        # square degrees are enough to order the units of one map
        rank = f"{geom.area:.6g}"
        folium.Marker(
            [pt.y, pt.x],
            icon=folium.DivIcon(html=str(macros("map_parts.html").unit_label(str(text), rank)),
                                icon_size=(0, 0), icon_anchor=(0, 0), class_name="remap-label-icon"),
            interactive=False,
        ).add_to(group)


def add_outline(group: folium.FeatureGroup, layer: MapLayer, ctx: MapContext) -> None:
    """Unit outlines with permanent labels."""
    feats = drawn_features(layer, ctx)
    slims = slim_features(feats, layer, DEFAULT_STATS["outline"])
    add_geojson(group, layer, slims, lambda f: {"fill": False, "color": "#252525",
                                                "weight": 1.6, "opacity": 0.9,
                                                "className": STROKE_ONLY})
    _add_labels(group, layer, feats)
    add_legend(ctx, group, layer, swatch("transparent", "Unit boundary (labelled)",
                                         line="#252525"))


def area_role(value: Any) -> str:
    """The drawing role of an area named ``value`` (target, buffer, ring, control, other)."""
    text = str(value or "").lower()
    if "control" in text:
        return "control"
    if "ring" in text:
        return "ring"
    if any(w in text for w in ("buffer", "catchment", "displacement")):
        return "buffer"
    if any(w in text for w in ("target", "treated", "treatment")):
        return "target"
    return "other"


def _area_style(field_name: str) -> Any:
    def style(f: Mapping[str, Any]) -> dict[str, Any]:
        s = AREA_STYLES[area_role((f.get("properties") or {}).get(field_name))]
        out = {"color": s["color"], "weight": s["weight"], "fillColor": s["color"],
               "fillOpacity": s["fillOpacity"], "opacity": 1.0, "className": STROKE_ONLY}
        if s["dashArray"]:
            out["dashArray"] = s["dashArray"]
        return out
    return style


def add_areas(group: folium.FeatureGroup, layer: MapLayer, ctx: MapContext) -> None:
    """An operation's areas, styled by role."""
    feats = drawn_features(layer, ctx)
    vf = layer.value_field or "role"

    def role_of(f: Mapping[str, Any]) -> str:
        return area_role((f.get("properties") or {}).get(vf))

    roles = {role_of(f) for f in feats}
    slims = slim_features(feats, layer, (*DEFAULT_STATS["areas"], vf, "name"),
                          lambda f: [("Meaning", AREA_LABELS[role_of(f)])])
    add_geojson(group, layer, slims, _area_style(vf))
    add_legend(ctx, group, layer, join(
        swatch("transparent", AREA_LABELS[r], line=AREA_STYLES[r]["color"],
               dash=AREA_STYLES[r]["dashArray"])
        for r in _ROLE_ORDER if r in roles))
