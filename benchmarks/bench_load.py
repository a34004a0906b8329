"""The API under load: 50 concurrent clients on loopback against ``GET /v1/counts`` and
``GET /v1/hotspots`` (Gi*, H3 res 8 over Sheffield's neighbourhoods, fixed seed), with
the response cache on and off (run by hand).

Imports the 15 police.uk files (178,243 placed crimes) and the Sheffield
neighbourhoods boundary set (``sheffield_nhood``, 100 units) into a fresh SQLite
store, then for each cache setting starts uvicorn (one process, as ``remap serve``)
from this checkout and loads it with each ``--generator``, 10,000 requests split
evenly between the two routes:

- ``python`` (the default): ``--clients`` threads in this process with a keep-alive
  connection each (``http.client``) share ``--requests`` requests, alternating the
  two routes. Every answer is checked: status 200 and the same bytes as the first
  answer of its route (the seed is fixed, so any difference is an error). On a
  2-core machine this generator holds most of a core and its interpreter lock adds
  client-side latency.
- ``ab`` (ApacheBench, C; Debian ``apache2-utils``): one URL per process, so two
  processes run at once, one per route, each with half the clients and half the
  requests; ``-k`` asks for keep-alive, but ab speaks HTTP/1.0 and uvicorn keeps no
  HTTP/1.0 connection alive, so **every request is a new TCP connection** (the output
  says how many were kept alive). Per-request times from ``-g`` (whole
  milliseconds); errors: ab's failed requests (a connection error, or a body
  whose length differs from the first) and non-2xx answers.
- ``h2load`` (nghttp2, C; Debian ``nghttp2-client``) with ``--h1``: HTTP/1.1 keep-alive,
  two processes as for ab; per-request times from ``--log-file`` (microseconds) with
  each answer's status; errors: any status but 200, failed, errored or timed-out
  requests, and a total of body bytes other than requests x the first answer's size.

The C generators check status and size, not every byte (the Python one does). The
percentiles of "both" are computed from the two processes' raw per-request times
together, never averaged from each route's. Latencies are per request, client side,
from send to last byte (ab and h2load: from connecting, for a new connection).
The expensive-route rate limit is raised for the run (one key makes every request).

    .venv/bin/python benchmarks/bench_load.py [--requests 10000] [--clients 50]
        [--generator python|ab|h2load ...] [--uncached-requests 1000]
        [--baseline TREE] [--compare-server]

The server runs uvicorn's defaults: ``httptools`` and ``uvloop`` when they are
installed (they are dependencies), else h11 and asyncio; the header line says which.
``--baseline TREE`` (a ``git archive`` of an earlier commit) and ``--compare-server``
run h11 and asyncio explicitly. Without the cache every request recomputes (a Gi* with
up to 49,999 permutations per request), so that run makes ``--uncached-requests``
requests (fewer, say so) with the first generator.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import http.client
import importlib.util
import itertools
import os
import platform
import re
import resource
import shutil
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
    #: what the generator said beyond the figures (e.g. ab's kept-alive connections)
    notes: list[str] = field(default_factory=list)

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


GENERATORS = ("python", "ab", "h2load")
PACKAGES = {"ab": "apache2-utils", "h2load": "nghttp2-client"}


def c_load(tool: str, port: int, key: str, n: int, clients: int, run: Run, tmp: Path) -> None:
    """``n`` requests from ``clients`` connections of a C load generator (``ab`` or
    ``h2load``): one process per route, run together, each with half of both; every
    request's time (and, for h2load, status) from its raw output, checked as the
    module's notes say."""
    procs = {}
    for i, (name, (path, params)) in enumerate(ROUTES.items()):
        share_n = n // len(ROUTES) + (i < n % len(ROUTES))
        share_c = clients // len(ROUTES) + (i < clients % len(ROUTES))
        url = f"http://127.0.0.1:{port}{path}?{urllib.parse.urlencode(params)}"
        raw = tmp / f"{tool}-{name}.tsv"
        raw.unlink(missing_ok=True)  # h2load appends to its log file
        if tool == "ab":
            cmd = ["ab", "-q", "-k", "-n", str(share_n), "-c", str(share_c), "-s", "600",
                   "-H", f"X-API-Key: {key}", "-g", str(raw), url]
        else:
            cmd = ["h2load", "--h1", "-n", str(share_n), "-c", str(share_c), "-T", "600",
                   "-H", f"x-api-key: {key}", f"--log-file={raw}", url]
        procs[name] = (subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True), raw, share_n)
    for name, (proc, raw, share_n) in procs.items():
        out = proc.communicate()[0]
        if proc.returncode:
            raise SystemExit(f"{tool} ({name}) failed ({proc.returncode}):\n{out[-2000:]}")
        size = run.first[name][1]
        if tool == "ab":
            _ab_result(name, out, raw, share_n, size, run)
        else:
            _h2load_result(name, out, raw, share_n, size, run)


