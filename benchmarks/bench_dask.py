"""The Dask path on a LocalCluster: import, counts and Gi* (run by hand, not a test).

Stages (``--stage``, default all):

* ``real``: the 15 police.uk files: ``remap batch`` import against the store's
  import (SQLite), then counts (h3:8 over the events' box; Sheffield Drugs at
  h3:8) and Gi* (999 permutations, seed 1) against the single-machine use cases
  in the same run, equality checked.
* ``big``: the generated 20-million-row file (``benchmarks/policeuk_generator.py
  /tmp/remap-dask/policeuk_20m.csv --rows 20000000``): import to Parquet, then
  counts at h3:8 over the whole box and Gi* on them. The dataset is kept in
  ``/tmp/remap-dask/ds20m`` and reused with ``--reuse``.

Memory: every worker's resident memory sampled each second (``client.run`` of
psutil on the workers) and the client's peak RSS. Prints JSON and a markdown
section for benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/bench_dask.py [--stage real|big] [--reuse]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("REMAP_SHARED_DATA", ROOT.parent / "shared" / "data"))
BIG = Path("/tmp/remap-dask/policeuk_20m.csv")
BIG_DS = Path("/tmp/remap-dask/ds20m")


class MemoryWatch:
    """Peak resident memory of every worker, sampled each ``every`` seconds."""

    def __init__(self, client: Any, every: float = 1.0) -> None:
        self.client = client
        self.every = every
        self.peak: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        from spatial.distributed.cluster import worker_memory

        while not self._stop.is_set():
            try:
                for k, v in worker_memory(self.client).items():
                    self.peak[k] = max(self.peak.get(k, 0), v)
            except Exception:  # noqa: BLE001 - a sample missed while a worker is busy
                pass
            self._stop.wait(self.every)

    def __enter__(self) -> MemoryWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self) -> dict[str, float]:
        mb = [v / 2**20 for v in self.peak.values()]
        return {"worker_peak_mb_max": round(max(mb, default=0.0), 1),
                "worker_peak_mb_sum": round(sum(mb), 1)}


def client_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def timed(results: dict[str, Any], name: str) -> Any:
    t0 = time.perf_counter()
    yield
    results[name] = round(time.perf_counter() - t0, 2)


def stage_real(client: Any, out: dict[str, Any]) -> None:
    import numpy as np

    from service.app.analysis import CountsRequest, unit_counts
    from service.app.batch import BatchHotspotOptions, BatchRequest, batch_counts, batch_hotspots
    from service.app.hotspots import HotspotOptions, hotspots
    from service.app.importer import import_boundaries, import_events
    from service.store import Store
    from spatial.distributed import ingest

    files = sorted((SHARED / "policeuk").glob("*.csv"))
    nh = SHARED / "boundaries" / "sheffield" / "sheffield_nhood.geojson"
    res: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        ds = Path(tmp) / "ds"
        with MemoryWatch(client) as mw, timed(res, "batch_import_s"):
            rep = ingest.import_files(client, [str(f) for f in files], ds, layer="crime")
        res.update({"rows": rep.rows_read, "accepted": rep.accepted, "rejected": rep.rejected,
                    **{f"import_{k}": v for k, v in mw.summary().items()}})
        store = Store(f"sqlite:///{tmp}/single.db")
        with timed(res, "single_import_s"):
            single = import_events(store, [(f.name, f) for f in files], fmt="policeuk",
                                   layer="crime")
        import_boundaries(store, nh, file_name=nh.name, name="nhood", id_field="nhood_code",
                          label_field="nhood_name")
        res["single_accepted"] = single.accepted
        cases = {"all_h3_8": dict(unit="h3:8"),
                 "sheffield_drugs_h3_8": dict(unit="h3:8", categories=["Drugs"],
                                              area="boundary:nhood")}
        from service.app.batch import BoundarySource
        src = BoundarySource("nhood", nh, "nhood_code", "nhood_name")
        for name, c in cases.items():
            req = CountsRequest.parse(layer="crime", categories=c.get("categories", []),
                                      unit=c["unit"], area=c.get("area"))
            breq = BatchRequest.parse(folder=ds, layer="crime", unit=c["unit"],
                                      categories=c.get("categories", []), area=c.get("area"),
                                      boundaries=src)
            with timed(res, f"{name}_single_counts_s"):
                uc = unit_counts(store, req)
            with MemoryWatch(client) as mw, timed(res, f"{name}_batch_counts_s"):
                bc = batch_counts(client, breq)
            res[f"{name}_units"] = len(uc.counts)
            res[f"{name}_counts_equal"] = bool(np.array_equal(uc.counts, bc.counts))
            res[f"{name}_batch_worker_peak_mb_max"] = mw.summary()["worker_peak_mb_max"]
        req = CountsRequest.parse(layer="crime", categories=["Drugs"], unit="h3:8",
                                  area="boundary:nhood")
        breq = BatchRequest.parse(folder=ds, layer="crime", unit="h3:8", categories=["Drugs"],
                                  area="boundary:nhood", boundaries=src)
        with timed(res, "gistar_single_s"):
            fc, _ = hotspots(store, req, HotspotOptions(method="gistar", permutations=999,
                                                        seed=1), role="admin")
        with timed(res, "gistar_batch_s"):
            _, rows = batch_hotspots(client, breq, BatchHotspotOptions(
                method="gistar", permutations=999, seed=1))
        z1 = [f["properties"]["GiZScore"] for f in fc["features"]]
        z2 = [r["GiZScore"] for r in rows]
        p1 = [f["properties"].get("GiPValuePermutation") for f in fc["features"]]
        p2 = [r.get("GiPValuePermutation") for r in rows]
        res["gistar_z_identical"] = z1 == z2
        res["gistar_p_sim_identical"] = p1 == p2
    out["real"] = res


def stage_big(client: Any, out: dict[str, Any], reuse: bool, dataset: Path = BIG_DS) -> None:
    from service.app.batch import BatchHotspotOptions, BatchRequest, batch_counts, batch_hotspots
    from spatial.distributed import dataset as dsmod
    from spatial.distributed import ingest

    res: dict[str, Any] = {"file_mb": round(BIG.stat().st_size / 1e6), "dataset": str(dataset)}
    if dataset != BIG_DS:
        info = dsmod.DatasetInfo.read(dataset)
        res.update({"events_in_dataset": info.layer("crime").accepted,
                    "parquet_parts": len(dsmod.parts(dataset, "crime"))})
    elif not (reuse and (BIG_DS / "_remap_batch.json").is_file()):
        shutil.rmtree(BIG_DS, ignore_errors=True)
        with MemoryWatch(client) as mw, timed(res, "import_s"):
            rep = ingest.import_files(client, [str(BIG)], BIG_DS, layer="crime")
        res.update({"rows": rep.rows_read, "accepted": rep.accepted, "rejected": rep.rejected,
                    "chunks": rep.chunks, "partitions": rep.partitions,
                    "keys_renumbered": rep.keys_renumbered,
                    "rows_per_s": round(rep.rows_read / res["import_s"]),
                    **{f"import_{k}": v for k, v in mw.summary().items()}})
        res["client_peak_mb_after_import"] = round(client_peak_mb(), 1)
    breq = BatchRequest.parse(folder=dataset, layer="crime", unit="h3:8")
    with MemoryWatch(client) as mw, timed(res, "counts_h3_8_s"):
        bc = batch_counts(client, breq)
    res.update({"counts_units": len(bc.counts), "counts_events": int(bc.counts.sum()),
                **{f"counts_{k}": v for k, v in mw.summary().items()}})
    breq = BatchRequest.parse(folder=dataset, layer="crime", unit="h3:8", categories=["Drugs"])
    with MemoryWatch(client) as mw, timed(res, "gistar_drugs_h3_8_s"):
        bc2, _ = batch_hotspots(client, breq, BatchHotspotOptions(method="gistar",
                                                                  permutations=999, seed=1))
    res.update({"gistar_units": len(bc2.counts), "gistar_events": int(bc2.counts.sum()),
                "gistar_timings": bc2.timings_s,
                **{f"gistar_{k}": v for k, v in mw.summary().items()}})
    res["client_peak_mb"] = round(client_peak_mb(), 1)
    out["big"] = res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stage", choices=["real", "big", "all"], default="all")
    ap.add_argument("--reuse", action="store_true", help="reuse the 20M dataset if present")
    ap.add_argument("--dataset", type=Path, default=BIG_DS,
                    help="big stage: count an existing dataset instead of importing")
    args = ap.parse_args()
    from spatial.distributed.cluster import LOCAL_MEMORY_LIMIT, cluster_info, connect

    out: dict[str, Any] = {"date": date.today().isoformat(), "machine": platform.platform(),
                           "cpus": os.cpu_count(), "load_before": os.getloadavg()}
    with connect("local") as client:
        out["cluster"] = {**cluster_info(client, "local").as_dict(),
                          "memory_limit_per_worker": LOCAL_MEMORY_LIMIT}
        if args.stage in ("real", "all"):
            stage_real(client, out)
        if args.stage in ("big", "all"):
            stage_big(client, out, args.reuse, args.dataset)
    out["load_after"] = os.getloadavg()
    print(json.dumps(out, indent=1, default=str))


if __name__ == "__main__":
    main()
