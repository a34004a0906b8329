"""``remap serve`` (the HTTP API under uvicorn) and ``remap migrate``."""

from __future__ import annotations

import click

from service import log
from service.cli.common import emit, handles_errors, json_option, open_store


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@json_option
@click.pass_context
@handles_errors
def serve(ctx: click.Context, host: str, port: int, as_json: bool) -> None:
    """Run the HTTP API (uvicorn)."""
    import uvicorn

    from service.app.deploy import check_store_writable
    from service.settings import get_settings

    settings = get_settings()
    check_store_writable(settings.database_url)
    emit({"url": f"http://{host}:{port}", "docs": f"http://{host}:{port}/docs",
          "store": settings.database_url.split("@")[-1]}, as_json,
         lambda d: click.echo(f"remap API on {d['url']} (docs {d['docs']}), store "
                              f"{d['store']}"))
    # one line per request from the request-log middleware (logger remap.request)
    log.configure(bool(ctx.find_root().params.get("verbose")), request_log=True)
    # forwarded headers are read by the app itself, from REMAP_FORWARDED_ALLOW_IPS only
    # (service/api/proxy.py): uvicorn's own reading (it trusts 127.0.0.1) is off
    uvicorn.run("service.main:app", host=host, port=port, proxy_headers=False)


@click.command("migrate")
@json_option
@handles_errors
def migrate(as_json: bool) -> None:
    """Bring the store's schema up to date (also done on every start)."""
    from service.app.deploy import check_store_writable
    from service.settings import get_settings

    check_store_writable(get_settings().database_url)
    store = open_store()
    emit({"schema_version": store.schema_version(), "dialect": store.dialect}, as_json,
         lambda d: click.echo(f"{d['dialect']} store at schema version {d['schema_version']}"))
