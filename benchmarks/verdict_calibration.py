"""Error rates of the operation verdict on simulated operations, as a Markdown table.

Usage: ``.venv/bin/python benchmarks/verdict_calibration.py [--null 5000] [--planted 1000]``.
Each scenario of :data:`spatial.evaluation.simulation.SCENARIOS` is simulated
(Poisson counts, planted multiplicative effects, a shared trend) and decided
by :func:`spatial.evaluation.verdict.decide`; the table gives the share of
runs read right, the share with any claim of a change, and what the additive
local WDD test alone would have claimed. Paste the output into RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from datetime import UTC, datetime

import numpy as np

from spatial.evaluation.simulation import verdict_calibration


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--null", type=int, default=5000, help="runs per null scenario")
    ap.add_argument("--planted", type=int, default=1000, help="runs per planted scenario")
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args()
    t0 = time.perf_counter()
    rates = verdict_calibration(np.random.default_rng(args.seed), args.null, args.planted)
    took = time.perf_counter() - t0
    print(f"### Verdict calibration (`verdict_calibration.py`, "
          f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC)\n")
    print(f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, Python "
          f"{platform.python_version()}; load {os.getloadavg()[0]:.2f}; seed {args.seed}; "
          f"{took:.1f} s.\n")
    print("| scenario (target:buffer:control before counts) | runs | read right | any claim "
          "| additive local test claims |")
    print("|---|---:|---:|---:|---:|")
    for r in rates:
        b = r.scenario.baseline
        base = f"{b['target']:g}:{b['buffer']:g}:{b['control']:g}"
        print(f"| {r.scenario.name} ({base}) | {r.runs} | {100 * r.right:.1f} % "
              f"| {100 * r.claimed:.1f} % | {100 * r.additive_claimed:.1f} % |")


if __name__ == "__main__":
    main()
