"""``remap gazetteer`` (postcode directories, address extracts) and ``remap geocode``."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import click

from service.cli.common import emit, emit_rows, handles_errors, json_option, open_store, progress

log = logging.getLogger("remap.cli")


@click.group("gazetteer")
def gazetteer_group() -> None:
    """Gazetteers for geocoding: ONS Postcode Directory, Code-Point Open, address extracts."""


def _print_import(r: dict[str, Any]) -> None:
    click.echo(f"gazetteer {r['name']} v{r['version']} ({r['kind']}): {r['rows']} rows stored "
               f"of {r['rows_read']} read, {r['rejections_total']} rejected"
               + (f"; {r['sectors']} sectors, {r['districts']} districts"
                  if r["kind"] != "addresses" else ""))
    for rej in r["rejections"][:20]:
        click.echo(f"  rejected {rej['file']} row {rej['row']} [{rej['field']}]: {rej['reason']}")
    if r["rejections_total"] > 20:
        click.echo(f"  ... and {r['rejections_total'] - 20} more (--json lists them)")


@gazetteer_group.command("import")
@click.argument("kind", type=click.Choice(["onspd", "codepoint", "addresses"]))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", default=None, help="name of the gazetteer (default: the kind); each "
                                           "import is a new version of it")
@click.option("--map", "mapping", default=None,
              help="addresses only: 'uprn=UPRN,address=ADDRESS,easting=X_COORDINATE,"
                   "northing=Y_COORDINATE' (these are the defaults)")
@json_option
@handles_errors
def gazetteer_import(kind: str, file: Path, name: str | None, mapping: str | None,
                     as_json: bool) -> None:
    """Import a gazetteer file as a new version (the latest is used to geocode)."""
    from service.app.geocoding import import_gazetteer

    store = open_store()
    t0 = time.perf_counter()
    with progress(f"gazetteer import of {file.name}"):
        report = import_gazetteer(store, file, kind=kind, name=name, file_name=file.name,
                                  address_map=mapping, actor="cli")
    log.info("gazetteer import done in %.1f s", time.perf_counter() - t0)
    emit(report.as_dict(), as_json, _print_import)


@gazetteer_group.command("list")
@json_option
@handles_errors
def gazetteer_list_cmd(as_json: bool) -> None:
    """Gazetteers and their versions."""
    from service.app.geocoding import gazetteer_list

    emit_rows(gazetteer_list(open_store()), as_json,
              lambda g: f"{g['name']} v{g['version']} ({g['kind']}): {g['rows']} rows from "
                        f"{g['source_file']}, imported {g['imported_at']} (sha256 "
                        f"{g['sha256'][:12]})",
              empty="no gazetteers; add one with `remap gazetteer import`")


def _print_geocode(r: dict[str, Any]) -> None:
    shown = ", ".join(f"{k} {v}" for k, v in sorted(r["by_precision"].items())) or "none"
    click.echo(f"{r['file']}: {r['rows']} rows, {r['placed']} placed ({shown}), "
               f"{r['rejected']} rejected; gazetteers: {', '.join(r['gazetteers'])}")
    for w in r["warnings"][:20]:
        click.echo(f"  warning {w['file']} row {w['row']} [{w['field']}]: {w['reason']}")
    for rej in r["rejections"][:50]:
        click.echo(f"  rejected {rej['file']} row {rej['row']} [{rej['field']}]: {rej['reason']}")
    if r["rejected"] > 50:
        click.echo(f"  ... and {r['rejected'] - 50} more (the rejection column of the output "
                   "names them all)")


@click.command("geocode")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", "output", required=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="CSV to write: the input columns plus easting, northing, lon, lat, "
                   "precision, matched, score, flag, rejection")
@click.option("--postcode", default=None, help="the postcode column")
@click.option("--address", default=None, help="the address column (tried before the "
                                              "postcode when both are given)")
@json_option
@handles_errors
def geocode_cmd(file: Path, output: Path, postcode: str | None, address: str | None,
                as_json: bool) -> None:
    """Geocode a CSV by postcode and/or address against the latest gazetteers."""
    from service.app.geocoding import geocode_file

    with progress(f"geocoding {file.name}"):
        report = geocode_file(open_store(), file, postcode=postcode, address=address,
                              file_name=file.name)
    report.table.to_csv(output, index=False)
    emit(report.as_dict(), as_json, _print_geocode)
