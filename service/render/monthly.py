"""Monthly counts per unit with a month slider (``monthly``).

The slider is a few lines of remap's own script on plain Leaflet, so it needs
no asset beyond Leaflet: folium's ``TimeSliderChoropleth`` needs d3 and
moment.js and restyles every ``<path>`` of the page (all other layers lose
their fill), and ``TimestampedGeoJson`` needs five more CDN libraries. The
classes are pooled over all months, so a colour means the same in each.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import folium
from folium.elements import MacroElement
from folium.template import Template

from service.render.classify import (
    Classification,
    LegendClass,
    classify_values,
    format_value,
    value_kind,
)
from service.render.features import MapContext, layer_features, note_bounds
from service.render.legend import add_legend, class_legend
from service.render.map_inputs import MapInputError, MapLayer
from service.render.safe_html import script_json
from service.render.tooltips import FIELD_LABELS, tooltip_halves, tooltip_rows, unit_of


class MonthSlider(MacroElement):
    """A monthly choropleth with a month slider, in plain Leaflet (no extra assets)."""

    _template = Template("""
{% macro script(this, kwargs) %}
(function () {
    var group = {{ this._parent.get_name() }};
    var map = {{ this.map_name }};
    var months = {{ this.months_json }};
    var classes = {{ this.classes_json }};
    var data = {{ this.data_json }};
    var title = {{ this.title_json }};
    var idx = months.length - 1;
    function esc(s) {
        return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    }
    function fmt(v) {
        if (v === null || v === undefined) return '–';
        if (typeof v === 'number') return v.toLocaleString('en-GB');
        return String(v);
    }
    function classOf(v) {
        if (v === null || v === undefined) return classes.missing;
        if (typeof v === 'string') return classes.suppressed;
        if (v === 0 && classes.zero) return classes.zero;
        for (var i = 0; i < classes.ranges.length; i++) {
            if (v <= classes.ranges[i].upper) return classes.ranges[i];
        }
        return classes.ranges.length ? classes.ranges[classes.ranges.length - 1] : classes.missing;
    }
    function style(f) {
        var c = classOf(f.properties.months[months[idx]]);
        return {fillColor: c.colour, fillOpacity: c.kind === 'zero' ? 0.55 : 0.8,
                color: '#737373', weight: 0.6, opacity: 0.9};
    }
    var layer = L.geoJson(data, {
        style: style,
        onEachFeature: function (f, l) {
            l.bindTooltip(function () {
                var v = f.properties.months[months[idx]];
                return f.properties._remap_head
                    + '<tr><th>Month</th><td>' + esc(months[idx]) + '</td></tr>'
                    + '<tr><th>Count</th><td>' + esc(fmt(v)) + '</td></tr>'
                    + '<tr><th>Class</th><td>' + esc(classOf(v).label) + '</td></tr>'
                    + f.properties._remap_tail;
            }, {sticky: true});
            l.on('mouseover', function (e) { e.target.setStyle({weight: 3, color: '#000000'}); });
            l.on('mouseout', function (e) { layer.resetStyle(e.target); });
        }
    });
    layer.addTo(group);
    var box = document.createElement('div');
    box.className = 'remap-box remap-slider';
    box.style.top = ({{ this.offset }} * 56 + 54) + 'px';
    box.innerHTML = '<label><span class="remap-slider-title"></span>: <output></output></label>'
        + '<input type="range" min="0" step="1">';
    box.querySelector('.remap-slider-title').textContent = title;
    var out = box.querySelector('output');
    var input = box.querySelector('input');
    input.max = String(months.length - 1);
    input.value = String(idx);
    input.setAttribute('aria-label', title + ': month');
    out.textContent = months[idx];
    input.addEventListener('input', function () {
        idx = parseInt(this.value, 10);
        out.textContent = months[idx];
        layer.setStyle(style);
    });
    document.body.appendChild(box);
    function sync() { box.style.display = map.hasLayer(group) ? '' : 'none'; }
    map.on('overlayadd overlayremove', sync);
    sync();
})();
{% endmacro %}
""")

    def __init__(self, *, map_name: str, title: str, months: list[str],
                 classes: dict[str, Any], data: dict[str, Any], offset: int) -> None:
        super().__init__()
        self._name = "RemapMonthSlider"
        self.map_name = map_name
        self.title_json = script_json(title)
        self.months_json = script_json(months)
        self.classes_json = script_json(classes)
        self.data_json = script_json(data)
        self.offset = int(offset)


def monthly_wide(layer: MapLayer, feats: list[dict[str, Any]], vf: str
                  ) -> list[dict[str, Any]]:
    """Features with a ``months`` mapping; long format (one feature per unit-month) folded."""
    props0 = [f.get("properties") or {} for f in feats]
    if all(isinstance(p.get(vf), Mapping) for p in props0):
        return feats
    if all("month" in p for p in props0):
        field_name = vf if vf != "months" else "count"
        by_unit: dict[Any, dict[str, Any]] = {}
        for f, p in zip(feats, props0, strict=True):
            key = unit_of(f)
            if key is None:
                raise MapInputError(layer.name, "long-format monthly features need unit_id")
            entry = by_unit.setdefault(key, {"type": "Feature", "id": f.get("id"),
                                             "geometry": f["geometry"],
                                             "properties": {**p, vf: {}}})
            entry["properties"][vf][str(p["month"])[:7]] = p.get(field_name)
        return list(by_unit.values())
    raise MapInputError(layer.name, f"monthly features need a {vf!r} mapping of month to "
                                    "count, or 'month' and 'count' properties")


def _class_specs(cl: Classification) -> dict[str, Any]:
    """The classes as the slider's script reads them."""
    def spec(c: LegendClass) -> dict[str, Any]:
        return {"kind": c.kind, "label": c.label, "colour": c.colour, "upper": c.upper}

    return {
        "zero": next((spec(c) for c in cl.classes if c.kind == "zero"), None),
        "suppressed": spec(cl.special("suppressed")),
        "missing": spec(cl.special("missing")),
        "ranges": [spec(c) for c in cl.classes if c.kind == "range"],
    }


