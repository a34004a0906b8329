"""The ``remap`` command: the same operations as the API, for analysts and scripts.

Every command takes ``--json`` for scripts. The store is chosen by
``REMAP_DATABASE_URL`` (default: ``remap.db`` in the working directory).
Errors print one clear line (or a JSON error with ``--json``) and exit 2.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click

from service.settings import Settings, get_settings
from service.store import ROLES, Store
from spatial.errors import RemapError

EXIT_USER_ERROR = 2


def open_store(settings: Settings | None = None) -> Store:
    settings = settings or get_settings()
    return Store(settings.database_url, h3_resolution=settings.h3_resolution)


def emit(data: Any, as_json: bool, human: Callable[[Any], None]) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
    else:
        human(data)


def write_page(out: Path, page: str, kind: str, as_json: bool) -> None:
    """Write an HTML map or pack and say where."""
    out.write_text(page, encoding="utf-8")
    size = len(page.encode())
    emit({kind: str(out), "bytes": size}, as_json,
         lambda d: click.echo(f"{kind} written: {out} ({size / 1e6:.1f} MB)"))


def _hotspot_request(layer: str, categories: tuple[str, ...], start: str | None,
                     end: str | None, unit: str, area: str | None, k: int,
                     permutations: int | None, seed: int | None, correction: str,
                     alpha: float) -> tuple[Any, Any]:
    """The request and options of the shared analysis options."""
    from service.app.hotspots import HotspotOptions
    from service.render.hotspot_page import parse_map_request

    req = parse_map_request(layer, categories, start, end, unit, area)
    opts = HotspotOptions(k=k, permutations=permutations, seed=seed, correction=correction,
                          alpha=alpha)
    return req, opts


def cli_cost_check(store: Store, req: Any, opts: Any, analysis: str) -> None:
    """The API's cost estimate, judged by the analyst limits (``REMAP_MAX_*_ANALYST``)."""
    from service.app.cost import check_cost, check_hotspot_cost, limits_for

    limits = limits_for(get_settings(), "cli")
    if opts is None:
        check_cost(store, req, limits, analysis=analysis)
    else:
        check_hotspot_cost(store, req, opts, limits, analysis=analysis)


def json_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True,
                        help="machine-readable JSON on stdout")(f)


def handles_errors(f: Callable[..., Any]) -> Callable[..., Any]:
    """Domain errors become one line on stderr (or JSON) and exit code 2."""

    @wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return f(*args, **kwargs)
        except RemapError as exc:
            if kwargs.get("as_json"):
                click.echo(json.dumps(exc.as_dict(), indent=2, default=str))
            else:
                click.echo(f"error: {exc.message}", err=True)
            sys.exit(EXIT_USER_ERROR)

    return wrapper


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


@click.group()
@click.version_option("0.1.0", prog_name="remap")
def main() -> None:
    """remap: hotspot and displacement analysis for drug-market policing."""


# ------------------------------------------------------------------ import
@main.group("import")
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
        click.echo(f"  ... and {report['rejections_total'] - 20} more rejections "
                   "(--json lists them all)")
    if report["boundary_sets_placed"]:
        click.echo(f"  placed in boundary sets: {', '.join(report['boundary_sets_placed'])}")


def _run_import(files: tuple[Path, ...], fmt: str, layer: str, mapping_spec: str | None,
                as_json: bool, **reader_options: Any) -> None:
    from service.app.importer import import_events
    from spatial.io.mapping import ColumnMapping

    settings = get_settings()
    store = open_store(settings)
    mapping = ColumnMapping.parse(mapping_spec) if mapping_spec else None
    report = import_events(store, [(str(p), p) for p in files], fmt=fmt, layer=layer,
                           mapping=mapping, area_of_interest=settings.aoi_bounds, actor="cli",
                           progress=progress_printer(), **reader_options)
    emit(report.as_dict(), as_json, _print_import)


@import_group.command("policeuk")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False,
                                                                    path_type=Path))
@click.option("--layer", default="crime", show_default=True)
@json_option
@handles_errors
def import_policeuk(files: tuple[Path, ...], layer: str, as_json: bool) -> None:
    """police.uk street-level CSVs exactly as downloaded."""
    _run_import(files, "policeuk", layer, None, as_json)


MAP_HELP = ("column mapping, e.g. 'id=ref,time=date,lon=longitude,lat=latitude,category=type' "
            "or 'easting=e,northing=n,crs=27700,...'")


@import_group.command("csv")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False,
                                                                    path_type=Path))
