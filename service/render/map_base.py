"""Results as interactive Folium maps that work offline.

The functions here are pure: they take GeoJSON FeatureCollections (dicts,
WGS84, as :mod:`service.app.analysis` returns them) and density grids, and give
a :class:`folium.Map` or an HTML string. The API and the CLI share them
(through the pages: :mod:`service.render.hotspot_page` and the others).

What a map shows
----------------
Each :class:`~service.render.map_inputs.MapLayer` becomes one
:class:`folium.FeatureGroup`, named in the layer control (always present).
Kinds, and the module that draws each:

``choropleth`` (:mod:`service.render.choropleth`)
    Counts per unit (H3 cell, beat, grid square) in classes: zero is its own
    class (empty units are data, not gaps), ``"<5"`` (small-number
    suppression, :mod:`spatial.disclosure`) is a hatched grey
    "suppressed" class shown as text, never as a number, and the other
    values fall in up to 5 classes by natural breaks (Fisher-Jenks, exact) or
    quantiles (:mod:`service.render.classify`). Colours: ColorBrewer OrRd.
``gi_bins`` (:mod:`service.render.hotspot_layers`)
    Getis-Ord Gi* confidence bins (property ``Gi_Bin``, -3..+3) in the ArcGIS
    Hot Spot Analysis colours, from "Cold spot 99 % confidence" to "Hot spot
    99 % confidence".
``lisa`` (:mod:`service.render.hotspot_layers`)
    Local Moran clusters (property ``cluster``: HH, HL, LH, LL, ns) in the
    GeoDa colours: HH red, LL blue, HL pink, LH light blue, not significant
    grey.
``outline`` (:mod:`service.render.area_layers`)
    Unit outlines (beats) with permanent labels at representative points.
``areas`` (:mod:`service.render.area_layers`)
    An operation's areas (property ``role``: target, buffer, ring, control,
    displacement...) with distinct colours and dash patterns.
``points_aggregated`` (:mod:`service.render.choropleth`)
    Counts already aggregated by the caller (H3 hexagons, or points with a
    count drawn as proportional circles). Raw points in bulk are never drawn.
``points`` (:mod:`service.render.point_layers`)
    Individual events as small circle markers, at most
    :data:`~service.render.map_inputs.MAX_POINTS`; the caller must already
    have checked that the role may see them
    (:func:`spatial.disclosure.may_see_points`).
``density`` (:mod:`service.render.density_layer`)
    A kernel density grid (:class:`~service.render.map_inputs.DensityGrid`)
    reprojected to Web Mercator and drawn as a PNG image overlay; difference
    surfaces use a diverging colour map centred on zero.
``monthly`` (:mod:`service.render.monthly`)
    Monthly counts per unit with a month slider. The slider is a few lines of
    remap's own script on plain Leaflet, so it needs no asset beyond
    Leaflet: folium's ``TimeSliderChoropleth`` needs d3 and moment.js and
    restyles every ``<path>`` of the page (all other layers lose their
    fill), and ``TimestampedGeoJson`` needs five more CDN libraries.

Every unit's tooltip lists the unit, its counts and statistics. A caveat box
says what the data cannot show; a parameters box lists the parameters used;
a legend box has one section per layer, shown while the layer is on
(:mod:`service.render.info_box`, :mod:`service.render.legend`).

Offline
-------
With ``offline=True`` (the default) the map has **no tile layer**: units are
drawn on a plain background (outline layers give the context), and
:func:`render_html` embeds or links the vendored JS/CSS
(:mod:`service.render.assets`), so the page fetches nothing from the internet.
``offline=False`` adds an OpenStreetMap tile layer as the base layer.
``REMAP_BASEMAP`` (:mod:`service.render.basemap`) gives every map a base
layer from the force's own tile server or MBTiles file instead; its server is
then the one outside address a page may use.

HTML safety
-----------
No text is ever code. Every text from the data (unit labels, categories,
layer names, parameters, caveats) is HTML-escaped where it is placed: remap's
HTML is made by Jinja2 templates with autoescaping
(``templates/map_parts.html`` and ``templates/map_boxes.html``, through
:mod:`service.render.html`); data passed to scripts is JSON with ``<``, ``>``,
``&``, ``'`` and U+2028/U+2029 escaped
(:func:`service.render.safe_html.script_json`). remap's own HTML goes into the
page through :class:`service.render.safe_html.RawHtml`, never as a template,
and importing this module installs
:func:`service.render.safe_html.install`, without which folium renders every
element's output a second time as a Jinja template (``{{7*7}}`` in a label
would show 49).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import folium
import numpy as np
from folium.elements import MacroElement
from folium.template import Template
from markupsafe import escape

from service.render import assets
from service.render import safe_html as safe_render
from service.render.area_layers import add_areas, add_outline
from service.render.basemap import configured_basemap
from service.render.basemap_layer import add_basemap
from service.render.choropleth import add_choropleth, add_points_aggregated
from service.render.density_layer import DENSITY_PANE, add_density
from service.render.emerging_layer import add_emerging
from service.render.features import MapContext
from service.render.hotspot_layers import add_gi_bins, add_lisa
from service.render.info_box import BASE_CAVEAT, add_page_boxes
from service.render.legend import LegendToggle
from service.render.map_inputs import MapInputError, MapLayer
from service.render.monthly import add_monthly
from service.render.point_layers import add_points
from service.render.safe_html import script_json
from service.render.watch_layer import add_watch_areas

safe_render.install()

#: What draws each layer kind into its feature group.
_ADDERS: Final[dict[str, Callable[[folium.FeatureGroup, MapLayer, MapContext], None]]] = {
    "choropleth": add_choropleth, "gi_bins": add_gi_bins, "lisa": add_lisa,
    "outline": add_outline, "areas": add_areas,
    "points_aggregated": add_points_aggregated, "density": add_density,
    "points": add_points, "monthly": add_monthly,
    "emerging": add_emerging,
    "watch": add_watch_areas,
}
LAYER_KINDS: Final[tuple[str, ...]] = tuple(_ADDERS)

@dataclass(frozen=True)
class MapOptions:
    """How a map page is written: offline or with tiles, assets inline or linked."""

    offline: bool = True
    #: None: inline every asset (a self-contained file); else link them under this URL
    asset_base_url: str | None = None
    #: the root path of served routes (MBTiles basemap tiles), e.g. "/remap" behind a proxy
    route_prefix: str = ""


def _check_layers(layers: list[MapLayer]) -> None:
    names = [layer.name for layer in layers]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise MapInputError(dupes[0], "layer names must be unique in a map")
    for layer in layers:
        if layer.kind not in LAYER_KINDS:
            raise MapInputError(layer.name, f"kind {layer.kind!r} is not one of "
                                            f"{', '.join(LAYER_KINDS)}")


def _new_map(*, offline: bool, asset_base_url: str | None) -> folium.Map:
    """An empty map whose asset links are this map's own (local ones when asked)."""
    m = folium.Map(location=[54.0, -2.5], tiles=None, control_scale=True,  # Great Britain
                   prefer_canvas=False, zoom_start=6)
    # Instance copies: folium's class-level lists are shared by every map.
    m.default_js = list(m.default_js)
    m.default_css = [(n, u) for n, u in m.default_css
                     if assets.CDN_ASSETS.get(u, "") is not None]
    if asset_base_url:
        m.default_js = [(n, assets.local_url(u, asset_base_url) or u)
                        if u in assets.CDN_ASSETS else (n, u) for n, u in m.default_js]
        m.default_css = [(n, assets.local_url(u, asset_base_url) or u)
                         if u in assets.CDN_ASSETS else (n, u) for n, u in m.default_css]
    if not offline:
        folium.TileLayer("OpenStreetMap", name="OpenStreetMap", control=True).add_to(m)
    return m


