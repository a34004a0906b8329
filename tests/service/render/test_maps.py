"""Maps: layers, colours, tooltips, the points cap, caveats, and no CDN after localising.

The layers are those of tests/service/render/synthetic_layers.py (one small layer of
every kind around Leeds city centre); the browser test (tests/e2e/test_maps_browser.py)
draws the same ones.
"""

from __future__ import annotations

import json
import re

import folium
import numpy as np
import pytest

from service.render import assets, density_layer, map_base, map_inputs
from service.render.colours import (
    GI_BIN_COLOURS,
    GI_BIN_LABELS,
    LISA_COLOURS,
    SUPPRESSED_FILL,
    ZERO_COLOUR,
)
from service.render.map_inputs import MapLayer
from spatial.place.crs import BNG
from tests.service.render.synthetic_layers import (
    CAVEATS,
    _collection,
    _hex_features,
    _with,
    counts_collection,
    synthetic_layers,
)


@pytest.fixture(scope="module")
def full_map() -> folium.Map:
    return map_base.build_map(synthetic_layers(), title="Test map: Leeds <centre> & co",
                          caveats=CAVEATS, parameters={"analyst": "test", "seed": 7})


@pytest.fixture(scope="module")
def inline_html(full_map: folium.Map) -> str:
    return map_base.render_html(full_map, offline=True)


def _geojson_children(m: folium.Map, layer_name: str) -> list[folium.GeoJson]:
    for child in m._children.values():
        if isinstance(child, folium.FeatureGroup) and child.layer_name == layer_name:
            return [c for c in child._children.values() if isinstance(c, folium.GeoJson)]
    raise AssertionError(f"no feature group {layer_name!r}")


def test_empty_and_all_zero_layers_still_draw() -> None:
    empty = _collection([])
    zeros = _collection(_with(_hex_features(k=1), {"count": [0]}))
    m = map_base.build_map([MapLayer("empty", "choropleth", empty),
                        MapLayer("zeros", "choropleth", zeros)], title="t", caveats=[])
    page = map_base.render_html(m)
    assert assets.external_urls(page) == []
    (gj,) = _geojson_children(m, "zeros")
    assert {gj.style_function(f)["fillColor"] for f in gj.data["features"]} == {
        ZERO_COLOUR}


def test_every_layer_is_a_named_feature_group(full_map: folium.Map) -> None:
    groups = [c for c in full_map._children.values() if isinstance(c, folium.FeatureGroup)]
    assert [g.layer_name for g in groups] == [layer.name for layer in synthetic_layers()]
    assert any(isinstance(c, folium.LayerControl) for c in full_map._children.values())


def test_suppressed_counts_stay_text_in_data_and_tooltips(full_map: folium.Map) -> None:
    (gj,) = _geojson_children(full_map, "Counts (ambulance, H3 res 8)")
    feats = gj.data["features"]
    suppressed = [f for f in feats if f["properties"]["count"] == "<5"]
    assert len(suppressed) == 2
    for f in suppressed:
        assert isinstance(f["properties"]["count"], str)
        tip = f["properties"]["_remap_tooltip"]
        assert "<td>&lt;5</td>" in tip
        assert "suppressed, shown as “&lt;5”" in tip
    style = gj.style_function(suppressed[0])
    assert style["fillColor"] == SUPPRESSED_FILL
    zero = next(f for f in feats if f["properties"]["count"] == 0)
    assert gj.style_function(zero)["fillColor"] == ZERO_COLOUR


def test_legend_lists_classes(inline_html: str) -> None:
    assert "1–4: suppressed, shown as “&lt;5”" in inline_html
    assert "Classes: natural breaks (Jenks)" in inline_html


def test_gi_bins_use_arcgis_colours(full_map: folium.Map, inline_html: str) -> None:
    assert GI_BIN_COLOURS == {-3: "#4575b4", -2: "#91bfdb", -1: "#e0f3f8", 0: "#d9d9d9",
                                   1: "#fee090", 2: "#fc8d59", 3: "#d73027"}
    (gj,) = _geojson_children(full_map, "Gi* hot spots")
    for f in gj.data["features"]:
        b = f["properties"]["Gi_Bin"]
        assert gj.style_function(f)["fillColor"] == GI_BIN_COLOURS[b]
        assert GI_BIN_LABELS[b] in f["properties"]["_remap_tooltip"]
        assert "Gi* z-score" in f["properties"]["_remap_tooltip"]
    for label in ("Cold spot 99 % confidence", "Hot spot 99 % confidence", "Not significant"):
        assert label in inline_html


