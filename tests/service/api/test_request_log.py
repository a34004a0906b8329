"""One log line per request (``remap.request``): id, method, path, status, duration;
never the API key, never the query string."""

from __future__ import annotations

import logging
import re

import pytest
from fastapi.testclient import TestClient

from service.api.request_log import loggable_path, request_id


def _lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "remap.request"]


def test_one_line_per_request_without_key_or_query(client: TestClient, keys,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    key = keys["analyst"]["X-API-Key"]
    caplog.set_level(logging.INFO, logger="remap.request")
    r = client.get("/v1/events", headers=keys["analyst"],
                   params={"category": "secret-category-xyz", "limit": 7})
    assert r.status_code == 200
    records = _lines(caplog)
    assert len(records) == 1
    line = records[0].getMessage()
    rid = r.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", rid)
    assert f"request_id={rid}" in line and "method=GET" in line
    assert "path=/v1/events " in line and "status=200" in line
    assert re.search(r"duration_ms=\d+\.\d", line)
    for text in (key, "secret-category-xyz", "limit", "?", "X-API-Key"):
        assert text not in line, text
    assert records[0].status == 200 and records[0].duration_ms >= 0  # type: ignore[attr-defined]


def test_refusals_are_logged_with_their_status(client: TestClient,
                                               caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="remap.request")
    r = client.get("/v1/layers", headers={"X-API-Key": "not-a-key-abc"})
    assert r.status_code == 401
    (record,) = _lines(caplog)
    assert "status=401" in record.getMessage()
    assert "not-a-key-abc" not in record.getMessage()


def test_a_safe_incoming_id_is_kept_and_an_unsafe_one_replaced(
        client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="remap.request")
    r = client.get("/healthz", headers={"X-Request-ID": "proxy-42.a_b"})
    assert r.headers["X-Request-ID"] == "proxy-42.a_b"
    assert "request_id=proxy-42.a_b " in _lines(caplog)[-1].getMessage()
    for unsafe in ("a b", "x" * 65, "id\u00e9", "k=v;evil"):
        r = client.get("/healthz", headers={"X-Request-ID": unsafe.encode("utf-8")})
        assert r.headers["X-Request-ID"] != unsafe
        assert re.fullmatch(r"[0-9a-f]{32}", r.headers["X-Request-ID"])


def test_helpers() -> None:
    assert request_id([(b"X-Request-ID", b"abc")]) == "abc"
    assert len(request_id([])) == 32
    assert loggable_path("/v1/x\nstatus=200") == "/v1/x\\x0astatus=200"
    assert loggable_path("/" + "a" * 500).endswith("...")