def _add_layer(m: folium.Map, layer: MapLayer, ctx: MapContext) -> None:
    """The layer's feature group, drawn, and its parameters and warnings noted."""
    # Leaflet's layer control shows the name as HTML: escape it
    group = folium.FeatureGroup(name=str(escape(layer.name)), show=layer.show,
                                overlay=True, control=True)
    group.add_to(m)
    _ADDERS[layer.kind](group, layer, ctx)
    if isinstance(layer.data, Mapping):
        if layer.data.get("parameters"):
            ctx.layer_parameters[layer.name] = layer.data["parameters"]
        for w in layer.data.get("warnings") or ():
            ctx.caveats.append(f"{layer.name}: {w}")


class FitWhenSized(MacroElement):
    """Fits the map to bounds once it has a size: now, or when it first gets one.

    Leaflet's ``fitBounds`` on a map no larger than its padding (a hidden
    frame, a pack's frame not laid out yet) computes an infinite zoom, and
    the view becomes ``LatLng(NaN, NaN)``: the call, and every tooltip
    after it, throws. Until then the map keeps its initial view.
    """

    _template = Template("""
{% macro script(this, kwargs) %}
(function () {
    var map = {{ this.map_name }};
    var bounds = {{ this.bounds }}, pad = {{ this.padding }};
    function fits() { var s = map.getSize(); return s.x > 2 * pad && s.y > 2 * pad; }
    function fit() { map.fitBounds(bounds, {padding: [pad, pad]}); }
    if (fits()) { fit(); return; }
    var watch = new ResizeObserver(function () {
        map.invalidateSize();
        if (fits()) { watch.disconnect(); fit(); }
    });
    watch.observe(map.getContainer());
})();
{% endmacro %}
""")

    def __init__(self, map_name: str, bounds: list[list[float]], padding: int) -> None:
        super().__init__()
        self._name = "RemapFitWhenSized"
        self.map_name = map_name
        self.bounds = script_json(bounds)
        self.padding = int(padding)


