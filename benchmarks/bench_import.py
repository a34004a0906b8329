"""Import throughput for the 15 police.uk files (run by hand, not a test).

Each backend is measured in a fresh process: rows/s, time per stage (parse,
validate, place, write) and peak resident memory. Prints a markdown table for
benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/bench_import.py [--postgres URL]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("REMAP_SHARED_DATA", ROOT.parent / "shared" / "data")) / "policeuk"

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
t0 = time.perf_counter()
from service.app.importer import import_events
from service.store import Store
url, data = sys.argv[1], Path(sys.argv[2])
store = Store(url)
files = sorted(data.glob("*.csv"))
t1 = time.perf_counter()
rep = import_events(store, [(f.name, f) for f in files], fmt="policeuk", layer="crime")
t2 = time.perf_counter()
again = import_events(store, [(f.name, f) for f in files], fmt="policeuk", layer="crime")
t3 = time.perf_counter()
print(json.dumps({"rows": rep.accepted + rep.rejected, "accepted": rep.accepted,
                  "inserted": rep.inserted, "timings": rep.timings_s, "import_s": t2 - t1,
                  "startup_s": t1 - t0, "reimport_s": t3 - t2, "reimport_inserted": again.inserted,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(url: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, url, str(DATA)], cwd=ROOT, check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--postgres", default="postgresql+psycopg://postgres:postgres@127.0.0.1/"
                                          "remap_bench")
    args = ap.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["SQLite"] = run(f"sqlite:///{tmp}/bench.db")
    import sqlalchemy as sa

    admin = sa.create_engine(args.postgres.rsplit("/", 1)[0] + "/postgres",
                             isolation_level="AUTOCOMMIT")
    name = args.postgres.rsplit("/", 1)[1]
    with admin.connect() as c:
        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    results["PostgreSQL/PostGIS"] = run(args.postgres)
    with admin.connect() as c:
        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    print(f"### Import of the 15 police.uk files ({date.today()}, {platform.machine()}, "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()})\n")
    print("| store | rows | accepted | import s | rows/s | parse s | validate s | place s | "
          "write s | re-import s (adds) | peak RSS MB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in results.items():
        t = r["timings"]
        print(f"| {name} | {r['rows']:,} | {r['accepted']:,} | {r['import_s']:.1f} | "
              f"{r['rows'] / r['import_s']:,.0f} | {t['parse']:.2f} | {t['validate']:.2f} | "
              f"{t['place']:.2f} | {t['write']:.2f} | {r['reimport_s']:.1f} "
              f"({r['reimport_inserted']}) | {r['peak_rss_mb']:.0f} |")
    _ = time


if __name__ == "__main__":
    main()