def _slider_feature(f: dict[str, Any], layer: MapLayer, vf: str, index: int) -> dict[str, Any]:
    """The unit's monthly series and the two halves of its tooltip.

    The script inserts the month, count and class rows between the head
    (unit and name) and the tail (all months, months with data, extra fields).
    """
    p = f.get("properties") or {}
    series = {str(k): v for k, v in (p.get(vf) or {}).items()}
    nums = [float(v) for v in series.values() if value_kind(v) == "range"]
    suppressed = any(value_kind(v) == "suppressed" for v in series.values())
    total: Any = sum(nums) if nums else None
    if suppressed:
        total = f"{format_value(total) if total is not None else '0'} + suppressed months"
    extra = [("All months", total), ("Months with data", len(series))]
    head, tail = tooltip_halves(
        tooltip_rows(f, layer, (), ()),
        extra + [(FIELD_LABELS.get(n, n), p[n]) for n in layer.tooltip_fields if n in p],
        title=layer.name)
    return {"type": "Feature", "id": str(index), "geometry": f["geometry"],
            "properties": {"months": series, "_remap_head": str(head), "_remap_tail": str(tail)}}


def add_monthly(group: folium.FeatureGroup, layer: MapLayer, ctx: MapContext) -> None:
    """Units coloured by the month the slider shows (the last month at first)."""
    vf = layer.value_field or "months"
    feats = monthly_wide(layer, layer_features(layer), vf)
    note_bounds(feats, ctx, layer)
    months = sorted({str(m) for f in feats for m in ((f.get("properties") or {}).get(vf)
                                                     or {})})
    if not months:
        raise MapInputError(layer.name, "no monthly values")
    pooled = [v for f in feats for v in ((f.get("properties") or {}).get(vf) or {}).values()]
    cl = classify_values(pooled, k=layer.classes, scheme=layer.scheme)
    out = [_slider_feature(f, layer, vf, i) for i, f in enumerate(feats)]
    group.add_child(MonthSlider(map_name=ctx.map_name, title=layer.name, months=months,
                                classes=_class_specs(cl),
                                data={"type": "FeatureCollection", "features": out},
                                offset=ctx.sliders))
    ctx.sliders += 1
    add_legend(ctx, group, layer, class_legend(
        cl, f"Classes pooled over {len(months)} months ({months[0]} to {months[-1]}); "
            "use the slider to change month."))
