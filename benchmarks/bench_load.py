"""The API under load: 50 concurrent clients on loopback against ``GET /v1/counts`` and
``GET /v1/hotspots`` (Gi*, H3 res 8 over Sheffield's neighbourhoods, fixed seed), with
the response cache on and off (run by hand).

Imports the 15 police.uk files (178,243 placed crimes) and the Sheffield
neighbourhoods boundary set (``sheffield_nhood``, 100 units) into a fresh SQLite
store, then for each cache setting starts uvicorn (one process, as ``remap serve``)
from this checkout and drives it from this process: ``--clients`` threads with a keep-alive
connection each (``http.client``) share ``--requests`` requests, alternating the two routes.
Every answer is checked: status 200 and the same bytes as the first answer of its
route (the seed is fixed, so any difference is an error).

    .venv/bin/python benchmarks/bench_load.py [--requests 10000] [--clients 50]
        [--uncached-requests 1000] [--baseline TREE] [--compare-server]

Without the cache every request recomputes (a Gi* with up to 49,999 permutations
per request), so that run makes ``--uncached-requests`` requests (fewer, say so).
Latencies are per request, client side, from send to last byte. The expensive-route
rate limit is raised for the run (one key makes every request).
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import itertools
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from served import free_port, wait_up  # noqa: E402

SHARED = Path(os.environ.get("REMAP_SHARED_DATA", ROOT.parent / "shared" / "data"))
POLICEUK = SHARED / "policeuk"
NHOOD = SHARED / "boundaries" / "sheffield" / "sheffield_nhood.geojson"

IMPORT = r"""
import sys
from pathlib import Path
from service.app.importer import import_boundaries, import_events
from service.store import Store
store = Store(sys.argv[1])
files = sorted(Path(sys.argv[2]).glob("*.csv"))
rep = import_events(store, [(f.name, f) for f in files], fmt="policeuk", layer="crime")
b = import_boundaries(store, sys.argv[3], file_name=Path(sys.argv[3]).name,
                      name="sheffield_nhood", id_field="nhood_code", label_field="nhood_name")
print(store.create_key("analyst", "bench"))
print(rep.inserted)
"""

KEY = r"""
import sys
from service.store import Store
print(Store(sys.argv[1]).create_key("analyst", "bench"))
"""

AREA = {"layer": "crime", "unit": "h3:8", "area": "boundary:sheffield_nhood"}
ROUTES = {"counts": ("/v1/counts", AREA),
          "hotspots": ("/v1/hotspots", {**AREA, "method": "gistar", "seed": "1"})}


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` and its live children (uvicorn's
    workers), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    total = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        total += sum(cpu_seconds(int(c)) for c in children.read_text().split())
    return total


@dataclass
class Run:
    label: str
    latencies: dict[str, list[float]] = field(default_factory=lambda: {r: [] for r in ROUTES})
    states: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    wall: float = 0.0
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    load_before: float = 0.0
    load_after: float = 0.0
    first: dict[str, tuple[float, int, str]] = field(default_factory=dict)

    def all(self) -> np.ndarray:
        return np.concatenate([np.asarray(v) for v in self.latencies.values()])


def drive(port: int, key: str, n: int, clients: int, expected: dict[str, str],
          run: Run, etags: dict[str, str] | None = None) -> None:
    """``clients`` threads, each with its own keep-alive connection (``http.client``:
    the body is read in C, so the load generator takes little of the CPU the server
    needs), taking the next of ``n`` requests until none is left. With ``etags`` each
    request sends ``If-None-Match`` with its route's tag and must get 304."""
    names = list(ROUTES)
    urls = {name: f"{path}?{urllib.parse.urlencode(params)}"
            for name, (path, params) in ROUTES.items()}
    counter = itertools.count()
    lock = threading.Lock()

    def note(table: dict[str, int], what: str) -> None:
        with lock:
            table[what] = table.get(what, 0) + 1

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        try:
            while (i := next(counter)) < n:
                name = names[i % len(names)]
                t0 = time.perf_counter()
                try:
                    headers = {"X-API-Key": key}
                    if etags:
                        headers["If-None-Match"] = etags[name]
                    conn.request("GET", urls[name], headers=headers)
                    r = conn.getresponse()
                    body = r.read()
                except (OSError, http.client.HTTPException) as exc:
                    note(run.errors, type(exc).__name__)
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
                    continue
                took = time.perf_counter() - t0
                with lock:
                    run.latencies[name].append(took)
                if r.status != (304 if etags else 200):
                    note(run.errors, f"HTTP {r.status}")
                elif not etags and hashlib.sha256(body).hexdigest() != expected[name]:
                    note(run.errors, "different body")
                note(run.states, r.getheader("x-remap-cache") or "none")
        finally:
            conn.close()

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def first_answers(base: str, key: str, run: Run) -> tuple[dict[str, str], dict[str, str]]:
    """One request of each route before the load (a miss with the cache on): its time,
    size and digest; every answer under load must equal it."""
    expected, etags = {}, {}
    with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=600) as client:
        for name, (path, params) in ROUTES.items():
            t0 = time.perf_counter()
            r = client.get(path, params=params)
            took = time.perf_counter() - t0
            if r.status_code != 200:
                raise SystemExit(f"{path}: {r.status_code} {r.text[:300]}")
            expected[name] = hashlib.sha256(r.content).hexdigest()
            etags[name] = r.headers.get("etag", "")
            run.first[name] = (took, len(r.content), r.headers.get("x-remap-cache", "none"))
    return expected, etags