@click.option("--layer", required=True)
@click.option("--map", "mapping", required=True, help=MAP_HELP)
@json_option
@handles_errors
def import_csv(files: tuple[Path, ...], layer: str, mapping: str, as_json: bool) -> None:
    """Any CSV, with a column mapping."""
    _run_import(files, "csv", layer, mapping, as_json)


@import_group.command("geojson")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False,
                                                                    path_type=Path))
@click.option("--layer", required=True)
@click.option("--map", "mapping", required=True, help=MAP_HELP)
@json_option
@handles_errors
def import_geojson(files: tuple[Path, ...], layer: str, mapping: str, as_json: bool) -> None:
    """GeoJSON point features, with a property mapping."""
    _run_import(files, "geojson", layer, mapping, as_json)


@import_group.command("gpkg")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False,
                                                                    path_type=Path))
@click.option("--layer", required=True)
@click.option("--map", "mapping", required=True, help=MAP_HELP)
@click.option("--gpkg-layer", default=None, help="layer inside the GeoPackage")
@json_option
@handles_errors
def import_gpkg(files: tuple[Path, ...], layer: str, mapping: str, gpkg_layer: str | None,
                as_json: bool) -> None:
    """GeoPackage point layers, with an attribute mapping."""
    _run_import(files, "gpkg", layer, mapping, as_json, gpkg_layer=gpkg_layer)


# ------------------------------------------------------------------ boundaries
@main.group("boundaries")
def boundaries_group() -> None:
    """Boundary sets (beats, neighbourhoods, LSOAs), versioned."""


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
    from service.api.routers.boundaries import parse_effective_date
    from service.app.importer import import_boundaries

    store = open_store()
    report = import_boundaries(store, file, file_name=str(file), name=name, id_field=id_field,
                               label_field=label_field,
                               effective_date=parse_effective_date(effective_date),
                               layer=layer, actor="cli")

    def human(r: dict[str, Any]) -> None:
        click.echo(f"boundary set {r['name']} v{r['version']}: {r['units']} units; "
                   f"{r['events_placed']} stored events inside, {r['events_outside']} outside")
        for rep in r["repairs"]:
            click.echo(f"  repaired: {rep}")
        for rej in r["rejections"]:
            click.echo(f"  rejected feature {rej['row']} [{rej['field']}]: {rej['reason']}")

    emit(report.as_dict(), as_json, human)


@boundaries_group.command("list")
@json_option
@handles_errors
def boundaries_list(as_json: bool) -> None:
    """Boundary sets and versions."""
    sets = [s.as_dict() for s in open_store().boundary_sets_list()]

    def human(rows: list[dict[str, Any]]) -> None:
        if not rows:
            click.echo("no boundary sets; add one with `remap boundaries import`")
        for s in rows:
            click.echo(f"{s['name']} v{s['version']}: {s['unit_count']} units "
                       f"(effective {s['effective_date'] or 'unknown'}, from {s['source_file']})")

    emit(sets, as_json, human)


# ------------------------------------------------------------------ layers, counts
@main.command("layers")
@json_option
@handles_errors
def layers_cmd(as_json: bool) -> None:
    """Layers with event counts and time ranges."""
    rows = open_store().list_layers()

    def human(data: list[dict[str, Any]]) -> None:
        if not data:
            click.echo("no layers yet; import events with `remap import`")
        for r in data:
            click.echo(f"{r['name']:<18} {r['count']:>9} events  {r['time_min'] or '-'} .. "
                       f"{r['time_max'] or '-'}  ({r['sensitivity']})")

    emit(rows, as_json, human)


@main.command("counts")
@click.option("--layer", required=True)
@click.option("--category", "categories", multiple=True, help="repeat for several")
@click.option("--start", default=None, help="YYYY-MM or YYYY-MM-DD (inclusive)")
@click.option("--end", default=None, help="YYYY-MM or YYYY-MM-DD (inclusive)")
@click.option("--unit", required=True,
              help="h3:RES | boundary:SET[@VERSION] | grid:CELL_METRES")
@click.option("--area", default=None,
              help="study area: boundary:SET[@VERSION][:UNIT,UNIT] | bbox:minlon,minlat,maxlon,"
                   "maxlat (default: the unit's boundary set, or the events' extent)")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="write the GeoJSON FeatureCollection here")
