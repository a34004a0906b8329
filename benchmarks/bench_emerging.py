"""Benchmark and calibration of Emerging Hot Spot Analysis inference (run by hand).

    .venv/bin/python benchmarks/bench_emerging.py [--cubes 50] [--radius 10] [--steps 24]

Null cubes: Poisson counts with one mean for every bin (no cluster, no trend) on
the cells of an H3 resolution-9 disk (``--radius 10``: 331 cells) with ring-1
neighbours, ``--steps`` time steps, space-time neighbourhood of 1 previous step.
For each mean and each inference (normal-theory Gi* p; conditional permutation,
``gi_star``'s staged engine up to 49,999 draws; total randomisation, 49,999 draws,
the default) it reports the share of units put
into any hot or cold category, the share of cubes with at least one such unit,
and the median seconds per cube. Every hot spot here is false.

Then a planted case: +4 events a step in the centre cell and its 6 neighbours in
the last 6 steps, which the defaults must find (share of cubes where the centre
is a new or consecutive hot spot).

Prints markdown with the machine, date and load.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
from scipy import sparse

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from spatial.stats.emerging import emerging_hot_spots  # noqa: E402


def disk(radius: int) -> tuple[sparse.csr_matrix, int, np.ndarray]:
    import h3

    centre = h3.latlng_to_cell(53.3811, -1.4701, 9)
    cells = sorted(h3.grid_disk(centre, radius))
    pos = {c: i for i, c in enumerate(cells)}
    pairs = [(i, pos[d]) for i, c in enumerate(cells) for d in h3.grid_ring(c, 1) if d in pos]
    r, c = np.array(pairs).T
    n = len(cells)
    w = sparse.csr_matrix((np.ones(r.size), (r, c)), shape=(n, n))
    ci = pos[centre]
    return w, ci, np.r_[ci, w.indices[w.indptr[ci]:w.indptr[ci + 1]]]


VARIANTS = {"normal": {"permutations": 0},
            "conditional (gi_star's staged, to 49,999)": {"inference": "conditional"},
            "total randomisation (default: 49,999 to 999,999 draws)": {}}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cubes", type=int, default=50)
    ap.add_argument("--radius", type=int, default=10)
    ap.add_argument("--steps", type=int, default=24)
    ap.add_argument("--means", default="0.1,0.5,2")
    args = ap.parse_args()
    w, centre, block = disk(args.radius)
    n = w.shape[0]
    print(f"### Emerging hot spots on null cubes (`bench_emerging.py`, "
          f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC)\n")
    print(f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"load average before {os.getloadavg()[0]:.2f}. {n} H3 res-9 cells (ring-1), "
          f"{args.steps} steps, time_steps=1, alpha 0.05 after BH FDR over all "
          f"{n * args.steps:,} bins; {args.cubes} cubes per row, seeds 0..{args.cubes - 1}.\n")
    print("| mean per bin | inference | units categorised | cubes with any | s per cube |")
    print("|---:|---|---:|---:|---:|")
    for mean in (float(m) for m in args.means.split(",")):
        for name, kw in VARIANTS.items():
            flagged = cubes_any = 0
            secs = []
            for seed in range(args.cubes):
                rng = np.random.default_rng(seed)
                counts = rng.poisson(mean, size=(n, args.steps))
                t0 = time.perf_counter()
                res = emerging_hot_spots(counts, w, seed=seed, **kw)  # type: ignore[arg-type]
                secs.append(time.perf_counter() - t0)
                k = int(np.count_nonzero(res.code != 0))
                flagged += k
                cubes_any += k > 0
            print(f"| {mean:g} | {name} | {flagged / (n * args.cubes):.2%} | "
                  f"{cubes_any}/{args.cubes} | {np.median(secs):.2f} |", flush=True)
    found = 0
    for seed in range(args.cubes):
        rng = np.random.default_rng(1000 + seed)
        counts = rng.poisson(0.5, size=(n, args.steps))
        counts[np.ix_(block, range(args.steps - 6, args.steps))] += 4
        res = emerging_hot_spots(counts, w, seed=seed)
        found += res.category[centre] in ("new_hot", "consecutive_hot")
    print(f"\nPlanted (+4 a step in 7 cells, last 6 steps, mean 0.5): centre new or consecutive "
          f"hot spot in {found}/{args.cubes} cubes (defaults). Load average after "
          f"{os.getloadavg()[0]:.2f}.")


if __name__ == "__main__":
    main()
