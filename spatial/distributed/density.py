"""Kernel density by tiles with halos: :func:`spatial.stats.density.kde`, tile by tile.

The grid, bandwidth and discrete kernel are those of
:func:`spatial.stats.density.kde` (linear binning to the cell centres, then a
convolution with the kernel truncated at ``m`` cells, Wand & Jones 1995,
§D.2). The density of a cell depends only on the binned weights within ``m``
cells of it, and a point's weight goes to the four centres around it, so the
cells of a tile need exactly the points whose binning cell lies in the tile
grown by ``m`` cells on each side (the halo: the kernel's support, 5
bandwidths for the Gaussian, the radius for the quartic, rounded up to whole
cells). Each tile bins those points on a small grid and convolves it
(``scipy.signal.fftconvolve``, ``valid`` part); the tiles together are the
single-machine surface up to floating-point rounding of the two FFTs (their
error is relative to the largest value; measured below 1e-12 of the peak on
the police.uk events).

The bandwidth rules need the spread of all points: the standard deviations
come from sums over the parts (two passes, centred), the quartiles of the
Silverman rule from exact order statistics (:func:`order_statistics`: a
bisection on the values, counting points below a pivot in every part), so a
rule gives the single-machine bandwidth.

References
----------
Wand, M. P. & Jones, M. C. (1995) *Kernel Smoothing*. Chapman & Hall.
Silverman, B. W. (1986) *Density Estimation for Statistics and Data Analysis*.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import signal

from spatial.errors import InsufficientDataError, ParameterError
from spatial.place import crs
from spatial.place import units as unitsmod
from spatial.stats import density
from spatial.stats.kernels import (
    BANDWIDTH_RULES,
    KERNELS,
    M2_PER_KM2,
    SQRT8,
    discrete_kernel,
    kernel_halfwidth,
)

from .counting import Selection, groups, locate, read_group

FloatArray = npt.NDArray[np.float64]
_POINT_COLUMNS = ("time", "category", "lon", "lat", "x", "y", "crs_epsg", "h3")


def _points_part(paths: list[str], sel: Selection, units: unitsmod.UnitSet,
                 epsg: int) -> tuple[FloatArray, FloatArray]:
    """Metres (``epsg``) of the selected events of some parts inside the study area."""
    frame = read_group(sel, paths, _POINT_COLUMNS)
    if frame.empty:
        return np.zeros(0), np.zeros(0)
    inside = locate(units, frame).index >= 0
    ev = frame.loc[inside]
    same = (ev["crs_epsg"].to_numpy() == epsg)
    if same.all():
        x, y = ev["x"].to_numpy(np.float64), ev["y"].to_numpy(np.float64)
    else:
        x, y = crs.to_metric(ev["lon"].to_numpy(np.float64), ev["lat"].to_numpy(np.float64), epsg)
    return np.ascontiguousarray(x), np.ascontiguousarray(y)


def _moments(xy: tuple[FloatArray, FloatArray], centre: tuple[float, float] | None
             ) -> tuple[int, float, float, float, float]:
    x, y = xy
    if centre is None:
        return x.size, float(x.sum()), float(y.sum()), 0.0, 0.0
    dx, dy = x - centre[0], y - centre[1]
    return x.size, 0.0, 0.0, float((dx * dx).sum()), float((dy * dy).sum())


def _sorted_axes(xy: tuple[FloatArray, FloatArray]) -> tuple[FloatArray, FloatArray]:
    return np.sort(xy[0]), np.sort(xy[1])


_PIVOTS = 255
_LOW63 = np.int64(0x7FFFFFFFFFFFFFFF)


def _ordered(values: FloatArray) -> npt.NDArray[np.int64]:
    """float64 to int64 keys in the same order (the map is its own inverse)."""
    bits = np.asarray(values, dtype=np.float64).view(np.int64)
    return bits ^ ((bits >> 63) & _LOW63)


def _from_ordered(keys: npt.NDArray[np.int64]) -> FloatArray:
    return np.asarray(np.asarray(keys, dtype=np.int64) ^ ((keys >> 63) & _LOW63)).view(np.float64)


def _below(sorted_xy: tuple[FloatArray, FloatArray], pivots: npt.NDArray[np.int64],
           axes: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Points ``<=`` each pivot (rows: targets, columns: pivots as ordered keys)."""
    out = np.empty(pivots.shape, dtype=np.int64)
    for t in range(pivots.shape[0]):
        out[t] = np.searchsorted(sorted_xy[int(axes[t])], _from_ordered(pivots[t]),
                                 side="right")
    return out