def serve_and_load(url_db: str, key: str, tmp: Path, *, cache_mb: int, n: int,
                   clients: int, revalidate: int = 0, workers: int = 1,
                   tree: Path = ROOT, server: tuple[str, ...] = (),
                   label: str = "") -> list[Run]:
    """A run of ``n`` requests, then (``revalidate``) one of conditional requests.
    ``tree``: the source tree the server runs from; ``server``: more uvicorn options
    (``--http h11 --loop asyncio``)."""
    run = Run(label=(f"{label}: " if label else "")
              + (f"cache {cache_mb} MB" if cache_mb else "cache off")
              + (f", {workers} workers" if workers > 1 else ""))
    runs = [run]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(tree), "REMAP_DATABASE_URL": url_db,
           "REMAP_RESPONSE_CACHE_MB": str(cache_mb),
           "REMAP_EXPENSIVE_REQUESTS_PER_MINUTE": "100000000",
           "REMAP_DOWNLOAD_CACHE_DIR": str(tmp / "downloads")}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "service.main:app", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning", "--no-access-log", *server,
         *(["--workers", str(workers)] if workers > 1 else [])],
        env=env, cwd=tree)
    try:
        wait_up(base)
        expected, etags = first_answers(base, key, run)
        timed(server.pid, lambda: drive(port, key, n, clients, expected, run), run)
        if revalidate and all(etags.values()):
            again = Run(label=f"{run.label}, If-None-Match (304)", first=run.first)
            runs.append(again)
            timed(server.pid, lambda: drive(port, key, revalidate, clients, expected, again,
                                            etags), again)
    finally:
        server.terminate()
        server.wait(timeout=60)
    return runs


def timed(pid: int, load: Callable[[], None], run: Run) -> None:
    run.load_before = os.getloadavg()[0]
    s0, c0, t0 = cpu_seconds(pid), time.process_time(), time.perf_counter()
    load()
    run.wall = time.perf_counter() - t0
    run.server_cpu = cpu_seconds(pid) - s0
    run.client_cpu = time.process_time() - c0
    run.load_after = os.getloadavg()[0]


def ms(values: np.ndarray | list[float], q: float) -> str:
    return f"{np.percentile(np.asarray(values) * 1000, q):,.1f}"