class LabelThinning(MacroElement):
    """Hides unit labels that would overlap a label of a larger unit, at every zoom.

    A hundred neighbourhood names at city zoom print over each other. After each
    zoom, move, resize or layer change, labels are taken largest unit first
    (``data-rank``) and one is shown only if its box clears those already shown
    (a 3-pixel margin); zooming in brings the hidden ones back.
    """

    _template = Template("""
{% macro script(this, kwargs) %}
(function () {
    var map = {{ this.map_name }}, margin = 3;
    function thin() {
        var labels = Array.prototype.slice.call(
            map.getContainer().querySelectorAll('.remap-label'));
        labels.sort(function (a, b) { return (+b.dataset.rank || 0) - (+a.dataset.rank || 0); });
        var shown = [];
        labels.forEach(function (el) {
            el.style.visibility = 'visible';
            var r = el.getBoundingClientRect();
            var clash = shown.some(function (s) {
                return r.left < s.right + margin && r.right + margin > s.left &&
                       r.top < s.bottom + margin && r.bottom + margin > s.top;
            });
            if (clash) { el.style.visibility = 'hidden'; } else { shown.push(r); }
        });
    }
    map.on('zoomend moveend resize overlayadd', thin);
    map.whenReady(function () { setTimeout(thin, 0); });
})();
{% endmacro %}
""")

    def __init__(self, map_name: str) -> None:
        super().__init__()
        self._name = "RemapLabelThinning"
        self.map_name = map_name


class CollapseControlWhenSmall(MacroElement):
    """Folds the layer control to its icon on a map narrower than 600 px (a pack's
    frame, a phone), where the open list would cover the map; hovering opens it."""

    _template = Template("""
{% macro script(this, kwargs) %}
(function () {
    var map = {{ this.map_name }}, control = {{ this.control_name }};
    map.whenReady(function () {
        if (map.getSize().x >= {{ this.min_width }}) { return; }
        var box = control.getContainer();
        control.collapse();
        L.DomEvent.on(box, 'mouseenter', control.expand, control);
        L.DomEvent.on(box, 'mouseleave', control.collapse, control);
    });
})();
{% endmacro %}
""")

    def __init__(self, map_name: str, control_name: str, min_width: int = 600) -> None:
        super().__init__()
        self._name = "RemapCollapseControlWhenSmall"
        self.map_name = map_name
        self.control_name = control_name
        self.min_width = int(min_width)


def _fit_bounds(m: folium.Map, ctx: MapContext) -> None:
    """Open the map on everything its layers drew."""
    if ctx.bounds:
        b = np.array(ctx.bounds)
        w, s = float(b[:, 0].min()), float(b[:, 1].min())
        e, n = float(b[:, 2].max()), float(b[:, 3].max())
        FitWhenSized(m.get_name(), [[s, w], [n, e]], padding=20).add_to(m)


