"""Benchmark: the report of one operation over 1,000,000 stored events (run by hand).

    .venv/bin/python benchmarks/bench_operation.py [--scale 34] [--db PATH] [--reuse]
        [--repeat 5] [--baseline TREE] [--event-cache-mb 512] [--no-uncached]

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

With ``--reuse`` and an existing ``--db`` (or ``--baseline``), the report is timed
in child processes, **in the same run**: this tree with the columnar event cache off
(unless ``--no-uncached``) and on (``--event-cache-mb``), and with ``--baseline TREE``
(a checkout of another commit, e.g. ``git archive BASE | tar -x -C TREE``) that tree
with the cache on too, so that the two trees' evaluations are compared. Each process
times its first report (cold: with the cache on, this one builds it) and
``--repeat`` more (warm, median), in wall and CPU seconds (the machine may be
shared: CPU seconds are the steadier figure), with the load average around them
and a sha256 of each report's JSON (identical reports give identical hashes).

Prints a markdown table with the machine and date.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sqlite3
import statistics
import subprocess
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
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--reuse", action="store_true", help="keep an existing --db store")
    ap.add_argument("--baseline", default=None,
                    help="another source tree whose report is timed in the same run")
    ap.add_argument("--event-cache-mb", type=float, default=512.0,
                    help="REMAP_EVENT_CACHE_MB of the cached run (service.store.event_scan)")
    ap.add_argument("--no-uncached", action="store_true",
                    help="with --reuse: skip this tree's run with the event cache off")
    args = ap.parse_args()
    if args.reuse and args.db and Path(args.db).exists():
        compare(Path(args.db), args.repeat, args.baseline, args.event_cache_mb,
                uncached=not args.no_uncached)
        return

    from service.app.importer import ImportReport, import_boundaries, store_events
    from service.app.operation_areas import areas_from_definition
    from service.app.operation_definitions import OperationIn, windows_of
    from service.app.operation_demo import planted_definition
    from service.app.operations import (
        _all_windows,
        _report_inputs,
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
        windows = windows_of(req)
        known = store.layer_names()
        summary = store.layer_summaries(["crime", req.options.overdose_layer])
        held = {layer: (sorted(summary[layer]) if layer in known else None)
                for layer in ("crime", req.options.overdose_layer)}

        reports, loads = [], []
        n_loaded = 0
        report: dict = {}
        for _ in range(max(1, args.repeat)):
            t0 = time.perf_counter()
            loaded = _report_inputs(store, req, areas, _all_windows(req, windows), held=held,
                                    sites=req.options.dealing_site_layer in known)
            loads.append(time.perf_counter() - t0)
            n_loaded = len(loaded.events) + (len(loaded.watch[0]) if loaded.watch else 0)
            t0 = time.perf_counter()
            report = operation_report(store, created["id"], actor="bench")
            reports.append(time.perf_counter() - t0)
        store.dispose()
        size_mb = db.stat().st_size / 2**20
        if args.baseline:
            compare(db, args.repeat, args.baseline, args.event_cache_mb,
                    uncached=not args.no_uncached)

    verdicts = ", ".join(f"{la['key']} {la['verdict']['code']}" for la in report["layers"])
    rows += [
        ("create (incl. control suggestion)", f"{t_create:.2f} s"),
        ("start (baseline lock)", f"{t_start:.2f} s"),
        (f"report, median of {len(reports)}",
         f"**{statistics.median(reports):.2f} s** (min {min(reports):.2f} s)"),
        ("  of which: reading the events (one query, service.store.event_scan)",
         f"{statistics.median(loads):.2f} s for {n_loaded:,} events (windows with the density "
         "margin, the time context's earlier months, the consequence watches, dealing sites)"),
        ("  rest: evaluation (spatial.evaluation.evaluate), dealing-site query, audit",
         f"{statistics.median(reports) - statistics.median(loads):.2f} s"),
        ("store file", f"{size_mb:,.0f} MB"),
        ("verdicts", verdicts),
    ]
    print(f"### Operation report over {stored:,} stored events (SQLite)\n")
    print(f"{_machine()}\n")
    print("| step | result |\n|---|---|")
    for k, v in rows:
        print(f"| {k} | {v} |")


#: One child process: open the store (with the event cache of ``argv[2]`` MB when the
#: tree has one), time the first report (cold: the process's first, which builds the
#: cache), then ``argv[3]`` more (warm), each with wall and CPU seconds.
CHILD = r"""
import hashlib, json, os, sys, time
sys.path.insert(0, os.getcwd())
from service.store import Store
from service.app.operations import operation_report
store = Store("sqlite:///" + sys.argv[1])
mb, warm_n = float(sys.argv[2]), int(sys.argv[3])
if mb > 0 and hasattr(store, "configure_event_cache"):
    store.configure_event_cache(mb)
