"""Benchmark: remap's Gi*, local Moran and KDE against esda (run by hand, not a test).

    .venv/bin/python benchmarks/bench_hotspots.py [--cells-k 129] [--permutations 999]
        [--cells 1000000] [--no-kde]

* Gi* and LISA with 999 permutations on a contiguous H3 res-10 disk (k = 129:
  50,311 cells) with synthetic clustered counts and binary k = 1 neighbours.
  remap and esda are each timed from a fresh Python process (wall time of a
  subprocess from its start to the first result: interpreter, imports, esda's
  W from the same CSR matrix, numba compilation, the call) and warm (a second
  call in the same process). esda runs with
  ``n_jobs=1``: on a 2-core machine its default ``n_jobs=-1`` compiles numba
  in every worker and is slower from a fresh process.
* The z-scores (Gi*) and local Is / analytical z (LISA) must agree to 1e-9.
* With ``--cells N`` (issue 13: 1,000,000), also remap alone on a disk of at
  least N cells: Gi* and LISA each in a fresh process, three calls (the
  first is the cold figure, the second the warm one), wall and CPU time,
  the child's RSS with the inputs loaded and its peak during the calls
  (``VmHWM``, reset before each call through ``/proc/self/clear_refs``); then each once
  more with the draw-by-draw kernel remap used before issue 13
  (``tests/spatial/stats/dense_permutation_reference.py``) to show every
  output array is the same. esda cannot run there (``G_Local`` keeps an
  n × R array of simulated statistics: 8 GB at 1M cells and 999
  permutations), so its peer figure is the per-cell rate at ``--cells-k``
  from the same run.
* KDE of 1,000,000 points on a 1000×1000 grid: time, and the largest error
  against the exact kernel sum at a sample of cells, relative to the peak.

Prints a markdown table with the machine and date.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy import sparse

ROOT = Path(__file__).resolve().parents[1]

CHILD = r'''
import json, resource, sys, time
t0 = time.perf_counter()
method, lib, folder, perms = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
import numpy as np
from scipy import sparse
w = sparse.load_npz(folder + "/w.npz").tocsr()
y = np.load(folder + "/y.npy")
out = {}
if lib == "remap":
    sys.path.insert(0, sys.argv[5])
    if method == "gi":
        from spatial.stats.getis_ord import gi_star
        def run():
            r = gi_star(y, w, permutations=perms, seed=1)
            return {"z": r.z}
    else:
        from spatial.stats.moran import local_moran
        def run():
            r = local_moran(y, w, permutations=perms, seed=1)
            return {"Is": r.Is, "z": r.z}
    t1 = time.perf_counter()
    make_w = lambda: None
else:
    import warnings
    warnings.simplefilter("ignore")
    import libpysal
    from esda.getisord import G_Local
    from esda.moran import Moran_Local
    t1 = time.perf_counter()
    def make_w():
        return libpysal.weights.WSP(w).to_W(silence_warnings=True)
    if method == "gi":
        def run():
            g = G_Local(y, make_w(), transform="B", star=True, permutations=perms, seed=1,
                        n_jobs=1)
            return {"z": g.Zs}
    else:
        def run():
            m = Moran_Local(y, make_w(), transformation="r", permutations=perms, seed=1,
                            n_jobs=1)
            return {"Is": m.Is, "z": (m.Is - m.EI) / np.sqrt(m.VI)}
tw = time.perf_counter()
make_w()
tw = time.perf_counter() - tw
t2 = time.perf_counter()
res = run()
t3 = time.perf_counter()
c3 = time.process_time()
run()
t4 = time.perf_counter()
c4 = time.process_time()
for k, v in res.items():
    np.save(f"{folder}/{lib}_{method}_{k}.npy", np.asarray(v, dtype=float))
print(json.dumps({"import_s": t1 - t0, "first_call_s": t3 - t2, "warm_s": t4 - t3,
                  "warm_cpu_s": c4 - c3, "weights_s": tw,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "tail_s": time.perf_counter() - t3}))
'''


def h3_disk(k: int, res: int = 10) -> tuple[list[str], sparse.csr_matrix, np.ndarray]:
    import h3

    centre = h3.latlng_to_cell(53.3811, -1.4701, res)  # Sheffield city centre
    cells = sorted(h3.grid_disk(centre, k))
    index = {c: i for i, c in enumerate(cells)}
    rows: list[int] = []
    cols: list[int] = []
    for i, c in enumerate(cells):
        for d in h3.grid_ring(c, 1):
            j = index.get(d)
            if j is not None:
                rows.append(i)
                cols.append(j)
    n = len(cells)
    w = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    lat, lng = np.array([h3.cell_to_latlng(c) for c in cells]).T
    return cells, w, np.c_[lat, lng]


def synthetic_counts(latlng: np.ndarray, seed: int = 0) -> np.ndarray:
    """Background 0.05 events per cell plus a few Gaussian hotspots (clustered, mostly zero)."""
    rng = np.random.default_rng(seed)
    y_km = (latlng[:, 0] - latlng[:, 0].mean()) * 111.2
    x_km = (latlng[:, 1] - latlng[:, 1].mean()) * 111.2 * np.cos(np.radians(53.38))
    rate = np.full(latlng.shape[0], 0.05)
    for _ in range(12):
        cx, cy = rng.uniform(-12, 12, 2)
        s = rng.uniform(0.3, 1.5)
        rate += rng.uniform(1, 6) * np.exp(-((x_km - cx) ** 2 + (y_km - cy) ** 2) / (2 * s * s))
    return rng.poisson(rate).astype(float)


def run_child(method: str, lib: str, folder: str, perms: int) -> dict[str, float]:
    script = Path(folder) / "child.py"
    script.write_text(CHILD)
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, str(script), method, lib, folder, str(perms),
                           str(ROOT)], capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(f"{lib} {method} failed:\n{proc.stderr}")
    out: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    out["fresh_wall_s"] = wall - out["tail_s"]  # start of the process to the first result
    return out

LARGE_CHILD = r'''
import json, sys, time
t0 = time.perf_counter()
method, kernel, folder, perms, root = sys.argv[1:6]
perms = int(perms)
sys.path.insert(0, root)
import numpy as np
from scipy import sparse
from spatial.stats.getis_ord import gi_star
from spatial.stats.moran import local_moran
if kernel == "reference":
    import spatial.stats.permutation as engine
    from tests.spatial.stats.dense_permutation_reference import dense_conditional_randomization
    engine.conditional_randomization = dense_conditional_randomization
w = sparse.load_npz(folder + "/w.npz").tocsr()
y = np.load(folder + "/y.npy")
statistic = gi_star if method == "gi" else local_moran


def status_mb(field):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field)) / 1024


def reset_peak():
    # Linux: writing 5 to clear_refs resets VmHWM (the peak RSS) to the current RSS
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


rss_inputs = status_mb("VmRSS:")
calls, cpus, first_done, peak = [], [], None, 0.0
for _ in range(3 if kernel == "remap" else 1):
    reset_peak()
    t, c = time.perf_counter(), time.process_time()
    res = statistic(y, w, permutations=perms, seed=1)
    calls.append(time.perf_counter() - t)
    cpus.append(time.process_time() - c)
    peak = max(peak, status_mb("VmHWM:"))
    first_done = first_done or time.perf_counter()
np.savez(f"{folder}/{kernel}_{method}.npz",
         **{k: v for k, v in vars(res).items() if isinstance(v, np.ndarray)})
print(json.dumps({"calls_s": calls, "cpu_s": cpus, "rss_inputs_mb": rss_inputs,
                  "peak_rss_mb": peak,
                  "tail_s": time.perf_counter() - first_done}))
'''


def disk_radius(cells: int) -> int:
    """Smallest H3 disk radius k with at least ``cells`` cells (3k(k + 1) + 1)."""
    k = 0
    while 3 * k * (k + 1) + 1 < cells:
        k += 1
    return k


def run_large(method: str, kernel: str, folder: str, perms: int) -> dict[str, object]:
    script = Path(folder) / "large_child.py"
    script.write_text(LARGE_CHILD)
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, str(script), method, kernel, folder, str(perms),
                           str(ROOT)], capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(f"{kernel} {method} failed:\n{proc.stderr}")
    out: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    tail = out["tail_s"]
    assert isinstance(tail, float)
    out["fresh_wall_s"] = wall - tail
    return out


def bench_large(cells: int, perms: int) -> tuple[str, dict[str, dict[str, object]],
                                                 dict[str, float]]:
    """remap's Gi* and LISA on a disk of at least ``cells`` H3 cells, and the largest
    difference of every output array from the draw-by-draw kernel's."""
    k = disk_radius(cells)
    t = time.perf_counter()
    hex_cells, w, latlng = h3_disk(k)
    y = synthetic_counts(latlng)
    setup = time.perf_counter() - t
    timings: dict[str, dict[str, object]] = {}
    diffs: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        sparse.save_npz(f"{folder}/w.npz", w)
        np.save(f"{folder}/y.npy", y)
        del w
        for method in ("gi", "lisa"):
            timings[method] = run_large(method, "remap", folder, perms)
            load = os.getloadavg()[0]
            timings[method]["load_after"] = load
            timings[f"{method} reference"] = run_large(method, "reference", folder, perms)
            new = np.load(f"{folder}/remap_{method}.npz")
            old = np.load(f"{folder}/reference_{method}.npz")
            for key in new.files:
                a, b = new[key], old[key]
                if a.dtype.kind not in "fiu":  # labels
                    diffs[f"{method} {key}"] = 0.0 if np.array_equal(a, b) else float("inf")
                    continue
                a, b = a.astype(float), b.astype(float)
                if not np.array_equal(np.isnan(a), np.isnan(b)):
                    diffs[f"{method} {key}"] = float("inf")
                    continue
                both = ~np.isnan(a)
                diffs[f"{method} {key}"] = float(np.max(np.abs(a[both] - b[both]), initial=0.0))
    head = (f"{len(hex_cells):,} H3 res-10 cells (disk k={k}), {int(y.sum()):,} synthetic "
            f"events ({(y > 0).mean():.1%} of cells non-zero), {perms} permutations "
            f"(one stage), k=1 neighbours; setup {setup:.0f} s")
    return head, timings, diffs


