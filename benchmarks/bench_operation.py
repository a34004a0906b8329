"""Benchmark: the report of one operation over 1,000,000 stored events (run by hand).

    .venv/bin/python benchmarks/bench_operation.py [--scale 34] [--db PATH] [--repeat 3]

Builds the seeded synthetic town at ``scale`` (34: about 1.0 M crime records plus
call-outs and dealing sites over 12 months), stores it in a fresh SQLite store
through the import pipeline (beats first, so every event is also placed in the
beats), then times, for the town's planted operation (2 target beats, a 400 m
buffer, a suggested control, 4 layers/categories plus the overdose watch and the
dealing-site re-map):

* ``create`` -- resolve the definition, including the control suggestion (a
  before-window count over every beat);
* ``start`` -- the baseline lock (before-window counts, rings, H3 cells, sha256);
* ``report`` -- the whole evaluation, split into loading the events from the store
  (``store.event_arrays``, the same query the report makes) and the rest.

Prints a markdown table with the machine and date.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=34.0)
    ap.add_argument("--db", default=None, help="SQLite file (default: a temporary one)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    from service.app.importer import ImportReport, import_boundaries, store_events
    from service.app.operation_areas import areas_from_definition, events_for
    from service.app.operation_definitions import OperationIn, windows_of
    from service.app.operation_demo import planted_definition
    from service.app.operations import (
        create_operation,
        get_operation,
        operation_report,
        start_operation,
    )
    from service.store import Store
    from spatial.synthetic.town import build_town

    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(args.db) if args.db else Path(tmp) / "bench.db"
        db.unlink(missing_ok=True)
        t0 = time.perf_counter()
        town = build_town(scale=args.scale)
        t_build = time.perf_counter() - t0
        n_events = sum(len(f) for f in town.events.values())
        rows.append(("synthetic town", f"scale {args.scale:g}: {n_events:,} events "
                                       f"({', '.join(f'{k} {len(v):,}' for k, v in town.events.items())}); "
                                       f"built in {t_build:.1f} s"))

        store = Store(f"sqlite:///{db}")
        beats = Path(tmp) / "beats.geojson"
        town.beats.to_file(beats, driver="GeoJSON")
        t0 = time.perf_counter()
        import_boundaries(store, beats, file_name="beats.geojson", name="beats",
                          id_field="unit_id", label_field="label", actor="bench")
        for layer, frame in town.events.items():
            rep = ImportReport(layer=layer, format="synthetic", h3_resolution=store.h3_resolution)
            store_events(store, frame, rep, timings={}, file_names=[f"synthetic:{layer}"],
                         actor="bench")
        t_store = time.perf_counter() - t0
        stored = store.table_counts()["events"]
        rows.append(("stored (SQLite, with beat placement)",
                     f"{stored:,} events in {t_store:.0f} s ({stored / t_store:,.0f} /s)"))

        definition = planted_definition(town.operation, [
            {"layer": "crime", "category": "Drugs", "role": "output"},
            {"layer": "crime", "category": "Anti-social behaviour", "role": "outcome",
             "harm_weight": 1.0},
            {"layer": "crime", "category": "Drugs+Anti-social behaviour", "role": "outcome"},
            {"layer": "ambulance", "category": "*", "role": "outcome"}])
        t0 = time.perf_counter()
        created = create_operation(store, definition, actor="bench")
        t_create = time.perf_counter() - t0
        t0 = time.perf_counter()
        start_operation(store, created["id"], actor="bench")
        t_start = time.perf_counter() - t0

        record = get_operation(store, created["id"])
        defn = {"request": record["definition"], "resolved": record["resolved"]}
        req = OperationIn.model_validate(defn["request"])
        areas = areas_from_definition(defn)
        windows_of(req)

        reports, loads = [], []
        n_loaded = 0
        report: dict = {}
        for _ in range(max(1, args.repeat)):
            t0 = time.perf_counter()
            ev = events_for(store, req, areas, req.windows.before.start, req.windows.after.end)
            loads.append(time.perf_counter() - t0)
            n_loaded = len(ev)
            t0 = time.perf_counter()
            report = operation_report(store, created["id"], actor="bench")
            reports.append(time.perf_counter() - t0)
        store.dispose()
        size_mb = db.stat().st_size / 2**20

    verdicts = ", ".join(f"{la['key']} {la['verdict']['code']}" for la in report["layers"])
    rows += [
        ("create (incl. control suggestion)", f"{t_create:.2f} s"),
        ("start (baseline lock)", f"{t_start:.2f} s"),
        (f"report, median of {len(reports)}",
         f"**{statistics.median(reports):.2f} s** (min {min(reports):.2f} s)"),
        ("  of which: loading events from the store",
         f"{statistics.median(loads):.2f} s for {n_loaded:,} events in the windows and the "
         "operation's extent"),
        ("  rest: evaluation (spatial.evaluation.evaluate), dealing-site query, audit",
         f"{statistics.median(reports) - statistics.median(loads):.2f} s"),
        ("store file", f"{size_mb:,.0f} MB"),
        ("verdicts", verdicts),
    ]
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh
                       if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    print(f"### Operation report over {stored:,} stored events (SQLite)\n")
    print(f"Machine: {cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}; "
          f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}; "
          f"date {dt.date.today().isoformat()}.\n")
    print("| step | result |\n|---|---|")
    for k, v in rows:
        print(f"| {k} | {v} |")


if __name__ == "__main__":
    main()
