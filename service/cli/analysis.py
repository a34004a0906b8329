"""``remap layers``, ``counts``, ``hotspots`` and ``autocorrelation``."""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from pathlib import Path
from typing import Any

import click

from service.cli.common import (
    analysis_options,
    cli_cost_check,
    echo_each,
    emit,
    emit_rows,
    handles_errors,
    json_option,
    open_store,
    progress,
    request_options,
)
from service.render.numbers import fixed, p_text

log = logging.getLogger("remap.cli")


@click.command("layers")
@json_option
@handles_errors
def layers_cmd(as_json: bool) -> None:
    """Layers with event counts, time ranges and their categories with counts."""
    emit_rows(open_store().list_layers(), as_json, _layer_lines,
              empty="no layers yet; import events with `remap import`")


def _layer_lines(r: dict[str, Any]) -> str:
    """A layer's line, then one indented line per category, largest first."""
    head = (f"{r['name']:<18} {r['count']:>9} events  {r['time_min'] or '-'} .. "
            f"{r['time_max'] or '-'}  ({r['sensitivity']})")
    cats = sorted(r.get("categories", {}).items(), key=lambda kv: (-kv[1], kv[0]))
    return "\n".join([head, *(f"  {n:>9}  {c}" for c, n in cats)])


@click.command("counts")
@request_options()
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="write the GeoJSON FeatureCollection here")
@click.option("--snap-m", type=float, default=None,
              help="street units: nearest segment within this many metres "
                   "(default REMAP_STREET_SNAP_M)")
@json_option
@handles_errors
def counts_cmd(layer: str, categories: tuple[str, ...], start: str | None, end: str | None,
               unit: str, area: str | None, out: Path | None, snap_m: float | None,
               as_json: bool) -> None:
    """Counts per unit for a layer, categories and window, zero units included."""
    from service.app.analysis import CountsRequest, counts_collection

    req = CountsRequest.parse(layer=layer, categories=categories, start=start, end=end,
                              unit=unit, area=area, snap_m=snap_m)
    store = open_store()
    cli_cost_check(store, req, None, "counts")
    with progress(f"counts of {layer} on {unit}"):
        fc = counts_collection(store, req, role="admin")
    if out:
        with progress(f"writing {out}"):
            out.write_text(json.dumps(fc, default=str))

    def human(data: dict[str, Any]) -> None:
        p = data["parameters"]
        click.echo(f"{p['units']} units ({p['unit']}), {p['events_counted']} events counted, "
                   f"{p['zero_units']} units with zero events")
        top = sorted(data["features"], key=lambda f: -_num(f["properties"]["count"]))[:10]
        for f in top:
            pr = f["properties"]
            click.echo(f"  {pr['unit_id']:<24} {pr.get('label') or '':<36} {pr['count']}")
        echo_each("  warning: ", data["warnings"])
        if out:
            click.echo(f"written {out}")

    if as_json and out is None:
        with progress("writing the JSON"):
            click.echo(json.dumps(fc, default=str))
    else:
        emit(fc, False, human)


def _num(v: Any) -> float:
    return float(v) if isinstance(v, int | float) else 0.0


def _print_hotspots(fc: dict[str, Any], method: str, correction: str) -> None:
    p = fc["parameters"]
    click.echo(f"{method} on {p['units']} units ({p['unit']}), {p['events_counted']} events")
    feats = [f["properties"] for f in fc["features"]]
    if method == "gistar":
        # most significant first: by bin, then by z (never by id)
        hot = sorted((f for f in feats if f["Gi_Bin"] > 0),
                     key=lambda f: (-f["Gi_Bin"], -_num(f["GiZScore"])))
        click.echo(f"  hot spots (Gi_Bin > 0 after {correction}): {len(hot)}; cold spots: "
                   f"{sum(1 for f in feats if f['Gi_Bin'] < 0)}")
        for f in hot[:10]:
            click.echo(f"  {f['unit_id']:<24} {f.get('label') or '':<36} count {f['count']:<5}"
                       f" z {fixed(f['GiZScore'], 2)}  bin {f['Gi_Bin']:+d}")
    elif method == "lisa":
        click.echo("  clusters: " + ", ".join(f"{k} {v}" for k, v in
                                              sorted(Counter(f["cluster"] for f in feats)
                                                     .items())))
    elif method == "kde":
        click.echo(f"  bandwidth {p['bandwidth_m']:.0f} m, cell {p['cell_size_m']:.0f} m, "
                   f"{p['kernel']} kernel")
    from service.app.hotspots import inference_summary

    click.echo(f"  {inference_summary(p, method)}")
    echo_each("  warning: ", fc["warnings"])


@click.command("hotspots")
@analysis_options
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
    log.info("hotspots %s: layer %s, unit %s", method, layer, unit)
    t0 = time.perf_counter()
    with progress(f"hotspots ({method}) of {layer} on {unit}"):
        fc = hotspots_collection(store, req, opts, role="admin")
    log.info("hotspots done in %.1f s: %d units", time.perf_counter() - t0, len(fc["features"]))
    if save:
        from service.app.results import save_result

        with progress(f"saving as {save}"):
            fc["saved"] = save_result(store, save, fc, layer=layer, method=method,
                                      actor="cli")
    if out:
        with progress(f"writing {out}"):
            out.write_text(json.dumps(fc, default=str))
    if as_json and out is None:
        # a fine unit is hundreds of MB of GeoJSON: serialising it takes seconds too
        with progress("writing the JSON"):
            click.echo(json.dumps(fc, default=str))
        return
    _print_hotspots(fc, method, correction)
    if out:
        click.echo(f"written {out}")
    if save:
        click.echo(f"saved as {save}: /v1/results/{save}, OGC collection hotspots-{save}")


@click.command("autocorrelation")
@analysis_options
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
    with progress(f"autocorrelation of {layer} on {unit}"):
        res = autocorrelation(store, req, opts, role="admin")

    def human(r: dict[str, Any]) -> None:
        click.echo(f"Moran's I = {fixed(r['I'], 4)} (E[I] = {fixed(r['expected_I'], 4)}); "
                   f"normal z {fixed(r['normal']['z'], 2)} {p_text(r['normal']['p'])}; "
                   f"randomisation z {fixed(r['randomisation']['z'], 2)} "
                   f"{p_text(r['randomisation']['p'])}"
                   + (f"; permutation {p_text(r['permutation']['p'])}" if r["permutation"]
                      else ""))

    emit(res, as_json, human)
