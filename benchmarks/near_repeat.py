"""The Knox near-repeat test: remap's ``knox_table`` against a plain pairwise peer.

Run by hand: ``.venv/bin/python benchmarks/near_repeat.py``. Data: the Tempe opioid
overdose call-outs (``../shared/data/ems/tempe_opioid_calls.csv`` or
``REMAP_SHARED_DATA``; 3,379 events, UTM 12N metres, whole days). The peer is what one
writes first: every pair of events once (``np.triu_indices``, distance rows computed
once), then for each permutation a Python loop step that permutes the dates, takes every
pair's days apart and ``np.bincount``s the 7 x 6 table. Both use the default bands
(100 m x 5, 7 days x 5) and the same number of permutations; the tables of the observed
data must be identical, the expected tables agree within Monte Carlo error. Prints best of
3 wall times, the load average and the ratio.
"""

from __future__ import annotations

import csv
import os
import platform
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from spatial.place import crs  # noqa: E402
from spatial.stats.near_repeat import knox_table  # noqa: E402

DATA = Path(os.environ.get("REMAP_SHARED_DATA", ROOT.parent / "shared" / "data"))
PERMUTATIONS = 199


def load() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lon, lat, day = [], [], []
    with (DATA / "ems" / "tempe_opioid_calls.csv").open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            lon.append(float(row["longitude"]))
            lat.append(float(row["latitude"]))
            day.append(date.fromisoformat(row["incident_date"]).toordinal())
    x, y = crs.to_metric(np.array(lon), np.array(lat), 32612)
    return x, y, np.array(day, dtype=np.int64)


def peer(x: np.ndarray, y: np.ndarray, days: np.ndarray, permutations: int,
         seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Every pair, every permutation: the observed table and the mean simulated table."""
    i, j = np.triu_indices(len(x), 1)
    d = np.hypot(x[i] - x[j], y[i] - y[j])
    row = np.where(d == 0, 0, np.minimum(np.ceil(d / 100.0), 6)).astype(np.int64) * 6

    def table(t: np.ndarray) -> np.ndarray:
        dt = np.abs(t[i] - t[j])
        col = np.minimum(np.where(dt == 0, 0, (dt - 1) // 7), 5)
        return np.bincount(row + col, minlength=42).reshape(7, 6)

    observed = table(days)
    rng = np.random.default_rng(seed)
    total = np.zeros((7, 6))
    for _ in range(permutations):
        total += table(rng.permutation(days))
    return observed, total / permutations


def best(f, k: int = 3):  # type: ignore[no-untyped-def]
    times, out = [], None
    for _ in range(k):
        t = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t)
    return min(times), out


def main() -> None:
    x, y, days = load()
    n = len(x)
    load_before = os.getloadavg()
    t_remap, r = best(lambda: knox_table(x, y, days, permutations=PERMUTATIONS, seed=1))
    t_peer, (obs, exp) = best(lambda: peer(x, y, days, PERMUTATIONS, 1))
    t_999, _ = best(lambda: knox_table(x, y, days, permutations=999, seed=1), k=1)
    load_after = os.getloadavg()
    assert (obs == r.observed).all(), "observed tables differ"
    rel = np.abs(exp - r.expected) / np.maximum(r.expected_exact, 1.0)
    print(f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"NumPy {np.__version__}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f}")
    print(f"Tempe: {n:,} events, {n * (n - 1) // 2:,} pairs, {r.candidate_pairs:,} within "
          f"500 m; {PERMUTATIONS} permutations")
    print(f"remap knox_table: {t_remap:.2f} s; peer (every pair, loop of permutations): "
          f"{t_peer:.2f} s; ratio peer/remap {t_peer / t_remap:.1f}x")
    print(f"remap with 999 permutations: {t_999:.2f} s")
    print(f"observed tables identical; largest expected difference / max(expected, 1) "
          f"{rel.max():.2e} (the same seed draws the same permutations in both)")


if __name__ == "__main__":
    main()
