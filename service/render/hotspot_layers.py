"""Hot-spot statistics per unit: Getis-Ord Gi* bins (``gi_bins``) and Local Moran
clusters (``lisa``).

Gi* bins (property ``Gi_Bin``, -3..+3) are drawn in the ArcGIS Hot Spot
Analysis colours, from "Cold spot 99 % confidence" to "Hot spot 99 %
confidence"; LISA clusters (property ``cluster``: HH, HL, LH, LL, ns) in the
GeoDa colours: HH red, LL blue, HL pink, LH light blue, not significant grey.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import folium

from service.render.classify import as_float, value_kind
from service.render.colours import (
    BORDER,
    GI_BIN_COLOURS,
    GI_BIN_LABELS,
    LISA_COLOURS,
    LISA_LABELS,
    MISSING_COLOUR,
)
from service.render.features import MapContext, add_geojson, drawn_features
from service.render.legend import add_legend, join, note, swatch
from service.render.map_inputs import MapLayer
from service.render.tooltips import DEFAULT_STATS, slim_features


def _gi_bin(f: Mapping[str, Any], field_name: str) -> int | None:
    """The feature's Gi* bin clipped to -3..3, or None where it was not computed."""
    v = (f.get("properties") or {}).get(field_name)
    if value_kind(v) != "range":
        return None
    return max(-3, min(3, int(round(as_float(v)))))


def _gi_style(field_name: str) -> Any:
    def style(f: Mapping[str, Any]) -> dict[str, Any]:
        b = _gi_bin(f, field_name)
        if b is None:
            return {"fillColor": MISSING_COLOUR, "fillOpacity": 0.3, "color": BORDER,
                    "weight": 0.5, "dashArray": "2 3"}
        return {"fillColor": GI_BIN_COLOURS[b], "fillOpacity": 0.3 if b == 0 else 0.85,
                "color": BORDER, "weight": 0.5, "opacity": 0.9}
    return style


def _inference(layer: MapLayer, method: str) -> str:
    """": p-values ..., correction ..." from the layer's parameters, when it has them."""
    from service.app.hotspots import inference_summary

    params = layer.data.get("parameters") if isinstance(layer.data, Mapping) else None
    return f": {inference_summary(params, method)}" if isinstance(params, Mapping) else ""


def add_gi_bins(group: folium.FeatureGroup, layer: MapLayer, ctx: MapContext) -> None:
    """Units coloured by Gi* confidence bin."""
    feats = drawn_features(layer, ctx)
    vf = layer.value_field or "Gi_Bin"
    present = {_gi_bin(f, vf) for f in feats}

    def meaning(f: Mapping[str, Any]) -> list[tuple[str, str]]:
        b = _gi_bin(f, vf)
        return [("Meaning",
                 GI_BIN_LABELS[b] if b is not None else "not computed (no neighbours)")]

    slims = slim_features(feats, layer, DEFAULT_STATS["gi_bins"] + (vf,), meaning)
    add_geojson(group, layer, slims, _gi_style(vf))
    rows = [swatch(GI_BIN_COLOURS[b], GI_BIN_LABELS[b]) for b in range(3, -4, -1)]
    if None in present:
        rows.append(swatch(MISSING_COLOUR, "Not computed (no neighbours)"))
    rows.append(note("Getis-Ord Gi* (Gi_Bin), confidence after the stated multiple-testing "
                     "correction" + _inference(layer, "gistar")))
    add_legend(ctx, group, layer, join(rows))


def add_lisa(group: folium.FeatureGroup, layer: MapLayer, ctx: MapContext) -> None:
    """Units coloured by LISA cluster."""
    feats = drawn_features(layer, ctx)
    vf = layer.value_field or "cluster"

    def cluster_of(f: Mapping[str, Any]) -> str:
        v = (f.get("properties") or {}).get(vf)
        return v if isinstance(v, str) and v in LISA_COLOURS else "ns"

    slims = slim_features(feats, layer, DEFAULT_STATS["lisa"] + (vf,),
                          lambda f: [("Meaning", LISA_LABELS[cluster_of(f)])])

    def style(f: Mapping[str, Any]) -> dict[str, Any]:
        c = cluster_of(f)
        return {"fillColor": LISA_COLOURS[c], "fillOpacity": 0.3 if c == "ns" else 0.85,
                "color": BORDER, "weight": 0.5, "opacity": 0.9}

    add_geojson(group, layer, slims, style)
    rows = [swatch(LISA_COLOURS[c], LISA_LABELS[c]) for c in ("HH", "HL", "LH", "LL", "ns")]
    rows.append(note("Local Moran's I (LISA), significance after the stated correction"
                     + _inference(layer, "lisa")))
    add_legend(ctx, group, layer, join(rows))
