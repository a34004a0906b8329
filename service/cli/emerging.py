"""``remap emerging``: emerging hot spots (ArcGIS's Emerging Hot Spot Analysis)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from service.cli.common import (
    cli_cost_check,
    emit,
    handles_errors,
    json_option,
    open_store,
    output_file_option,
    request_options,
)
from spatial.stats.corrections import CORRECTIONS

STEPS = ("week", "28d", "month", "quarter")  # spatial.stats.space_time_cube.STEPS


def _print(fc: dict[str, Any]) -> None:
    from service.app.emerging import category_summary

    p = fc["parameters"]
    click.echo(f"emerging hot spots of {p['layer']} on {p['units']} units ({p['unit']}), "
               f"{p['steps']} {p['step']} steps {p['step_labels'][0]}..{p['step_labels'][-1]} "
               f"({p['step_reason']})")
    from service.render.emerging_layer import inference_note

    click.echo(f"neighbours: {p['neighbours']}; {inference_note(p)}")
    click.echo(f"categories: {category_summary(fc)}")
    shown = [f for f in fc["features"] if f["properties"]["code"] != 0]
    shown.sort(key=lambda f: (f["properties"]["code"] < 0, abs(f["properties"]["code"])))
    for f in shown[:40]:
        q = f["properties"]
        tz = "-" if q["trend_z"] is None else f"{q['trend_z']:+.2f}"
        name = q["label"] or q["unit_id"]
        click.echo(f"  {q['pattern']:<24} {str(name)[:40]:<40} hot {q['hot_steps']:>3} "
                   f"cold {q['cold_steps']:>3}  trend z {tz}  events {q['count']}")
    if len(shown) > 40:
        click.echo(f"  ... and {len(shown) - 40} more (--json or --geojson for all)")
    for w in fc["warnings"]:
        click.echo(f"  warning: {w}")


@click.command("emerging")
@request_options()
@click.option("--step", type=click.Choice(STEPS), default=None,
              help="time step; default from the data's precision (month-precision data: "
                   "month) and the span (the finest giving 10-60 steps)")
@click.option("--time-steps", default=1, show_default=True, type=click.IntRange(0, 12),
              help="previous steps in each bin's space-time neighbourhood")
@click.option("--k", default=1, show_default=True, help="H3 neighbour ring")
@click.option("--permutations", type=int, default=None,
              help="Gi* conditional permutations: up to 49,999 by default (staged); 0 for "
                   "normal-theory p-values")
@click.option("--seed", type=int, default=None, help="drawn and reported if omitted")
@click.option("--correction", default="fdr_bh", show_default=True,
              type=click.Choice(CORRECTIONS))
@click.option("--alpha", default=0.05, show_default=True,
              help="significance of a bin (after the correction) and of a trend")
@click.option("--scheme", type=click.Choice(("arcgis", "sfhotspot")), default="arcgis",
              show_default=True, help="ArcGIS's categories or sfhotspot's hotspot_classify "
                                      "classes")
@output_file_option("--html", "html_out", "the map page (ArcGIS's emerging colours)")
@output_file_option("--geojson", "geojson_out", "every unit as GeoJSON")
@json_option
@handles_errors
def emerging_cmd(layer: str, categories: tuple[str, ...], start: str | None, end: str | None,
                 unit: str, area: str | None, step: str | None, time_steps: int, k: int,
                 permutations: int | None, seed: int | None, correction: str, alpha: float,
                 scheme: str, html_out: Path | None, geojson_out: Path | None, as_json: bool) -> None:
    """Emerging hot spots: space-time Gi* per unit and step, a Mann-Kendall trend per
    unit, and ArcGIS's categories (new, consecutive, intensifying, persistent,
    diminishing, sporadic, oscillating, historical hot and cold spots)."""
    import json

    from service.app.analysis import CountsRequest
    from service.app.emerging import EmergingOptions, emerging_collection
    from service.render.emerging_layer import emerging_map_html

    req = CountsRequest.parse(layer=layer, categories=categories, start=start, end=end,
                              unit=unit, area=area)
    opts = EmergingOptions(step=step, time_steps=time_steps, k=k, permutations=permutations,
                           seed=seed, correction=correction, alpha=alpha, scheme=scheme)
    store = open_store()
    cli_cost_check(store, req, None, "hotspots")
    fc = emerging_collection(store, req, opts, role="admin")
    if geojson_out:
        geojson_out.write_text(json.dumps(fc, default=str), encoding="utf-8")
    if html_out:
        title = f"remap: emerging hot spots, {layer} by {req.unit.describe()}"
        html_out.write_text(emerging_map_html(fc, title=title), encoding="utf-8")

    def human(data: dict[str, Any]) -> None:
        _print(data)
        for path in (geojson_out, html_out):
            if path:
                click.echo(f"written {path}")

    emit(fc, as_json, human)
