"""Ingest of the 15 police.uk files: remap's import against plain pandas + ``to_sql``.

Run by hand (not a test). Each measurement runs in a fresh process, in this
order per backend: remap's import (parse, validate, H3 placement, exact
placement in a stored boundary set, duplicate check, write with indexes,
audit), the same import again (must add 0), then the baseline: ``pandas.read_csv``
of the same files, rows without coordinates dropped, H3 cells by h3ronpy and
``DataFrame.to_sql`` into a fresh table (no validation, no keys, no indexes).

Printed per run: wall seconds, rows/s (rows read / wall), CPU seconds of the
importing process (user + system; the PostgreSQL server's own CPU is not
in it), peak RSS, and the ratio remap / baseline. The machine is shared, so
the load average is printed before and after.

    .venv/bin/python benchmarks/bench_ingest.py [--postgres URL] [--no-boundaries]
        [--repeat N] [--only sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("REMAP_SHARED_DATA", ROOT.parent / "shared" / "data"))
DATA = SHARED / "policeuk"
NHOOD = SHARED / "boundaries" / "sheffield" / "sheffield_nhood.geojson"

REMAP = r"""
import json, resource, sys, time
from pathlib import Path
from service.app.importer import import_boundaries, import_events
from service.store import Store
url, data, nhood = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
store = Store(url)
if nhood:
    import_boundaries(store, nhood, file_name=Path(nhood).name, name="sheffield_nhood",
                      id_field="nhood_code", label_field="nhood_name")
files = sorted(data.glob("*.csv"))
c0, t0 = time.process_time(), time.perf_counter()
rep = import_events(store, [(f.name, f) for f in files], fmt="policeuk", layer="crime")
t1, c1 = time.perf_counter(), time.process_time()
again = import_events(store, [(f.name, f) for f in files], fmt="policeuk", layer="crime")
t2, c2 = time.perf_counter(), time.process_time()
print(json.dumps({"rows": rep.accepted + rep.rejected, "accepted": rep.accepted,
                  "rejected": rep.rejected, "inserted": rep.inserted,
                  "placed_in": rep.boundary_sets_placed, "timings": rep.timings_s,
                  "wall_s": t1 - t0, "cpu_s": c1 - c0, "reimport_s": t2 - t1,
                  "reimport_cpu_s": c2 - c1, "reimport_inserted": again.inserted,
                  "reimport_duplicates": again.duplicates,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

BASELINE = r"""
import json, resource, sys, time
from pathlib import Path
import numpy as np
import pandas as pd
import sqlalchemy as sa
from h3ronpy.vector import coordinates_to_cells
import h3ronpy
url, data = sys.argv[1], Path(sys.argv[2])
engine = sa.create_engine(url)
files = sorted(data.glob("*.csv"))
c0, t0 = time.process_time(), time.perf_counter()
frames = [pd.read_csv(f) for f in files]
df = pd.concat(frames, ignore_index=True)
rows = len(df)
df = df.dropna(subset=["Longitude", "Latitude"]).reset_index(drop=True)
cells = coordinates_to_cells(df["Latitude"].to_numpy(), df["Longitude"].to_numpy(), 11)
df["h3"] = np.asarray(h3ronpy.cells_to_string(np.asarray(cells, dtype=np.uint64)),
                      dtype=object)
df.to_sql("baseline_events", engine, if_exists="replace", index=False, chunksize=10_000)
t1, c1 = time.perf_counter(), time.process_time()
print(json.dumps({"rows": rows, "stored": len(df), "wall_s": t1 - t0, "cpu_s": c1 - c0,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def child(code: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def fresh_postgres(url: str) -> None:
    import sqlalchemy as sa

    admin = sa.create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    name = url.rsplit("/", 1)[1]
    with admin.connect() as c:
        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def measure(backend: str, pg_url: str, nhood: str) -> tuple[dict, dict]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            remap = child(REMAP, f"sqlite:///{tmp}/remap.db", str(DATA), nhood)
            base = child(BASELINE, f"sqlite:///{tmp}/baseline.db", str(DATA))
        return remap, base
    fresh_postgres(pg_url)
    remap = child(REMAP, pg_url, str(DATA), nhood)
    fresh_postgres(pg_url)
    base = child(BASELINE, pg_url, str(DATA))
    fresh_postgres(pg_url)
    return remap, base


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--postgres", default="postgresql+psycopg://postgres:postgres@127.0.0.1:5432/"
                                          "remap_bench")
    ap.add_argument("--no-boundaries", action="store_true",
                    help="import into an empty store (no boundary set to place events in)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per backend (median shown)")
    ap.add_argument("--only", choices=["sqlite", "postgresql"])
    args = ap.parse_args()
    nhood = "" if args.no_boundaries else str(NHOOD)
    load_before = os.getloadavg()
    started = datetime.now().isoformat(timespec="minutes")
    backends = [args.only] if args.only else ["sqlite", "postgresql"]
    results: dict[str, list[tuple[dict, dict]]] = {b: [] for b in backends}
    for _ in range(args.repeat):
        for b in backends:
            results[b].append(measure(b, args.postgres, nhood))
            print(f"# {b}: {json.dumps(results[b][-1])}", file=sys.stderr)
    load_after = os.getloadavg()
    print(f"### Ingest of the 15 police.uk files: remap against pandas + to_sql "
          f"({started}, {platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}; load average "
          f"{load_before[0]:.2f} before, {load_after[0]:.2f} after; "
          f"{'Sheffield neighbourhoods stored, events placed in them' if nhood else 'no boundary set'}; "
          f"median of {args.repeat})\n")
    print("| store | path | rows | stored | wall s | rows/s | CPU s | rows/CPU s | peak RSS MB | "
          "parse / validate / place / write s | re-import s (adds) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|")
    for b, runs in results.items():
        def med(key: str, which: int, runs: list[tuple[dict, dict]] = runs) -> float:
            return statistics.median(r[which][key] for r in runs)
        r0, b0 = runs[len(runs) // 2]
        t = r0["timings"]
        rw, rc, bw, bc = med("wall_s", 0), med("cpu_s", 0), med("wall_s", 1), med("cpu_s", 1)
        print(f"| {b} | remap import | {r0['rows']:,} | {r0['inserted']:,} | {rw:.2f} | "
              f"{r0['rows'] / rw:,.0f} | {rc:.2f} | {r0['rows'] / rc:,.0f} | "
              f"{med('peak_rss_mb', 0):.0f} | {t['parse']:.2f} / {t['validate']:.2f} / "
              f"{t['place']:.2f} / {t['write']:.2f} | {r0['reimport_s']:.2f} "
              f"({r0['reimport_inserted']}) |")
        print(f"| {b} | pandas + to_sql | {b0['rows']:,} | {b0['stored']:,} | {bw:.2f} | "
              f"{b0['rows'] / bw:,.0f} | {bc:.2f} | {b0['rows'] / bc:,.0f} | "
              f"{med('peak_rss_mb', 1):.0f} | | |")
        print(f"| {b} | ratio remap / baseline (rows/s) | | | | {bw / rw:.2f} | | "
              f"{bc / rc:.2f} | | | |")
    for b, runs in results.items():
        r0 = runs[0][0]
        assert (r0["accepted"], r0["rejected"], r0["reimport_inserted"]) == (178_243, 10_376, 0), \
            f"{b}: results differ from the expected 178,243 / 10,376 / +0: {r0}"


if __name__ == "__main__":
    main()
