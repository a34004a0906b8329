"""The town's geography: outline, beats, drug markets, target, buffer, snap points.

All in British National Grid metres (EPSG:27700); beats are the Voronoi cells
of a jittered 6 x 4 grid of seeded centres clipped to the town.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely
from scipy.spatial import cKDTree
from shapely.geometry.base import BaseGeometry

from spatial.place.crs import BNG, FloatArray, to_metric, to_wgs84
from spatial.synthetic.parameters import (
    AMBULANCE_ROUNDING_M,
    BEAT_GRID,
    BEAT_NAMES,
    BUFFER_M,
    CENTRE_BNG,
    EDGE_MARGIN_M,
    HALF_HEIGHT_M,
    HALF_WIDTH_M,
    N_LSOAS,
    N_SNAP_POINTS,
    PLACES,
    STREET_STEMS,
    STREET_SUFFIXES,
    IntArray,
)


@dataclass(frozen=True)
class Geography:
    town: BaseGeometry              # BNG
    inner: BaseGeometry             # town shrunk by EDGE_MARGIN_M, prepared
    beats: npt.NDArray[np.object_]  # BNG polygons in unit order
    unit_ids: tuple[str, ...]
    labels: tuple[str, ...]
    # Gaussian components: markets 0..M-1 (0 = the largest), then the town centre.
    gx: FloatArray
    gy: FloatArray
    gs: FloatArray
    market_weight: FloatArray       # share of market-related events per market, sums to 1
    target_idx: tuple[int, ...]
    target: BaseGeometry
    buffer: BaseGeometry            # ring, not clipped
    snap_xy: FloatArray             # (S, 2)
    snap_tree: cKDTree
    snap_zone: IntArray             # 0 elsewhere, 1 target, 2 buffer
    snap_location: npt.NDArray[np.object_]
    snap_lsoa: IntArray
    node_xy: FloatArray             # ambulance rounding grid nodes inside the town
    node_tree: cKDTree
    node_zone: IntArray

    @property
    def n_markets(self) -> int:
        return int(self.gx.size - 1)


def make_geography(rng: np.random.Generator) -> Geography:
    """The town, its beats, markets, target and buffer, snap points and rounding grid.

    The draws from ``rng`` happen in a fixed order (town, beats, largest market,
    target, other markets, snap points), so a seed always gives the same town.
    """
    cx, cy = CENTRE_BNG
    town = _town_polygon(rng, cx, cy)
    inner = town.buffer(-EDGE_MARGIN_M)
    shapely.prepare(inner)
    beats, unit_ids, labels = _beats(rng, town, cx, cy)
    mx, my = _largest_market(rng, town, cx, cy)
    big_sigma = 300.0
    target_idx = _target_beats(rng, beats, mx, my, big_sigma)
    target = shapely.union_all(beats[list(target_idx)])
    ring = target.buffer(BUFFER_M).difference(target)
    gx, gy, gs, market_weight = _markets(rng, town, target, (cx, cy), (mx, my), big_sigma)
    snap_xy, snap_location, snap_lsoa = _snap_points(rng, market_weight, gx, gy, gs, inner)
    node_xy = _rounding_nodes(town, inner)
    return Geography(
        town=town, inner=inner, beats=beats, unit_ids=unit_ids, labels=labels,
        gx=gx, gy=gy, gs=gs, market_weight=market_weight, target_idx=target_idx,
        target=target, buffer=ring, snap_xy=snap_xy, snap_tree=cKDTree(snap_xy),
        snap_zone=zone(target, ring, snap_xy), snap_location=snap_location, snap_lsoa=snap_lsoa,
        node_xy=node_xy, node_tree=cKDTree(node_xy), node_zone=zone(target, ring, node_xy))


def _largest_market(rng: np.random.Generator, town: BaseGeometry, cx: float,
                    cy: float) -> tuple[float, float]:
    """Centre of the largest market: well inside the town and away from the town centre."""
    boundary = town.boundary
    for _ in range(1000):
        mx = cx + rng.uniform(-0.6, 0.6) * HALF_WIDTH_M
        my = cy + rng.uniform(-0.6, 0.6) * HALF_HEIGHT_M
        point = shapely.Point(mx, my)
        if (town.contains(point) and boundary.distance(point) >= 1_300.0
                and np.hypot(mx - cx, my - cy) >= 900.0):
            return mx, my
    return cx + 1_000.0, cy  # practically unreachable


def _target_beats(rng: np.random.Generator, beats: npt.NDArray[np.object_], mx: float,
                  my: float, big_sigma: float) -> tuple[int, ...]:
    """The beat holding the market centre plus the 1-2 neighbours holding most of it."""
    home = int(np.flatnonzero(shapely.contains_xy(beats, mx, my))[0])
    probe = rng.standard_normal((4_000, 2)) * big_sigma + (mx, my)
    mass = np.array([shapely.contains_xy(b, probe[:, 0], probe[:, 1]).sum() for b in beats],
                    dtype="float64") / len(probe)
    neighbours = [i for i in range(len(beats))
                  if i != home and beats[i].intersection(beats[home]).length > 1.0]
    neighbours.sort(key=lambda i: (-mass[i], i))
    chosen = [i for i in neighbours[:2] if mass[i] >= 0.12] or neighbours[:1]
    return tuple(sorted([home, *chosen]))


def _markets(rng: np.random.Generator, town: BaseGeometry, target: BaseGeometry,
             centre: tuple[float, float], largest: tuple[float, float], big_sigma: float
             ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Gaussian components (markets, largest first, then the town centre): x, y, sigma
    in metres, and each market's share of market-related events."""
    cx, cy = centre
    boundary = town.boundary
    # Other markets: outside the target's neighbourhood, apart from each other and the centre.
    n_markets = int(rng.integers(3, 6))
    keep_out = target.buffer(BUFFER_M + 300.0)
    xs, ys = [largest[0]], [largest[1]]
    for _ in range(5_000):
        if len(xs) == n_markets:
            break
        px = cx + rng.uniform(-1, 1) * HALF_WIDTH_M
        py = cy + rng.uniform(-1, 1) * HALF_HEIGHT_M
        point = shapely.Point(px, py)
        if (town.contains(point) and boundary.distance(point) >= 600.0
                and not keep_out.contains(point)
                and min(np.hypot(np.array(xs) - px, np.array(ys) - py)) >= 1_200.0
                and np.hypot(px - cx, py - cy) >= 600.0):
            xs.append(px)
            ys.append(py)
    m = len(xs)
    sigmas = np.concatenate([[big_sigma], rng.uniform(120.0, 260.0, m - 1)])
    # The largest market holds 45 % of market-related events; no other holds more than 32 %.
    others = np.full(m - 1, 0.55 / max(m - 1, 1))
    for _ in range(100):
        draw = rng.dirichlet(np.full(m - 1, 3.0)) * 0.55 if m > 1 else np.zeros(0)
        if m == 1 or draw.max() <= 0.32:
            others = draw
            break
    market_weight = np.concatenate([[0.45 if m > 1 else 1.0], others])
    gx = np.array([*xs, cx], dtype="float64")
    gy = np.array([*ys, cy], dtype="float64")
    gs = np.concatenate([sigmas, [350.0]])
    return gx, gy, gs, market_weight