def report(runs: list[Run]) -> None:
    print("\n| run | route | requests | errors | p50 ms | p95 ms | p99 ms | max ms |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for run in runs:
        errors = sum(run.errors.values())
        for name, lat in [*run.latencies.items(), ("both", list(run.all()))]:
            if not len(lat):
                continue
            print(f"| {run.label} | {name} | {len(lat):,} | "
                  f"{errors if name == 'both' else '-'} | {ms(lat, 50)} | {ms(lat, 95)} | "
                  f"{ms(lat, 99)} | {ms(lat, 100)} |")
    print()
    for run in runs:
        total = len(run.all())
        firsts = ", ".join(f"{name} {t * 1000:,.0f} ms ({size / 1e3:,.0f} kB, {state})"
                           for name, (t, size, state) in run.first.items())
        print(f"- {run.label}: {total:,} requests in {run.wall:.1f} s "
              f"({total / run.wall:,.0f} req/s); server CPU {run.server_cpu:.1f} s, "
              f"load generator CPU {run.client_cpu:.1f} s; X-Remap-Cache {run.states}; "
              f"errors {run.errors or 0}; load average {run.load_before:.2f} before, "
              f"{run.load_after:.2f} after; first requests: {firsts}")
    plain = [r for r in runs if "If-None-Match" not in r.label]
    cached = [r for r in plain if "cache off" not in r.label]
    if len(cached) > 1:
        first = cached[0]
        for other in cached[1:]:
            print(f"- {other.label} / {first.label}: "
                  + ", ".join(f"p{q} {np.percentile(other.all(), q) / np.percentile(first.all(), q):.2f}"
                              for q in (50, 95, 99))
                  + f", server CPU a request {other.server_cpu / len(other.all()) * 1e3:.2f} ms "
                    f"vs {first.server_cpu / len(first.all()) * 1e3:.2f} ms")
    if len(plain) == 2 and len(cached) == 1:
        on, off = plain
        print("- ratio (cache off / on): "
              + ", ".join(f"p{q} {np.percentile(off.all(), q) / np.percentile(on.all(), q):,.0f}x"
                          for q in (50, 95, 99)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=10_000)
    ap.add_argument("--uncached-requests", type=int, default=1_000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--cache-mb", type=int, default=256)
    ap.add_argument("--revalidate", type=int, default=10_000,
                    help="then as many conditional requests (If-None-Match: 304); 0: none")
    ap.add_argument("--workers", type=int, default=1,
                    help="uvicorn worker processes (each with its own cache)")
    ap.add_argument("--skip-uncached", action="store_true")
    ap.add_argument("--baseline", type=Path,
                    help="another source tree (git archive of a commit): its server is "
                         "loaded first, in the same run, with uvicorn's pure-Python "
                         "HTTP parser and event loop (h11, asyncio) as before them")
    ap.add_argument("--compare-server", action="store_true",
                    help="also load this tree's server with h11 and asyncio (separates "
                         "the fast path's gain from httptools' and uvloop's)")
    ap.add_argument("--db", type=Path, help="SQLite file to keep the store in (reused when it "
                                            "exists, else imported into)")
    args = ap.parse_args()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {commit}, {platform.machine()} "
          f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        db = args.db or tmp / "remap.db"
        url_db = f"sqlite:///{db}"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        if db.exists():
            key = subprocess.run(
                [sys.executable, "-c", KEY, url_db], env=env, cwd=ROOT, check=True,
                capture_output=True, text=True).stdout.split()[-1]
            print(f"store: {db} as it is")
        else:
            t0 = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", IMPORT, url_db, str(POLICEUK),
                                  str(NHOOD)], env=env, cwd=ROOT, check=True,
                                 capture_output=True, text=True)
            key, inserted = out.stdout.split()[-2:]
            print(f"store: {inserted} crimes and sheffield_nhood imported in "
                  f"{time.perf_counter() - t0:.0f} s")
        pure = ("--http", "h11", "--loop", "asyncio")
        configs: list[tuple[str, Path, tuple[str, ...]]] = []
        if args.baseline:
            configs.append(("before (baseline, h11+asyncio)", args.baseline, pure))
        if args.compare_server:
            configs.append(("this tree, h11+asyncio", ROOT, pure))
        configs.append(("this tree" if configs else "", ROOT, ()))
        runs = []
        for label, tree, server in configs:
            runs += serve_and_load(url_db, key, tmp, cache_mb=args.cache_mb, n=args.requests,
                                   clients=args.clients, revalidate=args.revalidate,
                                   workers=args.workers, tree=tree, server=server,
                                   label=label)
        if not args.skip_uncached:
            runs += serve_and_load(url_db, key, tmp, cache_mb=0, n=args.uncached_requests,
                                   clients=args.clients, workers=args.workers)
        report(runs)


if __name__ == "__main__":
    main()
