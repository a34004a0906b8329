"""/healthz latency while heavy work runs on a real server (run by hand, not a test).

Starts ``uvicorn service.main:app`` as a subprocess on a temporary SQLite store
and measures ``/healthz`` (p50/p95/max, from a separate pinger process, one
request every 20 ms) in three scenarios:

a. idle;
b. while the 15 police.uk CSVs are imported through ``POST /v1/imports``
   (one request, all files);
c. in a fresh server on the same store, while the most expensive request a
   partner key may make under the default limits runs: a hotspot map (counts,
   Gi*, LISA with 999 permutations, density, monthly slider, context layers)
   of H3 res-8 cells over the largest box the partner limits accept. Its time
   and the server's peak RSS are reported.

    .venv/bin/python benchmarks/bench_healthz.py
"""

from __future__ import annotations

import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = Path(os.environ.get("REMAP_SHARED_DATA", ROOT.parent / "shared" / "data")) / "policeuk"

PINGER = r"""
import json, sys, time, httpx
url, stop, out = sys.argv[1], sys.argv[2], sys.argv[3]
import os
lat = []
with httpx.Client(timeout=30) as c:
    while not os.path.exists(stop):
        t = time.perf_counter()
        r = c.get(url)
        lat.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200
        time.sleep(0.02)
json.dump(lat, open(out, "w"))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(db_url: str, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "REMAP_DATABASE_URL": db_url, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "service.main:app", "--port",
                             str(port), "--log-level", "warning"], cwd=ROOT, env=env)
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("server did not start")


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def stats(lat: list[float]) -> dict[str, float]:
    s = sorted(lat)
    pick = lambda q: s[min(len(s) - 1, int(q * len(s)))]  # noqa: E731
    return {"n": len(s), "p50": pick(0.50), "p95": pick(0.95), "max": s[-1]}


def measure(port: int, work: Any, tmp: Path, min_s: float = 0.0) -> tuple[dict, Any]:
    """/healthz latencies while ``work()`` runs (or for ``min_s`` when idle)."""
    stop, out = tmp / f"stop-{time.time_ns()}", tmp / f"lat-{time.time_ns()}.json"
    pinger = subprocess.Popen([sys.executable, "-c", PINGER,
                               f"http://127.0.0.1:{port}/healthz", str(stop), str(out)])
    time.sleep(0.5)
    t0 = time.perf_counter()
    result = work() if work else None
    elapsed = time.perf_counter() - t0
    if elapsed < min_s:
        time.sleep(min_s - elapsed)
    stop.touch()
    pinger.wait(timeout=60)
    return stats(json.loads(out.read_text())), result


def most_expensive_partner_request(store_url: str) -> tuple[dict[str, str], dict]:
    """The hotspot map of H3 res-8 cells over the largest box around Sheffield that the
    default partner limits accept (maps cost the most per unit: five statistics with 999
    LISA permutations, plus context layers)."""
    from service.app.analysis import CountsRequest
    from service.app.cost import estimate_cost, limits_for
    from service.settings import Settings
    from service.store import Store

    store = Store(store_url)
    limits = limits_for(Settings(database_url=store_url), "partner")
    lon, lat = -1.47, 53.38
    best = None
    half = 0.05
    while True:
        area = f"bbox:{lon - half * 1.6:.4f},{lat - half:.4f},{lon + half * 1.6:.4f},{lat + half:.4f}"
        req = CountsRequest.parse(layer="crime", unit="h3:8", area=area)
        est = estimate_cost(store, req, analysis="map")
        if (est.units > limits.max_units or est.unit_permutations > limits.max_unit_permutations
                or est.response_bytes > limits.max_response_bytes):
            break
        best = ({"layer": "crime", "unit": "h3:8", "area": area, "seed": "1"}, est.as_dict())
        half += 0.01
    store.dispose()
    assert best is not None
    return best


def main() -> None:
    files = sorted(DATA.glob("*.csv"))
    assert len(files) == 15, f"expected the 15 police.uk files in {DATA}"
    report: dict[str, Any] = {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                              "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python "
                                         f"{platform.python_version()}",
                              "load_before": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="remap-bench-healthz-") as tmp_s:
        tmp = Path(tmp_s)
        url = f"sqlite:///{tmp}/bench.db"
        from service.store import Store

        store = Store(url)
        analyst = store.create_key("analyst", "bench")
        partner = store.create_key("partner", "bench")
        store.dispose()

        port = free_port()
        server = start_server(url, port)
        try:
            report["idle"], _ = measure(port, None, tmp, min_s=10)

            def do_import() -> dict:
                handles = [f.open("rb") for f in files]
                try:
                    t0 = time.perf_counter()
                    r = httpx.post(f"http://127.0.0.1:{port}/v1/imports",
                                   headers={"X-API-Key": analyst},
                                   files=[("files", (f.name, h, "text/csv"))
                                          for f, h in zip(files, handles, strict=True)],
                                   data={"format": "policeuk", "layer": "crime"}, timeout=600)
                    r.raise_for_status()
                    return {"s": time.perf_counter() - t0, "inserted": r.json()["inserted"],
                            "server_peak_rss_mb": rss_mb(server.pid, "VmHWM")}
                finally:
                    for h in handles:
                        h.close()

            report["import"], report["import_result"] = measure(port, do_import, tmp)
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=60)

        params, estimate = most_expensive_partner_request(url)
        report["expensive_request"] = {"route": "/v1/maps/hotspots", "params": params,
                                       "estimate": estimate}
        port = free_port()
        server = start_server(url, port)
        try:
            base = rss_mb(server.pid)
            peak = [base]
            done = threading.Event()

            def sample() -> None:
                while not done.is_set():
                    peak.append(rss_mb(server.pid))
                    time.sleep(0.05)

            def do_expensive() -> dict:
                t = threading.Thread(target=sample)
                t.start()
                try:
                    t0 = time.perf_counter()
                    r = httpx.get(f"http://127.0.0.1:{port}/v1/maps/hotspots",
                                  headers={"X-API-Key": partner}, params=params, timeout=900)
                    took = time.perf_counter() - t0
                finally:
                    done.set()
                    t.join()
                assert r.status_code == 200, r.text[:500]
                return {"s": took, "bytes": len(r.content), "rss_before_mb": base,
                        "peak_rss_mb": max(peak), "vm_hwm_mb": rss_mb(server.pid, "VmHWM")}

            report["expensive"], report["expensive_result"] = measure(port, do_expensive, tmp)
            # and one over the limit: refused before work
            t0 = time.perf_counter()
            r = httpx.get(f"http://127.0.0.1:{port}/v1/counts", headers={"X-API-Key": partner},
                          params={"layer": "crime", "unit": "h3:11",
                                  "area": "bbox:-2.0,53.0,-1.0,53.7"}, timeout=60)
            report["refused"] = {"status": r.status_code, "ms": (time.perf_counter() - t0) * 1000,
                                 "message": r.json()["message"]}
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=60)
    report["load_after"] = os.getloadavg()
    print(json.dumps(report, indent=2, default=str))
    print()
    print("| scenario | /healthz requests | p50 ms | p95 ms | max ms |")
    print("|---|---:|---:|---:|---:|")
    for key, label in (("idle", "idle"), ("import", "15-file police.uk import via POST "
                                                     "/v1/imports"),
                       ("expensive", "most expensive partner request")):
        s = report[key]
        print(f"| {label} | {s['n']} | {s['p50']:.1f} | {s['p95']:.1f} | {s['max']:.1f} |")


if __name__ == "__main__":
    main()
