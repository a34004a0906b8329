"""``remap map`` and ``remap pack``: self-contained HTML maps and printable packs."""

from __future__ import annotations

import logging
import time
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

OUT = click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)


def _hotspot_request(layer: str, categories: tuple[str, ...], start: str | None,
                     end: str | None, unit: str, area: str | None, k: int,
                     permutations: int | None, seed: int | None, correction: str,
                     alpha: float) -> tuple[Any, Any]:
    """The request and options of the shared analysis options."""
    from service.app.hotspots import HotspotOptions
    from service.render.pages import parse_map_request

    req = parse_map_request(layer, categories, start, end, unit, area)
    opts = HotspotOptions(k=k, permutations=permutations, seed=seed, correction=correction,
                          alpha=alpha)
    return req, opts


def _timed_page(what: str, build: Any, *args: Any, **kwargs: Any) -> str:
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
    from service.render.pages import hotspot_map_html

    req, opts = _hotspot_request(layer, categories, start, end, unit, area, k, permutations,
                                 seed, correction, alpha)
    store = open_store()
    cli_cost_check(store, req, opts, "map")
    page = _timed_page(f"hotspot map ({layer}, {unit})", hotspot_map_html, store, req, opts,
                       role=role)
    write_page(out, page, "map", as_json)


@map_group.command("operation")
@click.argument("op_id", type=int)
@OUT
@click.option("--role", type=RoleChoice(), default="analyst", show_default=True)
@json_option
@handles_errors
def map_operation(op_id: int, out: Path, role: str, as_json: bool) -> None:
    """An operation's target, buffer rings, control, before/after counts, density change."""
    from service.render.pages import operation_map_html

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
    from service.render.pages import area_pack_html

    req, opts = _hotspot_request(layer, categories, start, end, unit, area, k, permutations,
                                 seed, correction, alpha)
    store = open_store()
    cli_cost_check(store, req, opts, "pack")
    page = _timed_page(f"area pack ({layer}, {unit})", area_pack_html, store, req, opts,
                       role=role)
    write_page(out, page, "pack", as_json)


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
    from service.render.pages import operation_pack_html

    page = _timed_page(f"operation {op_id} pack", operation_pack_html, open_store(), op_id,
                       role=role, actor="cli")
    write_page(out, page, "pack", as_json)
