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
    handles_errors,
    json_option,
    open_store,
    write_page,
)

log = logging.getLogger("remap.cli")

#: Page builders by name: (module, function), imported when a command runs.
PAGE_BUILDERS = {"hotspot_map_html": ("service.render.hotspot_page", "hotspot_map_html"),
                 "area_pack_html": ("service.render.area_pack", "area_pack_html")}
OUT = click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)


def _analysis_page(kind: str, build_name: str, out: Path, role: str,
                   as_json: bool, layer: str, categories: tuple[str, ...], start: str | None,
                   end: str | None, unit: str, area: str | None, k: int,
                   permutations: int | None, seed: int | None, correction: str,
                   alpha: float) -> None:
    """A hotspot map or area pack written to ``out``.

    ``build_name`` names the page builder (a key of :data:`PAGE_BUILDERS`), whose
    module is imported here, when the command runs, not when ``remap`` starts.
    """
    from service.app.hotspots import HotspotOptions
    from service.render.hotspot_page import parse_map_request

    module_name, function_name = PAGE_BUILDERS[build_name]
    build = getattr(importlib.import_module(module_name), function_name)
    req = parse_map_request(layer, categories, start, end, unit, area)
    opts = HotspotOptions(k=k, permutations=permutations, seed=seed, correction=correction,
                          alpha=alpha)
    store = open_store()
    cli_cost_check(store, req, opts, kind)
    page = _timed_page(f"{kind} ({layer}, {unit})", build, store, req,
                       opts, role=role)
    write_page(out, page, kind, as_json)


def _timed_page(what: str, build: Callable[..., str], *args: Any, **kwargs: Any) -> str:
    """Build a page, logging how long it took (maps take seconds to minutes)."""
    log.info("%s: building", what)
    t0 = time.perf_counter()
    page: str = build(*args, **kwargs)
    log.info("%s: built in %.1f s, %d bytes", what, time.perf_counter() - t0, len(page))
    return page


@click.group("map")
def map_group() -> None:
    """Folium maps written as self-contained HTML files (work offline)."""


@map_group.command("hotspots")
@analysis_options
@OUT
@click.option("--role", type=RoleChoice(), default="analyst", show_default=True,
              help="draw what this role may see (e.g. partner: aggregated, suppressed)")
@json_option
@handles_errors
def map_hotspots(layer: str, categories: tuple[str, ...], start: str | None, end: str | None,
                 unit: str, area: str | None, k: int, permutations: int | None,
                 seed: int | None, correction: str, alpha: float, out: Path, role: str,
                 as_json: bool) -> None:
    """Counts, Gi*, LISA, density, monthly slider and context layers on one map."""
    _analysis_page("map", "hotspot_map_html", out, role, as_json, layer, categories,
                   start, end, unit, area, k, permutations, seed, correction, alpha)


@map_group.command("operation")
@click.argument("op_id", type=int)
@OUT
@click.option("--role", type=RoleChoice(), default="analyst", show_default=True)
@json_option
@handles_errors
def map_operation(op_id: int, out: Path, role: str, as_json: bool) -> None:
    """An operation's target, buffer rings, control, before/after counts, density change."""
    from service.render.operation_map import operation_map_html

    page = _timed_page(f"operation {op_id} map", operation_map_html, open_store(), op_id,
                       role=role, actor="cli")
    write_page(out, page, "map", as_json)


@click.group("pack")
def pack_group() -> None:
    """Tasking packs: one self-contained page that prints to A4."""


@pack_group.command("area")
@analysis_options
@OUT
@click.option("--role", type=RoleChoice(), default="analyst", show_default=True,
              help="prepare the pack for this role (partner: aggregated, suppressed)")
@json_option
@handles_errors
def pack_area(layer: str, categories: tuple[str, ...], start: str | None, end: str | None,
              unit: str, area: str | None, k: int, permutations: int | None, seed: int | None,
              correction: str, alpha: float, out: Path, role: str, as_json: bool) -> None:
    """Map, top units, hot spots, caveats and parameters for an area."""
    _analysis_page("pack", "area_pack_html", out, role, as_json, layer, categories,
                   start, end, unit, area, k, permutations, seed, correction, alpha)


@pack_group.command("operation")
@click.argument("op_id", type=int)
@OUT
@click.option("--role", type=RoleChoice(), default="analyst", show_default=True,
              help="prepare the pack for this role (partner: health measures withheld, "
                   "counts of 1-4 shown as <5)")
@json_option
@handles_errors
def pack_operation(op_id: int, out: Path, role: str, as_json: bool) -> None:
    """An operation's pack: map, counts, measures, verdicts, overdose watch, re-map."""
    from service.render.operation_pack import operation_pack_html

    page = _timed_page(f"operation {op_id} pack", operation_pack_html, open_store(), op_id,
                       role=role, actor="cli")
    write_page(out, page, "pack", as_json)