def build_map(layers: list[MapLayer], *, title: str, caveats: list[str],
              parameters: dict[str, Any] | None = None, offline: bool = True,
              asset_base_url: str | None = None, route_prefix: str = "") -> folium.Map:
    """A Folium map of analysis results, one layer-control entry per layer.

    Parameters
    ----------
    layers : list of MapLayer
        Drawn in order (later layers on top); names must be unique.
    title : str
        Shown at the top of the map and as the page title.
    caveats : list of str
        What the data cannot show (snapped locations, month precision,
        partial intelligence...). :data:`~service.render.info_box.BASE_CAVEAT`
        comes first, and each layer's ``warnings`` member is added after these.
    parameters : dict, optional
        Parameters of the analysis, listed in the parameters box; each
        layer's ``parameters`` member is listed under the layer's name.
    offline : bool
        True: no tile layer (a plain background). False: an OpenStreetMap
        tile layer as the base layer (the page then loads tiles from
        tile.openstreetmap.org).
    asset_base_url : str, optional
        Point the page's JS/CSS links at the vendored files under this URL
        (e.g. ``"/static/vendor"``) already in the map, so that ``m.save()``
        and ``m._repr_html_()`` do not use CDNs either.
    route_prefix : str
        The root path remap is served under (``"/remap"`` behind a proxy), put before
        the served basemap tile route.

    Returns
    -------
    folium.Map

    Raises
    ------
    MapInputError
        An unknown kind, a duplicate name, malformed data, or a ``points``
        layer over :data:`~service.render.map_inputs.MAX_POINTS`.
    """
    _check_layers(layers)
    m = _new_map(offline=offline, asset_base_url=asset_base_url)
    if any(layer.kind == "density" for layer in layers):
        folium.map.CustomPane(DENSITY_PANE, z_index=350, pointer_events=False).add_to(m)
    ctx = MapContext(map_name=m.get_name())
    for layer in layers:
        _add_layer(m, layer, ctx)
    basemap_used = add_basemap(m, configured_basemap(), ctx.bounds,
                               served=asset_base_url is not None, route_prefix=route_prefix)
    if basemap_used:
        parameters = {**(parameters or {}), **basemap_used}
    control = folium.LayerControl(collapsed=False, position="topright")
    control.add_to(m)
    CollapseControlWhenSmall(m.get_name(), control.get_name()).add_to(m)
    LegendToggle(ctx).add_to(m)
    if any(layer.kind == "outline" for layer in layers):
        LabelThinning(m.get_name()).add_to(m)
    _fit_bounds(m, ctx)
    m.get_root().title = str(escape(title))  # type: ignore[attr-defined]
    add_page_boxes(m, title, [BASE_CAVEAT, *caveats, *ctx.caveats], parameters, ctx)
    return m


def render_html(m: folium.Map, *, offline: bool = True, asset_base_url: str | None = None,
                static_dir: str | None = None) -> str:
    """The map as one HTML page.

    Parameters
    ----------
    m : folium.Map
    offline : bool
        True: the page must load nothing from the internet. Without
        ``asset_base_url`` the vendored JS/CSS is embedded (a self-contained
        file, about 0.5 MB plus the data); with it, linked under that URL.
        False: CDN links are kept unless ``asset_base_url`` is given.
    asset_base_url : str, optional
        E.g. ``"/static/vendor"`` for the service.
    static_dir : str, optional
        The static folder (default: ``service/render/static``).

    Returns
    -------
    str

    Raises
    ------
    ValueError
        ``offline=True`` for a map with a tile layer (built with
        ``offline=False``), or a page that still links the internet.
    """
    page = m.get_root().render()
    if asset_base_url:
        page = assets.localise(page, "url", base_url=asset_base_url, static_dir=static_dir)
    elif offline:
        page = assets.localise(page, "inline", static_dir=static_dir)
    if offline:
        basemap = configured_basemap()
        # the force's own tile server is the one outside address a page may use
        left = [u for u in assets.external_urls(page)
                if not (basemap and basemap.origin and u.startswith(basemap.origin + "/"))]
        if left:
            raise ValueError("the page is not offline: it refers to "
                             + ", ".join(sorted(set(left))[:5])
                             + " (build the map with offline=True)")
    return page