def bench_kde(n_points: int, grid: int) -> dict[str, float]:
    sys.path.insert(0, str(ROOT))
    from spatial.stats.density import kde
    from spatial.stats.kernels import direct_density

    rng = np.random.default_rng(1)
    # a city-like pattern on a 20 km square: clusters plus background, metres
    centres = rng.uniform(2000, 18000, (40, 2))
    k = rng.integers(0, 40, n_points // 2)
    pts = np.concatenate([centres[k] + rng.normal(0, 400, (k.size, 2)),
                          rng.uniform(0, 20000, (n_points - k.size, 2))])
    x, y = pts[:, 0], pts[:, 1]
    cell = 20000 / grid
    t = time.perf_counter()
    res = kde(x, y, cell_size_m=cell, bandwidth_m=150.0, bounds=(0, 0, 20000, 20000))
    first = time.perf_counter() - t
    t = time.perf_counter()
    res = kde(x, y, cell_size_m=cell, bandwidth_m=150.0, bounds=(0, 0, 20000, 20000))
    warm = time.perf_counter() - t
    peak = np.unravel_index(np.argmax(res.density), res.density.shape)
    rows = np.r_[rng.integers(0, grid, 150), peak[0] + np.arange(-3, 4)]
    cols = np.r_[rng.integers(0, grid, 150), peak[1] + np.arange(-3, 4)]
    t = time.perf_counter()
    exact = direct_density(res, x, y, rows, cols)
    exact_s = time.perf_counter() - t
    err = float(np.abs(res.density[rows, cols] - exact).max() / exact.max())
    return {"first_s": first, "warm_s": warm, "rel_err_of_peak": err, "cells_checked": rows.size,
            "exact_s": exact_s, "mass_in_grid": res.mass_in_grid, "cell_m": cell}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cells-k", type=int, default=129, help="H3 disk radius (129: 50,311 cells)")
    ap.add_argument("--permutations", type=int, default=999)
    ap.add_argument("--kde-points", type=int, default=1_000_000)
    ap.add_argument("--kde-grid", type=int, default=1000)
    ap.add_argument("--cells", type=int, default=0,
                    help="also remap alone on at least this many cells (e.g. 1000000)")
    ap.add_argument("--no-kde", action="store_true", help="skip the KDE benchmark")
    args = ap.parse_args()
    load_start = os.getloadavg()

    t = time.perf_counter()
    cells, w, latlng = h3_disk(args.cells_k)
    y = synthetic_counts(latlng)
    setup_s = time.perf_counter() - t
    rows = []
    agree: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        sparse.save_npz(f"{folder}/w.npz", w)
        np.save(f"{folder}/y.npy", y)
        for method in ("gi", "lisa"):
            timings = {lib: run_child(method, lib, folder, args.permutations)
                       for lib in ("remap", "esda")}
            for lib, tm in timings.items():
                rows.append((method, lib, tm))
            for key in (("z",) if method == "gi" else ("Is", "z")):
                a = np.load(f"{folder}/remap_{method}_{key}.npy")
                b = np.load(f"{folder}/esda_{method}_{key}.npy")
                agree[f"{method} {key}"] = float(np.nanmax(np.abs(a - b)))
    kd = None if args.no_kde else bench_kde(args.kde_points, args.kde_grid)
    large = bench_large(args.cells, args.permutations) if args.cells else None

    print(f"## remap hotspot benchmark, {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}\n")
    u = platform.uname()
    print(f"Machine: `{u.system} {u.release} {u.machine}`, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}, NumPy {np.__version__}; load average "
          f"{load_start[0]:.2f} at the start, {os.getloadavg()[0]:.2f} at the end\n")
    print(f"{len(cells):,} H3 res-10 cells (disk k={args.cells_k}), {int(w.nnz):,} neighbour "
          f"links, {int(y.sum()):,} synthetic events ({(y > 0).mean():.1%} of cells non-zero), "
          f"{args.permutations} permutations; setup {setup_s:.1f} s\n")
    print("| statistic | library | fresh process to result (s) | imports (s) | esda W (s) "
          "| first call (s) | warm call (s) | warm call CPU (s) | peak RSS (MB) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for method, lib, tm in rows:
        name = "Gi*" if method == "gi" else "local Moran"
        wcol = f"{tm['weights_s']:.2f}" if lib == "esda" else "-"
        print(f"| {name} | {lib} | {tm['fresh_wall_s']:.2f} | {tm['import_s']:.2f} | {wcol} "
              f"| {tm['first_call_s']:.2f} | {tm['warm_s']:.2f} | {tm['warm_cpu_s']:.2f} "
              f"| {tm['peak_rss_mb']:.0f} |")
    print()
    speed = {m: {lib: tm for mm, lib, tm in rows if mm == m} for m in ("gi", "lisa")}
    for m, name in (("gi", "Gi*"), ("lisa", "local Moran")):
        fresh = speed[m]["esda"]["fresh_wall_s"] / speed[m]["remap"]["fresh_wall_s"]
        warm = speed[m]["esda"]["warm_s"] / speed[m]["remap"]["warm_s"]
        cpu = speed[m]["esda"]["warm_cpu_s"] / speed[m]["remap"]["warm_cpu_s"]
        print(f"- {name}: remap is {fresh:.1f}× faster from a fresh process, {warm:.1f}× warm "
              f"({cpu:.1f}× in CPU time)")
    for k, v in agree.items():
        print(f"- max |remap − esda| {k}: {v:.2e} ({'OK' if v <= 1e-9 else 'FAIL'} at 1e-9)")
    print()
    if large is not None:
        print_large(large, speed, len(cells))
    if kd is None:
        return
    print("| KDE | points | grid | cell (m) | bandwidth (m) | first call (s) | warm (s) "
          "| max error / peak | cells checked | mass in grid |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| gaussian, linear binning + FFT | {args.kde_points:,} | {args.kde_grid}×{args.kde_grid} "
          f"| {kd['cell_m']:g} | 150 | {kd['first_s']:.2f} | {kd['warm_s']:.2f} "
          f"| {100 * kd['rel_err_of_peak']:.3f} % | {int(kd['cells_checked'])} "
          f"| {kd['mass_in_grid']:.4f} |")


def print_large(large: tuple[str, dict[str, dict[str, object]], dict[str, float]],
                speed: dict[str, dict[str, dict[str, float]]], small_cells: int) -> None:
    head, timings, diffs = large
    n_large = int(head.split(" ")[0].replace(",", ""))
    print(f"remap alone: {head}\n")
    print("| statistic | fresh process to result (s) | cold call (s) | warm call (s) "
          "| third call (s) | warm CPU (s) | RSS before (MB) | peak RSS in the calls (MB) "
          "| load after |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for m, name in (("gi", "Gi*"), ("lisa", "local Moran")):
        tm = timings[m]
        calls, cpus = tm["calls_s"], tm["cpu_s"]
        peak, inputs = tm["peak_rss_mb"], tm["rss_inputs_mb"]
        assert isinstance(calls, list) and isinstance(cpus, list)
        assert isinstance(peak, float) and isinstance(inputs, float)
        print(f"| {name} | {tm['fresh_wall_s']:.2f} | {calls[0]:.2f} | {calls[1]:.2f} "
              f"| {calls[2]:.2f} | {cpus[1]:.2f} | {inputs:.0f} | {peak:.0f} "
              f"| {tm['load_after']:.2f} |")
    for m, name in (("gi", "Gi*"), ("lisa", "local Moran")):
        tm = timings[f"{m} reference"]
        calls, cpus = tm["calls_s"], tm["cpu_s"]
        peak, inputs = tm["peak_rss_mb"], tm["rss_inputs_mb"]
        assert isinstance(calls, list) and isinstance(cpus, list)
        assert isinstance(peak, float) and isinstance(inputs, float)
        print(f"| {name}, draw-by-draw kernel (before issue 13) | {tm['fresh_wall_s']:.2f} "
              f"| {calls[0]:.2f} (CPU {cpus[0]:.2f}) | - | - | - | {inputs:.0f} | {peak:.0f} "
              f"| - |")
    print()
    for m, name in (("gi", "Gi*"), ("lisa", "local Moran")):
        calls, cpus = timings[m]["calls_s"], timings[m]["cpu_s"]
        assert isinstance(calls, list) and isinstance(cpus, list)
        esda = speed[m]["esda"]
        per_cell_esda = esda["warm_s"] / small_cells
        per_cell_cpu = esda["warm_cpu_s"] / small_cells
        print(f"- {name}: warm {calls[1]:.2f} s wall, {cpus[1]:.2f} s CPU for {n_large:,} cells; "
              f"esda's warm rate at {small_cells:,} cells in this run "
              f"({esda['warm_s']:.2f} s, {esda['warm_cpu_s']:.2f} s CPU) would take "
              f"{per_cell_esda * n_large:.0f} s ({per_cell_cpu * n_large:.0f} s CPU) for "
              f"{n_large:,}: ratio {per_cell_esda * n_large / calls[1]:.0f}× wall, "
              f"{per_cell_cpu * n_large / cpus[1]:.0f}× CPU")
    worst = max(diffs.values())
    print(f"- every output array against the draw-by-draw kernel (same seed): max |difference| "
          f"{worst:.1e} over {len(diffs)} arrays "
          f"({', '.join(k for k, v in diffs.items() if v)} differ)" if worst else
          f"- every output array against the draw-by-draw kernel (same seed): identical "
          f"({len(diffs)} arrays: {', '.join(diffs)})")
    print()


if __name__ == "__main__":
    main()