def _count(pattern: str, text: str) -> int:
    found = re.search(pattern, text)
    return int(found.group(1)) if found else 0


def _error(run: Run, what: str, count: int) -> None:
    if count:
        run.errors[what] = run.errors.get(what, 0) + count


def _ab_result(name: str, out: str, raw: Path, n: int, size: int, run: Run) -> None:
    # -g: starttime, seconds, ctime, dtime, ttime, wait (ms), one line a request
    times = np.loadtxt(raw, skiprows=1, usecols=4, delimiter="\t", ndmin=1) / 1000.0
    run.latencies[name].extend(times.tolist())
    complete = _count(r"Complete requests:\s+(\d+)", out)
    _error(run, f"{name}: not completed", n - complete)
    _error(run, f"{name}: ab failed (connect, length, exceptions)",
           _count(r"Failed requests:\s+(\d+)", out))
    _error(run, f"{name}: non-2xx", _count(r"Non-2xx responses:\s+(\d+)", out))
    length = _count(r"Document Length:\s+(\d+)", out)
    _error(run, f"{name}: first body of another size", int(length != size))
    run.states["ab keep-alive requests"] = (run.states.get("ab keep-alive requests", 0)
                                            + _count(r"Keep-Alive requests:\s+(\d+)", out))


def _h2load_result(name: str, out: str, raw: Path, n: int, size: int, run: Run) -> None:
    # --log-file: start (us since the epoch), status, duration (us), one line a request
    rows = np.loadtxt(raw, usecols=(1, 2), delimiter="\t", ndmin=2)
    run.latencies[name].extend((rows[:, 1] / 1e6).tolist())
    _error(run, f"{name}: not logged", n - len(rows))
    _error(run, f"{name}: status other than 200", int((rows[:, 0] != 200).sum()))
    for what in ("failed", "errored", "timeout"):
        _error(run, f"{name}: {what}", _count(rf"(\d+) {what}", out))
    data = _count(r"traffic:.*?(\d+)\) data", out)
    _error(run, f"{name}: body bytes other than requests x size", int(data != len(rows) * size))


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
                   label: str = "", generators: tuple[str, ...] = ("python",)) -> list[Run]:
    """A run of ``n`` requests per generator, then (``revalidate``, Python generator)
    one of conditional requests. ``tree``: the source tree the server runs from;
    ``server``: more uvicorn options (``--http h11 --loop asyncio``)."""
    name = ((f"{label}: " if label else "")
            + (f"cache {cache_mb} MB" if cache_mb else "cache off")
            + (f", {workers} workers" if workers > 1 else ""))
    runs: list[Run] = []
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # the caller's PYTHONPATH too (e.g. where httptools and uvloop are installed)
    path = os.pathsep.join(p for p in (str(tree), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "PYTHONPATH": path, "REMAP_DATABASE_URL": url_db,
           "REMAP_RESPONSE_CACHE_MB": str(cache_mb),
           "REMAP_EXPENSIVE_REQUESTS_PER_MINUTE": "100000000",
           "REMAP_DOWNLOAD_CACHE_DIR": str(tmp / "downloads")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "service.main:app", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning", "--no-access-log", *server,
         *(["--workers", str(workers)] if workers > 1 else [])],
        env=env, cwd=tree)
    try:
        wait_up(base)
        first = Run(label=name)
        expected, etags = first_answers(base, key, first)
        for generator in generators:
            run = Run(label=f"{name}, {generator}", first=first.first)
            runs.append(run)
            load: Callable[[], None] = (
                functools.partial(drive, port, key, n, clients, expected, run)
                if generator == "python"
                else functools.partial(c_load, generator, port, key, n, clients, run, tmp))
            timed(proc.pid, load, run)
        if revalidate and all(etags.values()):
            again = Run(label=f"{name}, python, If-None-Match (304)", first=first.first)
            runs.append(again)
            timed(proc.pid, lambda: drive(port, key, revalidate, clients, expected, again,
                                          etags), again)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    return runs


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(pid: int, load: Callable[[], None], run: Run) -> None:
    """Run ``load``; its wall time, the server's CPU seconds and the load generator's
    (this process, plus the C generators it waited for)."""
    run.load_before = os.getloadavg()[0]
    s0, c0, t0 = cpu_seconds(pid), time.process_time() + _children_cpu(), time.perf_counter()
    load()
    run.wall = time.perf_counter() - t0
    run.server_cpu = cpu_seconds(pid) - s0
    run.client_cpu = time.process_time() + _children_cpu() - c0
    run.load_after = os.getloadavg()[0]


