"""``remap map`` and ``remap pack``: self-contained HTML maps and printable packs."""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from service.cli.common import (
    RoleChoice,
    analysis_options,
    cli_cost_check,
    emit,
    handles_errors,
    json_option,
    open_store,
    progress,
    stack,
    write_page,
)

log = logging.getLogger("remap.cli")

#: Page builders by name: (module, function), imported when a command runs.
PAGE_BUILDERS = {"hotspot_map_html": ("service.render.hotspot_page", "hotspot_map_html"),
                 "area_pack_html": ("service.render.area_pack", "area_pack_html"),
                 "operation_map_html": ("service.render.operation_map", "operation_map_html"),
                 "operation_pack_html": ("service.render.operation_pack", "operation_pack_html")}
OUT = click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
PDF = click.option("--pdf", type=click.Path(dir_okay=False, path_type=Path), default=None,
                   help="also print the pack to this PDF (A4) with headless Chromium")
OP_LAYER = click.option("--layer", "map_layer", default=None,
                        help="the operation layer mapped, e.g. crime/Drugs "
                             "(default: the operation's first layer)")


def _write_outputs(out: Path, page: str, kind: str, as_json: bool, pdf: Path | None) -> None:
    """Write the page to ``out`` and, when asked, print it to ``pdf``; say where (one JSON
    object with ``--json``)."""
    if pdf is None:
        write_page(out, page, kind, as_json)
        return
    from service.render.pdf import print_pdf

    out.write_text(page, encoding="utf-8")
    log.info("printing %s to PDF with headless Chromium", out)
    t0 = time.perf_counter()
    path = print_pdf(out, pdf)
    size, pdf_size = len(page.encode()), path.stat().st_size
    emit({kind: str(out), "bytes": size, "pdf": str(path), "pdf_bytes": pdf_size}, as_json,
         lambda d: click.echo(f"{kind} written: {out} ({size / 1e6:.1f} MB)\n"
                              f"pdf written: {path} ({pdf_size / 1e6:.1f} MB, "
                              f"{time.perf_counter() - t0:.0f} s)"))


def _analysis_page(kind: str, build_name: str, out: Path, role: str,
                   as_json: bool, pdf: Path | None, layer: str, categories: tuple[str, ...], start: str | None,
                   end: str | None, unit: str, area: str | None, k: int,
                   permutations: int | None, seed: int | None, correction: str,
                   alpha: float) -> None:
    """A hotspot map or area pack written to ``out``.

    ``build_name`` names the page builder (a key of :data:`PAGE_BUILDERS`), whose
    module is imported here, when the command runs, not when ``remap`` starts.
    """
    from service.app.hotspots import HotspotOptions
    from service.render.hotspot_page import parse_map_request

    build = _page_builder(build_name)
    req = parse_map_request(layer, categories, start, end, unit, area)
    opts = HotspotOptions(k=k, permutations=permutations, seed=seed, correction=correction,
                          alpha=alpha)
    store = open_store()
    cli_cost_check(store, req, opts, kind)
    page = _timed_page(f"{kind} ({layer}, {unit})", build, store, req,
                       opts, role=role)
    _write_outputs(out, page, kind, as_json, pdf)


def _page_builder(build_name: str) -> Callable[..., str]:
    """The page builder named ``build_name``, its module imported now."""
    module_name, function_name = PAGE_BUILDERS[build_name]
    return getattr(importlib.import_module(module_name), function_name)  # type: ignore[no-any-return]


def _timed_page(what: str, build: Callable[..., str], *args: Any, **kwargs: Any) -> str:
    """Build a page, logging how long it took (maps take seconds to minutes)."""
    log.info("%s: building", what)
    t0 = time.perf_counter()
    with progress(what):
        page: str = build(*args, **kwargs)
    log.info("%s: built in %.1f s, %d bytes", what, time.perf_counter() - t0, len(page))
    return page


@click.group("map")
def map_group() -> None:
    """Folium maps written as self-contained HTML files (work offline)."""


@click.group("pack")
def pack_group() -> None:
    """Tasking packs: one self-contained page that prints to A4."""


def _role(help_text: str | None = None) -> Callable[..., Any]:
    return click.option("--role", type=RoleChoice(), default="analyst", show_default=True,
                        help=help_text)


def _analysis_command(group: click.Group, name: str, kind: str, build_name: str, doc: str,
                      role_help: str) -> Callable[..., None]:
    """``remap map hotspots`` / ``remap pack area``: a page of one analysis request."""
    def command(out: Path, role: str, as_json: bool, pdf: Path | None = None,
                **request: Any) -> None:
        _analysis_page(kind, build_name, out, role, as_json, pdf, **request)

    command.__doc__ = doc
    options = [analysis_options, OUT, _role(role_help), json_option, handles_errors]
    if group is pack_group:
        options.insert(2, PDF)
    return stack(group.command(name), *options)(command)  # type: ignore[no-any-return]


def _operation_command(group: click.Group, kind: str, build_name: str, doc: str,
                       role_help: str | None) -> Callable[..., None]:
    """``remap map operation`` / ``remap pack operation``: a page of one stored operation."""
    def command(op_id: int, out: Path, role: str, as_json: bool, map_layer: str | None,
                pdf: Path | None = None) -> None:
        page = _timed_page(f"operation {op_id} {kind}", _page_builder(build_name), open_store(), op_id,
                           role=role, actor="cli", layer=map_layer)
        _write_outputs(out, page, kind, as_json, pdf)

    command.__doc__ = doc
    options = [click.argument("op_id", type=int), OUT, OP_LAYER, _role(role_help), json_option,
               handles_errors]
    if group is pack_group:
        options.insert(2, PDF)
    return stack(group.command("operation"), *options)(command)  # type: ignore[no-any-return]


#: The page commands: (group, name, kind, page builder, help, ``--role`` help).
_ANALYSIS_PAGES = (
    (map_group, "hotspots", "map", "hotspot_map_html",
     "Counts, Gi*, LISA, density, monthly slider and context layers on one map.",
     "draw what this role may see (e.g. partner: aggregated, suppressed)"),
    (pack_group, "area", "pack", "area_pack_html",
     "Map, top units, hot spots, caveats and parameters for an area.",
     "prepare the pack for this role (partner: aggregated, suppressed)"),
)
_OPERATION_PAGES = (
    (map_group, "map", "operation_map_html",
     "An operation's target, buffer rings, control, before/after counts, density change.", None),
    (pack_group, "pack", "operation_pack_html",
     "An operation's pack: map, counts, measures, verdicts, overdose watch, re-map.",
     "prepare the pack for this role (partner: health measures withheld, "
     "counts of 1-4 shown as <5)"),
)
for _row in _ANALYSIS_PAGES:
    _analysis_command(*_row)
for _op_row in _OPERATION_PAGES:
    _operation_command(*_op_row)