def test_lisa_colours(full_map: folium.Map) -> None:
    (gj,) = _geojson_children(full_map, "LISA clusters")
    colours = {f["properties"]["cluster"]: gj.style_function(f)["fillColor"]
               for f in gj.data["features"]}
    assert colours == {c: LISA_COLOURS[c] for c in ("HH", "HL", "LH", "LL", "ns")}
    assert LISA_COLOURS["HH"] != LISA_COLOURS["LL"]


def test_tooltips_escape_labels_and_drop_unlisted_properties() -> None:
    fc = counts_collection()
    fc["features"][0]["properties"]["label"] = "<script>alert(1)</script>"
    fc["features"][0]["properties"]["secret_source"] = "CHIS 42"
    m = map_base.build_map([MapLayer("c", "choropleth", fc)], title="t", caveats=[])
    (gj,) = _geojson_children(m, "c")
    f0 = gj.data["features"][0]
    assert "&lt;script&gt;" in f0["properties"]["_remap_tooltip"]
    assert "secret_source" not in f0["properties"]
    page = map_base.render_html(m)
    assert "<script>alert(1)" not in page and "CHIS 42" not in page


def test_points_cap() -> None:
    layer = synthetic_layers(points=map_inputs.MAX_POINTS + 1)[6]
    assert layer.kind == "points"
    with pytest.raises(ValueError, match="aggregate"):
        map_base.build_map([layer], title="t", caveats=[])
    ok = synthetic_layers(points=map_inputs.MAX_POINTS)[6]
    map_base.build_map([ok], title="t", caveats=[])


def test_bad_layers_are_refused() -> None:
    fc = counts_collection()
    with pytest.raises(ValueError, match="kind"):
        map_base.build_map([MapLayer("x", "heatmap", fc)], title="t", caveats=[])
    with pytest.raises(ValueError, match="unique"):
        map_base.build_map([MapLayer("x", "choropleth", fc), MapLayer("x", "outline", fc)],
                       title="t", caveats=[])
    with pytest.raises(ValueError, match="FeatureCollection"):
        map_base.build_map([MapLayer("x", "choropleth", {"features": []})], title="t", caveats=[])
    metres = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [430000, 433000]},
         "properties": {"count": 1}}]}
    with pytest.raises(ValueError, match="WGS84"):
        map_base.build_map([MapLayer("x", "points_aggregated", metres)], title="t", caveats=[])


def test_caveats_parameters_and_warnings_in_page(inline_html: str) -> None:
    text = re.sub(r"<[^>]+>", " ", assets.strip_vendored(inline_html))
    assert "What this map cannot show" in text
    assert "an empty area is not an area without drug activity" in text
    for c in CAVEATS:
        assert c in text
    # the counts layer's own warning and parameters are carried over
    assert "ambulance data to ~400 m" in text
    assert "small_number_suppression" in text
    assert "seed" in text
    assert "Test map: Leeds &lt;centre&gt; &amp; co" in inline_html


def test_density_image_is_reprojected_and_diverging() -> None:
    layers = {layer.name: layer for layer in synthetic_layers()}
    grid = map_inputs.DensityGrid.coerce(layers["Density change (after − before)"].data)
    rgba, bounds, scale = density_layer.density_rgba(grid)
    assert rgba.dtype == np.uint8 and rgba.shape[2] == 4
    (s, w), (n, e) = bounds
    assert 53.7 < s < n < 53.9 and -1.7 < w < e < -1.4
    assert scale == pytest.approx(float(np.abs(grid.values).max()))
    visible = rgba[..., 3] > 0
    # both reds (increase) and blues (decrease) are present
    red = visible & (rgba[..., 0] > rgba[..., 2] + 40)
    blue = visible & (rgba[..., 2] > rgba[..., 0] + 40)
    assert red.any() and blue.any()
    # the grid is rotated against Web Mercator, so some corner pixels are outside it
    assert rgba[0, 0, 3] == 0 or rgba[-1, -1, 3] == 0 or rgba[0, -1, 3] == 0


def test_density_from_result() -> None:
    from spatial.stats.density import kde

    rng = np.random.default_rng(1)
    x = rng.normal(430000, 300, 200)
    y = rng.normal(433000, 300, 200)
    res = kde(x, y, cell_size_m=50, bandwidth_m=200)
    grid = map_inputs.DensityGrid.from_result(res, BNG)
    assert not grid.diverging and grid.values.shape == res.density.shape
    assert grid.bounds[0] == res.x_edges[0] and grid.bounds[3] == res.y_edges[-1]
    rgba, _, _ = density_layer.density_rgba(grid)
    assert (rgba[..., 3] > 0).any()


