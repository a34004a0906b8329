"""``remap import`` (events) and ``remap boundaries`` (polygon sets)."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import click

from service.cli.common import (
    emit,
    emit_rows,
    handles_errors,
    json_option,
    open_store,
    progress,
    stack,
)

log = logging.getLogger("remap.cli")

MAP_HELP = ("column mapping, e.g. 'id=ref,time=date,lon=longitude,lat=latitude,category=type' "
            "or 'easting=e,northing=n,crs=27700,...'")

FILES = click.argument("files", nargs=-1, required=True,
                       type=click.Path(exists=True, dir_okay=False, path_type=Path))


def progress_printer() -> Callable[[str, int, int], None] | None:
    """A progress bar on a terminal; nothing when piped."""
    if not sys.stderr.isatty():
        return None
    state: dict[str, Any] = {}

    def update(stage: str, done: int, total: int) -> None:
        bar = state.get(stage)
        if bar is None:
            bar = click.progressbar(length=max(total, 1), label=f"{stage:>6}", file=sys.stderr)
            bar.__enter__()
            state[stage] = bar
        bar.update(done - bar.pos)
        if done >= total:
            bar.__exit__(None, None, None)

    return update


@click.group("import")
def import_group() -> None:
    """Import events: police.uk downloads, mapped CSV, GeoJSON, GeoPackage."""


def _print_import(report: dict[str, Any]) -> None:
    click.echo(f"layer {report['layer']} ({report['format']}): {report['accepted']} accepted, "
               f"{report['rejected']} rejected, {report['duplicates']} already stored, "
               f"{report['inserted']} added")
    for f in report["files"]:
        click.echo(f"  {f['file']}: {f['rows']} rows, {f['accepted']} accepted, "
                   f"{f['rejected']} rejected, {f['inserted']} added")
    rej = report["rejections"]
    for r in rej[:20]:
        click.echo(f"  rejected {r['file']} row {r['row']} [{r['field']}]: {r['reason']}")
    if report["rejections_total"] > 20:
        listed = len(rej)
        click.echo(f"  ... and {report['rejections_total'] - 20} more rejections "
                   + ("(--json lists them all)" if listed >= report["rejections_total"] else
                      f"(--json lists the first {listed}; REMAP_IMPORT_REJECTIONS_KEPT)"))
    for w in report.get("warnings", [])[:20]:  # e.g. geocoding: a corrected postcode
        click.echo(f"  warning {w['file']} row {w['row']} [{w['field']}]: {w['reason']}")
    if report["boundary_sets_placed"]:
        click.echo(f"  placed in boundary sets: {', '.join(report['boundary_sets_placed'])}")


def _run_import(files: tuple[Path, ...], fmt: str, layer: str, mapping_spec: str | None,
                as_json: bool, **reader_options: Any) -> None:
    from service.app.importer import import_events
    from service.settings import get_settings
    from spatial.io.mapping import ColumnMapping

    settings = get_settings()
    store = open_store(settings)
    mapping = ColumnMapping.parse(mapping_spec) if mapping_spec else None
    log.info("import %s: %d file(s) into layer %s", fmt, len(files), layer)
    t0 = time.perf_counter()
    bar = progress_printer()
    # piped (no bar): a line on stderr once the import has run for 2 s
    with progress(f"import of {len(files)} file(s) into {layer or fmt}") if bar is None \
            else nullcontext():
        report = import_events(store, [(str(p), p) for p in files], fmt=fmt, layer=layer,
                               mapping=mapping, area_of_interest=settings.aoi_bounds,
                               actor="cli", progress=bar, **reader_options)
    log.info("import %s done in %.1f s: %d accepted, %d rejected, %d added", fmt,
             time.perf_counter() - t0, report.accepted, report.rejected, report.inserted)
    emit(report.as_dict(), as_json, _print_import)


@import_group.command("policeuk")
@FILES
@click.option("--layer", default="crime", show_default=True)
@json_option
@handles_errors
def import_policeuk(files: tuple[Path, ...], layer: str, as_json: bool) -> None:
    """police.uk street-level CSVs exactly as downloaded."""
    _run_import(files, "policeuk", layer, None, as_json)


def _mapped_import(fmt: str, doc: str, *extra: Callable[..., Any]) -> Callable[..., None]:
    """``remap import FMT``: files read through a column mapping, plus ``extra`` options."""
    def command(files: tuple[Path, ...], layer: str, mapping: str, as_json: bool,
                **reader_options: Any) -> None:
        options = {k: v for k, v in reader_options.items() if v is not None}
        _run_import(files, fmt, layer, mapping, as_json, **options)

    command.__doc__ = doc
    command.__name__ = f"import_{fmt}"
    return stack(import_group.command(fmt), FILES, click.option("--layer", required=True),
                 click.option("--map", "mapping", required=True, help=MAP_HELP),
                 click.option("--category-default", default=None,
                              help="the category of every row, when --map names no "
                                   "category column"), *extra,
                 json_option, handles_errors)(command)  # type: ignore[no-any-return]


import_csv = _mapped_import("csv", "Any CSV, with a column mapping.")
import_geojson = _mapped_import("geojson", "GeoJSON point features, with a property mapping.")
import_gpkg = _mapped_import("gpkg", "GeoPackage point layers, with an attribute mapping.",
                             click.option("--gpkg-layer", default=None,
                                          help="layer inside the GeoPackage"))


@click.group("boundaries")
def boundaries_group() -> None:
    """Boundary sets (beats, neighbourhoods, LSOAs), versioned."""


def _print_boundaries(r: dict[str, Any]) -> None:
    click.echo(f"boundary set {r['name']} v{r['version']}: {r['units']} units; "
               f"{r['events_placed']} stored events inside, {r['events_outside']} outside")
    for rep in r["repairs"]:
        click.echo(f"  repaired: {rep}")
    for rej in r["rejections"]:
        click.echo(f"  rejected feature {rej['row']} [{rej['field']}]: {rej['reason']}")


@boundaries_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", required=True, help="name of the set, e.g. 'beats'")
@click.option("--id-field", required=True)
@click.option("--label-field", default=None)
@click.option("--effective-date", default=None, help="YYYY-MM-DD the boundaries took effect")
@click.option("--layer", default=None, help="layer inside a multi-layer file")
@json_option
@handles_errors
def boundaries_import(file: Path, name: str, id_field: str, label_field: str | None,
                      effective_date: str | None, layer: str | None, as_json: bool) -> None:
    """Import a polygon set (GeoJSON, GeoPackage, KML, shapefile) as a new version."""
    from service.app.importer import import_boundaries
    from spatial.timewindow import parse_effective_date

    store = open_store()
    log.info("boundaries import: %s as set %s", file.name, name)
    t0 = time.perf_counter()
    with progress(f"boundaries import of {file.name}"):
        report = import_boundaries(store, file, file_name=str(file), name=name,
                                   id_field=id_field, label_field=label_field,
                                   effective_date=parse_effective_date(effective_date),
                                   layer=layer, actor="cli")
    log.info("boundaries import done in %.1f s", time.perf_counter() - t0)
    emit(report.as_dict(), as_json, _print_boundaries)


@boundaries_group.command("list")
@json_option
@handles_errors
def boundaries_list(as_json: bool) -> None:
    """Boundary sets and versions."""
    sets = [s.as_dict() for s in open_store().boundary_sets_list()]
    emit_rows(sets, as_json, lambda s: f"{s['name']} v{s['version']}: {s['unit_count']} units "
                                       f"(effective {s['effective_date'] or 'unknown'}, "
                                       f"from {s['source_file']})",
              empty="no boundary sets; add one with `remap boundaries import`")


@boundaries_group.command("units")
@click.argument("name")
@click.option("--version", "version", type=click.IntRange(min=1), default=None,
              help="version of the set (default: the latest)")
@json_option
@handles_errors
def boundaries_units(name: str, version: int | None, as_json: bool) -> None:
    """Ids and names of a boundary set's units (name them in --target/--area)."""
    from service.app.unit_names import boundary_unit_list

    listing = boundary_unit_list(open_store(), name, version)

    def human(data: dict[str, Any]) -> None:
        info = data["boundary_set"]
        click.echo(f"boundary set {info['name']} v{info['version']}: "
                   f"{len(data['units'])} units (id, name, km²)")
        width = max((len(u["unit_id"]) for u in data["units"]), default=2)
        for u in data["units"]:
            click.echo(f"  {u['unit_id']:<{width}}  {u['label'] or '':<32} "
                       f"{u['area_km2']:.2f}")

    emit(listing, as_json, human)
