"""The steps every vector layer shares: checked features, bounds, slim copies, GeoJSON.

A layer's features are checked (a FeatureCollection in WGS84), their bounds
noted for the map's view, and only what the map needs is copied into the page
(data minimisation: properties a tooltip does not list never reach it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import folium
import numpy as np
import shapely.geometry
from markupsafe import Markup

from service.render.map_inputs import MapInputError, MapLayer

#: Class of paths that take the mouse only on their outline, so that the units
#: under an area or a beat outline keep their tooltips.
STROKE_ONLY: Final = "remap-stroke-only"


@dataclass
class MapContext:
    """What the layers contribute to the page besides themselves."""

    map_name: str
    #: (feature group variable, section id, section HTML) per legend section
    legends: list[tuple[str, str, Markup]] = field(default_factory=list)
    bounds: list[tuple[float, float, float, float]] = field(default_factory=list)
    caveats: list[str] = field(default_factory=list)
    layer_parameters: dict[str, Any] = field(default_factory=dict)
    sliders: int = 0


def layer_features(layer: MapLayer) -> list[dict[str, Any]]:
    """The layer's features, each with a geometry, or :class:`MapInputError`."""
    data = layer.data
    if not isinstance(data, Mapping) or data.get("type") != "FeatureCollection":
        raise MapInputError(layer.name, "data must be a GeoJSON FeatureCollection (a dict)")
    feats = data.get("features")
    if not isinstance(feats, list):
        raise MapInputError(layer.name, "the FeatureCollection has no 'features' list")
    for i, f in enumerate(feats):
        if not isinstance(f, Mapping) or not isinstance(f.get("geometry"), Mapping):
            raise MapInputError(layer.name, f"feature {i + 1} has no geometry")
    return feats


def drawn_features(layer: MapLayer, ctx: MapContext) -> list[dict[str, Any]]:
    """The layer's features (:func:`layer_features`), their bounds added to the map's view."""
    feats = layer_features(layer)
    note_bounds(feats, ctx, layer)
    return feats


def note_bounds(feats: Sequence[Mapping[str, Any]], ctx: MapContext, layer: MapLayer) -> None:
    """Add the features' bounds to the map's view; refuse coordinates that are not WGS84."""
    if not feats:
        return
    try:
        shapes = [shapely.geometry.shape(f["geometry"]) for f in feats]
    except Exception as exc:  # shapely raises several types for bad GeoJSON
        raise MapInputError(layer.name, f"a geometry is not valid GeoJSON: {exc}") from exc
    b = np.array([s.bounds for s in shapes if not s.is_empty], dtype=np.float64)
    if b.size == 0:
        return
    w, s, e, n = b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()
    if not (-180 <= w <= 180 and -180 <= e <= 180 and -90 <= s <= 90 and -90 <= n <= 90):
        raise MapInputError(layer.name, "coordinates are not WGS84 longitude/latitude "
                                        "(reproject to EPSG:4326 first)")
    ctx.bounds.append((float(w), float(s), float(e), float(n)))


def kept_fields(layer: MapLayer, stats: Iterable[str]) -> set[str]:
    """Properties a slim feature keeps: unit, name, ``stats`` and the layer's tooltip fields."""
    return {"unit_id", layer.label_field or "label", *stats, *layer.tooltip_fields}


def slim(f: Mapping[str, Any], keep: Iterable[str], tip: str, index: int) -> dict[str, Any]:
    """A copy of the feature with only what the map needs (data minimisation)."""
    props = f.get("properties") or {}
    out = {k: props[k] for k in keep if k in props}
    out["_remap_tooltip"] = str(tip)
    fid = f.get("id")
    return {"type": "Feature", "id": f"{index}" if fid is None else str(fid),
            "geometry": f["geometry"], "properties": out}


#: Geometry types drawn as lines (street units): coloured by their class, thick.
LINE_TYPES: Final = frozenset({"LineString", "MultiLineString"})
#: Stroke width (pixels) of a street segment, and when hovered.
LINE_WEIGHT: Final = 5
LINE_HOVER_WEIGHT: Final = 8


def line_style(style: Any) -> Any:
    """``style`` for lines: a line has no fill, so its class colour becomes its stroke."""
    def styled(f: Mapping[str, Any]) -> dict[str, Any]:
        out = dict(style(f))
        if (f.get("geometry") or {}).get("type") in LINE_TYPES:
            out.update(color=out.get("fillColor", out.get("color")), weight=LINE_WEIGHT,
                       opacity=max(float(out.get("fillOpacity", 0.85)), 0.6))
        return out
    return styled


def add_geojson(group: folium.FeatureGroup, layer: MapLayer, feats: list[dict[str, Any]],
                style: Any, *, marker: Any = None) -> None:
    """Draw slim features in the layer's group, with their tooltips and a hover outline.

    Street units: lines take their class colour as their stroke (:func:`line_style`);
    points among them (a police.uk street unit of one snap point) are small circles."""
    if not feats:  # an empty layer stays in the layer control, with nothing in it
        return
    types = {(f.get("geometry") or {}).get("type") for f in feats}
    if types & LINE_TYPES:
        style = line_style(style)
        if marker is None and types & {"Point", "MultiPoint"}:
            marker = folium.CircleMarker(radius=5)
    ids = [f["id"] for f in feats]
    if len(set(ids)) != len(ids):  # folium needs unique ids to style features
        for i, f in enumerate(feats):
            f["id"] = str(i)
    folium.GeoJson(
        {"type": "FeatureCollection", "features": feats},
        name=layer.name, style_function=style,
        highlight_function=(lambda f: {"weight": LINE_HOVER_WEIGHT, "color": "#000000"})
        if types & LINE_TYPES else (lambda f: {"weight": 3, "color": "#000000"}),
        tooltip=folium.GeoJsonTooltip(fields=["_remap_tooltip"], labels=False, sticky=True),
        marker=marker, control=False, smooth_factor=0.5,
    ).add_to(group)