def _snap_points(rng: np.random.Generator, market_weight: FloatArray, gx: FloatArray,
                 gy: FloatArray, gs: FloatArray, inner: BaseGeometry
                 ) -> tuple[FloatArray, npt.NDArray[np.object_], IntArray]:
    """Snap points (denser where people and streets are), their labels and fake LSOAs."""
    m = market_weight.size
    comp = rng.choice(m + 2, size=N_SNAP_POINTS,
                      p=np.concatenate([0.25 * market_weight, [0.15, 0.60]]))
    snap_xy = sample_points(rng, comp, gx, gy, gs * 1.5, inner)
    streets = np.array([f"{stem} {suffix}" for stem in STREET_STEMS for suffix in STREET_SUFFIXES],
                       dtype=object)
    streets = rng.choice(streets, size=300, replace=False)
    names = np.where(rng.random(N_SNAP_POINTS) < 0.1,
                     rng.choice(np.array(PLACES, dtype=object), size=N_SNAP_POINTS),
                     rng.choice(streets, size=N_SNAP_POINTS))
    snap_location = np.char.add("On or near ", names.astype(str)).astype(object)
    lsoa_xy = sample_points(rng, np.full(N_LSOAS, m + 1), gx, gy, gs, inner)
    lsoa_xy = lsoa_xy[np.lexsort((lsoa_xy[:, 0], -np.round(lsoa_xy[:, 1], -2)))]
    snap_lsoa = cKDTree(lsoa_xy).query(snap_xy)[1].astype("int64")
    return snap_xy, snap_location, snap_lsoa


def _rounding_nodes(town: BaseGeometry, inner: BaseGeometry) -> FloatArray:
    """Nodes of the ambulance rounding lattice (``AMBULANCE_ROUNDING_M``) inside the town."""
    step = AMBULANCE_ROUNDING_M
    minx, miny, maxx, maxy = town.bounds
    gxs = np.arange(np.floor(minx / step), np.ceil(maxx / step) + 1) * step
    gys = np.arange(np.floor(miny / step), np.ceil(maxy / step) + 1) * step
    nx, ny = (a.ravel() for a in np.meshgrid(gxs, gys))
    inside = shapely.contains_xy(inner, nx, ny)
    return np.column_stack([nx[inside], ny[inside]])


def _town_polygon(rng: np.random.Generator, cx: float, cy: float) -> BaseGeometry:
    """A convex, slightly irregular superellipse of about 6 km x 5 km."""
    theta = np.linspace(0.0, 2 * np.pi, 160, endpoint=False)
    power = 4.0
    radius = (np.abs(np.cos(theta) / HALF_WIDTH_M) ** power
              + np.abs(np.sin(theta) / HALF_HEIGHT_M) ** power) ** (-1 / power)
    wobble = sum(rng.uniform(0.01, 0.03) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
                 for k in (2, 3, 5))
    radius = radius * (1 + wobble)
    ring = np.column_stack([cx + radius * np.cos(theta), cy + radius * np.sin(theta)])
    return shapely.convex_hull(shapely.Polygon(ring))


