"""Queen contiguity: remap's ``contiguity.queen_neighbours`` against libpysal.

Run by hand: ``.venv/bin/python benchmarks/bench_contiguity.py``. Needs the
Sheffield LSOA boundaries in ``../shared/data/boundaries/sheffield`` (or
``REMAP_SHARED_DATA``). Prints the best of 5 timings of each and whether the
neighbour sets are identical.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from spatial.io.boundaries import read_boundaries  # noqa: E402
from spatial.place import contiguity, units  # noqa: E402

DATA = Path(os.environ.get("REMAP_SHARED_DATA", ROOT.parent / "shared" / "data"))


def best(f: Callable[[], Any], k: int = 5) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(k):
        t = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t)
    return min(times), out


def main() -> None:
    import libpysal

    path = DATA / "boundaries" / "sheffield" / "sheffield_lsoa.geojson"
    read = read_boundaries(path, id_field="LSOA11CD")
    bu = units.boundary_units(read.units, set_name="lsoa")
    gdf = bu.to_frame()
    t_remap, w = best(lambda: contiguity.queen_neighbours(bu))
    t_queen, q = best(lambda: libpysal.weights.Queen.from_dataframe(
        gdf, use_index=False, silence_warnings=True))
    t_graph, g = best(lambda: libpysal.graph.Graph.build_contiguity(gdf, rook=False))
    a = w.toarray() > 0
    print(f"{len(bu)} units; remap {t_remap * 1e3:.1f} ms, libpysal Queen {t_queen * 1e3:.1f} ms, "
          f"Graph.build_contiguity {t_graph * 1e3:.1f} ms; links {int(a.sum())}; identical: "
          f"{np.array_equal(a, q.sparse.toarray() > 0)} {np.array_equal(a, g.sparse.toarray() > 0)}")


if __name__ == "__main__":
    main()
