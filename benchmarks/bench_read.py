"""Reading the 15 police.uk files: the Arrow reader against the reader it replaces and pandas.

Run by hand (not a test)::

    .venv/bin/python benchmarks/bench_read.py [--baseline /work/main] [--repeat 3] [--res 11]

Every measurement runs in a fresh process, with the files' bytes already in
memory (no disk time), in this order per repeat:

1. ``new``: this tree's :func:`spatial.io.policeuk.read_policeuk` with
   ``attribute_columns=True`` (what the import path asks for), then
   ``new-dicts``: the same with the ``attributes`` dicts;
2. ``old``: the reader of the ``--baseline`` tree (default: ``main`` checked
   out at ``/work/main``; it gives dicts), run with that tree first on
   ``sys.path``;
3. peers: ``pandas.read_csv`` of each file with its defaults (type
   inference, no validation, no keys, no frame of events) and
   ``pyarrow.csv.read_csv`` with its defaults (single thread).

For the readers the time is split into *parse* (the CSV tokenised into a
table: ``read_csv_table`` of the same tree, timed alone), *validate + frame*
(the rest of the read), and *place*: :func:`spatial.place.placement.h3_cells`
and ``cells_to_str`` of the accepted rows at ``--res`` (the store's default
resolution is 11), with the tree's own placement module. CPU s = user +
system of the measuring process (all its threads). Medians of ``--repeat``
runs; the load average is printed before and after, and the accepted,
rejected counts of old and new must agree (checked).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("REMAP_SHARED_DATA", ROOT.parent / "shared" / "data"))
DATA = SHARED / "policeuk"

READER = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
from pathlib import Path
import numpy as np, pandas as pd
from spatial.io.policeuk import read_policeuk
from spatial.io.csvtable import read_csv_table
from spatial.place import placement
kw = json.loads(sys.argv[3])
files = sorted(Path(sys.argv[2]).glob("*.csv"))
blobs = [(p.read_bytes(), p.name) for p in files]
def clock():
    return time.perf_counter(), time.process_time()
w0, c0 = clock()
for data, name in blobs:
    read_csv_table(data, name, encoding="utf-8", what="a police.uk CSV")
w1, c1 = clock()
results = [read_policeuk(data, file_name=name, **kw) for data, name in blobs]
w2, c2 = clock()
lon = np.concatenate([r.events["lon"].to_numpy() for r in results])
lat = np.concatenate([r.events["lat"].to_numpy() for r in results])
w3, c3 = clock()
cells = placement.h3_cells(lon, lat, int(sys.argv[4]))
strings = placement.cells_to_str(cells)
w4, c4 = clock()
print(json.dumps({
    "parse": [w1 - w0, c1 - c0], "read": [w2 - w1, c2 - c1], "place": [w4 - w3, c4 - c3],
    "accepted": int(sum(len(r.events) for r in results)),
    "rejected": int(sum(len(r.rejections) for r in results)),
    "rows": int(sum(r.rows_read for r in results)),
    "module": read_policeuk.__module__ and sys.modules["spatial"].__file__,
}))
"""

PEER = r"""
import io, json, sys, time
from pathlib import Path
import pandas as pd
import pyarrow as pa, pyarrow.csv as pacsv
files = sorted(Path(sys.argv[1]).glob("*.csv"))
blobs = [p.read_bytes() for p in files]
w0, c0 = time.perf_counter(), time.process_time()
if sys.argv[2] == "pandas":
    rows = sum(len(pd.read_csv(io.BytesIO(b))) for b in blobs)
else:
    opts = pacsv.ReadOptions(use_threads=False)
    rows = sum(pacsv.read_csv(pa.py_buffer(b), read_options=opts).num_rows for b in blobs)
w1, c1 = time.perf_counter(), time.process_time()
print(json.dumps({"read": [w1 - w0, c1 - c0], "rows": rows}))
"""


def run(code: str, *args: str, cwd: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def median(runs: list[dict], key: str, i: int) -> float:
    return statistics.median(r[key][i] for r in runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--baseline", type=Path, default=Path("/work/main"),
                    help="tree whose spatial/ reader is the 'old' one")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--res", type=int, default=11)
    args = ap.parse_args()
    started = datetime.now().strftime("%Y-%m-%d %H:%M")
    load_before = os.getloadavg()
    runs: dict[str, list[dict]] = {"new": [], "new-dicts": [], "old": [], "pandas": [],
                                   "pyarrow": []}
    for _ in range(args.repeat):
        runs["new"].append(run(READER, str(ROOT), str(DATA), '{"attribute_columns": true}',
                               str(args.res), cwd=ROOT))
        runs["new-dicts"].append(run(READER, str(ROOT), str(DATA), "{}", str(args.res),
                                     cwd=ROOT))
        runs["old"].append(run(READER, str(args.baseline), str(DATA), "{}", str(args.res),
                               cwd=args.baseline))
        runs["pandas"].append(run(PEER, str(DATA), "pandas", cwd=ROOT))
        runs["pyarrow"].append(run(PEER, str(DATA), "pyarrow", cwd=ROOT))
    load_after = os.getloadavg()
    new, old = runs["new"][0], runs["old"][0]
    assert (new["accepted"], new["rejected"]) == (old["accepted"], old["rejected"]), (new, old)
    assert str(args.baseline) in old["module"] and str(ROOT) in new["module"], (new, old)
    print(f"# bench_read ({started}, {platform.machine()}, {os.cpu_count()} CPUs, Python "
          f"{platform.python_version()}; load average {load_before[0]:.2f} -> "
          f"{load_after[0]:.2f}; median of {args.repeat}; {new['rows']:,} rows, "
          f"{new['accepted']:,} accepted, {new['rejected']:,} rejected; H3 res {args.res})")
    print()
    print("| path | parse wall / CPU s | validate + frame wall / CPU s | read total wall / CPU s"
          " | rows/s (wall) | place (H3 + strings) wall / CPU s |")
    print("|---|---|---|---|---:|---|")
    totals = {}
    for name in ("new", "new-dicts", "old"):
        r = runs[name]
        pw, pc = median(r, "parse", 0), median(r, "parse", 1)
        tw, tc = median(r, "read", 0), median(r, "read", 1)
        lw, lc = median(r, "place", 0), median(r, "place", 1)
        totals[name] = (tw, tc)
        print(f"| {name} | {pw:.3f} / {pc:.3f} | {tw - pw:.3f} / {tc - pc:.3f} | "
              f"{tw:.3f} / {tc:.3f} | {new['rows'] / tw:,.0f} | {lw:.3f} / {lc:.3f} |")
    for name in ("pandas", "pyarrow"):
        r = runs[name]
        tw, tc = median(r, "read", 0), median(r, "read", 1)
        totals[name] = (tw, tc)
        label = "pandas.read_csv (defaults)" if name == "pandas" else "pyarrow.csv (1 thread)"
        print(f"| peer: {label} | | | {tw:.3f} / {tc:.3f} | {new['rows'] / tw:,.0f} | |")
    print()
    for peer in ("old", "new-dicts", "pandas", "pyarrow"):
        print(f"- new / {peer}: wall {totals['new'][0] / totals[peer][0]:.2f}x, "
              f"CPU {totals['new'][1] / totals[peer][1]:.2f}x")
    print("- the parse column is read_csv_table timed alone; the reader does it again "
          "inside its total")


if __name__ == "__main__":
    main()