def _beats(rng: np.random.Generator, town: BaseGeometry, cx: float, cy: float
           ) -> tuple[npt.NDArray[np.object_], tuple[str, ...], tuple[str, ...]]:
    """Voronoi cells of a jittered grid of centres, clipped to the town, in reading order."""
    cols, rows = BEAT_GRID
    dx, dy = 2 * HALF_WIDTH_M / cols, 2 * HALF_HEIGHT_M / rows
    col, row = np.meshgrid(np.arange(cols), np.arange(rows))
    px = cx - HALF_WIDTH_M + (col.ravel() + 0.5) * dx
    py = cy + HALF_HEIGHT_M - (row.ravel() + 0.5) * dy  # north to south
    px = px + rng.uniform(-0.3, 0.3, px.size) * dx
    py = py + rng.uniform(-0.3, 0.3, py.size) * dy
    inner = town.buffer(-50.0)
    for _ in range(50):  # pull centres that fell outside the town towards its middle
        out = ~shapely.contains_xy(inner, px, py)
        if not out.any():
            break
        px[out] = cx + (px[out] - cx) * 0.9
        py[out] = cy + (py[out] - cy) * 0.9
    cells = shapely.voronoi_polygons(shapely.MultiPoint(np.column_stack([px, py])),
                                     extend_to=town.buffer(2_000.0), ordered=True)
    polys = np.asarray(shapely.get_parts(cells))
    beats = shapely.intersection(polys, town)
    beats = np.array([_largest_polygon(b) for b in beats], dtype=object)
    n = px.size
    unit_ids = tuple(f"RM{i + 1:02d}" for i in range(n))
    central = int(np.argmin(shapely.distance(beats, shapely.Point(cx, cy))))
    rest = iter(BEAT_NAMES[1:])
    labels = tuple(BEAT_NAMES[0] if i == central else next(rest) for i in range(n))
    return beats, unit_ids, labels


def _largest_polygon(geom: BaseGeometry) -> BaseGeometry:
    if geom.geom_type == "Polygon":
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon"]
    return max(parts, key=lambda p: p.area)


def zone(target: BaseGeometry, ring: BaseGeometry, xy: FloatArray) -> IntArray:
    in_target = shapely.contains_xy(target, xy[:, 0], xy[:, 1])
    in_ring = shapely.contains_xy(ring, xy[:, 0], xy[:, 1]) & ~in_target
    return np.where(in_target, 1, np.where(in_ring, 2, 0)).astype("int64")


def sample_points(rng: np.random.Generator, comp: npt.NDArray[np.integer], gx: FloatArray,
                  gy: FloatArray, gs: FloatArray, inside: BaseGeometry,
                  extra: BaseGeometry | None = None) -> FloatArray:
    """Draw one point per component id inside ``inside`` (and ``extra`` if given).

    Ids ``< len(gx)`` are isotropic Gaussians, larger ids are uniform over the
    bounding box of ``extra`` or ``inside``. Points falling outside are redrawn
    from their own component (rejection), vectorised.
    """
    n = comp.size
    out = np.empty((n, 2), dtype="float64")
    region = inside if extra is None else shapely.intersection(inside, extra)
    shapely.prepare(region)
    minx, miny, maxx, maxy = region.bounds
    k = gx.size
    gauss = comp < k
    cg = np.minimum(comp, k - 1)
    todo = np.arange(n)
    for _ in range(200):
        if todo.size == 0:
            break
        z = rng.standard_normal((todo.size, 2))
        u = rng.random((todo.size, 2))
        c, g = cg[todo], gauss[todo]
        px = np.where(g, gx[c] + gs[c] * z[:, 0], minx + (maxx - minx) * u[:, 0])
        py = np.where(g, gy[c] + gs[c] * z[:, 1], miny + (maxy - miny) * u[:, 1])
        ok = shapely.contains_xy(region, px, py)
        out[todo[ok], 0] = px[ok]
        out[todo[ok], 1] = py[ok]
        todo = todo[~ok]
    if todo.size:  # practically unreachable: fall back to a point surely inside
        rp = region.representative_point()
        out[todo] = (rp.x, rp.y)
    return out


def polygons_to_wgs84(polys: npt.NDArray[np.object_]) -> npt.NDArray[np.object_]:
    return np.asarray(shapely.transform(
        polys, lambda c: np.column_stack(to_wgs84(c[:, 0], c[:, 1], BNG))))


def polygons_to_bng(polys: npt.NDArray[np.object_]) -> npt.NDArray[np.object_]:
    return np.asarray(shapely.transform(
        polys, lambda c: np.column_stack(to_metric(c[:, 0], c[:, 1], BNG))))
