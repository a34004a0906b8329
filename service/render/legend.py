"""The legend box: one section per layer, shown while the layer is on the map.

Each layer adds a section (swatches, a colour ramp, notes) made by the
``map_parts.html`` macros; :class:`LegendToggle` is the few lines of script
that hide a section while its layer is off, and the box when all are.
"""

from __future__ import annotations

from collections.abc import Iterable

import folium
from folium.elements import MacroElement
from folium.template import Template
from markupsafe import Markup

from service.render.classify import SCHEME_NAMES, Classification
from service.render.features import MapContext
from service.render.html import macros
from service.render.map_inputs import MapLayer
from service.render.safe_html import script_json


def add_legend(ctx: MapContext, group: folium.FeatureGroup, layer: MapLayer,
               body: Markup) -> None:
    """Add the layer's legend section (``body`` under the layer's name)."""
    section_id = f"{ctx.map_name}-legend-{len(ctx.legends)}"
    html = macros("map_parts.html").legend_section(section_id, layer.name, body)
    ctx.legends.append((group.get_name(), section_id, html))


def swatch(colour: str, label: str, *, line: str | None = None, dash: str | None = None,
           circle: bool = False) -> Markup:
    """One legend row: a coloured box (or circle, or outline) and its label, as inline SVG.

    SVG shapes print; CSS background swatches are left out of print by browsers.
    """
    fill = "none" if colour == "transparent" else colour
    stroke, width = (line, 2) if line else ("#969696", 1)
    return macros("map_parts.html").swatch(  # type: ignore[no-any-return]
        label, fill, stroke, width, dash, circle)


def note(text: str) -> Markup:
    """A small grey line of legend text."""
    return macros("map_parts.html").note(text)  # type: ignore[no-any-return]


def join(parts: Iterable[Markup]) -> Markup:
    """Pieces of legend HTML, one after another."""
    return Markup("").join(parts)


def ramp(stops: Iterable[tuple[float, str]], ticks: Iterable[str], *,
         gradient_id: str) -> Markup:
    """A colour ramp (offsets 0..1 and colours) drawn as an SVG gradient, ticks under it.

    ``gradient_id`` names the gradient in the page; ramps with the same stops may share it.
    """
    return macros("map_parts.html").ramp(  # type: ignore[no-any-return]
        gradient_id, [(f"{o:.3f}", c) for o, c in stops], list(ticks))


def class_legend(classification: Classification, extra: str = "", *,
                 circle: bool = False) -> Markup:
    """A swatch per class, the classification scheme, and an optional note."""
    scheme = SCHEME_NAMES.get(classification.scheme, classification.scheme)
    parts = [swatch(c.colour, c.label, circle=circle) for c in classification.classes]
    parts.append(note(f"Classes: {scheme}"))
    if extra:
        parts.append(note(extra))
    return join(parts)


class LegendToggle(MacroElement):
    """Shows a layer's legend section only while the layer is on the map."""

    _template = Template("""
{% macro script(this, kwargs) %}
(function () {
    var map = {{ this.map_name }};
    var pairs = [{% for var, lid in this.pairs %}[{{ var }}, {{ lid }}]{{ "," if not loop.last }}{% endfor %}];
    function sync() {
        var any = false;
        pairs.forEach(function (p) {
            var el = document.getElementById(p[1]);
            if (!el) return;
            var on = map.hasLayer(p[0]);
            el.style.display = on ? '' : 'none';
            any = any || on;
        });
        var box = document.getElementById({{ this.box_id }});
        if (box) box.style.display = any ? '' : 'none';
    }
    map.on('overlayadd overlayremove', sync);
    sync();
})();
{% endmacro %}
""")

    def __init__(self, ctx: MapContext) -> None:
        super().__init__()
        self._name = "RemapLegendToggle"
        self.map_name = ctx.map_name
        # group variables are folium's generated names; the ids go in as JSON
        self.pairs = [(var, script_json(lid)) for var, lid, _ in ctx.legends]
        self.box_id = script_json(f"{ctx.map_name}-legend")
