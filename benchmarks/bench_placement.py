"""Benchmark: placing events in H3 cells and in polygons (run by hand, not a test).

Usage::

    .venv/bin/python benchmarks/bench_placement.py [--data ../shared/data] [--res 9]

Times, in one run on the same machine:

1. H3 indexing of every police.uk point with coordinates (15 CSVs read with
   pandas directly) and of 1,000,000 synthetic points over Great Britain:
   :func:`spatial.place.placement.h3_cells` (h3ronpy, vectorised) against a Python
   loop over :func:`h3.latlng_to_cell`; the cells must be identical.
2. Point-in-polygon into the 345 Sheffield LSOAs (BNG metres) of the same
   police.uk points and of 1,000,000 synthetic points over Sheffield:
   :func:`spatial.place.placement.assign_polygons` against building a points
   GeoDataFrame and ``geopandas.sjoin(predicate="intersects")`` (lowest polygon
   index on shared borders, as assign_polygons does); the assignment must be
   identical.

Prints a markdown table for ``benchmarks/RESULTS.md``. Each vectorised timing
is the best of ``--repeat`` runs; the Python loop and sjoin are timed once
(they are the slow side, so this favours neither).
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
import h3
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from spatial.io.boundaries import read_boundaries  # noqa: E402
from spatial.place import crs, placement  # noqa: E402

N_SYNTHETIC = 1_000_000


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def h3_loop(lon: np.ndarray, lat: np.ndarray, res: int) -> list[str]:
    """The per-point baseline at its best: a list comprehension over Python floats,
    h3-py's own string ids (converting them would only slow the loop down)."""
    return [h3.latlng_to_cell(la, lo, res) for lo, la in zip(lon.tolist(), lat.tolist(),
                                                               strict=True)]


def sjoin_assign(x: np.ndarray, y: np.ndarray, polys: np.ndarray) -> np.ndarray:
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=crs.BNG)
    zones = gpd.GeoDataFrame({"k": np.arange(len(polys))}, geometry=polys, crs=crs.BNG)
    joined = gpd.sjoin(pts, zones, how="left", predicate="intersects")
    first = joined.groupby(level=0)["k"].min()
    return first.reindex(range(x.size)).fillna(-1).astype("int64").to_numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    default = Path(os.environ.get("REMAP_SHARED_DATA",
                                  Path(__file__).resolve().parents[2] / "shared" / "data"))
    parser.add_argument("--data", type=Path, default=default)
    parser.add_argument("--res", type=int, default=9)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    files = sorted((args.data / "policeuk").glob("*.csv"))
    if not files:
        sys.exit(f"no police.uk CSVs under {args.data / 'policeuk'}")
    frame = pd.concat([pd.read_csv(f, usecols=["Longitude", "Latitude"]) for f in files])
    frame = frame.dropna()
    p_lon = frame["Longitude"].to_numpy(dtype="float64")
    p_lat = frame["Latitude"].to_numpy(dtype="float64")

    rng = np.random.default_rng(20240601)
    minlon, minlat, maxlon, maxlat = (-5.7, 50.0, 1.7, 55.8)  # Great Britain, roughly
    s_lon = rng.uniform(minlon, maxlon, N_SYNTHETIC)
    s_lat = rng.uniform(minlat, maxlat, N_SYNTHETIC)

    rows: list[tuple[str, str, int, float, float, str]] = []

    # --- H3 -------------------------------------------------------------------------------
    for label, lon, lat in (("police.uk points", p_lon, p_lat),
                            ("synthetic GB points", s_lon, s_lat)):
        t_vec, cells = best_of(lambda lon=lon, lat=lat: placement.h3_cells(lon, lat, args.res),
                               args.repeat)
        t_loop, ref = best_of(lambda lon=lon, lat=lat: h3_loop(lon, lat, args.res), 1)
        same = bool((placement.cells_to_str(cells) == np.asarray(ref, dtype=object)).all())
        rows.append((f"H3 res {args.res}", label, lon.size, t_vec, t_loop,
                     "identical" if same else "DIFFERENT"))

    # --- point in polygon -----------------------------------------------------------------
    lsoa = read_boundaries(args.data / "boundaries/sheffield/sheffield_lsoa.geojson",
                           id_field="LSOA11CD").units
    polys = crs.geometry_to_metric(lsoa.geometry.values, crs.BNG)
    bminx, bminy, bmaxx, bmaxy = lsoa.total_bounds
    t_proj, (px, py) = best_of(lambda: crs.to_metric(p_lon, p_lat, crs.BNG), args.repeat)
    sx, sy = crs.to_metric(rng.uniform(bminx, bmaxx, N_SYNTHETIC),
                           rng.uniform(bminy, bmaxy, N_SYNTHETIC), crs.BNG)
    for label, x, y in (("police.uk points", px, py), ("synthetic Sheffield points", sx, sy)):
        t_vec, got = best_of(lambda x=x, y=y: placement.assign_polygons(x, y, polys),
                             args.repeat)
        t_ref, ref = best_of(lambda x=x, y=y: sjoin_assign(x, y, polys), 1)
        same = bool((got == ref).all())
        inside = int((got >= 0).sum())
        rows.append((f"PIP {len(polys)} Sheffield LSOAs ({inside:,} inside)", label, x.size,
                     t_vec, t_ref, "identical" if same else "DIFFERENT"))

    print(f"## Placement benchmark ({time.strftime('%Y-%m-%d')}, "
          f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"numpy {np.__version__}, h3 {h3.__version__}, geopandas {gpd.__version__})\n")
    print("| task | points | n | vectorised (s) | points/s | baseline (s) | points/s "
          "| speed-up | result |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---|")
    for task, label, n, t_vec, t_ref, same in rows:
        print(f"| {task} | {label} | {n:,} | {t_vec:.3f} | {n / t_vec:,.0f} | {t_ref:.3f} | "
              f"{n / t_ref:,.0f} | {t_ref / t_vec:.1f}x | {same} |")
    print()
    print("Vectorised: `placement.h3_cells` (h3ronpy) and `placement.assign_polygons` (points "
          "sorted by x, bbox prefilter, `shapely.intersects_xy` per prepared polygon). "
          "Baselines: a Python loop over `h3.latlng_to_cell`; a points GeoDataFrame + "
          "`geopandas.sjoin(predicate='intersects')`, lowest polygon index per point. "
          f"Projecting the {p_lon.size:,} police.uk points to BNG took {t_proj:.3f} s "
          f"(not included above). Best of {args.repeat} for the vectorised side, one run "
          "for the baselines.")


if __name__ == "__main__":
    main()
