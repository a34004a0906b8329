"""Street names on maps of street units: one permanent label per street.

A street is many segments; a label on each would repeat its name along it. The
segments of one name are merged, and the name is placed once, at a point on its
longest merged part. Labels are ranked by the street's length, so where they
would overlap the longer streets keep theirs
(:class:`service.render.map_base.LabelThinning`). Unnamed segments
(``"unnamed ..."``) get no label. Names are escaped by the template (autoescape).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import folium
import numpy as np
import shapely
import shapely.geometry

from service.render.features import LINE_TYPES
from service.render.html import macros
from service.render.map_inputs import MapLayer
from service.render.tooltips import label_of


def is_line_layer(feats: Sequence[Mapping[str, Any]]) -> bool:
    """Are these street segments (any line among them)?"""
    return any((f.get("geometry") or {}).get("type") in LINE_TYPES for f in feats)


def add_street_labels(group: folium.FeatureGroup, layer: MapLayer,
                      feats: Sequence[Mapping[str, Any]]) -> None:
    """One label per street name, at a point on the name's longest merged part."""
    by_name: dict[str, list[Any]] = {}
    for f in feats:
        name = label_of(f, layer)
        if not isinstance(name, str) or not name.strip() or name.startswith("unnamed "):
            continue
        by_name.setdefault(name, []).append(shapely.geometry.shape(f["geometry"]))
    for name, geoms in by_name.items():
        merged = shapely.line_merge(shapely.union_all(geoms)) if len(geoms) > 1 else geoms[0]
        parts = shapely.get_parts(merged)
        if len(parts) == 0:
            continue
        # degrees are enough to choose the longest part and to rank streets of one map
        lengths = shapely.length(parts)
        longest = parts[int(np.argmax(lengths))]
        pt = (shapely.line_interpolate_point(longest, 0.5, normalized=True)
              if longest.geom_type == "LineString" else longest.representative_point())
        folium.Marker(
            [pt.y, pt.x],
            icon=folium.DivIcon(html=str(macros("map_parts.html").unit_label(
                name, f"{float(lengths.sum()):.6g}")), icon_size=(0, 0), icon_anchor=(0, 0),
                class_name="remap-label-icon"),
            interactive=False,
        ).add_to(group)
