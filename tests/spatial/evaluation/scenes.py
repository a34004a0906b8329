"""Hand-made operation scenes in British National Grid metres, shared by the evaluation tests."""

from __future__ import annotations

from datetime import date

import numpy as np
import shapely

from spatial.evaluation.areas import OperationAreas, build_areas
from spatial.evaluation.counting import EventArrays
from spatial.evaluation.windows import Window, Windows
from spatial.place import crs

# A fictional place in British National Grid (metres), as spatial.synthetic uses.
E0, N0 = 440_000.0, 380_000.0
BEFORE = Window("before", date(2019, 1, 1), date(2019, 1, 31))
DURING = Window("during", date(2019, 2, 1), date(2019, 2, 14))
AFTER = Window("after", date(2019, 3, 1), date(2019, 3, 31))
WINDOWS = Windows(before=BEFORE, during=DURING, after=AFTER)
DAY = {"before": "2019-01-10", "during": "2019-02-05", "after": "2019-03-10"}


def square(cx: float, cy: float, half: float) -> shapely.Polygon:
    return shapely.box(cx - half, cy - half, cx + half, cy + half)


def wgs(geom_m: shapely.Geometry) -> shapely.Geometry:
    return crs.geometry_to_wgs84(geom_m, crs.BNG)[()]


TARGET_M = square(E0, N0, 200)            # 400 m square
CONTROL_M = square(E0 + 2_000, N0, 300)   # 600 m square, 1.5 km away


def make_areas(**kw) -> OperationAreas:
    args = dict(target=wgs(TARGET_M), buffer_m=[200], control=wgs(CONTROL_M), epsg=crs.BNG)
    args.update(kw)
    return build_areas(**args)


def events_at(points: list[tuple[float, float, str, str, str]],
              precision: str = "day", location: str = "exact") -> EventArrays:
    """(x, y, window, layer, category) -> EventArrays (metres in BNG)."""
    x = np.array([p[0] for p in points], dtype=float)
    y = np.array([p[1] for p in points], dtype=float)
    lon, lat = crs.to_wgs84(x, y, crs.BNG)
    n = len(points)
    return EventArrays(
        x=x, y=y, lon=lon, lat=lat,
        time=np.array([DAY[p[2]] if p[2] in DAY else p[2] for p in points],
                      dtype="datetime64[ns]"),
        layer=np.array([p[3] for p in points], dtype=object),
        category=np.array([p[4] for p in points], dtype=object),
        time_precision=np.full(n, precision, dtype=object),
        location_precision=np.full(n, location, dtype=object))


def empty_events() -> EventArrays:
    return events_at([])


def random_points(rng: np.random.Generator, geom: shapely.Geometry, n: int) -> np.ndarray:
    """n uniform points in a metric polygon (vectorised rejection sampling)."""
    minx, miny, maxx, maxy = geom.bounds
    out = np.empty((0, 2))
    while len(out) < n:
        cand = rng.uniform((minx, miny), (maxx, maxy), size=(4 * n + 16, 2))
        keep = shapely.contains_xy(geom, cand[:, 0], cand[:, 1])
        out = np.vstack([out, cand[keep]])
    return out[:n]


HAND_POINTS = [
    # target: 3 before, 1 during, 1 after of Drugs; 1 ASB before
    (E0, N0, "before", "crime", "Drugs"), (E0 + 50, N0, "before", "crime", "Drugs"),
    (E0 - 150, N0 + 150, "before", "crime", "Drugs"), (E0, N0 + 10, "during", "crime", "Drugs"),
    (E0 + 10, N0, "after", "crime", "Drugs"),
    (E0, N0 - 20, "before", "crime", "Anti-social behaviour"),
    # buffer (within 200 m of the square): 1 before, 2 after; 250 m from centre = 50 m out
    (E0 + 250, N0, "before", "crime", "Drugs"), (E0, N0 + 350, "after", "crime", "Drugs"),
    (E0 - 380, N0, "after", "crime", "Drugs"),
    # beyond the buffer but inside the 300 m decay ring
    (E0 + 450, N0, "after", "crime", "Drugs"),
    # control: 2 before, 2 after
    (E0 + 2_000, N0, "before", "crime", "Drugs"), (E0 + 2_100, N0, "before", "crime", "Drugs"),
    (E0 + 2_000, N0 + 100, "after", "crime", "Drugs"),
    (E0 + 1_900, N0, "after", "crime", "Drugs"),
    # outside every window, and an ambulance call-out in the target
    (E0, N0, "2019-04-20", "crime", "Drugs"), (E0, N0, "before", "ambulance", "overdose"),
]


def simulate_points(rng: np.random.Generator, areas: OperationAreas,
                    rates: dict[str, float], effects: dict[str, float]) -> EventArrays:
    pts: list[tuple[float, float, str, str, str]] = []
    for area, rate in rates.items():
        geom = areas.geometry(area)
        for window in ("before", "after"):
            n = int(rng.poisson(rate * (effects.get(area, 1.0) if window == "after" else 1.0)))
            for x, y in random_points(rng, geom, n):
                pts.append((x, y, window, "crime", "Drugs"))
    return events_at(pts)



