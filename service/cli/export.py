"""``remap export``: an event layer as a GeoPackage or FlatGeobuf file, for QGIS and
GDAL without the server (the same table as the OGC API's bulk download)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from service.cli.common import emit, handles_errors, json_option, open_store, progress

_SUFFIX_FORMATS = {".gpkg": "gpkg", ".fgb": "fgb"}


@click.command("export")
@click.argument("layer")
@click.option("-o", "--output", "out", required=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="the file to write (.gpkg or .fgb); an existing file is replaced whole")
@click.option("--format", "fmt", type=click.Choice(["gpkg", "fgb"]), default=None,
              help="gpkg (GeoPackage) or fgb (FlatGeobuf); default from the file's suffix")
@click.option("--category", "categories", multiple=True,
              help="only these categories (any case; repeat for several)")
@click.option("--start", default=None, help="YYYY-MM or YYYY-MM-DD (inclusive)")
@click.option("--end", default=None, help="YYYY-MM or YYYY-MM-DD (inclusive)")
@click.option("--bbox", default=None, help="minlon,minlat,maxlon,maxlat")
@click.option("--crs", "epsg", type=click.Choice(["4326", "27700"]), default="4326",
              show_default=True, help="4326: lon/lat (CRS84); 27700: British National Grid")
@json_option
@handles_errors
def export_cmd(layer: str, out: Path, fmt: str | None, categories: tuple[str, ...],
               start: str | None, end: str | None, bbox: str | None, epsg: str,
               as_json: bool) -> None:
    """Write LAYER's events (every column, the attributes as JSON text) to one file."""
    from service.app.analysis import parse_bbox, resolve_categories
    from service.app.export import export_events, parse_file_format
    from spatial.errors import ParameterError
    from spatial.timewindow import parse_window

    if fmt is None:
        fmt = _SUFFIX_FORMATS.get(out.suffix.lower())
        if fmt is None:
            raise ParameterError("output", f"{out.name!r}: give a .gpkg or .fgb file, or "
                                           "--format")
    file_format = parse_file_format(fmt, "format")
    window = parse_window(start, end)
    box = parse_bbox(bbox)
    store = open_store()
    with progress(f"writing {layer} to {out}"):
        cats = resolve_categories(store, layer, categories)
        report = export_events(store, layer, out, fmt=file_format, categories=cats,
                               window=window, bbox=box, epsg=int(epsg))

    def human(r: dict[str, Any]) -> None:
        click.echo(f"{r['features']:,} features of {layer} written to {r['path']} "
                   f"({r['format']}, layer {r['layer']!r}, {r['parameters']['crs']})")

    emit(report, as_json, human)