def order_statistics(client: Any, sorted_parts: Sequence[Any], ranks: Sequence[int],
                     axes: Sequence[int], lo: Sequence[float], hi: Sequence[float]
                     ) -> FloatArray:
    """Exact ``ranks``-th smallest values (0-based) on ``axes`` over parts held on workers.

    The values lie in ``[lo, hi]``. Each round counts, in every part (the sorted
    arrays stay on the workers), the points at or below 255 pivots spread over the
    bracket of each target, in the integer order of the floats' bits, so the
    bracket shrinks 256-fold a round: 8 rounds find any float64 exactly.
    """
    ranks_a = np.asarray(ranks, dtype=np.int64)
    axes_a = np.asarray(axes, dtype=np.int64)
    low = [int(v) - 1 for v in _ordered(np.asarray(lo, dtype=np.float64))]  # count <= rank
    high = [int(v) for v in _ordered(np.asarray(hi, dtype=np.float64))]     # count > rank
    for _ in range(64):
        if all(h - lo_ <= 1 for lo_, h in zip(low, high, strict=True)):
            break
        pivots = np.array([[lo_ + (h - lo_) * j // (_PIVOTS + 1) for j in range(1, _PIVOTS + 1)]
                           for lo_, h in zip(low, high, strict=True)], dtype=np.int64)
        counts = sum(client.gather([client.submit(_below, p, pivots, axes_a, pure=False)
                                    for p in sorted_parts]))
        for t in range(len(low)):
            above = np.flatnonzero(counts[t] > ranks_a[t])
            first = int(above[0]) if above.size else _PIVOTS
            if first < _PIVOTS:
                high[t] = int(pivots[t, first])
            if first > 0:
                low[t] = max(low[t], int(pivots[t, first - 1]))
    return _from_ordered(np.array(high, dtype=np.int64))


def _percentile(values_at: dict[int, float], n: int, q: float) -> float:
    """numpy's default (linear) percentile from the order statistics it needs."""
    index = q / 100.0 * (n - 1)
    below = int(math.floor(index))
    above = min(below + 1, n - 1)
    return float(np.percentile(np.array([values_at[below], values_at[above]]),
                               100.0 * (index - below)))


def rule_bandwidth(client: Any, parts: Sequence[Any], rule: str, kernel: str) -> float:
    """:func:`spatial.stats.kernels.bandwidth` of the points held in ``parts``."""
    if rule not in BANDWIDTH_RULES or rule == "arcgis":
        raise ParameterError("bandwidth", f"{rule!r}: batch density takes metres or "
                                          "silverman or scott")
    first = client.gather([client.submit(_moments, p, None, pure=False) for p in parts])
    n = sum(f[0] for f in first)
    if n < 2:
        raise InsufficientDataError("a bandwidth rule needs at least 2 points; give the "
                                    "bandwidth in metres", details={"points": n})
    centre = (sum(f[1] for f in first) / n, sum(f[2] for f in first) / n)
    second = client.gather([client.submit(_moments, p, centre, pure=False) for p in parts])
    var_x = sum(f[3] for f in second) / (n - 1)
    var_y = sum(f[4] for f in second) / (n - 1)
    sbar = math.sqrt((var_x + var_y) / 2.0)
    if rule == "silverman":
        sorted_parts = [client.submit(_sorted_axes, p, pure=False) for p in parts]
        wanted: list[tuple[int, int]] = []
        for q in (25.0, 75.0):
            index = q / 100.0 * (n - 1)
            for r in {int(math.floor(index)), min(int(math.floor(index)) + 1, n - 1)}:
                wanted.extend([(r, 0), (r, 1)])
        bounds = client.gather([client.submit(_bounds, p, pure=False) for p in parts])
        lo = [min(b[a] for b in bounds if b[4]) for _, a in wanted]
        hi = [max(b[a + 2] for b in bounds if b[4]) for _, a in wanted]
        stats = order_statistics(client, sorted_parts, [r for r, _ in wanted],
                                 [a for _, a in wanted], lo, hi)
        at = {0: {}, 1: {}}  # type: dict[int, dict[int, float]]
        for (r, a), v in zip(wanted, stats.tolist(), strict=True):
            at[a][r] = v
        iqr = sum(_percentile(at[a], n, 75.0) - _percentile(at[a], n, 25.0)
                  for a in (0, 1)) / 2.0
        if iqr > 0:
            sbar = min(sbar, iqr / 1.349)
    sigma = sbar * n ** (-1.0 / 6.0)
    h = sigma if kernel == "gaussian" else sigma * SQRT8
    if not h > 0:
        raise InsufficientDataError("the points have no spread: a bandwidth rule cannot be "
                                    "applied; give the bandwidth in metres")
    return float(h)


def _bounds(xy: tuple[FloatArray, FloatArray]) -> tuple[float, float, float, float, bool]:
    x, y = xy
    if x.size == 0:
        return (0.0, 0.0, 0.0, 0.0, False)
    return (float(x.min()), float(y.min()), float(x.max()), float(y.max()), True)


def _tile_points(xy: tuple[FloatArray, FloatArray], grid: dict[str, Any],
                 tile: tuple[int, int, int, int]) -> tuple[FloatArray, FloatArray]:
    """Points of one part whose binning cell lies in the tile grown by its halo."""
    x, y = xy
    cell, p, m = grid["cell"], grid["p"], grid["m"]
    u = (x - grid["x0"]) / cell - 0.5 + p
    v = (y - grid["y0"]) / cell - 0.5 + p
    i0 = np.floor(u)
    j0 = np.floor(v)
    r0, r1, c0, c1 = tile
    keep = ((i0 >= 0) & (i0 <= grid["ex"] - 2) & (j0 >= 0) & (j0 <= grid["ey"] - 2)
            & (i0 >= c0) & (i0 <= c1 + 2 * m) & (j0 >= r0) & (j0 <= r1 + 2 * m))
    return x[keep], y[keep]


def _tile_density(pieces: list[tuple[FloatArray, FloatArray]], grid: dict[str, Any],
                  tile: tuple[int, int, int, int], kern: FloatArray) -> FloatArray:
    """Density (events per km²) of the tile's cells from its points and halo."""
    r0, r1, c0, c1 = tile
    m, p, cell = grid["m"], grid["p"], grid["cell"]
    x = np.concatenate([q[0] for q in pieces]) if pieces else np.zeros(0)
    y = np.concatenate([q[1] for q in pieces]) if pieces else np.zeros(0)
    h, w = (r1 - r0) + 2 * m + 2, (c1 - c0) + 2 * m + 2
    u = (x - grid["x0"]) / cell - 0.5 + p
    v = (y - grid["y0"]) / cell - 0.5 + p
    i0 = np.floor(u)
    j0 = np.floor(v)
    fu, fv = u - i0, v - j0
    flat = (j0.astype(np.int64) - r0) * w + (i0.astype(np.int64) - c0)
    ones = np.ones(x.size)
    binned = np.bincount(flat, ones * (1 - fu) * (1 - fv), minlength=h * w)
    binned += np.bincount(flat + 1, ones * fu * (1 - fv), minlength=h * w)
    binned += np.bincount(flat + w, ones * (1 - fu) * fv, minlength=h * w)
    binned += np.bincount(flat + w + 1, ones * fu * fv, minlength=h * w)
    local = binned.reshape(h, w)
    if not local.any():
        return np.zeros((r1 - r0, c1 - c0))
    conv = signal.fftconvolve(local, kern, mode="valid")  # (h - 2m, w - 2m)
    return np.maximum(conv[1:1 + (r1 - r0), 1:1 + (c1 - c0)], 0.0) * M2_PER_KM2


def tiled_kde(client: Any, folder: str, sel: Selection, units: unitsmod.UnitSet, *,
              cell_size_m: float | None = None, bandwidth_m: float | str = "silverman",
              kernel: str = "gaussian", tile_cells: int = 256
              ) -> tuple[density.DensityResult, dict[str, Any]]:
    """Density of the selected events inside the study area of ``units``, by tiles.

    The grid is the single-machine hotspots' (:func:`service.app.hotspots`): the
    bounds of the units in their metric CRS, ``cell_size_m`` by default a 200th
    of the shorter side (at least 10 m). Returns the surface and what was done
    (points, tiles, halo, seconds).
    """
    t0 = time.perf_counter()
    if kernel not in KERNELS:
        raise ParameterError("kernel", f"{kernel!r}: expected one of {', '.join(KERNELS)}")
    if tile_cells < 16:
        raise ParameterError("tile_cells", "must be at least 16")
    epsg = units.epsg
    paths = sel.parts(folder)
    [shared] = client.scatter([units], broadcast=True, hash=False)
    parts = client.map(_points_part, groups(client, paths), sel=sel, units=shared, epsg=epsg, pure=False)
    n = sum(client.gather([client.submit(lambda xy: xy[0].size, f, pure=False)
                           for f in parts]))
    if n < 2:
        raise InsufficientDataError(f"{n} events in the study area: a density surface needs "
                                    "at least 2")
    polys = crs.geometry_to_metric(np.asarray(units.geometry.values, dtype=object), epsg)
    import shapely

    bx0, by0, bx1, by1 = (float(v) for v in shapely.total_bounds(polys))
    cell = float(cell_size_m or max(10.0, round(min(bx1 - bx0, by1 - by0) / 200.0)))
    if isinstance(bandwidth_m, str):
        h, rule = rule_bandwidth(client, parts, bandwidth_m, kernel), bandwidth_m
    else:
        h, rule = float(bandwidth_m), "fixed"
        if not (math.isfinite(h) and h > 0):
            raise ParameterError("bandwidth", "must be a positive number of metres")
    nx = max(1, math.ceil((bx1 - bx0) / cell - 1e-9))
    ny = max(1, math.ceil((by1 - by0) / cell - 1e-9))
    _, m = kernel_halfwidth(h, cell, kernel)
    p = m + 1
    if (nx + 2 * p) * (ny + 2 * p) > density.MAX_CELLS:
        raise ParameterError("cell_size_m", f"the grid would have {(nx + 2 * p) * (ny + 2 * p):,}"
                                            f" cells; the limit is {density.MAX_CELLS:,}")
    kern, m = discrete_kernel(h, cell, kernel)
    grid = {"x0": bx0, "y0": by0, "cell": cell, "m": m, "p": p, "ex": nx + 2 * p,
            "ey": ny + 2 * p}
    tiles = [(r, min(r + tile_cells, ny), c, min(c + tile_cells, nx))
             for r in range(0, ny, tile_cells) for c in range(0, nx, tile_cells)]
    [kern_f] = client.scatter([kern], broadcast=True, hash=False)
    surface = np.zeros((ny, nx))
    futures = []
    for tile in tiles:
        pieces = [client.submit(_tile_points, f, grid, tile, pure=False) for f in parts]
        futures.append(client.submit(_tile_density, pieces, grid, tile, kern_f, pure=False))
    for tile, values in zip(tiles, client.gather(futures), strict=True):
        r0, r1, c0, c1 = tile
        surface[r0:r1, c0:c1] = values
    x_edges = np.asarray(bx0 + cell * np.arange(nx + 1), dtype=np.float64)
    y_edges = np.asarray(by0 + cell * np.arange(ny + 1), dtype=np.float64)
    mass = float(surface.sum()) * cell * cell / M2_PER_KM2 / n
    parameters = {"method": "kde (linear binning + FFT convolution) by tiles with halos",
                  "kernel": kernel, "bandwidth_m": h, "bandwidth_rule": rule,
                  "cell_size_m": cell, "shape": [ny, nx],
                  "bounds": [float(x_edges[0]), float(y_edges[0]), float(x_edges[-1]),
                             float(y_edges[-1])],
                  "units": "events per km²", "n_points": n, "tiles": len(tiles),
                  "tile_cells": tile_cells, "halo_cells": m, "crs": f"EPSG:{epsg}"}
    result = density.DensityResult(
        density=surface, x_edges=x_edges, y_edges=y_edges, cell_size_m=cell, bandwidth_m=h,
        bandwidth_rule=rule, kernel=kernel, n_points=n, total_weight=float(n),
        mass_in_grid=mass, parameters=parameters, warnings=[])
    return result, {"points": n, "tiles": len(tiles), "partitions": len(paths),
                    "seconds": time.perf_counter() - t0}
