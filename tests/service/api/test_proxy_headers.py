"""Forwarded headers and the root path (service/api/proxy.py): links follow the client's
scheme, host and prefix only when a configured proxy says so; routing, uploads limits and
assets keep working under the prefix. (A real nginx in front: tests/e2e/test_proxy_nginx.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.requests import Request

from service.api.proxy import TrustedProxies
from service.main import create_app
from service.settings import Settings
from service.store import Store

PROXY = ("10.1.2.3", 40000)
FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "intel.force.example:8443",
             "X-Forwarded-Prefix": "/remap", "X-Forwarded-For": "192.0.2.7"}


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path / 'remap.db'}")
    yield s
    s.dispose()


def make_client(store: Store, tmp_path: Path, *, peer: tuple[str, int] = PROXY,
                **settings: Any) -> TestClient:
    app = create_app(Settings(database_url=store.url, download_cache_dir=tmp_path / "dl",
                              **settings), store=store)
    return TestClient(app, client=peer)


def links(client: TestClient, path: str, key: str, headers: dict[str, str]) -> dict[str, str]:
    r = client.get(path, headers={"X-API-Key": key, **headers})
    assert r.status_code == 200, r.text
    return {link["rel"]: link["href"] for link in r.json()["links"]}


def test_headers_from_a_trusted_proxy_make_every_link_the_clients(
        sqlite_store: Store, tmp_path: Path) -> None:
    key = sqlite_store.create_key("analyst")
    with make_client(sqlite_store, tmp_path, forwarded_allow_ips="10.0.0.0/8") as client:
        landing = links(client, "/v1/ogc", key, FORWARDED)
        collections = links(client, "/v1/ogc/collections", key, FORWARDED)
    base = "https://intel.force.example:8443/remap"
    assert landing["self"] == f"{base}/v1/ogc"
    assert landing["data"] == f"{base}/v1/ogc/collections"
    assert landing["conformance"] == f"{base}/v1/ogc/conformance"
    assert landing["service-desc"].startswith(f"{base}/")
    assert collections["self"] == f"{base}/v1/ogc/collections"


def test_headers_from_anyone_else_are_ignored(sqlite_store: Store, tmp_path: Path) -> None:
    key = sqlite_store.create_key("analyst")
    for trusted in ("", "127.0.0.1", "10.1.2.4/32"):
        with make_client(sqlite_store, tmp_path, forwarded_allow_ips=trusted) as client:
            assert links(client, "/v1/ogc", key, FORWARDED)["self"] == \
                "http://testserver/v1/ogc", trusted


def test_the_configured_root_path_without_any_proxy_header(
        sqlite_store: Store, tmp_path: Path) -> None:
    key = sqlite_store.create_key("analyst")
    with make_client(sqlite_store, tmp_path, root_path="/remap/") as client:
        # the proxy strips the prefix (the usual) or passes it on: both route
        for path in ("/v1/ogc", "/remap/v1/ogc"):
            assert links(client, path, key, {})["self"] == "http://testserver/remap/v1/ogc"
        docs = client.get("/docs").text
        assert '"/remap/static/vendor/swagger-ui-dist/' in docs and "'/remap/openapi.json'" in docs
        assert client.get("/remap/static/vendor/swagger-ui-dist/5.35.0/swagger-ui.css"
                          ).status_code == 200
        assert client.get("/healthz").status_code == 200


def test_a_trusted_prefix_overrides_the_configured_one_and_bad_values_are_ignored(
        sqlite_store: Store, tmp_path: Path) -> None:
    key = sqlite_store.create_key("analyst")
    with make_client(sqlite_store, tmp_path, root_path="/remap",
                     forwarded_allow_ips="10.1.2.3") as client:
        assert links(client, "/v1/ogc", key, {"X-Forwarded-Prefix": "/gis/remap"})["self"] \
            == "http://testserver/gis/remap/v1/ogc"
        hostile = {"X-Forwarded-Prefix": "/x?y=<script>", "X-Forwarded-Host": "a b/c",
                   "X-Forwarded-Proto": "javascript"}
        assert links(client, "/v1/ogc", key, hostile)["self"] == "http://testserver/remap/v1/ogc"


def test_upload_limits_still_apply_under_a_prefix(sqlite_store: Store, tmp_path: Path) -> None:
    key = sqlite_store.create_key("analyst")
    with make_client(sqlite_store, tmp_path, root_path="/remap",
                     upload_request_max_bytes=1000) as client:
        r = client.post("/v1/imports", headers={"X-API-Key": key},
                        files={"files": ("big.csv", b"x" * 5000, "text/csv")},
                        data={"layer": "crime", "format": "policeuk"})
    assert r.status_code == 413, r.text


def test_forwarded_for_names_the_client_seen_by_the_proxy(
        sqlite_store: Store, tmp_path: Path) -> None:
    app = create_app(Settings(database_url=sqlite_store.url, forwarded_allow_ips="10.1.2.3"),
                     store=sqlite_store)

    def peer(request: Request) -> dict[str, str]:
        return {"host": request.client.host if request.client else ""}

    app.add_api_route("/whoami", peer, include_in_schema=False)
    with TestClient(app, client=PROXY) as client:
        assert client.get("/whoami", headers={"X-Forwarded-For": "192.0.2.7, 10.1.2.3"}
                          ).json() == {"host": "192.0.2.7"}
    with TestClient(app, client=("198.51.100.1", 1)) as client:
        assert client.get("/whoami", headers={"X-Forwarded-For": "192.0.2.7"}
                          ).json() == {"host": "198.51.100.1"}


def test_trusted_proxies_parse_addresses_networks_and_refuse_nonsense() -> None:
    t = TrustedProxies("127.0.0.1, 10.0.0.0/8,::1")
    assert "127.0.0.1" in t and "10.200.0.1" in t and "::1" in t
    assert "192.168.0.1" not in t and "testclient" not in t
    assert "anything" in TrustedProxies("*")
    assert not TrustedProxies("")
    with pytest.raises(ValueError, match="REMAP_FORWARDED_ALLOW_IPS"):
        TrustedProxies("proxy.local")


def test_a_bad_root_path_setting_is_refused() -> None:
    with pytest.raises(ValueError, match="root_path"):
        Settings(root_path="remap")


def test_a_bad_forwarded_allow_ips_setting_is_refused_naming_it() -> None:
    with pytest.raises(ValueError, match="REMAP_FORWARDED_ALLOW_IPS.*proxy.local"):
        Settings(forwarded_allow_ips="127.0.0.1, proxy.local")
