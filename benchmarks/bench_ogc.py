"""ogr2ogr of the real crime layer from remap's OGC API into a GeoPackage (run by hand).

Imports the 15 police.uk files (178,243 placed crimes) into a fresh SQLite store,
serves it with uvicorn from a checkout (``--root``: this one, or an older one to
compare), and times Debian's ``ogr2ogr`` copying ``events-crime`` with the key sent
from a header file, at the page sizes given, plus the bulk GeoPackage download.

    .venv/bin/python benchmarks/bench_ogc.py [--root PATH] [--page-size 0 --page-size 10000]

``--page-size 0`` lets GDAL choose (what it does with remap's API description).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from served import free_port, wait_up  # noqa: E402

DATA = Path(os.environ.get("REMAP_SHARED_DATA", ROOT.parent / "shared" / "data")) / "policeuk"

IMPORT = r"""
import sys
from pathlib import Path
from service.app.importer import import_events
from service.store import Store
store = Store(sys.argv[1])
files = sorted(Path(sys.argv[2]).glob("*.csv"))
rep = import_events(store, [(f.name, f) for f in files], fmt="policeuk", layer="crime")
print(store.create_key("analyst", "bench"))
print(rep.inserted)
"""


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Clock:
    """Wall time, and CPU time of the server plus the child processes (ogr2ogr): on a
    machine shared with other work the CPU time is what an idle one would take (the
    client and server take turns, they do not overlap)."""

    def __init__(self, server_pid: int) -> None:
        self.pid = server_pid

    def __enter__(self) -> Clock:
        self.t0, self.s0 = time.perf_counter(), cpu_seconds(self.pid)
        r = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.c0 = r.ru_utime + r.ru_stime
        return self

    def __exit__(self, *exc: object) -> None:
        r = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.wall = time.perf_counter() - self.t0
        self.server = cpu_seconds(self.pid) - self.s0
        self.client = r.ru_utime + r.ru_stime - self.c0

    def __str__(self) -> str:
        return (f"{self.wall:.1f} s wall, {self.server + self.client:.1f} s CPU "
                f"(server {self.server:.1f} + ogr2ogr {self.client:.1f})")


def count_features(path: Path) -> int:
    out = subprocess.run(["ogrinfo", "-so", "-al", str(path)], check=True,
                         capture_output=True, text=True).stdout
    return int(next(line for line in out.splitlines()
                    if line.startswith("Feature Count:")).split(":")[1])


def bulk_runs(base: str, key: str, tmp: Path, gdal_env: dict[str, str], attempt: str,
              server_pid: int, timeout: float) -> None:
    """The GeoPackage fetched whole (the first request builds it), then ogr2ogr reading
    the download itself: the GeoPackage by byte ranges (/vsicurl/, ``download.gpkg``) and
    FlatGeobuf streamed (/vsicurl_streaming/)."""
    download = f"{base}/v1/ogc/collections/events-crime/download"
    bulk = tmp / "bulk.gpkg"
    t0 = time.perf_counter()
    s0 = cpu_seconds(server_pid)
    req = urllib.request.Request(f"{download}.gpkg", headers={"X-API-Key": key})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            bulk.write_bytes(r.read())
            state = r.headers.get("X-Remap-Cache", "-")
        print(f"{attempt}: GeoPackage download (cache {state}): "
              f"{time.perf_counter() - t0:.1f} s wall, "
              f"{cpu_seconds(server_pid) - s0:.1f} s server CPU, "
              f"{count_features(bulk)} features, {bulk.stat().st_size / 1e6:.1f} MB")
    except OSError as exc:
        print(f"bulk download not available from this checkout ({exc})")
        return
    for f, vsi in (("gpkg", "/vsicurl/"), ("fgb", "/vsicurl_streaming/")):
        target = tmp / f"from_{f}.gpkg"
        target.unlink(missing_ok=True)
        with Clock(server_pid) as clock:
            done = subprocess.run(["ogr2ogr", "-f", "GPKG", str(target),
                                   f"{vsi}{download}.{f}"],
                                  env=gdal_env, timeout=timeout, capture_output=True, text=True)
        if done.returncode != 0:
            print(f"{attempt}: ogr2ogr of download.{f}: failed "
                  f"({done.stderr.strip()[-200:]})")
            continue
        print(f"{attempt}: ogr2ogr of download.{f} ({vsi}): {clock}, "
              f"{count_features(target)} features")

def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", type=Path, default=ROOT, help="checkout whose server to run")
    ap.add_argument("--page-size", type=int, action="append",
                    help="GDAL PAGE_SIZE open option (0: GDAL's own choice)")
    ap.add_argument("--timeout", type=float, default=600)
    args = ap.parse_args()
    if shutil.which("ogr2ogr") is None:
        raise SystemExit("ogr2ogr not found: apt-get install gdal-bin")
    env = {**os.environ, "PYTHONPATH": str(args.root)}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        url_db = f"sqlite:///{tmp / 'remap.db'}"
        out = subprocess.run([sys.executable, "-c", IMPORT, url_db, str(DATA)], env=env,
                             cwd=args.root, check=True, capture_output=True, text=True)
        key, inserted = out.stdout.split()[-2:]
        print(f"imported {inserted} crimes; server from {args.root}; load average "
              f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        (tmp / "headers.txt").write_text(f"X-API-Key: {key}\n")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "service.main:app", "--host", "127.0.0.1",
             "--port", str(port), "--log-level", "warning"],
            env={**env, "REMAP_DATABASE_URL": url_db,
                 "REMAP_DOWNLOAD_CACHE_DIR": str(tmp / "downloads")}, cwd=args.root)
        try:
            wait_up(base)
            gdal_env = {**os.environ, "GDAL_HTTP_HEADER_FILE": str(tmp / "headers.txt")}
            for size in args.page_size or [0]:
                target = tmp / f"crime_{size}.gpkg"
                cmd = ["ogr2ogr", "-f", "GPKG", str(target), f"OAPIF:{base}/v1/ogc",
                       "events-crime"]
                if size:
                    cmd[4:4] = ["-oo", f"PAGE_SIZE={size}"]
                try:
                    with Clock(server.pid) as clock:
                        subprocess.run(cmd, env=gdal_env, check=True, timeout=args.timeout)
                except subprocess.TimeoutExpired:
                    print(f"PAGE_SIZE={size or 'GDAL default'}: stopped after "
                          f"{args.timeout:.0f} s")
                    continue
                print(f"PAGE_SIZE={size or 'GDAL default'}: {clock}, "
                      f"{count_features(target)} features")
            # the bulk download: built on the first request, kept and sent again after
            for attempt in ("first (built)", "again (kept)"):
                bulk_runs(base, key, tmp, gdal_env, attempt, server.pid, args.timeout)
        finally:
            server.terminate()
            server.wait(timeout=20)


if __name__ == "__main__":
    main()
