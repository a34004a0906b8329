"""The OpenAPI description types every answer and lists every closed choice.

Every route answers a declared schema for its success status: a named model
(a ``$ref`` into ``components/schemas``) for JSON, ``type: string`` for an HTML
page; a bare ``dict[str, Any]`` (an object with any properties) does not count.
Closed choices (hotspot method, correction, kernel, import format, audit order;
a layer's sensitivity and detail, an operation's status) appear as enums.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.api.models.choices import Correction, HotspotMethod, Kernel
from service.app.hotspots import METHODS
from service.main import create_app
from service.settings import Settings
from spatial.stats.density import KERNELS
from spatial.stats.significance import CORRECTIONS

OGC_PREFIX = "/v1/ogc"


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    # the description needs no store: the app is built, never started
    return create_app(Settings(database_url="sqlite:///:memory:")).openapi()


def _operations(spec: dict[str, Any], *, ogc: bool) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, item in spec["paths"].items()
            for method, op in item.items() if path.startswith(OGC_PREFIX) == ogc]


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _typed(spec: dict[str, Any], media: str, schema: dict[str, Any]) -> bool:
    """A success schema that says something: a named model, a union of them, or a page."""
    if media.startswith("text/"):
        return schema.get("type") == "string"
    if not media.endswith("json"):  # a file or an image: bytes (downloads, basemap tiles)
        return schema.get("type") == "string" and schema.get("format") == "binary"
    if "$ref" in schema:
        return bool(_resolve(spec, schema).get("properties"))
    if "anyOf" in schema or "oneOf" in schema:
        return all(_typed(spec, media, s) for s in schema.get("anyOf", schema.get("oneOf")))
    return False


def _untyped(spec: dict[str, Any], *, ogc: bool) -> list[str]:
    missing = []
    for path, method, op in _operations(spec, ogc=ogc):
        success = {s: r for s, r in op["responses"].items() if s.startswith("2")}
        ok = any(_typed(spec, media, body.get("schema", {}))
                 for r in success.values() for media, body in r.get("content", {}).items())
        if not ok:
            missing.append(f"{method.upper()} {path}: {success}")
    return missing


def test_every_route_declares_its_success_schema(spec: dict[str, Any]) -> None:
    ops = _operations(spec, ogc=False)
    assert len(ops) >= 20
    missing = _untyped(spec, ogc=False)
    assert not missing, "\n".join(missing)


def test_every_ogc_route_declares_its_success_schema(spec: dict[str, Any]) -> None:
    assert _operations(spec, ogc=True)
    missing = _untyped(spec, ogc=True)
    assert not missing, "\n".join(missing)


def test_html_routes_declare_their_media_type(spec: dict[str, Any]) -> None:
    for path in ("/v1/maps/hotspots", "/v1/packs/area", "/v1/maps/operations/{op_id}",
                 "/v1/operations/{op_id}/pack"):
        content = spec["paths"][path]["get"]["responses"]["200"]["content"]
        assert content == {"text/html": {"schema": {"type": "string"}}}, path


def _param(spec: dict[str, Any], path: str, method: str, name: str) -> dict[str, Any]:
    op = spec["paths"][path][method]
    for p in op.get("parameters", []):
        if p["name"] == name:
            return _resolve(spec, p["schema"])
    body = op["requestBody"]["content"]
    schema = _resolve(spec, next(iter(body.values()))["schema"])
    return _resolve(spec, schema["properties"][name])


def _property(spec: dict[str, Any], model: str, name: str) -> dict[str, Any]:
    schema = spec["components"]["schemas"][model]["properties"][name]
    if "anyOf" in schema:  # optional: the enum and null
        schema = next(s for s in schema["anyOf"] if s.get("type") != "null")
    return _resolve(spec, schema)


def test_closed_choices_are_enums(spec: dict[str, Any]) -> None:
    hot = "/v1/hotspots"
    assert _param(spec, hot, "get", "method")["enum"] == list(METHODS)
    assert _param(spec, hot, "get", "correction")["enum"] == list(CORRECTIONS)
    assert "fdr_by" in _param(spec, hot, "get", "correction")["enum"]  # Benjamini-Yekutieli
    assert _param(spec, hot, "get", "kernel")["enum"] == list(KERNELS)
    assert _param(spec, "/v1/autocorrelation", "get", "correction")["enum"] == list(CORRECTIONS)
    assert _param(spec, "/v1/imports", "post", "format")["enum"] == [
        "policeuk", "csv", "geojson", "gpkg"]
    assert _param(spec, "/v1/audit", "get", "order")["enum"] == ["asc", "desc"]
    assert _property(spec, "LayerInfo", "sensitivity")["enum"] == ["open", "restricted",
                                                                   "health"]
    assert _property(spec, "LayerInfo", "detail")["enum"] == [
        "points", "counts", "protected_counts", "nothing"]
    assert _property(spec, "OperationSummary", "status")["enum"] == ["planned", "started"]


def test_enums_are_the_core_tuples() -> None:
    assert [c.value for c in Correction] == list(CORRECTIONS)
    assert [m.value for m in HotspotMethod] == list(METHODS)
    assert [k.value for k in Kernel] == list(KERNELS)


def test_fdr_by_is_served(client: TestClient, keys, town_store) -> None:
    r = client.get("/v1/hotspots", headers=keys["analyst"], params={
        "layer": "crime", "unit": "boundary:beats", "method": "lisa", "correction": "fdr_by",
        "permutations": 99, "seed": 1})
    assert r.status_code == 200, r.text
    assert r.json()["parameters"]["lisa_correction"] == "fdr_by"