def test_monthly_long_format_is_folded() -> None:
    hexes = _hex_features(k=1)
    long = []
    for f in hexes:
        for j, month in enumerate(["2024-01", "2024-02"]):
            long.append({**f, "properties": {**f["properties"], "month": month,
                                             "count": j * 3 if j else "<5"}})
    m = map_base.build_map([MapLayer("m", "monthly", _collection(long))], title="t", caveats=[])
    page = map_base.render_html(m)
    assert '"2024-01"' in page and '"2024-02"' in page


def test_no_cdn_url_after_inline_localise(inline_html: str) -> None:
    assert assets.cdn_urls(inline_html) == []
    # outside the embedded libraries there is no http(s) URL at all: no tiles offline
    assert assets.external_urls(inline_html) == []
    assert re.findall(r"https?://", assets.strip_vendored(inline_html)) == []
    assert "<script src=" not in inline_html and 'rel="stylesheet"' not in inline_html
    # CSS images are embedded; icon assets are left out when no icon is drawn
    assert "data:image/png;base64," in inline_html
    assert "Font Awesome" not in inline_html


def test_url_mode_links_the_vendored_files(full_map: folium.Map) -> None:
    page = map_base.render_html(full_map, offline=True, asset_base_url="/static/vendor")
    assert re.findall(r"https?://", page) == []
    srcs = re.findall(r'<script src="([^"]+)"', page)
    hrefs = re.findall(r'<link rel="stylesheet" href="([^"]+)"', page)
    assert srcs and hrefs
    for url in srcs + hrefs:
        assert url.startswith("/static/vendor/")
        assert (assets.vendor_dir() / url.removeprefix("/static/vendor/")).is_file()


def test_asset_base_url_in_build_map_rewrites_links() -> None:
    m = map_base.build_map([MapLayer("c", "choropleth", counts_collection())], title="t",
                       caveats=[], asset_base_url="/static/vendor")
    page = m.get_root().render()
    assert assets.cdn_urls(page) == []
    assert "/static/vendor/leaflet/1.9.3/leaflet.js" in page
    # folium's class-level defaults are untouched
    assert folium.Map().default_js[0][1].startswith("https://cdn.jsdelivr.net/")
    # and the same map can still be written as one self-contained file
    inline = map_base.render_html(m, offline=True)
    assert "<script src=" not in inline and "/static/vendor" not in inline


def test_online_map_has_tiles_and_refuses_offline_render() -> None:
    m = map_base.build_map([MapLayer("c", "choropleth", counts_collection())], title="t",
                       caveats=[], offline=False)
    page = map_base.render_html(m, offline=False)
    assert "tile.openstreetmap.org" in page
    with pytest.raises(ValueError, match="not offline"):
        map_base.render_html(m, offline=True)
    # assets can still be local while tiles come from the internet
    local = map_base.render_html(m, offline=False, asset_base_url="/static/vendor")
    assert assets.cdn_urls(local) == []
    assert {u.split("/")[2] for u in assets.external_urls(local)} <= {
        "tile.openstreetmap.org", "openstreetmap.org", "www.openstreetmap.org"}


def test_inline_page_is_json_safe(inline_html: str) -> None:
    # every embedded GeoJSON parses; "<" in data is escaped for the script context
    blocks = re.findall(r"_add\((\{.*?\})\);\n", inline_html)
    assert blocks
    for b in blocks:
        json.loads(b)


def test_folium_output_is_never_rendered_as_a_template() -> None:
    """branca wraps each element's output in a template; service.render.map_base makes it plain text."""
    from service.render.safe_html import RawHtml, script_json

    payload = "{{ 1337*7 }} {% for %} </script><img src=x onerror=alert(1)>"
    m = folium.Map(tiles=None)
    folium.GeoJson({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [0, 0]},
         "properties": {"label": payload}}]}, name=payload).add_to(m)
    m.get_root().html.add_child(RawHtml("<p>{{ 1337*7 }}</p>"))
    page = m.get_root().render()
    assert "9359" not in page and "<p>{{ 1337*7 }}</p>" in page
    assert "{{ 1337*7 }} {% for %} \\u003c/script\\u003e" in page
    assert script_json(["</script>", "&", "'", "\u2028\u2029"]) == (
        '["\\u003c/script\\u003e", "\\u0026", "\\u0027", "\\u2028\\u2029"]')


def test_layer_names_and_titles_are_escaped() -> None:
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [-1.5, 53.4]},
         "properties": {"unit_id": "a", "count": 3}}]}
    name = "<img src=x onerror=alert(1)> {{ 1337*7 }}"
    page = map_base.render_html(map_base.build_map([map_inputs.MapLayer(name=name, kind="choropleth",
                                                          data=fc)],
                                           title=name, caveats=[name], parameters={name: name}))
    body = assets.strip_vendored(page)
    assert "<img src=x" not in body and "9359" not in body
    assert "&lt;img src=x onerror=alert(1)&gt; {{ 1337*7 }}" in body
