"""The FastAPI application: wiring only (settings, store, routers, error table)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import version

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from service import __doc__ as service_doc
from service.api import docs
from service.api.errors import install_error_handlers
from service.api.fastpath import CachedAnswerFastPath
from service.api.proxy import ForwardedHeadersMiddleware
from service.api.refusals import RefusalAuditMiddleware
from service.api.request_log import RequestLogMiddleware
from service.api.routers import (
    audit,
    boundaries,
    counts,
    displacement,
    events,
    harm_indices,
    health,
    hotspots,
    imports,
    layers,
    maps,
    operations,
    results,
    tiles,
)
from service.api.routers.batch import router as batch_router
from service.api.routers.emerging import router as emerging_router
from service.api.routers.gazetteers import router as gazetteers_router
from service.api.routers.near_repeat import router as near_repeat_router
from service.api.routers.ogc import router as ogc_router
from service.api.routers.profile import router as profile_router
from service.api.routers.streets import router as streets_router
from service.api.routers.watches import router as watches_router
from service.api.uploads import UploadBodyLimit
from service.render.assets import STATIC_DIR
from service.settings import Settings, get_settings
from service.store import Store


def create_app(settings: Settings | None = None, store: Store | None = None) -> FastAPI:
    """Build the app; the store opens (and migrates) when the app starts."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # imports and analyses run in worker threads: hand the interpreter lock back to
        # the event loop every millisecond (default 5 ms) so /healthz and light requests
        # stay fast while they run (benchmarks/bench_healthz.py)
        sys.setswitchinterval(0.001)
        own = store is None
        app.state.store = store or Store(settings.database_url,
                                         h3_resolution=settings.h3_resolution)
        app.state.store.configure_event_cache(settings.event_cache_mb)
        try:
            yield
        finally:
            pool = getattr(app.state, "import_pool", None)
            if pool is not None:
                pool.shutdown(wait=True)
                app.state.import_pool = None
            if own:
                app.state.store.dispose()

    # docs from the vendored Swagger UI (service/docs.py), not FastAPI's CDN page; no ReDoc
    app = FastAPI(title="remap", version=version("remap"), description=service_doc or "",
                  lifespan=lifespan, docs_url=None, redoc_url=None)
    app.include_router(docs.router)
    app.docs_url = docs.DOCS_URL  # linked from the OGC landing page
    app.state.settings = settings
    install_error_handlers(app)
    app.add_middleware(CachedAnswerFastPath)  # innermost: kept GET answers without routing
    app.add_middleware(UploadBodyLimit, settings=settings)
    app.add_middleware(RefusalAuditMiddleware)  # every 401/403/429 into the audit log
    app.add_middleware(RequestLogMiddleware)  # outermost but one: sees every answer
    # outermost: scheme, host, client and root path from a trusted proxy (service/api/proxy.py)
    app.add_middleware(ForwardedHeadersMiddleware, trusted=settings.forwarded_allow_ips,
                       root_path=settings.root_path)
    for module in (health, layers, imports, events, boundaries, counts, hotspots, results,
                   maps, operations, displacement, audit, harm_indices):
        app.include_router(module.router)
    app.include_router(ogc_router)
    app.include_router(profile_router)
    app.include_router(near_repeat_router)
    app.include_router(emerging_router)
    app.include_router(watches_router)
    app.include_router(gazetteers_router)
    app.include_router(streets_router)  # road networks for street units (issue 14)
    app.include_router(batch_router)  # the Dask path over batch datasets
    app.include_router(tiles.router)  # basemap tiles, without a key (images send no header)
    # vendored JS/CSS for maps, so pages load nothing from CDNs
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


app = create_app()