op = store.operations()[0].id
runs, hashes = [], set()
load0 = os.getloadavg()[0]
for i in range(1 + warm_n):
    t0, c0 = time.perf_counter(), time.process_time()
    report = operation_report(store, op, actor="bench")
    runs.append((time.perf_counter() - t0, time.process_time() - c0))
    text = json.dumps(report, sort_keys=True, default=str)
    hashes.add(hashlib.sha256(text.encode()).hexdigest())
cache = getattr(store, "event_cache", None)
print(json.dumps({"cold": runs[0], "warm": runs[1:], "load": [load0, os.getloadavg()[0]],
                  "sha256": sorted(hashes),
                  "cache_mb": cache.size_bytes / 2**20 if cache is not None else None}))
"""


def _child(tree: Path, db: Path, cache_mb: float, warm: int) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(db), str(cache_mb), str(warm)],
                         cwd=tree, check=True, capture_output=True, text=True)
    import json

    return json.loads(out.stdout.strip().splitlines()[-1])


def compare(db: Path, repeat: int, baseline: str | None, cache_mb: float = 512.0,
            uncached: bool = True) -> None:
    """The report timed from this tree with and without the event cache (and from
    ``baseline`` with it), one process each: the first report (cold) and ``repeat``
    more (warm, median)."""
    trees: dict[str, tuple[Path, float]] = {}
    if baseline:
        # the baseline with the same event cache: the evaluation is what differs
        trees[f"before ({baseline}), event cache {cache_mb:g} MB"] = (Path(baseline), cache_mb)
    if uncached:
        trees["this tree, event cache off"] = (ROOT, 0.0)
    trees[f"this tree, event cache {cache_mb:g} MB"] = (ROOT, cache_mb)
    runs = {name: _child(tree, db, mb, repeat) for name, (tree, mb) in trees.items()}
    print(f"\n### Operation report: cold (first in a process) and warm (median of {repeat} "
          "more in the same process)\n")
    print(f"{_machine()}\n")
    print("| tree | cold wall s | cold CPU s | warm wall s median (min-max) | warm CPU s "
          "median | load avg 1 min | report sha256 |\n|---|---|---|---|---|---|---|")
    for name, r in runs.items():
        w = [x[0] for x in r["warm"]]
        c = [x[1] for x in r["warm"]]
        print(f"| {name} | {r['cold'][0]:.2f} | {r['cold'][1]:.2f} | "
              f"**{statistics.median(w):.3f}** ({min(w):.3f}-{max(w):.3f}) | "
              f"{statistics.median(c):.3f} | {r['load'][0]:.1f}-{r['load'][1]:.1f} | "
              f"{', '.join(h[:12] for h in r['sha256'])} |")
    for name, r in runs.items():
        if r.get("cache_mb"):
            print(f"\n{name}: the cache held {r['cache_mb']:.1f} MB after the reports")
    hashes = {h for r in runs.values() for h in r["sha256"]}
    med = {name: statistics.median([x[0] for x in r["warm"]]) for name, r in runs.items()}
    cpu = {name: statistics.median([x[1] for x in r["warm"]]) for name, r in runs.items()}
    names = list(runs)
    ratios = []
    if baseline:
        ratios.append(f"this tree / before, both cached: wall "
                      f"{med[names[-1]] / med[names[0]]:.3f}, CPU "
                      f"{cpu[names[-1]] / cpu[names[0]]:.3f}")
    if uncached:
        ratios.append(f"cache on / off: wall {med[names[-1]] / med[names[-2]]:.3f}")
    print(f"\nwarm {'; '.join(ratios)}; reports "
          f"{'identical' if len(hashes) == 1 else 'DIFFER'} across all runs")


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh
                       if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return (f"Machine: {cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}; "
            f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}; "
            f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC.")


if __name__ == "__main__":
    main()
