"""The OpenAPI description lists every error status with the one error schema, and
``/docs`` is served from the vendored Swagger UI (no CDN)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from service.api.errors import ERROR_DESCRIPTIONS, ErrorBody

KEYED = {"401", "403", "422", "429"}


def _operations(spec: dict) -> list[tuple[str, str, dict]]:
    return [(path, method, op) for path, item in spec["paths"].items()
            for method, op in item.items()]


def test_every_keyed_route_lists_its_error_statuses_with_the_error_schema(
        client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert spec["components"]["schemas"]["ErrorBody"]["required"] == ["error", "message",
                                                                      "details"]
    ops = _operations(spec)
    assert len(ops) >= 25
    for path, method, op in ops:
        responses = op["responses"]
        if not path.startswith("/v1"):
            continue
        if path.startswith("/v1/tiles/"):  # basemap images: no key (an <img> sends no header)
            assert not (KEYED - {"422"}) & set(responses), (method, path)
            continue
        assert KEYED <= set(responses), (method, path, sorted(responses))
        for status, resp in responses.items():
            if int(status) < 400:
                continue
            assert int(status) in ERROR_DESCRIPTIONS, (path, status)
            # errors are JSON even where the route answers HTML or GeoJSON
            assert resp["content"] == {"application/json": {
                "schema": {"$ref": "#/components/schemas/ErrorBody"}}}, (method, path, status)
        # FastAPI's own HTTPValidationError never appears: our 422s have the error shape
    assert "HTTPValidationError" not in spec["components"]["schemas"]


def test_specific_statuses(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    assert {"409", "413"} <= set(paths["/v1/imports"]["post"]["responses"])
    assert {"409", "413"} <= set(paths["/v1/boundaries"]["post"]["responses"])
    assert "409" in paths["/v1/hotspots"]["get"]["responses"]
    assert "404" in paths["/v1/boundaries/{name}"]["get"]["responses"]
    assert "404" in paths["/v1/results/{name}"]["get"]["responses"]
    assert "404" in paths["/v1/maps/hotspots"]["get"]["responses"]
    assert "text/html" in paths["/v1/maps/hotspots"]["get"]["responses"]["200"]["content"]


def test_errors_answer_the_documented_shape(client: TestClient, keys) -> None:
    for response in (client.get("/v1/layers"),                               # 401
                     client.get("/v1/nowhere", headers=keys["analyst"]),       # 404 (no route)
                     client.get("/v1/boundaries/none", headers=keys["analyst"]),  # 404
                     client.get("/v1/events?limit=0", headers=keys["analyst"]),   # 422
                     client.delete("/v1/layers", headers=keys["analyst"])):      # 405
        body = response.json()
        assert response.status_code >= 400
        ErrorBody.model_validate(body)
        assert set(body) == {"error", "message", "details"}


def test_docs_page_links_only_vendored_assets(client: TestClient, keys) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert not re.findall(r"https?://", page.text), "the docs page links something remote"
    assets = re.findall(r"""(?:src|href)=["']([^"']+)""", page.text)
    assert len(assets) == 3
    for url in assets:
        assert url.startswith("/static/vendor/swagger-ui-dist/"), url
        got = client.get(url)
        assert got.status_code == 200 and len(got.content) > 500, url
    assert "/openapi.json" in page.text
    assert '"validatorUrl": null' in page.text  # no badge fetched from swagger.io
    assert client.get("/redoc").status_code == 404
    landing = client.get("/v1/ogc", headers=keys["partner"]).json()
    assert any(link["href"].endswith("/docs") for link in landing["links"])