def ms(values: np.ndarray | list[float], q: float) -> str:
    return f"{np.percentile(np.asarray(values) * 1000, q):,.1f}"


def report(runs: list[Run]) -> None:
    print("\n| run | route | requests | errors | p50 ms | p95 ms | p99 ms | max ms | req/s "
          "| server CPU s (ms a request) | generator CPU s | load avg |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for run in runs:
        errors = sum(run.errors.values())
        total = len(run.all())
        for name, lat in [*run.latencies.items(), ("both", list(run.all()))]:
            if not len(lat):
                continue
            both = name == "both"
            extra = (f"{total / run.wall:,.0f} | {run.server_cpu:.1f} "
                     f"({run.server_cpu / total * 1e3:.2f}) | {run.client_cpu:.1f} | "
                     f"{run.load_before:.2f} → {run.load_after:.2f}") if both else "| | |"
            print(f"| {run.label} | {name} | {len(lat):,} | "
                  f"{errors if both else '-'} | {ms(lat, 50)} | {ms(lat, 95)} | "
                  f"{ms(lat, 99)} | {ms(lat, 100)} | {extra} |")
    print()
    for run in runs:
        total = len(run.all())
        firsts = ", ".join(f"{name} {t * 1000:,.0f} ms ({size / 1e3:,.0f} kB, {state})"
                           for name, (t, size, state) in run.first.items())
        print(f"- {run.label}: {total:,} requests in {run.wall:.1f} s "
              f"({total / run.wall:,.0f} req/s); server CPU {run.server_cpu:.1f} s, "
              f"load generator CPU {run.client_cpu:.1f} s; {run.states}; "
              f"errors {run.errors or 0}; load average {run.load_before:.2f} before, "
              f"{run.load_after:.2f} after; first requests: {firsts}")
    plain = [r for r in runs if "If-None-Match" not in r.label]
    cached = [r for r in plain if "cache off" not in r.label]
    by_generator: dict[str, list[Run]] = {}
    for r in cached:
        by_generator.setdefault(r.label.rsplit(", ", 1)[-1], []).append(r)
    for group in by_generator.values():
        first = group[0]
        for other in group[1:]:
            print(f"- {other.label} / {first.label}: "
                  + ", ".join(f"p{q} {np.percentile(other.all(), q) / np.percentile(first.all(), q):.2f}"
                              for q in (50, 95, 99))
                  + f", server CPU a request {other.server_cpu / len(other.all()) * 1e3:.2f} ms "
                    f"vs {first.server_cpu / len(first.all()) * 1e3:.2f} ms")
    off = [r for r in plain if "cache off" in r.label]
    if off and cached:
        on = cached[-1]
        print(f"- ratio ({off[0].label} / {on.label}): "
              + ", ".join(f"p{q} {np.percentile(off[0].all(), q) / np.percentile(on.all(), q):,.0f}x"
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
    ap.add_argument("--generator", action="append", choices=GENERATORS,
                    help="load generator, repeatable (default: python); ab needs Debian's "
                         "apache2-utils, h2load nghttp2-client")
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
    generators = tuple(dict.fromkeys(args.generator or ["python"]))
    for tool in generators:
        if tool != "python" and shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed (apt-get install {PACKAGES[tool]})")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {commit}, {platform.machine()} "
          f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {os.getloadavg()}; server HTTP "
          f"{'httptools' if importlib.util.find_spec('httptools') else 'h11'}, loop "
          f"{'uvloop' if importlib.util.find_spec('uvloop') else 'asyncio'} (uvicorn's "
          f"choice; baseline and --compare-server: h11, asyncio); generators {generators}")
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
                                   label=label, generators=generators)
        if not args.skip_uncached:
            runs += serve_and_load(url_db, key, tmp, cache_mb=0, n=args.uncached_requests,
                                   clients=args.clients, workers=args.workers,
                                   generators=generators[:1])
        report(runs)


if __name__ == "__main__":
    main()