@json_option
@handles_errors
def counts_cmd(layer: str, categories: tuple[str, ...], start: str | None, end: str | None,
               unit: str, area: str | None, out: Path | None, as_json: bool) -> None:
    """Counts per unit for a layer, categories and window, zero units included."""
    from service.app.analysis import CountsRequest, counts_collection

    req = CountsRequest.parse(layer=layer, categories=categories, start=start, end=end,
                              unit=unit, area=area)
    store = open_store()
    cli_cost_check(store, req, None, "counts")
    fc = counts_collection(store, req, role="admin")
    if out:
        out.write_text(json.dumps(fc, default=str))

    def human(data: dict[str, Any]) -> None:
        p = data["parameters"]
        click.echo(f"{p['units']} units ({p['unit']}), {p['events_counted']} events counted, "
                   f"{p['zero_units']} units with zero events")
        top = sorted(data["features"], key=lambda f: -_num(f["properties"]["count"]))[:10]
        for f in top:
            pr = f["properties"]
            click.echo(f"  {pr['unit_id']:<24} {pr.get('label') or '':<28} {pr['count']}")
        for w in data["warnings"]:
            click.echo(f"  warning: {w}")
        if out:
            click.echo(f"written {out}")

    if as_json and out is None:
        click.echo(json.dumps(fc, default=str))
    else:
        emit(fc, False, human)


def _num(v: Any) -> float:
    return float(v) if isinstance(v, int | float) else 0.0


def _analysis_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by hotspots and autocorrelation."""
    opts = [
        click.option("--layer", required=True),
        click.option("--category", "categories", multiple=True, help="repeat for several"),
        click.option("--start", default=None, help="YYYY-MM or YYYY-MM-DD (inclusive)"),
        click.option("--end", default=None, help="YYYY-MM or YYYY-MM-DD (inclusive)"),
        click.option("--unit", required=True,
                     help="h3:RES | boundary:SET[@VERSION] | grid:CELL_METRES"),
        click.option("--area", default=None,
                     help="boundary:SET[:UNIT,...] | bbox:minlon,minlat,maxlon,maxlat"),
        click.option("--k", default=1, show_default=True, help="H3 neighbour ring"),
        click.option("--permutations", type=int, default=None,
                     help="Gi*: 0 by default (analytical); LISA/Moran: 999"),
        click.option("--seed", type=int, default=None, help="drawn and reported if omitted"),
        click.option("--correction", default="fdr_bh", show_default=True,
                     type=click.Choice(["fdr_bh", "bonferroni", "none"])),
        click.option("--alpha", default=0.05, show_default=True),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


@main.command("hotspots")
@_analysis_options
@click.option("--method", default="gistar", show_default=True,
              type=click.Choice(["count", "kde", "gistar", "lisa"]))
@click.option("--bandwidth", default=None, help="KDE bandwidth in metres or a rule")
@click.option("--cell-size", type=float, default=None, help="KDE cell size in metres")
@click.option("--kernel", default="gaussian", type=click.Choice(["gaussian", "quartic"]))
@click.option("--compare-start", default=None, help="KDE dual surface: compare window start")
@click.option("--compare-end", default=None)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="write the GeoJSON FeatureCollection here")
@click.option("--save", default=None, help="save the result under this name (served at "
                                           "/v1/results/NAME and as OGC hotspots-NAME)")
@json_option
@handles_errors
def hotspots_cmd(layer: str, categories: tuple[str, ...], start: str | None, end: str | None,
                 unit: str, area: str | None, k: int, permutations: int | None,
                 seed: int | None, correction: str, alpha: float, method: str,
                 bandwidth: str | None, cell_size: float | None, kernel: str,
                 compare_start: str | None, compare_end: str | None, out: Path | None,
                 save: str | None, as_json: bool) -> None:
    """Hotspots per unit: counts, kernel density, Getis-Ord Gi* or local Moran (LISA)."""
    from service.app.analysis import CountsRequest
    from service.app.hotspots import HotspotOptions, hotspots_collection
    from spatial.timewindow import parse_window

    req = CountsRequest.parse(layer=layer, categories=categories, start=start, end=end,
                              unit=unit, area=area)
    compare = (parse_window(compare_start, compare_end)
               if compare_start or compare_end else None)
    opts = HotspotOptions(method=method, k=k, permutations=permutations, seed=seed,
                          correction=correction, alpha=alpha, bandwidth=bandwidth,
                          cell_size_m=cell_size, kernel=kernel, compare_window=compare)
    store = open_store()
    cli_cost_check(store, req, opts, "hotspots")
    fc = hotspots_collection(store, req, opts, role="admin")
    if save:
        from service.app.results import save_result

        fc["saved"] = save_result(store, save, fc, layer=layer, method=method, actor="cli")
    if out:
        out.write_text(json.dumps(fc, default=str))
    if as_json and out is None:
        click.echo(json.dumps(fc, default=str))
        return
    p = fc["parameters"]
    click.echo(f"{method} on {p['units']} units ({p['unit']}), {p['events_counted']} events")
    feats = [f["properties"] for f in fc["features"]]
    if method == "gistar":
        hot = sorted((f for f in feats if f["Gi_Bin"] > 0), key=lambda f: -f["Gi_Bin"])
        click.echo(f"  hot spots (Gi_Bin > 0 after {correction}): {len(hot)}; cold spots: "
                   f"{sum(1 for f in feats if f['Gi_Bin'] < 0)}")
        for f in hot[:10]:
            click.echo(f"  {f['unit_id']:<24} {f.get('label') or '':<24} count {f['count']:<5}"
                       f" z {f['GiZScore']:.2f}  bin {f['Gi_Bin']:+d}")
    elif method == "lisa":
        from collections import Counter

        click.echo("  clusters: " + ", ".join(f"{k} {v}" for k, v in
                                              sorted(Counter(f["cluster"] for f in feats)
                                                     .items())))
    elif method == "kde":
        click.echo(f"  bandwidth {p['bandwidth_m']:.0f} m, cell {p['cell_size_m']:.0f} m, "
                   f"{p['kernel']} kernel")
    click.echo(f"  seed {p.get('gi_seed', p.get('lisa_seed', '-'))}; p-values two-sided, "
               f"correction {correction}")
    for w in fc["warnings"]:
        click.echo(f"  warning: {w}")
    if out:
        click.echo(f"written {out}")
    if save:
        click.echo(f"saved as {save}: /v1/results/{save}, OGC collection hotspots-{save}")


@main.command("autocorrelation")
@_analysis_options
@json_option
@handles_errors
def autocorrelation_cmd(layer: str, categories: tuple[str, ...], start: str | None,
                        end: str | None, unit: str, area: str | None, k: int,
                        permutations: int | None, seed: int | None, correction: str,
                        alpha: float, as_json: bool) -> None:
    """Global Moran's I of the counts per unit."""
    from service.app.analysis import CountsRequest
    from service.app.hotspots import HotspotOptions, autocorrelation

    req = CountsRequest.parse(layer=layer, categories=categories, start=start, end=end,
                              unit=unit, area=area)
    opts = HotspotOptions(k=k, permutations=permutations, seed=seed, correction=correction,
                          alpha=alpha)
    store = open_store()
    cli_cost_check(store, req, opts, "autocorrelation")
    res = autocorrelation(store, req, opts, role="admin")

    def human(r: dict[str, Any]) -> None:
        click.echo(f"Moran's I = {r['I']:.4f} (E[I] = {r['expected_I']:.4f}); normal z "
                   f"{r['normal']['z']:.2f} p {r['normal']['p']:.4g}; randomisation z "
                   f"{r['randomisation']['z']:.2f} p {r['randomisation']['p']:.4g}"
                   + (f"; permutation p {r['permutation']['p']:.4g}" if r["permutation"]
                      else ""))

    emit(res, as_json, human)


