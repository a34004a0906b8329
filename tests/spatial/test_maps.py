"""Maps: classes, colours, tooltips, the points cap, and no CDN after localising.

:func:`synthetic_layers` builds one small layer of every kind around Leeds
city centre; the browser test (tests/e2e/test_maps_browser.py) reuses it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import folium
import h3
import numpy as np
import pytest
import shapely
import shapely.geometry

from service.render import assets, maps
from service.render.maps import MapLayer
from spatial.place.crs import BNG, to_metric, to_wgs84

CENTRE = (53.7997, -1.5492)  # lat, lon: Leeds city centre


# ---------------------------------------------------------------------------
# Synthetic fixtures
# ---------------------------------------------------------------------------


def _hex_features(res: int = 8, k: int = 2) -> list[dict[str, Any]]:
    centre = h3.latlng_to_cell(CENTRE[0], CENTRE[1], res)
    cells = sorted(h3.grid_disk(centre, k))
    feats = []
    for cell in cells:
        ring = [[lng, lat] for lat, lng in h3.cell_to_boundary(cell)]
        ring.append(ring[0])
        feats.append({"type": "Feature", "id": cell,
                      "geometry": {"type": "Polygon", "coordinates": [ring]},
                      "properties": {"unit_id": cell, "label": None}})
    return feats


def _collection(features: list[dict[str, Any]], **members: Any) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": features, **members}


def _with(features: list[dict[str, Any]], values: dict[str, list[Any]]) -> list[dict[str, Any]]:
    out = []
    for i, f in enumerate(features):
        props = dict(f["properties"])
        props.update({k: v[i % len(v)] for k, v in values.items()})
        out.append({**f, "properties": props})
    return out


def _bng_polygon_to_geojson(poly: Any) -> dict[str, Any]:
    def ring(coords: Any) -> list[list[float]]:
        xy = np.asarray(coords)
        lon, lat = to_wgs84(xy[:, 0], xy[:, 1], BNG)
        return [[float(a), float(b)] for a, b in zip(lon, lat, strict=True)]

    return {"type": "Polygon",
            "coordinates": [ring(poly.exterior.coords), *(ring(i.coords) for i in poly.interiors)]}


def counts_collection(n_suppressed: int = 2) -> dict[str, Any]:
    """Counts on 19 H3 cells as service.app.analysis returns them, with zeros and "<5"."""
    counts: list[Any] = [0, 0, 0, 7, 12, 5, 9, 30, 44, 61, 18, 6, 0, 25, 90, 14, 8, 5, 0]
    for i in range(n_suppressed):
        counts[1 + 5 * i] = "<5"
    feats = _with(_hex_features(), {"count": counts})
    return _collection(feats, parameters={"layer": "ambulance", "unit": "h3:8",
                                          "window": {"start": "2024-01", "end": "2024-06"},
                                          "small_number_suppression": "counts of 1-4 shown "
                                                                      "as '<5'"},
                       warnings=["some locations are rounded (e.g. ambulance data to ~400 m): "
                                 "small units are not meaningful for them"])


def synthetic_layers(*, points: int = 60) -> list[MapLayer]:
    """One layer of every kind, small and hand-made, around Leeds city centre."""
    rng = np.random.default_rng(7)
    hexes = _hex_features()
    n = len(hexes)
    bins = [3, 3, 2, 1, 0, 0, 0, -1, -2, -3, 0, 0, 1, 2, 0, 0, -1, 0, 0][:n]
    z = [2.9 if b == 3 else 2.1 if b == 2 else 1.7 if b == 1 else -1.7 if b == -1 else
         -2.1 if b == -2 else -2.9 if b == -3 else 0.3 for b in bins]
    gi = _collection(_with(hexes, {
        "count": [40, 35, 22, 15, 9, 8, 6, 2, 1, 0, 7, 5, 14, 20, 6, 7, 2, 5, 4],
        "GiZScore": z, "GiPValue": [float(2 * (1 - 0.5 * (1 + np.tanh(abs(v))))) for v in z],
        "p_adjusted": [0.004 if abs(b) == 3 else 0.03 if abs(b) == 2 else 0.08 if b else 0.6
                       for b in bins],
        "Gi_Bin": bins}), parameters={"method": "Gi*", "correction": "fdr_bh"})
    lisa = _collection(_with(hexes, {
        "count": [40, 35, 22, 15, 9, 8, 6, 2, 1, 0, 7, 5, 14, 20, 6, 7, 2, 5, 4],
        "Is": [1.2, 0.9, -0.4, 0.1, 0.0, 0.05, 0.2, 0.7, 0.8, 0.3, 0.0, 0.0, -0.3, 0.6, 0.0,
               0.0, 0.1, 0.0, 0.0],
        "p_sim": [0.002, 0.01, 0.04, 0.3, 0.5, 0.6, 0.2, 0.03, 0.02, 0.4, 0.9, 0.8, 0.04, 0.01,
                  0.7, 0.6, 0.5, 0.9, 0.9],
        "cluster": ["HH", "HH", "HL", "ns", "ns", "ns", "ns", "LL", "LL", "ns", "ns", "ns", "LH",
                    "HH", "ns", "ns", "ns", "ns", "ns"]}))

    # four beats (2 x 2 rectangles) around the centre, in BNG
    cx, cy = to_metric(np.array([CENTRE[1]]), np.array([CENTRE[0]]), BNG)
    x0, y0 = float(cx[0]) - 1800, float(cy[0]) - 1600
    beats = []
    for i, (dx, dy) in enumerate([(0, 0), (1, 0), (0, 1), (1, 1)]):
        box = shapely.box(x0 + dx * 1800, y0 + dy * 1600, x0 + (dx + 1) * 1800,
                          y0 + (dy + 1) * 1600)
        beats.append({"type": "Feature", "id": f"B{i + 1}",
                      "geometry": _bng_polygon_to_geojson(box),
                      "properties": {"unit_id": f"B{i + 1}",
                                     "label": ["City & Holbeck <North>", "Mabgate", "Hyde Park",
                                               "Burmantofts"][i],
                                     "count": [120, 45, 33, 70][i]}})

    # operation areas: target circle, buffer ring, two 100 m rings, control
    centre_pt = shapely.Point(float(cx[0]) + 300, float(cy[0]) + 200)
    target = centre_pt.buffer(300)
    buffer = centre_pt.buffer(700).difference(target)
    ring1 = centre_pt.buffer(400).difference(target)
    control = shapely.Point(float(cx[0]) - 1300, float(cy[0]) - 1100).buffer(350)
    areas = _collection([
        {"type": "Feature", "geometry": _bng_polygon_to_geojson(target),
         "properties": {"role": "target", "name": "Op Tern target"}},
        {"type": "Feature", "geometry": _bng_polygon_to_geojson(buffer),
         "properties": {"role": "buffer", "name": "Buffer 300-700 m"}},
        {"type": "Feature", "geometry": _bng_polygon_to_geojson(ring1),
         "properties": {"role": "ring", "distance_m": 400, "ring": 1}},
        {"type": "Feature", "geometry": _bng_polygon_to_geojson(control),
         "properties": {"role": "control", "name": "Control"}},
    ])

    # aggregated points: H3 res 9 centres with counts (proportional circles)
    centre9 = h3.latlng_to_cell(CENTRE[0], CENTRE[1], 9)
    agg = []
    for i, cell in enumerate(sorted(h3.grid_disk(centre9, 3))):
        lat, lng = h3.cell_to_latlng(cell)
        v: Any = int(rng.poisson(6)) if i % 7 else "<5"
        agg.append({"type": "Feature", "id": cell,
                    "geometry": {"type": "Point", "coordinates": [lng, lat]},
                    "properties": {"unit_id": cell, "count": v}})

    # raw points (a role that may see them)
    px = rng.normal(float(cx[0]), 600, points)
    py = rng.normal(float(cy[0]), 500, points)
    lon, lat = to_wgs84(px, py, BNG)
    cats = ["Drugs", "Violence and sexual offences", "Anti-social behaviour"]
    pts = [{"type": "Feature", "id": i,
            "geometry": {"type": "Point", "coordinates": [float(lon[i]), float(lat[i])]},
            "properties": {"category": cats[i % 3], "time": "2024-03", "layer": "crime"}}
           for i in range(points)]

    # density grids (BNG, 50 m cells): a surface and a difference surface
    nx, ny = 80, 64
    gx = x0 + 50 * (np.arange(nx) + 0.5)
    gy = y0 + 50 * (np.arange(ny) + 0.5)
    xx, yy = np.meshgrid(gx, gy)

    def bump(mx: float, my: float, s: float) -> np.ndarray:
        return np.exp(-((xx - mx) ** 2 + (yy - my) ** 2) / (2 * s * s))

    before = 40 * bump(x0 + 2000, y0 + 1700, 300) + 15 * bump(x0 + 900, y0 + 2400, 400)
    after = 18 * bump(x0 + 2000, y0 + 1700, 300) + 30 * bump(x0 + 2600, y0 + 1900, 300) \
        + 15 * bump(x0 + 900, y0 + 2400, 400)
    bounds = (x0, y0, x0 + 50 * nx, y0 + 50 * ny)
    density = maps.DensityGrid(values=after, bounds=bounds, epsg=BNG,
                               parameters={"kernel": "quartic", "bandwidth_m": 400,
                                           "cell_size_m": 50})
    difference = {"values": after - before, "bounds": bounds, "epsg": BNG, "diverging": True,
                  "units": "events per km² (after − before)"}

    # monthly counts, wide format
    months = ["2024-01", "2024-02", "2024-03", "2024-04", "2024-05", "2024-06"]
    def suppress(v: int) -> Any:
        return "<5" if 0 < v < 5 else v

    monthly = _collection(_with(hexes, {"months": [
        {m: suppress(int(rng.poisson(2 + i % 5 * 4 + j * (i % 3)))) for j, m in enumerate(months)}
        for i in range(n)]}))

    return [
        MapLayer("Counts (ambulance, H3 res 8)", "choropleth", counts_collection()),
        MapLayer("Gi* hot spots", "gi_bins", gi, show=False),
        MapLayer("LISA clusters", "lisa", lisa, show=False),
        MapLayer("Kernel density (after)", "density", density, show=False),
        MapLayer("Density change (after − before)", "density", difference, show=False),
        MapLayer("Aggregated events (H3 res 9)", "points_aggregated", _collection(agg),
                 show=False),
        MapLayer("Events (analyst view)", "points", _collection(pts), value_field="category",
                 show=False),
        MapLayer("Monthly counts", "monthly", monthly, show=False),
        MapLayer("Beats", "outline", _collection(beats)),
        MapLayer("Operation areas", "areas", areas),
    ]


CAVEATS = ["police.uk locations are snapped to anonymised map points",
           "times are month-precision",
           "intelligence reports are partial"]


@pytest.fixture(scope="module")
def full_map() -> folium.Map:
    return maps.build_map(synthetic_layers(), title="Test map: Leeds <centre> & co",
                          caveats=CAVEATS, parameters={"analyst": "test", "seed": 7})


@pytest.fixture(scope="module")
def inline_html(full_map: folium.Map) -> str:
    return maps.render_html(full_map, offline=True)


def _geojson_children(m: folium.Map, layer_name: str) -> list[folium.GeoJson]:
    for child in m._children.values():
        if isinstance(child, folium.FeatureGroup) and child.layer_name == layer_name:
            return [c for c in child._children.values() if isinstance(c, folium.GeoJson)]
    raise AssertionError(f"no feature group {layer_name!r}")


# ---------------------------------------------------------------------------
# Classification
# ---------------------------------------------------------------------------


def test_natural_breaks_separates_obvious_groups() -> None:
    values = [1, 2, 2, 3, 10, 11, 12, 50, 52, 100]
    assert maps.natural_breaks(values, 4) == [3.0, 12.0, 52.0, 100.0]


def test_natural_breaks_matches_brute_force() -> None:
    rng = np.random.default_rng(3)
    values = rng.integers(1, 40, 25)
    breaks = maps.natural_breaks(values, 3)

    def sdcm(uppers: list[float]) -> float:
        total, lo = 0.0, -np.inf
        for up in uppers:
            grp = values[(values > lo) & (values <= up)]
            total += float(((grp - grp.mean()) ** 2).sum()) if grp.size else 0.0
            lo = up
        return total

    u = np.unique(values)
    best = min(sdcm([float(a), float(b), float(u[-1])])
               for i, a in enumerate(u[:-1]) for b in u[i + 1:-1])
    assert sdcm(breaks) == pytest.approx(best)


def test_few_distinct_values_give_one_class_each() -> None:
    assert maps.natural_breaks([5, 5, 7, 9], 5) == [5.0, 7.0, 9.0]
    assert maps.quantile_breaks([1, 1, 1, 1], 5) == [1.0]


def test_quantile_breaks_are_observed_values() -> None:
    values = list(range(1, 101))
    assert maps.quantile_breaks(values, 5) == [20.0, 40.0, 60.0, 80.0, 100.0]


def test_classes_zero_suppressed_and_five_ranges() -> None:
    values = [0, 0, "<5", 5, 6, 8, 12, 15, 20, 33, 40, 90, 120, None]
    cl = maps.classify_values(values, k=5)
    kinds = [c.kind for c in cl.classes]
    assert kinds == ["zero", "suppressed", "range", "range", "range", "range", "range",
                     "missing"]
    zero, sup = cl.classes[0], cl.classes[1]
    assert zero.label == "0" and zero.colour == maps.ZERO_COLOUR
    assert sup.colour == maps.SUPPRESSED_FILL
    assert sup.label == "1–4: suppressed, shown as “<5”"
    ranges = [c for c in cl.classes if c.kind == "range"]
    assert [c.colour for c in ranges] == list(maps.SEQUENTIAL)
    assert ranges[0].lower == 5 and ranges[-1].upper == 120
    # ranges are contiguous over integers and do not overlap
    for a, b in zip(ranges, ranges[1:], strict=False):
        assert a.upper is not None and b.lower is not None and a.upper < b.lower
    assert cl.classify(0).kind == "zero"
    assert cl.classify("<5").kind == "suppressed"
    assert cl.classify(None).kind == "missing"
    assert cl.classify(120) is ranges[-1]
    assert cl.classify(5) is ranges[0]


def test_classes_fewer_when_few_values() -> None:
    cl = maps.classify_values([0, 3, 3, 4], k=5)
    ranges = [c for c in cl.classes if c.kind == "range"]
    assert [c.label for c in ranges] == ["3", "4"]
    # two classes take the darker end of the palette, not the near-white first colour
    assert ranges[-1].colour == maps.SEQUENTIAL[-1]


def test_more_classes_than_palette_colours_are_interpolated() -> None:
    cl = maps.classify_values(list(range(1, 200)), k=9, scheme="quantile")
    colours = [c.colour for c in cl.classes]
    assert len(colours) == 9 == len(set(colours))
    assert colours[0] == maps.SEQUENTIAL[0] and colours[-1] == maps.SEQUENTIAL[-1]
    assert all(re.fullmatch(r"#[0-9a-f]{6}", c) for c in colours)


def test_empty_and_all_zero_layers_still_draw() -> None:
    empty = _collection([])
    zeros = _collection(_with(_hex_features(k=1), {"count": [0]}))
    m = maps.build_map([MapLayer("empty", "choropleth", empty),
                        MapLayer("zeros", "choropleth", zeros)], title="t", caveats=[])
    page = maps.render_html(m)
    assert assets.external_urls(page) == []
    (gj,) = _geojson_children(m, "zeros")
    assert {gj.style_function(f)["fillColor"] for f in gj.data["features"]} == {
        maps.ZERO_COLOUR}


def test_quantile_scheme_and_bad_scheme() -> None:
    cl = maps.classify_values(list(range(0, 101)), k=4, scheme="quantile")
    assert cl.scheme == "quantile"
    assert [c.label for c in cl.classes] == ["0", "1–25", "26–50", "51–75", "76–100"]
    with pytest.raises(ValueError, match="scheme"):
        maps.classify_values([1, 2], scheme="jenks-ish")


def test_format_value_keeps_suppressed_text() -> None:
    assert maps.format_value("<5") == "<5"
    assert maps.format_value(12) == "12"
    assert maps.format_value(12.0) == "12"
    assert maps.format_value(2.02424331) == "2.02"
    assert maps.format_value(0.00312) == "0.0031"
    assert maps.format_value(None) == "–"
    assert maps.format_value(float("nan")) == "–"


# ---------------------------------------------------------------------------
# Layers
# ---------------------------------------------------------------------------


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
    assert style["fillColor"] == maps.SUPPRESSED_FILL
    zero = next(f for f in feats if f["properties"]["count"] == 0)
    assert gj.style_function(zero)["fillColor"] == maps.ZERO_COLOUR


def test_legend_lists_classes(inline_html: str) -> None:
    assert "1–4: suppressed, shown as “&lt;5”" in inline_html
    assert "Classes: natural breaks (Jenks)" in inline_html


def test_gi_bins_use_arcgis_colours(full_map: folium.Map, inline_html: str) -> None:
    assert maps.GI_BIN_COLOURS == {-3: "#4575b4", -2: "#91bfdb", -1: "#e0f3f8", 0: "#d9d9d9",
                                   1: "#fee090", 2: "#fc8d59", 3: "#d73027"}
    (gj,) = _geojson_children(full_map, "Gi* hot spots")
    for f in gj.data["features"]:
        b = f["properties"]["Gi_Bin"]
        assert gj.style_function(f)["fillColor"] == maps.GI_BIN_COLOURS[b]
        assert maps.GI_BIN_LABELS[b] in f["properties"]["_remap_tooltip"]
        assert "Gi* z-score" in f["properties"]["_remap_tooltip"]
    for label in ("Cold spot 99 % confidence", "Hot spot 99 % confidence", "Not significant"):
        assert label in inline_html


def test_lisa_colours(full_map: folium.Map) -> None:
    (gj,) = _geojson_children(full_map, "LISA clusters")
    colours = {f["properties"]["cluster"]: gj.style_function(f)["fillColor"]
               for f in gj.data["features"]}
    assert colours == {c: maps.LISA_COLOURS[c] for c in ("HH", "HL", "LH", "LL", "ns")}
    assert maps.LISA_COLOURS["HH"] != maps.LISA_COLOURS["LL"]


def test_tooltips_escape_labels_and_drop_unlisted_properties() -> None:
    fc = counts_collection()
    fc["features"][0]["properties"]["label"] = "<script>alert(1)</script>"
    fc["features"][0]["properties"]["secret_source"] = "CHIS 42"
    m = maps.build_map([MapLayer("c", "choropleth", fc)], title="t", caveats=[])
    (gj,) = _geojson_children(m, "c")
    f0 = gj.data["features"][0]
    assert "&lt;script&gt;" in f0["properties"]["_remap_tooltip"]
    assert "secret_source" not in f0["properties"]
    page = maps.render_html(m)
    assert "<script>alert(1)" not in page and "CHIS 42" not in page


def test_points_cap() -> None:
    layer = synthetic_layers(points=maps.MAX_POINTS + 1)[6]
    assert layer.kind == "points"
    with pytest.raises(ValueError, match="aggregate"):
        maps.build_map([layer], title="t", caveats=[])
    ok = synthetic_layers(points=maps.MAX_POINTS)[6]
    maps.build_map([ok], title="t", caveats=[])


def test_bad_layers_are_refused() -> None:
    fc = counts_collection()
    with pytest.raises(ValueError, match="kind"):
        maps.build_map([MapLayer("x", "heatmap", fc)], title="t", caveats=[])
    with pytest.raises(ValueError, match="unique"):
        maps.build_map([MapLayer("x", "choropleth", fc), MapLayer("x", "outline", fc)],
                       title="t", caveats=[])
    with pytest.raises(ValueError, match="FeatureCollection"):
        maps.build_map([MapLayer("x", "choropleth", {"features": []})], title="t", caveats=[])
    metres = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [430000, 433000]},
         "properties": {"count": 1}}]}
    with pytest.raises(ValueError, match="WGS84"):
        maps.build_map([MapLayer("x", "points_aggregated", metres)], title="t", caveats=[])


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
    grid = maps.DensityGrid.coerce(layers["Density change (after − before)"].data)
    rgba, bounds, scale = maps.density_rgba(grid)
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
    grid = maps.DensityGrid.from_result(res, BNG)
    assert not grid.diverging and grid.values.shape == res.density.shape
    assert grid.bounds[0] == res.x_edges[0] and grid.bounds[3] == res.y_edges[-1]
    rgba, _, _ = maps.density_rgba(grid)
    assert (rgba[..., 3] > 0).any()


def test_monthly_long_format_is_folded() -> None:
    hexes = _hex_features(k=1)
    long = []
    for f in hexes:
        for j, month in enumerate(["2024-01", "2024-02"]):
            long.append({**f, "properties": {**f["properties"], "month": month,
                                             "count": j * 3 if j else "<5"}})
    m = maps.build_map([MapLayer("m", "monthly", _collection(long))], title="t", caveats=[])
    page = maps.render_html(m)
    assert '"2024-01"' in page and '"2024-02"' in page


# ---------------------------------------------------------------------------
# Offline assets
# ---------------------------------------------------------------------------


def test_vendored_files_present() -> None:
    assert assets.missing_assets() == []
    sources = (assets.vendor_dir() / "SOURCES.md").read_text(encoding="utf-8")
    for path in assets.CDN_ASSETS.values():
        if path is not None:
            assert path in sources


def test_every_folium_default_asset_is_mapped() -> None:
    m = folium.Map()
    for _, url in [*m.default_js, *m.default_css]:
        assert url in assets.CDN_ASSETS, url


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
    page = maps.render_html(full_map, offline=True, asset_base_url="/static/vendor")
    assert re.findall(r"https?://", page) == []
    srcs = re.findall(r'<script src="([^"]+)"', page)
    hrefs = re.findall(r'<link rel="stylesheet" href="([^"]+)"', page)
    assert srcs and hrefs
    for url in srcs + hrefs:
        assert url.startswith("/static/vendor/")
        assert (assets.vendor_dir() / url.removeprefix("/static/vendor/")).is_file()


def test_asset_base_url_in_build_map_rewrites_links() -> None:
    m = maps.build_map([MapLayer("c", "choropleth", counts_collection())], title="t",
                       caveats=[], asset_base_url="/static/vendor")
    page = m.get_root().render()
    assert assets.cdn_urls(page) == []
    assert "/static/vendor/leaflet/1.9.3/leaflet.js" in page
    # folium's class-level defaults are untouched
    assert folium.Map().default_js[0][1].startswith("https://cdn.jsdelivr.net/")
    # and the same map can still be written as one self-contained file
    inline = maps.render_html(m, offline=True)
    assert "<script src=" not in inline and "/static/vendor" not in inline


def test_icons_are_inlined_when_used() -> None:
    m = folium.Map(tiles=None, location=[53.8, -1.55])
    folium.Marker([53.8, -1.55], icon=folium.Icon(icon="info", prefix="fa")).add_to(m)
    page = assets.localise(m.get_root().render(), "inline")
    assert assets.uses_icons(page)
    assert "Font Awesome" in page and "data:font/woff2;base64," in page
    assert ".ttf" not in assets.strip_vendored(page)
    assert not re.search(r"url\(\.\./webfonts", page)
    assert assets.cdn_urls(page) == []


def test_online_map_has_tiles_and_refuses_offline_render() -> None:
    m = maps.build_map([MapLayer("c", "choropleth", counts_collection())], title="t",
                       caveats=[], offline=False)
    page = maps.render_html(m, offline=False)
    assert "tile.openstreetmap.org" in page
    with pytest.raises(ValueError, match="not offline"):
        maps.render_html(m, offline=True)
    # assets can still be local while tiles come from the internet
    local = maps.render_html(m, offline=False, asset_base_url="/static/vendor")
    assert assets.cdn_urls(local) == []
    assert {u.split("/")[2] for u in assets.external_urls(local)} <= {
        "tile.openstreetmap.org", "openstreetmap.org", "www.openstreetmap.org"}


def test_localise_refuses_unknown_cdn() -> None:
    page = '<html><head><script src="https://unpkg.com/x@1/x.js"></script></head></html>'
    with pytest.raises(ValueError, match="not vendored"):
        assets.localise(page, "inline")
    assert assets.localise(page, "inline", strict=False) == page
    with pytest.raises(ValueError, match="base_url"):
        assets.localise(page, "url")


def test_localise_custom_static_dir(tmp_path: Path) -> None:
    page = '<script src="https://code.jquery.com/jquery-3.7.1.min.js"></script>'
    with pytest.raises(ValueError, match="missing"):
        assets.localise(page, "inline", static_dir=tmp_path)
    (tmp_path / "vendor" / "jquery" / "3.7.1").mkdir(parents=True)
    (tmp_path / "vendor" / "jquery" / "3.7.1" / "jquery.min.js").write_text(
        "var s = '</script>';\n//# sourceMappingURL=jquery.min.map\n")
    out = assets.localise(page, "inline", static_dir=tmp_path)
    assert "<\\/script>" in out and "sourceMappingURL" not in out
    assert out.count("</script>") == 1


def test_inline_page_is_json_safe(inline_html: str) -> None:
    # every embedded GeoJSON parses; "<" in data is escaped for the script context
    blocks = re.findall(r"_add\((\{.*?\})\);\n", inline_html)
    assert blocks
    for b in blocks:
        json.loads(b)


def test_folium_output_is_never_rendered_as_a_template() -> None:
    """branca wraps each element's output in a template; service.render.maps makes it plain text."""
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
    page = maps.render_html(maps.build_map([maps.MapLayer(name=name, kind="choropleth",
                                                          data=fc)],
                                           title=name, caveats=[name], parameters={name: name}))
    body = assets.strip_vendored(page)
    assert "<img src=x" not in body and "9359" not in body
    assert "&lt;img src=x onerror=alert(1)&gt; {{ 1337*7 }}" in body
