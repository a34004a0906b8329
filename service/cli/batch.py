"""``remap batch``: import, counts, density and hotspots on the Dask path.

Where the work runs: ``remap --dask ADDRESS batch ...`` or ``REMAP_DASK_ADDRESS``;
``local`` (the default) starts a LocalCluster of 2 workers for the command.
Every command prints the cluster it used, the partitions read, the time taken
and the parameters used.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import click

from service.cli.common import handles_errors, json_option

UNIT_HELP = "h3:RES | grid:METRES | boundary:NAME (with --boundaries)"
AREA_HELP = ("bbox:minlon,minlat,maxlon,maxlat | boundary:NAME[:UNIT,...] (with "
             "--boundaries); default: the box of the selected events")


def _dask_option(ctx: click.Context) -> str | None:
    obj = ctx.find_root().obj
    return obj.get("dask") if isinstance(obj, dict) else None


def _request_options(f: Any) -> Any:
    for option in reversed([
        click.argument("dataset", type=click.Path(file_okay=False, path_type=Path)),
        click.option("--layer", default="crime", show_default=True),
        click.option("--category", "categories", multiple=True,
                     help="category to count (repeat for several); default all"),
        click.option("--start", default=None, help="inclusive: YYYY-MM or YYYY-MM-DD"),
        click.option("--end", default=None, help="inclusive: YYYY-MM or YYYY-MM-DD"),
        click.option("--unit", required=True, help=UNIT_HELP),
        click.option("--area", default=None, help=AREA_HELP),
        click.option("--boundaries", type=click.Path(dir_okay=False, exists=True,
                                                     path_type=Path), default=None,
                     help="boundary file (GeoJSON, GeoPackage, shapefile zip) of boundary:NAME"),
        click.option("--boundary-name", default=None,
                     help="NAME the boundary file goes by in --unit/--area (default: the "
                          "file's stem)"),
        click.option("--id-field", default=None, help="unit id field of --boundaries"),
        click.option("--label-field", default=None, help="unit name field of --boundaries"),
        click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
                     default=None, help="write the unit table to FILE.csv or FILE.json"),
    ]):
        f = option(f)
    return f


def _request(dataset: Path, layer: str, categories: tuple[str, ...], start: str | None,
             end: str | None, unit: str, area: str | None, boundaries: Path | None,
             boundary_name: str | None, id_field: str | None,
             label_field: str | None) -> Any:
    from service.app.batch import BatchRequest, BoundarySource
    from spatial.errors import ParameterError

    source = None
    if boundaries is not None:
        if not id_field:
            raise ParameterError("id-field", "--boundaries needs --id-field")
        source = BoundarySource(boundary_name or boundaries.stem, boundaries, id_field,
                                label_field)
    return BatchRequest.parse(folder=dataset, layer=layer, unit=unit, categories=categories,
                              start=start, end=end, area=area, boundaries=source)


def _write_rows(path: Path, rows: list[dict[str, Any]], meta: dict[str, Any]) -> None:
    if path.suffix.lower() == ".json":
        path.write_text(json.dumps({**meta, "units": rows}, indent=1, default=str),
                        encoding="utf-8")
        return
    if path.suffix.lower() != ".csv":
        from spatial.errors import ParameterError

        raise ParameterError("output", f"{path.name}: write .csv or .json")
    names = list(rows[0]) if rows else ["unit_id", "label", "count"]
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=names)
        w.writeheader()
        w.writerows(rows)


def _written_or_json(bc: Any, rows: list[dict[str, Any]], output: Path | None,
                     as_json: bool) -> bool:
    """Write ``rows`` to ``output`` (if given) and print them as JSON with ``--json``;
    True when the JSON was printed (nothing more to say)."""
    meta = bc.meta()
    if output is not None:
        _write_rows(output, rows, meta)
    if as_json:
        click.echo(json.dumps({**meta, "units": rows}, indent=1, default=str))
    return as_json


def _summary(bc: Any, what: str) -> None:
    c = bc.cluster
    gib = c["memory_limit_bytes"] / 2**30
    click.echo(f"{what} on {'LocalCluster' if c['requested'] == 'local' else 'cluster'} "
               f"{c['scheduler']} ({c['workers']} workers, {c['threads']} threads, "
               f"{gib:.1f} GiB memory limit)")
    click.echo(f"partitions read: {bc.parameters['partitions']} (twice: extent, counts); "
               f"time: " + ", ".join(f"{k} {v:.2f} s" for k, v in bc.timings_s.items()))
    click.echo("parameters: " + json.dumps(bc.parameters, default=str))
    for w in bc.warnings:
        click.echo(f"warning: {w}")


@click.group("batch")
def batch_group() -> None:
    """The Dask path: Parquet datasets by layer and month, counts, density, hotspots.

    Runs on `remap --dask ADDRESS` (or REMAP_DASK_ADDRESS): `local` (default) starts a
    LocalCluster of 2 workers; tcp://host:8786 uses a running `dask scheduler`.
    """


@batch_group.command("import")
@click.argument("files", nargs=-1, required=True,
                type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="dataset folder to write (a layer goes in once)")
@click.option("--layer", default="crime", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["policeuk"]), default="policeuk",
              show_default=True)
@click.option("--chunk-mb", type=click.FloatRange(0.0625, 1024), default=48, show_default=True,
              help="police.uk files larger than this are read in chunks of this size")
@click.option("--show-rejections", type=click.IntRange(0, 10_000), default=20,
              show_default=True, help="rejections listed (all are counted)")
@json_option
@click.pass_context
@handles_errors
def batch_import_cmd(ctx: click.Context, files: tuple[Path, ...], out: Path, layer: str,
                     fmt: str, chunk_mb: float, show_rejections: int, as_json: bool) -> None:
    """Validate, place and write FILES as Parquet partitioned by layer and month."""
    from service.app.batch import batch_import, dask_address, open_client
    from spatial.distributed.cluster import cluster_info

    address = dask_address(_dask_option(ctx))
    with open_client(address) as client:
        info = cluster_info(client, address)
        rep = batch_import(client, [str(f) for f in files], out, layer=layer, fmt=fmt,
                           chunk_bytes=int(chunk_mb * 2**20),
                           first_rejections=max(show_rejections, 1))
    data = {**rep.as_dict(), "cluster": info.as_dict()}
    data["rejections"] = data["rejections"][:show_rejections]
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
        return
    click.echo(f"import on {info.describe()}")
    click.echo(f"{rep.rows_read:,} rows read: {rep.accepted:,} accepted, {rep.rejected:,} "
               f"rejected; {len(rep.files)} files in {rep.chunks} chunks, {rep.partitions} "
               f"Parquet parts in {rep.out}; {rep.keys_renumbered} keys renumbered across "
               f"chunks; {rep.seconds:.1f} s ({rep.rows_read / max(rep.seconds, 1e-9):,.0f} "
               "rows/s)")
    click.echo(f"parameters: layer {layer}, format {fmt}, H3 resolution {rep.h3_resolution}, "
               f"chunk {chunk_mb:g} MiB")
    for r in rep.rejections[:show_rejections]:
        click.echo(f"  rejected {r.file} row {r.row} field {r.field}: {r.reason}")
    if rep.rejected > show_rejections:
        click.echo(f"  ... {rep.rejected - show_rejections:,} more rejections")


@batch_group.command("counts")
@_request_options
@json_option
@click.pass_context
@handles_errors
def batch_counts_cmd(ctx: click.Context, output: Path | None, as_json: bool,
                     **kw: Any) -> None:
    """Events per unit of DATASET for a layer, categories and window (zeros included)."""
    from service.app.batch import batch_counts, dask_address, open_client

    req = _request(**kw)
    address = dask_address(_dask_option(ctx))
    with open_client(address) as client:
        bc = batch_counts(client, req, requested=address)
    rows = bc.rows()
    if _written_or_json(bc, rows, output, as_json):
        return
    _summary(bc, "counts")
    top = sorted(rows, key=lambda r: -r["count"] if isinstance(r["count"], int) else 0)[:10]
    click.echo(f"{len(rows):,} units; busiest:")
    for r in top:
        click.echo(f"  {r['count']:>8}  {r['unit_id']}" + (f"  {r['label']}" if r["label"]
                                                          else ""))
    if output is not None:
        click.echo(f"wrote {output}")


@batch_group.command("hotspots")
@_request_options
@click.option("--method", type=click.Choice(["gistar", "lisa"]), default="gistar",
              show_default=True)
@click.option("--k", type=click.IntRange(1, 5), default=1, show_default=True,
              help="H3 neighbour ring")
@click.option("--permutations", type=click.IntRange(0, 99_999), default=None,
              help="default: staged, up to 49,999 (0: normal theory)")
@click.option("--seed", type=int, default=None, help="random seed (reported either way)")
@click.option("--correction", default="fdr_bh", show_default=True)
@click.option("--alpha", type=float, default=0.05, show_default=True)
@json_option
@click.pass_context
@handles_errors
def batch_hotspots_cmd(ctx: click.Context, output: Path | None, as_json: bool, method: str,
                       k: int, permutations: int | None, seed: int | None, correction: str,
                       alpha: float, **kw: Any) -> None:
    """Gi* or local Moran per unit: counts summed on the cluster, statistic on the table."""
    from service.app.batch import BatchHotspotOptions, batch_hotspots, dask_address, open_client

    req = _request(**kw)
    opts = BatchHotspotOptions(method=method, k=k, permutations=permutations, seed=seed,
                               correction=correction, alpha=alpha)
    address = dask_address(_dask_option(ctx))
    with open_client(address) as client:
        bc, rows = batch_hotspots(client, req, opts, requested=address)
    if _written_or_json(bc, rows, output, as_json):
        return
    _summary(bc, f"hotspots ({method})")
    key = "GiZScore" if method == "gistar" else "z"
    top = sorted(rows, key=lambda r: -(r.get(key) or -math.inf))[:10]
    click.echo(f"{len(rows):,} units; highest {key}:")
    for r in top:
        extra = (f"bin {r['Gi_Bin']:+d}" if method == "gistar" else r["cluster"])
        click.echo(f"  {r[key]:>8.2f}  {r['count']:>6}  {r['unit_id']}  {extra}")
    if output is not None:
        click.echo(f"wrote {output}")


@batch_group.command("kde")
@_request_options
@click.option("--bandwidth", default="silverman", show_default=True,
              help="metres, or a rule: silverman | scott")
@click.option("--cell", "cell_size_m", type=click.FloatRange(1, 10_000), default=None,
              help="grid cell, metres (default: a 200th of the study area's shorter side)")
@click.option("--kernel", type=click.Choice(["gaussian", "quartic"]), default="gaussian",
              show_default=True)
@click.option("--tile-cells", type=click.IntRange(16, 4096), default=256, show_default=True,
              help="tile side in cells (each tile also reads a halo of the kernel's support)")
@json_option
@click.pass_context
@handles_errors
def batch_kde_cmd(ctx: click.Context, output: Path | None, as_json: bool, bandwidth: str,
                  cell_size_m: float | None, kernel: str, tile_cells: int, **kw: Any) -> None:
    """Kernel density by tiles with halos; the mean density (events per km²) per unit."""
    from service.app.batch import batch_kde, dask_address, open_client

    req = _request(**kw)
    bw: float | str = bandwidth
    try:
        bw = float(bandwidth)
    except ValueError:
        pass
    address = dask_address(_dask_option(ctx))
    with open_client(address) as client:
        bc, rows, _surface = batch_kde(client, req, bandwidth=bw, cell_size_m=cell_size_m,
                                       kernel=kernel, tile_cells=tile_cells,
                                       requested=address)
    if _written_or_json(bc, rows, output, as_json):
        return
    _summary(bc, "kde")
    top = sorted(rows, key=lambda r: -(r.get("density") or 0.0))[:10]
    click.echo(f"{len(rows):,} units; densest (events per km²):")
    for r in top:
        click.echo(f"  {r['density']:>10.2f}  {r['unit_id']}")
    if output is not None:
        click.echo(f"wrote {output}")