@main.group("map")
def map_group() -> None:
    """Folium maps written as self-contained HTML files (work offline)."""


@map_group.command("hotspots")
@_analysis_options
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--role", type=click.Choice(ROLES), default="analyst", show_default=True,
              help="draw what this role may see (e.g. partner: aggregated, suppressed)")
@json_option
@handles_errors
def map_hotspots(layer: str, categories: tuple[str, ...], start: str | None, end: str | None,
                 unit: str, area: str | None, k: int, permutations: int | None,
                 seed: int | None, correction: str, alpha: float, out: Path, role: str,
                 as_json: bool) -> None:
    """Counts, Gi*, LISA, density, monthly slider and context layers on one map."""
    from service.render.hotspot_page import hotspot_map_html

    req, opts = _hotspot_request(layer, categories, start, end, unit, area, k, permutations,
                                 seed, correction, alpha)
    store = open_store()
    cli_cost_check(store, req, opts, "map")
    page = hotspot_map_html(store, req, opts, role=role)
    write_page(out, page, "map", as_json)


@map_group.command("operation")
@click.argument("op_id", type=int)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--role", type=click.Choice(ROLES), default="analyst", show_default=True)
@json_option
@handles_errors
def map_operation(op_id: int, out: Path, role: str, as_json: bool) -> None:
    """An operation's target, buffer rings, control, before/after counts, density change."""
    from service.render.operation_map import operation_map_html

    page = operation_map_html(open_store(), op_id, role=role, actor="cli")
    write_page(out, page, "map", as_json)


@main.group("pack")
def pack_group() -> None:
    """Tasking packs: one self-contained page that prints to A4."""


