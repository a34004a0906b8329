"""Emerging hot spot categories per unit (layer kind ``emerging``), and their map page.

Colours follow ArcGIS Pro's Emerging Hot Spot Analysis renderer in kind: reds
for the hot categories and blues for the cold ones, the most intense
(intensifying, persistent) darkest and the fading ones (diminishing,
historical) palest, no pattern a light grey. ArcGIS also hatches some
categories; here every category is a plain fill, so a printed legend matches the
map. The legend lists the categories present, in ArcGIS's order, and the
inference used; tooltips give the category, the Mann-Kendall trend and the
counts per step.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

import folium

from service.render.colours import BORDER, MISSING_COLOUR
from service.render.features import MapContext, add_geojson, drawn_features
from service.render.legend import add_legend, join, note, swatch
from service.render.map_inputs import MapLayer
from service.render.tooltips import slim_features
from spatial.stats.emerging import CATEGORIES, PATTERN_NAMES, SF_CATEGORIES, SF_NAMES

if TYPE_CHECKING:
    from service.render.map_base import MapOptions

#: Fill colours of the categories (hot reds, cold blues, no pattern grey).
EMERGING_COLOURS: Final[dict[str, str]] = {
    "new_hot": "#fcbba1", "consecutive_hot": "#fb6a4a", "intensifying_hot": "#67000d",
    "persistent_hot": "#cb181d", "diminishing_hot": "#f4a582", "sporadic_hot": "#fdd0a2",
    "oscillating_hot": "#d6604d", "historical_hot": "#fee0d2",
    "new_cold": "#c6dbef", "consecutive_cold": "#6baed6", "intensifying_cold": "#08306b",
    "persistent_cold": "#2171b5", "diminishing_cold": "#92c5de", "sporadic_cold": "#c7e9c0",
    "oscillating_cold": "#4393c3", "historical_cold": "#deebf7",
    "no_pattern": "#f0f0f0",
    # sfhotspot's classes
    "persistent_hotspot": "#cb181d", "emerging_hotspot": "#fb6a4a",
    "former_hotspot": "#fee0d2", "intermittent_hotspot": "#fdd0a2",
    "persistent_coldspot": "#2171b5", "emerging_coldspot": "#6baed6",
    "former_coldspot": "#deebf7", "intermittent_coldspot": "#c7e9c0",
    "mixed": "#bcbddc",
}
#: Tooltip fields, in order.
STATS: Final[tuple[str, ...]] = ("pattern", "count", "hot_steps", "cold_steps", "trend_z",
                                 "trend_p", "trend_tau")
FIELD_NAMES: Final[dict[str, str]] = {
    "pattern": "Pattern", "count": "Events (all steps)", "hot_steps": "Hot steps",
    "cold_steps": "Cold steps", "trend_z": "Trend z (Mann-Kendall)", "trend_p": "Trend p",
    "trend_tau": "Kendall's tau"}


def _category(f: Mapping[str, Any]) -> str | None:
    v = (f.get("properties") or {}).get("category")
    return v if isinstance(v, str) and v in EMERGING_COLOURS else None


def _style(f: Mapping[str, Any]) -> dict[str, Any]:
    c = _category(f)
    if c is None:
        return {"fillColor": MISSING_COLOUR, "fillOpacity": 0.3, "color": BORDER,
                "weight": 0.5, "dashArray": "2 3"}
    return {"fillColor": EMERGING_COLOURS[c], "fillOpacity": 0.35 if c == "no_pattern" else 0.85,
            "color": BORDER, "weight": 0.5, "opacity": 0.9}


def inference_note(p: Mapping[str, Any]) -> str:
    """One line on how bins and trends were tested, from a result's ``parameters``."""
    r = p.get("permutations") or 0
    how = {"randomization": f"total randomisation ({r:,} draws, seed {p.get('seed')})",
           "conditional": f"conditional permutation (up to {r:,} draws, seed {p.get('seed')})",
           }.get(str(p.get("inference")), "normal theory")
    return (f"{p.get('steps')} {p.get('step')} steps; space-time Gi* (neighbours and "
            f"{p.get('time_steps')} previous step(s)), two-sided p from {how}, "
            f"{p.get('correction')} at {p.get('alpha')}; trend: Mann-Kendall at "
            f"{p.get('trend_alpha')}; " + ("sfhotspot's hotspot_classify rules"
                                        if p.get("scheme") == "sfhotspot" else "ArcGIS's rules"))


def add_emerging(group: folium.FeatureGroup, layer: MapLayer, ctx: MapContext) -> None:
    """Units coloured by emerging hot spot category."""
    feats = drawn_features(layer, ctx)
    steps = (layer.data.get("parameters") or {}).get("step_labels") or []

    def extra(f: Mapping[str, Any]) -> list[tuple[str, Any]]:
        props = f.get("properties") or {}
        rows: list[tuple[str, Any]] = [(FIELD_NAMES[k], props[k]) for k in STATS if k in props]
        counts = props.get("counts")
        if isinstance(counts, list) and len(counts) == len(steps) and steps:
            rows.append(("Counts per step", ", ".join(f"{s} {c}" for s, c in
                                                      zip(steps, counts, strict=True))))
        return rows

    slims = slim_features(feats, layer, ("category",), extra)
    add_geojson(group, layer, slims, _style)
    present = {_category(f) for f in feats}
    params_ = layer.data.get("parameters") if isinstance(layer.data, Mapping) else None
    sf = isinstance(params_, Mapping) and params_.get("scheme") == "sfhotspot"
    order, names = (SF_CATEGORIES, SF_NAMES) if sf else (CATEGORIES, PATTERN_NAMES)
    rows = [swatch(EMERGING_COLOURS[c], names[c]) for c in order
            if c in present or c == "no_pattern"]
    if None in present:
        rows.append(swatch(MISSING_COLOUR, "Not computed"))
    params = layer.data.get("parameters") if isinstance(layer.data, Mapping) else None
    if isinstance(params, Mapping):
        rows.append(note(("sfhotspot's classes on " if sf else "Emerging Hot Spot Analysis: ")
                         + inference_note(params)))
    add_legend(ctx, group, layer, join(rows))


def emerging_map_html(fc: dict[str, Any], *, title: str,
                      options: MapOptions | None = None) -> str:
    """A map page of one emerging hot spot result (a FeatureCollection with parameters)."""
    # map_base registers add_emerging: imported here, not at the top, to avoid a cycle
    from service.render.map_base import MapOptions, build_map, render_html

    options = options or MapOptions()
    layer = MapLayer(name="Emerging hot spots", kind="emerging", data=fc)
    m = build_map([layer], title=title, caveats=[], parameters=None,
                  offline=options.offline, asset_base_url=options.asset_base_url,
                  route_prefix=options.route_prefix)
    return render_html(m, offline=options.offline, asset_base_url=options.asset_base_url)
