"""The API docs page (Swagger UI) from vendored files, so ``/docs`` works offline.

FastAPI's default page links Swagger UI from a CDN; remap serves the copy
in ``static/vendor/swagger-ui-dist`` (see ``SOURCES.md`` there) and turns off
Swagger UI's online validator badge, so the page asks nothing of the internet.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from service.api.proxy import url_prefix

DOCS_URL = "/docs"
SWAGGER_UI = "/static/vendor/swagger-ui-dist/5.35.0"

router = APIRouter()


@router.get(DOCS_URL, include_in_schema=False, name="docs")
def swagger_ui(request: Request) -> HTMLResponse:
    app = request.app
    prefix = url_prefix(request)  # behind a proxy under a path prefix: service/api/proxy.py
    return get_swagger_ui_html(
        openapi_url=prefix + app.openapi_url, title=f"{app.title} - API docs",
        swagger_js_url=f"{prefix}{SWAGGER_UI}/swagger-ui-bundle.js",
        swagger_css_url=f"{prefix}{SWAGGER_UI}/swagger-ui.css",
        swagger_favicon_url=f"{prefix}{SWAGGER_UI}/favicon-32x32.png",
        swagger_ui_parameters={"validatorUrl": None})
