"""Re-emergence watch on simulated weekly series: detection delay and false alarms.

Each run draws a pre-operation period (12 weeks at the pre level), a
post-operation baseline (12 weeks at the post level) and 104 monitored weeks;
the watch (:func:`spatial.evaluation.reemergence.watch_charts`: rule ``pre``,
ARL0 = 52 weeks per series, h accounting for the estimation of the post
level) is designed from each run's own draws, as in use. Null runs stay at
the post level; return runs go back to the pre level from week 52 of the
monitoring (:func:`spatial.evaluation.reemergence.simulate_watch`). Seeded.

Run: ``python -m benchmarks.reemergence_calibration [--runs N]``; prints the
Markdown table of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import time

from spatial.evaluation.reemergence import DEFAULT_ARL0, ReturnScenario, simulate_watch

SCENARIOS = (ReturnScenario(10, 4), ReturnScenario(4, 1.5), ReturnScenario(2, 0.5),
             ReturnScenario(1, 0.2))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=20240612)
    args = ap.parse_args()
    target = 1.0 / DEFAULT_ARL0["week"]
    t0 = time.perf_counter()
    print(f"{args.runs} null and {args.runs} return runs per scenario, seed {args.seed}; "
          f"stated false-alarm rate {target:.4f} a week per series (ARL0 52 weeks)\n")
    print("| pre level /wk | post level /wk | false alarms /wk (SE) | ratio to stated | "
          "detected <= 2 wk | <= 4 wk | <= 8 wk | median delay (wk) |")
    print("|---|---|---|---|---|---|---|---|")
    for sc in SCENARIOS:
        r = simulate_watch(sc, args.runs, args.seed)
        d = r.detected_within
        print(f"| {sc.mu_pre:g} | {sc.mu0:g} | {r.false_alarms_per_period:.4f} "
              f"({r.false_alarm_se:.4f}) | {r.false_alarms_per_period / target:.2f} | "
              f"{100 * d[2]:.1f} % | {100 * d[4]:.1f} % | {100 * d[8]:.1f} % | "
              f"{r.median_delay:g} |")
    print(f"\n({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
