"""Synthetic map layers: one small layer of every kind around Leeds city centre.

:func:`synthetic_layers` is used by the map tests (tests/service/render/test_maps.py)
and the browser test (tests/e2e/test_maps_browser.py).
"""

from __future__ import annotations

from typing import Any

import h3
import numpy as np
import shapely

from service.render import map_inputs
from service.render.map_inputs import MapLayer
from spatial.place.crs import BNG, to_metric, to_wgs84
from spatial.stats.emerging import CATEGORIES

CENTRE = (53.7997, -1.5492)  # lat, lon: Leeds city centre


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


def _statistics(hexes: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Gi* bins and LISA clusters on the hexagons."""
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
    return gi, lisa


def _beats(x0: float, y0: float) -> dict[str, Any]:
    """Four beats (2 x 2 rectangles) around the centre, in BNG."""
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
    return _collection(beats)


def _areas(cx: float, cy: float) -> dict[str, Any]:
    """Operation areas: target circle, buffer ring, two 100 m rings, control."""
    centre_pt = shapely.Point(cx + 300, cy + 200)
    target = centre_pt.buffer(300)
    buffer = centre_pt.buffer(700).difference(target)
    ring1 = centre_pt.buffer(400).difference(target)
    control = shapely.Point(cx - 1300, cy - 1100).buffer(350)
    return _collection([
        {"type": "Feature", "geometry": _bng_polygon_to_geojson(target),
         "properties": {"role": "target", "name": "Op Tern target"}},
        {"type": "Feature", "geometry": _bng_polygon_to_geojson(buffer),
         "properties": {"role": "buffer", "name": "Buffer 300-700 m"}},
        {"type": "Feature", "geometry": _bng_polygon_to_geojson(ring1),
         "properties": {"role": "ring", "distance_m": 400, "ring": 1}},
        {"type": "Feature", "geometry": _bng_polygon_to_geojson(control),
         "properties": {"role": "control", "name": "Control"}},
    ])


def _aggregated(rng: np.random.Generator) -> dict[str, Any]:
    """Aggregated points: H3 res 9 centres with counts (proportional circles)."""
    centre9 = h3.latlng_to_cell(CENTRE[0], CENTRE[1], 9)
    agg = []
    for i, cell in enumerate(sorted(h3.grid_disk(centre9, 3))):
        lat, lng = h3.cell_to_latlng(cell)
        v: Any = int(rng.poisson(6)) if i % 7 else "<5"
        agg.append({"type": "Feature", "id": cell,
                    "geometry": {"type": "Point", "coordinates": [lng, lat]},
                    "properties": {"unit_id": cell, "count": v}})
    return _collection(agg)


def _points(rng: np.random.Generator, cx: float, cy: float, points: int) -> dict[str, Any]:
    """Raw points (a role that may see them)."""
    px = rng.normal(cx, 600, points)
    py = rng.normal(cy, 500, points)
    lon, lat = to_wgs84(px, py, BNG)
    cats = ["Drugs", "Violence and sexual offences", "Anti-social behaviour"]
    pts = [{"type": "Feature", "id": i,
            "geometry": {"type": "Point", "coordinates": [float(lon[i]), float(lat[i])]},
            "properties": {"category": cats[i % 3], "time": "2024-03", "layer": "crime"}}
           for i in range(points)]
    return _collection(pts)


def _densities(x0: float, y0: float) -> tuple[map_inputs.DensityGrid, dict[str, Any]]:
    """Density grids (BNG, 50 m cells): a surface and a difference surface."""
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
    density = map_inputs.DensityGrid(values=after, bounds=bounds, epsg=BNG,
                                     parameters={"kernel": "quartic", "bandwidth_m": 400,
                                                 "cell_size_m": 50})
    difference = {"values": after - before, "bounds": bounds, "epsg": BNG, "diverging": True,
                  "units": "events per km² (after − before)"}
    return density, difference


def _monthly(rng: np.random.Generator, hexes: list[dict[str, Any]]) -> dict[str, Any]:
    """Monthly counts, wide format."""
    months = ["2024-01", "2024-02", "2024-03", "2024-04", "2024-05", "2024-06"]
    def suppress(v: int) -> Any:
        return "<5" if 0 < v < 5 else v

    return _collection(_with(hexes, {"months": [
        {m: suppress(int(rng.poisson(2 + i % 5 * 4 + j * (i % 3)))) for j, m in enumerate(months)}
        for i in range(len(hexes))]}))


def synthetic_layers(*, points: int = 60) -> list[MapLayer]:
    """One layer of every kind, small and hand-made, around Leeds city centre."""
    rng = np.random.default_rng(7)
    hexes = _hex_features()
    gi, lisa = _statistics(hexes)
    cx, cy = (float(v[0]) for v in to_metric(np.array([CENTRE[1]]), np.array([CENTRE[0]]), BNG))
    x0, y0 = cx - 1800, cy - 1600
    beats, areas = _beats(x0, y0), _areas(cx, cy)
    agg = _aggregated(rng)
    pts = _points(rng, cx, cy, points)
    density, difference = _densities(x0, y0)
    monthly = _monthly(rng, hexes)
    return [
        MapLayer("Counts (ambulance, H3 res 8)", "choropleth", counts_collection()),
        MapLayer("Gi* hot spots", "gi_bins", gi, show=False),
        MapLayer("LISA clusters", "lisa", lisa, show=False),
        MapLayer("Kernel density (after)", "density", density, show=False),
        MapLayer("Density change (after − before)", "density", difference, show=False),
        MapLayer("Aggregated events (H3 res 9)", "points_aggregated", agg, show=False),
        MapLayer("Events (analyst view)", "points", pts, value_field="category", show=False),
        MapLayer("Monthly counts", "monthly", monthly, show=False),
        MapLayer("Emerging hot spots", "emerging", _emerging(hexes), show=False),
        MapLayer("Beats", "outline", beats),
        MapLayer("Operation areas", "areas", areas),
        MapLayer("Watched areas", "watch", _watched(areas), show=False),
    ]


def _emerging(hexes: list[dict[str, Any]]) -> dict[str, Any]:
    """Every emerging hot spot category once, then no pattern."""
    cats = [*CATEGORIES, *["no_pattern"] * max(0, len(hexes) - len(CATEGORIES))]
    return _collection(_with(hexes, {"category": cats[:len(hexes)]}),
                       parameters={"step": "month", "steps": 12})


def _watched(areas: dict[str, Any]) -> dict[str, Any]:
    """The target alarming, the buffer quiet, the control not shown."""
    state = {"target": "alarm", "buffer": "quiet", "control": "not_shown"}
    feats = [{"type": "Feature", "id": str(i), "geometry": f["geometry"],
              "properties": {"name": f["properties"]["role"], "kind": f["properties"]["role"],
                             "state": state[f["properties"]["role"]],
                             "alarming": "crime/Drugs" if f["properties"]["role"] == "target"
                             else "none"}}
             for i, f in enumerate(areas["features"]) if f["properties"]["role"] in state]
    return _collection(feats)


CAVEATS = ["police.uk locations are snapped to anonymised map points",
           "times are month-precision",
           "intelligence reports are partial"]
