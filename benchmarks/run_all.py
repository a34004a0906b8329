"""Every benchmark in one command, each against its peer, appended to RESULTS.md.

    .venv/bin/python benchmarks/run_all.py            # the full suite (an hour or more)
    .venv/bin/python benchmarks/run_all.py --quick    # smaller inputs, a few minutes
    .venv/bin/python benchmarks/run_all.py --only import --only hotspots
    .venv/bin/python benchmarks/run_all.py --list

Each stage runs its script (``benchmarks/*.py``) in a fresh process from the
repository root and records its output as it printed it (the peer's figures and
the ratio are in that output: each script times remap and its peer in the same
run). The section written to ``benchmarks/RESULTS.md`` (or ``--out``) starts with
the machine (CPU, cores, memory), the date, the commit and the load average
before and after every stage, since a shared machine inflates wall times; a
stage that fails is recorded with its exit code and the end of its error
output, and the run goes on.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Stage:
    name: str
    script: str
    peer: str
    args: tuple[str, ...] = ()
    quick_args: tuple[str, ...] = ()


STAGES: tuple[Stage, ...] = (
    Stage("cli-start", "bench_cli_start.py", "the CLI before its imports were made lazy",
          ("--runs", "10"), ("--runs", "3")),
    Stage("ingest", "bench_ingest.py", "pandas read_csv + h3ronpy + to_sql, SQLite and "
          "PostgreSQL", ("--repeat", "3"), ("--repeat", "1")),
    Stage("import", "bench_import.py", "per-stage times and peak memory, SQLite and PostgreSQL"),
    Stage("growth", "bench_growth.py", "pandas read_csv + h3ronpy + to_sql where it fits in "
          "memory", ("--sizes", "100000,1000000,5000000,20000000"),
          ("--sizes", "100000", "--pg-max", "100000", "--peer-max", "100000")),
    Stage("placement", "bench_placement.py", "a per-point h3 loop and geopandas sjoin",
          (), ("--repeat", "1")),
    Stage("contiguity", "bench_contiguity.py", "libpysal Queen weights"),
    Stage("hotspots", "bench_hotspots.py", "esda G_Local / Moran_Local cold and warm; KDEpy",
          (), ("--cells-k", "40", "--kde-points", "100000", "--kde-grid", "400")),
    Stage("operation", "bench_operation.py", "the report over ~1M stored events",
          (), ("--scale", "3", "--repeat", "1")),
    Stage("near-repeat", "near_repeat.py", "a pairwise per-permutation loop"),
    Stage("emerging", "bench_emerging.py", "normal-theory Gi* on null cubes",
          (), ("--cubes", "5")),
    Stage("reemergence", "reemergence_calibration.py", "the stated false-alarm rate",
          (), ("--runs", "200")),
    Stage("verdict", "verdict_calibration.py", "the additive WDD test alone",
          (), ("--null", "500", "--planted", "100")),
    Stage("load", "bench_load.py", "the same requests with the response cache off",
          (), ("--requests", "1000", "--uncached-requests", "50", "--revalidate", "1000")),
    Stage("streets", "bench_streets.py", "geopandas sjoin_nearest(max_distance)",
          (), ("--points", "100000", "--repeat", "1")),
    Stage("ogc", "bench_ogc.py", "GDAL's ogr2ogr paging against the bulk download",
          ("--page-size", "10000"), ("--page-size", "10000")),
    Stage("geocode", "bench_geocode.py", "a per-row regex + dict loop; one address per call",
          ("--store",), ("--directory", "260000", "--queries", "100000",
                         "--addresses-queries", "2000")),
)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = next(int(line.split()[1]) for line in
                      Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal"))
        mem = f"{mem_kb / 2**20:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        mem = "unknown memory"
    return (f"{cpu}, {os.cpu_count()} cores, {mem}; Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}")


def commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                          capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


def load() -> str:
    return " / ".join(f"{v:.1f}" for v in os.getloadavg())


def run_stage(stage: Stage, quick: bool, timeout: float) -> str:
    args = stage.quick_args if quick else stage.args
    cmd = [sys.executable, str(ROOT / "benchmarks" / stage.script), *args]
    before = load()
    t0 = time.perf_counter()
    try:
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
        code: int | str = done.returncode
        out, err = done.stdout, done.stderr
    except subprocess.TimeoutExpired as exc:
        code = f"stopped after {timeout:.0f} s"
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        err = ""
    seconds = time.perf_counter() - t0
    head = (f"#### {stage.name} (`{stage.script} {' '.join(args)}`; peer: {stage.peer})\n\n"
            f"{seconds:.0f} s; load average (1/5/15 min) before {before}, after {load()}; "
            f"exit {code}\n")
    body = out.strip() or "(no output)"
    if code != 0:
        body += "\n--- error output (end) ---\n" + "\n".join(err.strip().splitlines()[-15:])
    return f"{head}\n```\n{body}\n```\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller inputs, a few minutes")
    ap.add_argument("--only", action="append", choices=[s.name for s in STAGES],
                    help="run only this stage (repeat for several)")
    ap.add_argument("--list", action="store_true", help="list the stages and stop")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "RESULTS.md")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds per stage")
    args = ap.parse_args()
    stages = [s for s in STAGES if not args.only or s.name in args.only]
    if args.list:
        for s in stages:
            print(f"{s.name:12} benchmarks/{s.script:28} peer: {s.peer}")
        return
    started = datetime.now(UTC)
    parts = [f"\n\n### Benchmark suite (`run_all.py{' --quick' if args.quick else ''}`, "
             f"{started:%Y-%m-%d %H:%M} UTC, commit {commit()})\n\n"
             f"Machine: {machine()}. Load average (1/5/15 min) at the start: {load()}. "
             "Wall times on a shared machine are inflated; the ratios to each peer are "
             "measured in the same run.\n"]
    for stage in stages:
        print(f"... {stage.name}", file=sys.stderr, flush=True)
        parts.append(run_stage(stage, args.quick, args.timeout))
    with args.out.open("a", encoding="utf-8") as f:
        f.write("\n".join(parts))
    print(f"written to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