@pack_group.command("area")
@_analysis_options
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--role", type=click.Choice(ROLES), default="analyst", show_default=True,
              help="prepare the pack for this role (partner: aggregated, suppressed)")
@json_option
@handles_errors
def pack_area(layer: str, categories: tuple[str, ...], start: str | None, end: str | None,
              unit: str, area: str | None, k: int, permutations: int | None, seed: int | None,
              correction: str, alpha: float, out: Path, role: str, as_json: bool) -> None:
    """Map, top units, hot spots, caveats and parameters for an area."""
    from service.render.area_pack import area_pack_html

    req, opts = _hotspot_request(layer, categories, start, end, unit, area, k, permutations,
                                 seed, correction, alpha)
    store = open_store()
    cli_cost_check(store, req, opts, "pack")
    page = area_pack_html(store, req, opts, role=role)
    write_page(out, page, "pack", as_json)


@pack_group.command("operation")
@click.argument("op_id", type=int)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--role", type=click.Choice(ROLES), default="analyst", show_default=True,
              help="prepare the pack for this role (partner: health measures withheld, "
                   "counts of 1-4 shown as <5)")
@json_option
@handles_errors
def pack_operation(op_id: int, out: Path, role: str, as_json: bool) -> None:
    """An operation's pack: map, counts, measures, verdicts, overdose watch, re-map."""
    from service.render.operation_pack import operation_pack_html

    page = operation_pack_html(open_store(), op_id, role=role, actor="cli")
    write_page(out, page, "pack", as_json)


# ------------------------------------------------------------------ keys
@main.group("keys")
def keys_group() -> None:
    """API keys (roles: admin, analyst, partner)."""


@keys_group.command("create")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--label", default="", help="who or what the key is for")
@json_option
@handles_errors
def keys_create(role: str, label: str, as_json: bool) -> None:
    """Make a key; it is printed once and only its hash is stored."""
    key = open_store().create_key(role, label)
    emit({"key": key, "role": role}, as_json,
         lambda d: click.echo(f"{d['key']}\n(role {role}; store it now: it is not shown again)"))


@keys_group.command("list")
@json_option
@handles_errors
def keys_list(as_json: bool) -> None:
    """Keys (prefix, role, label); never the key itself."""
    rows = open_store().list_keys()

    def human(data: list[dict[str, Any]]) -> None:
        for r in data:
            click.echo(f"{r['id']:>4} {r['prefix']}...  {r['role']:<8} {r['label']}"
                       + (f"  revoked {r['revoked_at']}" if r["revoked_at"] else ""))

    emit(rows, as_json, human)


@keys_group.command("revoke")
@click.argument("key_id", type=int)
@json_option
@handles_errors
def keys_revoke(key_id: int, as_json: bool) -> None:
    """Revoke a key by its id."""
    open_store().revoke_key(key_id)
    emit({"revoked": key_id}, as_json, lambda d: click.echo(f"revoked key {key_id}"))


# ------------------------------------------------------------------ serve, migrate, demo
@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@json_option
def serve(host: str, port: int, as_json: bool) -> None:
    """Run the HTTP API (uvicorn)."""
    import uvicorn

    settings = get_settings()
    emit({"url": f"http://{host}:{port}", "docs": f"http://{host}:{port}/docs",
          "store": settings.database_url.split("@")[-1]}, as_json,
         lambda d: click.echo(f"remap API on {d['url']} (docs {d['docs']}), store "
                              f"{d['store']}"))

    uvicorn.run("service.main:app", host=host, port=port)


@main.command("migrate")
@json_option
@handles_errors
def migrate(as_json: bool) -> None:
    """Bring the store's schema up to date (also done on every start)."""
    store = open_store()
    emit({"schema_version": store.schema_version(), "dialect": store.dialect}, as_json,
         lambda d: click.echo(f"{d['dialect']} store at schema version {d['schema_version']}"))


@main.command("demo")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("remap-demo"), show_default=True)
@click.option("--seed", default=20181001, show_default=True, type=int)
@json_option
@handles_errors
def demo(out_dir: Path, seed: int, as_json: bool) -> None:
    """Build a demo store from a seeded synthetic town and show what remap does."""
    from service.app.demo import run_demo

    summary = run_demo(out_dir, seed=seed, echo=None if as_json else click.echo)
    if as_json:
        click.echo(json.dumps(summary, indent=2, default=str))


# the operation and displacement commands live in their own module
from service.cli.operations import register as _register_operations  # noqa: E402

_register_operations(main)

from service.cli.audit import register as _register_audit  # noqa: E402

_register_audit(main)


if __name__ == "__main__":  # pragma: no cover
    main()
