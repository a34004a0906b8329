"""Map size and Chromium render time for the 188,619 real police.uk events (by hand).

Imports the 15 files into a temporary SQLite store, builds the hotspot map
(counts, Gi*, LISA, kernel density, monthly slider) for every crime event
over the events' extent at two unit sizes, writes it as a self-contained
offline file, and opens it in headless Chromium with the network blocked.

    .venv/bin/python benchmarks/bench_maps.py
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = Path(os.environ.get("REMAP_SHARED_DATA", ROOT.parent / "shared" / "data")) / "policeuk"

from service.app.analysis import CountsRequest  # noqa: E402
from service.app.hotspots import HotspotOptions  # noqa: E402
from service.app.importer import import_events  # noqa: E402
from service.render.hotspot_page import hotspot_map_html  # noqa: E402
from service.store import Store  # noqa: E402
from tests.e2e.browser import open_page  # noqa: E402

UNITS = ("h3:7", "grid:5000")


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{tmp}/bench.db")
        files = sorted(DATA.glob("*.csv"))
        rep = import_events(store, [(f.name, f) for f in files], fmt="policeuk", layer="crime")
        for unit in UNITS:
            req = CountsRequest.parse(layer="crime", unit=unit)
            t0 = time.perf_counter()
            page = hotspot_map_html(store, req, HotspotOptions(seed=1, permutations=999),
                                    role="analyst")
            build = time.perf_counter() - t0
            path = Path(tmp) / f"map_{unit.replace(':', '_')}.html"
            path.write_text(page, encoding="utf-8")
            report = open_page(path, screenshot=ROOT / "benchmarks" / "out" /
                               f"map_{unit.replace(':', '_')}.png", timeout_s=180)
            rows.append((unit, rep.accepted, build, len(page.encode()) / 1e6,
                         report.load_seconds, len(report.js_errors), len(report.layer_names)))
    print(f"### Maps of the 188,619 police.uk rows ({date.today()}, {platform.machine()}, "
          f"{os.cpu_count()} CPUs)\n")
    print("| unit | events mapped | build s (incl. Gi*, LISA 999 perms, KDE) | HTML MB | "
          "Chromium load s | JS errors | layers |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r[0]} | {r[1]:,} | {r[2]:.1f} | {r[3]:.1f} | {r[4]:.1f} | {r[5]} | {r[6]} |")


if __name__ == "__main__":
    main()
