"""``remap streets``: road networks for street units (``--unit street:NETWORK``)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import click

from service.cli.common import emit, emit_rows, handles_errors, json_option, open_store, progress

log = logging.getLogger("remap.cli")


@click.group("streets")
def streets_group() -> None:
    """Road networks (OS Open Roads layout), versioned, for street-segment units."""


def _print_import(r: dict[str, Any]) -> None:
    click.echo(f"street network {r['name']} v{r['version']}: {r['segments']} segments "
               f"({r['named_segments']} named), {r['rejected']} links rejected")
    fields = ", ".join(f"{k}={v}" for k, v in r["fields"].items() if v)
    click.echo(f"  fields: {fields}")
    for rej in r["rejections"]:
        click.echo(f"  rejected feature {rej['row']} [{rej['field']}]: {rej['reason']}")
    if r["rejected"] > len(r["rejections"]):
        click.echo(f"  ... and {r['rejected'] - len(r['rejections'])} more")


@streets_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", required=True, help="name of the network, e.g. 'roads' "
                                            "(then --unit street:roads)")
@click.option("--layer", default="road_link", show_default=True,
              help="layer of the GeoPackage holding the links")
@click.option("--map", "mapping", default=None,
              help="columns not in the OS Open Roads layout, e.g. "
                   "'segment_id=link_ref,name=street_nm,classification=class'")
@json_option
@handles_errors
def streets_import(file: Path, name: str, layer: str, mapping: str | None,
                   as_json: bool) -> None:
    """Import road links (GeoPackage, OS Open Roads layout) as a new network version."""
    from service.app.streets import import_network, parse_field_map

    store = open_store()
    with progress(f"streets import of {file.name}"):
        report = import_network(store, file, file_name=str(file), name=name, layer=layer,
                                mapping=parse_field_map(mapping), actor="cli")
    log.info("streets import: %d segments in %.1f s", report.segments, report.seconds)
    emit(report.as_dict(), as_json, _print_import)


@streets_group.command("list")
@json_option
@handles_errors
def streets_list(as_json: bool) -> None:
    """Street networks and their versions."""
    from service.app.streets import network_list

    emit_rows(network_list(open_store()), as_json,
              lambda s: f"{s['name']} v{s['version']}: {s['segment_count']} segments "
                        f"(from {s['source_file']}, layer {s['source_layer']}; "
                        f"{s['rejected']} links rejected)",
              empty="no street networks; add one with `remap streets import` "
                    "(street:policeuk needs none)")
