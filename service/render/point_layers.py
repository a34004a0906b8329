"""Individual events as small circle markers (``points``), at most
:data:`service.render.map_inputs.MAX_POINTS`.

Raw points in bulk are never drawn: larger layers must be aggregated
(``points_aggregated``). The caller must already have checked that the role
may see points (:func:`spatial.disclosure.may_see_points`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import folium

from service.render.colours import CATEGORICAL, POINT_COLOUR
from service.render.features import MapContext, add_geojson, layer_features, note_bounds
from service.render.legend import add_legend, join, note, swatch
from service.render.map_inputs import MAX_POINTS, MapInputError, MapLayer
from service.render.tooltips import DEFAULT_STATS, slim_features


def count_points(feats: Sequence[Mapping[str, Any]]) -> int:
    """Points in the features (a MultiPoint counts each of its points)."""
    n = 0
    for f in feats:
        g = f["geometry"]
        if g.get("type") == "MultiPoint":
            n += len(g.get("coordinates") or ())
        else:
            n += 1
    return n


def _checked_points(layer: MapLayer) -> tuple[list[dict[str, Any]], int]:
    """The layer's Point features and how many points they hold, or MapInputError."""
    feats = layer_features(layer)
    n = count_points(feats)
    if n > MAX_POINTS:
        raise MapInputError(layer.name, f"{n:,} points is more than the {MAX_POINTS:,} a map "
                                        "draws individually: aggregate them (e.g. counts per "
                                        "H3 cell) and use kind='points_aggregated'")
    bad = [f["geometry"].get("type") for f in feats
           if f["geometry"].get("type") not in ("Point", "MultiPoint")]
    if bad:
        raise MapInputError(layer.name, f"points layers take Point features, not {bad[0]}")
    return feats, n


def add_points(group: folium.FeatureGroup, layer: MapLayer, ctx: MapContext) -> None:
    """Events as circles, coloured by category when the layer names a category field."""
    feats, n = _checked_points(layer)
    note_bounds(feats, ctx, layer)
    vf = layer.value_field
    cats: list[str] = []
    if vf:
        for f in feats:
            c = str((f.get("properties") or {}).get(vf))
            if c not in cats:
                cats.append(c)
    colour_of = {c: CATEGORICAL[min(i, len(CATEGORICAL) - 1)] for i, c in enumerate(cats)}
    slims = slim_features(feats, layer, (*DEFAULT_STATS["points"], *((vf,) if vf else ())),
                          unit_name="Event")

    def style(f: Mapping[str, Any]) -> dict[str, Any]:
        colour = (colour_of.get(str((f.get("properties") or {}).get(vf)), POINT_COLOUR) if vf
                  else POINT_COLOUR)
        return {"fill": True, "fillColor": colour, "fillOpacity": 0.9, "color": "#ffffff",
                "weight": 1, "radius": 4}

    add_geojson(group, layer, slims, style, marker=folium.CircleMarker(radius=4))
    if vf and cats:
        shown = cats[:len(CATEGORICAL) - 1]
        rows = [swatch(colour_of[c], c, circle=True) for c in shown]
        if len(cats) > len(shown):
            rows.append(swatch(CATEGORICAL[-1], "other categories", circle=True))
    else:
        rows = [swatch(POINT_COLOUR, "One event", circle=True)]
    rows.append(note(f"{n:,} events at their recorded (possibly snapped) locations"))
    add_legend(ctx, group, layer, join(rows))
