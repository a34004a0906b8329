"""remap behind a real nginx (Debian's) on loopback, with TLS and a path prefix:
``https://127.0.0.1:PORT/remap/`` -> ``http://127.0.0.1:UPSTREAM/``.

- OGC paging through the ``next`` links the proxied server writes returns every
  feature once (the ids the store holds), every link https, on the proxy, under /remap;
- a map page (with a served MBTiles basemap) loaded through the proxy in headless
  Chromium loads every asset and tile with no failed request.

nginx strips the prefix and says what it was in X-Forwarded-Prefix; remap believes
that only because the proxy's address (127.0.0.1) is in REMAP_FORWARDED_ALLOW_IPS.
Skipped without nginx or openssl, unless REMAP_REQUIRE_NGINX=1 (CI).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from service.main import create_app
from service.settings import Settings, get_settings
from service.store import EventFilter, Store
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, require_browser
from tests.live import serve
from tests.service.conftest import load_town
from tests.service.render.mbtiles_fixture import make_mbtiles

pytestmark = pytest.mark.browser

PREFIX = "/remap"


def require_nginx() -> str:
    nginx = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)
    missing = [name for name, path in (("nginx", nginx), ("openssl", shutil.which("openssl")))
               if path is None]
    if missing:
        message = f"{', '.join(missing)} not installed (apt-get install nginx openssl)"
        if os.environ.get("REMAP_REQUIRE_NGINX") == "1":
            pytest.fail(message + " (REMAP_REQUIRE_NGINX=1)")
        pytest.skip(message)
    assert nginx is not None
    return nginx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


NGINX_CONF = """
worker_processes 1;
daemon off;
{user}
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 128; }}
http {{
  access_log {dir}/access.log;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  server {{
    listen 127.0.0.1:{port} ssl;
    ssl_certificate {dir}/cert.pem;
    ssl_certificate_key {dir}/key.pem;
    # one TLS connection per request: Chromium gives up on a request (ERR_TOO_MANY_RETRIES)
    # when reused connections to a self-signed test server fail twice, seen once under CI load;
    # keep-alive is not what this test is about (the README's block keeps nginx's default)
    keepalive_timeout 0;
    # README, "Operations guide": the same block
    location {prefix}/ {{
      proxy_pass http://127.0.0.1:{upstream}/;
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Prefix {prefix};
      proxy_read_timeout 300s;
      client_max_body_size 2g;
    }}
  }}
}}
"""


@contextmanager
def nginx_tls_proxy(nginx: str, upstream: str, folder: Path) -> Iterator[str]:
    """nginx on a free loopback port with a self-signed certificate, passing ``PREFIX/``
    to ``upstream``; yields ``https://127.0.0.1:PORT``."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(folder / "key.pem"), "-out", str(folder / "cert.pem")],
                   check=True, capture_output=True)
    port = free_port()
    conf = folder / "nginx.conf"
    conf.write_text(NGINX_CONF.format(
        dir=folder, port=port, prefix=PREFIX, upstream=urlsplit(upstream).port,
        user="user root;" if os.getuid() == 0 else ""))
    proc = subprocess.Popen([nginx, "-e", str(folder / "error.log"), "-p", str(folder),
                             "-c", str(conf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log = (folder / "error.log").read_text() if (folder / "error.log").exists() \
                        else ""
                    raise AssertionError(f"nginx did not start: {log}") from None
                time.sleep(0.1)
        yield f"https://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _town_bounds(store: Store) -> tuple[float, float, float, float]:
    events = store.query_events(EventFilter(layers=("crime",)))
    return (float(events["lon"].min()), float(events["lat"].min()),
            float(events["lon"].max()), float(events["lat"].max()))


@pytest.fixture(scope="module")
def behind_nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    nginx = require_nginx()
    tmp = tmp_path_factory.mktemp("proxy")
    store = load_town(Store(f"sqlite:///{tmp / 'remap.db'}"), tmp, seed=5, scale=0.15)
    # tiles over the town and well around it (the viewport is wider than the data), at
    # the zooms a fitted map of it asks for: a missing tile would be a failed request
    w, s, e, n = _town_bounds(store)
    dx, dy = 1.5 * (e - w), 1.5 * (n - s)
    mbtiles = tmp / "force.mbtiles"
    make_mbtiles(mbtiles, bounds=(w - dx, s - dy, e + dx, n + dy), zooms=tuple(range(11, 16)))
    # the map pages read the basemap from the settings of the process (REMAP_BASEMAP)
    old = os.environ.get("REMAP_BASEMAP")
    os.environ["REMAP_BASEMAP"] = str(mbtiles)
    get_settings.cache_clear()
    settings = Settings(database_url=store.url, forwarded_allow_ips="127.0.0.1",
                        basemap=str(mbtiles), download_cache_dir=tmp / "dl",
                        expensive_requests_per_minute=10_000)
    try:
        with serve(create_app(settings, store=store)) as upstream, \
                nginx_tls_proxy(nginx, upstream, tmp / "nginx") as proxy:
            yield {"store": store, "proxy": proxy, "upstream": upstream,
                   "key": store.create_key("analyst", "proxy test")}
    finally:
        store.dispose()
        if old is None:
            os.environ.pop("REMAP_BASEMAP", None)
        else:
            os.environ["REMAP_BASEMAP"] = old
        get_settings.cache_clear()


def test_ogc_paging_through_next_links_behind_nginx_returns_every_feature_once(
        behind_nginx: dict[str, Any]) -> None:
    proxy, store = behind_nginx["proxy"], behind_nginx["store"]
    base = f"{proxy}{PREFIX}"
    ids: list[Any] = []
    hrefs: list[str] = []
    with httpx.Client(verify=False, headers={"X-API-Key": behind_nginx["key"]},
                      timeout=60) as http:
        url: str | None = f"{base}/v1/ogc/collections/events-crime/items?limit=100"
        pages = 0
        while url is not None:
            r = http.get(url)
            assert r.status_code == 200, (url, r.text[:300])
            fc = r.json()
            links = {link["rel"]: link["href"] for link in fc["links"]}
            hrefs += [link["href"] for link in fc["links"]]
            ids += [f["id"] for f in fc["features"]]
            url = links.get("next")
            pages += 1
        collection = http.get(f"{base}/v1/ogc/collections/events-crime").json()
        hrefs += [link["href"] for link in collection["links"]]
    expected = store.query_events(EventFilter(layers=("crime",)))["id"].tolist()
    assert pages > 2
    assert len(ids) == len(set(ids)) == len(expected)
    assert set(ids) == set(expected)
    # self, next, alternate, items, queryables, download: all on the proxy, under the prefix
    assert hrefs and all(h.startswith(f"{base}/") for h in hrefs), [
        h for h in hrefs if not h.startswith(f"{base}/")][:5]


def _load_in_chromium(page_url: str, key: str) -> tuple[list[str], list[str], list[str],
                                                      list[str]]:
    """Open ``page_url`` in headless Chromium and wait for the map and a tile: the URLs
    requested, the requests that failed, the responses >= 400 and the page errors."""
    from playwright.sync_api import sync_playwright

    requested: list[str] = []
    failed: list[str] = []
    bad_status: list[str] = []
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))
        try:
            context = browser.new_context(ignore_https_errors=True,
                                          extra_http_headers={"X-API-Key": key})
            page = context.new_page()
            page.on("request", lambda r: requested.append(r.url))
            page.on("requestfailed", lambda r: failed.append(f"{r.url}: {r.failure}"))
            page.on("response", lambda r: bad_status.append(f"{r.url}: {r.status}")
                    if r.status >= 400 else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            response = page.goto(page_url, wait_until="load", timeout=120_000)
            assert response is not None and response.status == 200, response
            page.wait_for_selector(".leaflet-control-layers", state="attached", timeout=60_000)
            page.wait_for_function(
                "document.querySelectorAll('.leaflet-tile-pane img.leaflet-tile-loaded')"
                ".length > 0", timeout=30_000)
            page.wait_for_timeout(1000)
        finally:
            browser.close()
    return requested, failed, bad_status, errors


def test_a_map_page_behind_nginx_loads_every_asset_and_tile_in_chromium(
        behind_nginx: dict[str, Any]) -> None:
    require_browser()
    base = f"{behind_nginx['proxy']}{PREFIX}"
    page_url = (f"{base}/v1/maps/hotspots?layer=crime&category=Drugs&unit=h3:9"
                "&area=boundary:beats&permutations=99&seed=1")
    requested, failed, bad_status, errors = _load_in_chromium(page_url, behind_nginx["key"])
    if failed and not bad_status and not errors and all(
            f.endswith("net::ERR_TOO_MANY_RETRIES") for f in failed):
        # Chromium's own transport gave up on a request (nginx had logged it as served,
        # 200, when this was looked into): seen a few times in full parallel test runs,
        # never alone. Load the page once more; any failure then, or any other kind of
        # failure the first time, fails the test
        print("first load, Chromium transport failures (page loaded again):", failed)
        requested, failed, bad_status, errors = _load_in_chromium(page_url, behind_nginx["key"])
    assert failed == [] and bad_status == [] and errors == [], (failed, bad_status, errors)
    static = [u for u in requested if "/static/" in u]
    tiles = [u for u in requested if "/v1/tiles/" in u]
    assert static and tiles, requested
    # nothing went around the proxy or outside the prefix
    assert all(u.startswith(f"{base}/") or u.startswith("data:") for u in requested), [
        u for u in requested if not u.startswith(f"{base}/")][:5]
