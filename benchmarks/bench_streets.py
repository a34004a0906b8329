"""Benchmark: placing events on street segments (run by hand, not a test).

Usage::

    .venv/bin/python benchmarks/bench_streets.py [--points 1000000] [--grid 150] [--repeat 3]

A synthetic city network in EPSG:27700 (Sheffield): a ``--grid`` x ``--grid``
lattice of junctions 80 m apart, each link bent by a jittered mid-point (so links
are 2-segment polylines, like OS Open Roads links), ~2 x grid² links; and
``--points`` uniform random events over it and a 100 m margin. Times, in one run:

1. :func:`spatial.place.streets.nearest_segments` (one ``STRtree.query_nearest``
   with ``max_distance``, ties to the first link by sorting);
2. the peer: ``geopandas.sjoin_nearest(max_distance=...)`` on a points
   GeoDataFrame, with the same tie rule (lowest link per point by a groupby).

The assignments must be identical. Prints a markdown table for
``benchmarks/RESULTS.md`` (events assigned per second; the peer's time over
ours). remap's timing is the best of ``--repeat`` runs, the peer's too.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from spatial.place.streets import nearest_segments  # noqa: E402

ORIGIN = (430_000.0, 383_000.0)
SPACING = 80.0


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def lattice(n: int, rng: np.random.Generator) -> np.ndarray:
    """Links of an n x n lattice, each a 3-vertex line through a jittered mid-point."""
    x0, y0 = ORIGIN
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    i, j = i.ravel(), j.ravel()
    starts, ends = [], []
    for di, dj in ((1, 0), (0, 1)):
        ok = (i + di < n) & (j + dj < n)
        starts.append(np.column_stack([x0 + i[ok] * SPACING, y0 + j[ok] * SPACING]))
        ends.append(np.column_stack([x0 + (i[ok] + di) * SPACING, y0 + (j[ok] + dj) * SPACING]))
    a, b = np.concatenate(starts), np.concatenate(ends)
    mid = (a + b) / 2 + rng.normal(0, 6, a.shape)
    coords = np.stack([a, mid, b], axis=1).reshape(-1, 2)
    return shapely.linestrings(coords, indices=np.repeat(np.arange(len(a)), 3))


def sjoin_peer(x: np.ndarray, y: np.ndarray, lines: np.ndarray, snap_m: float) -> np.ndarray:
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=27700)
    segs = gpd.GeoDataFrame({"k": np.arange(len(lines))}, geometry=lines, crs=27700)
    joined = gpd.sjoin_nearest(pts, segs, how="inner", max_distance=snap_m)
    first = joined.groupby(level=0)["k"].min()
    out = np.full(len(x), -1, dtype=np.int64)
    out[first.index.to_numpy()] = first.to_numpy()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--grid", type=int, default=150)
    parser.add_argument("--snap-m", type=float, default=30.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    rng = np.random.default_rng(14)
    lines = lattice(args.grid, rng)
    span = (args.grid - 1) * SPACING
    x = rng.uniform(ORIGIN[0] - 100, ORIGIN[0] + span + 100, args.points)
    y = rng.uniform(ORIGIN[1] - 100, ORIGIN[1] + span + 100, args.points)
    # a few points exactly on junctions (ties between 2-4 links)
    x[:1000] = ORIGIN[0] + SPACING * rng.integers(0, args.grid, 1000)
    y[:1000] = ORIGIN[1] + SPACING * rng.integers(0, args.grid, 1000)

    load_before = os.getloadavg()
    # interleaved (ours, peer, ours, peer...): a shared machine's load hits both alike
    ours_s = peer_s = float("inf")
    ours = peer = np.zeros(0, dtype=np.int64)
    for _ in range(args.repeat):
        t, (ours, _) = best_of(lambda: nearest_segments(x, y, lines, args.snap_m), 1)
        ours_s = min(ours_s, t)
        t, peer = best_of(lambda: sjoin_peer(x, y, lines, args.snap_m), 1)
        peer_s = min(peer_s, t)
    load_after = os.getloadavg()
    same = bool(np.array_equal(ours, peer))
    off = int((ours < 0).sum())

    print(f"machine: {platform.node()} ({platform.machine()}, {os.cpu_count()} CPUs), "
          f"Python {platform.python_version()}, geopandas {gpd.__version__}, "
          f"shapely {shapely.__version__}")
    print(f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load average "
          f"(1/5/15 min) before {load_before[0]:.2f}/{load_before[1]:.2f}/"
          f"{load_before[2]:.2f}, after {load_after[0]:.2f}/{load_after[1]:.2f}/"
          f"{load_after[2]:.2f}")
    print(f"network: {len(lines):,} links ({args.grid}x{args.grid} lattice, {SPACING:g} m); "
          f"{args.points:,} events, snap {args.snap_m:g} m: {off:,} off network; "
          f"assignments identical: {same}")
    print()
    print("| what | best of | seconds | events/s | peer/ours |")
    print("|---|---:|---:|---:|---:|")
    print(f"| remap `nearest_segments` (STRtree.query_nearest) | {args.repeat} | "
          f"{ours_s:.2f} | {args.points / ours_s:,.0f} | 1.0 |")
    print(f"| geopandas `sjoin_nearest(max_distance)` + first link | {args.repeat} | "
          f"{peer_s:.2f} | {args.points / peer_s:,.0f} | {peer_s / ours_s:.2f} |")
    if not same:
        sys.exit("assignments differ")


if __name__ == "__main__":
    main()
