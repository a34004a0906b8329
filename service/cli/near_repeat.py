"""``remap nearrepeat``: the Knox near-repeat table of an area, layer and window."""

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
)


@click.command("nearrepeat")
@click.option("--layer", required=True)
@click.option("--category", "categories", multiple=True, help="repeat for several")
@click.option("--start", default=None, help="YYYY-MM or YYYY-MM-DD (inclusive)")
@click.option("--end", default=None, help="YYYY-MM or YYYY-MM-DD (inclusive)")
@click.option("--area", default=None,
              help="study area: boundary:SET[@VERSION][:UNIT,UNIT] | bbox:minlon,minlat,maxlon,"
                   "maxlat (default: the events' extent)")
@click.option("--distance-band", default=100.0, show_default=True,
              type=click.FloatRange(1, 10_000), help="distance bandwidth, metres")
@click.option("--distance-bands", default=5, show_default=True, type=click.IntRange(1, 20),
              help="distance bands after 'same location'")
@click.option("--time-band", default=7, show_default=True, type=click.IntRange(1, 365),
              help="time bandwidth, whole days")
@click.option("--time-bands", default=5, show_default=True, type=click.IntRange(1, 20))
@click.option("--metric", default="euclidean", show_default=True,
              type=click.Choice(["euclidean", "manhattan"]))
@click.option("--permutations", default=999, show_default=True,
              type=click.IntRange(19, 9_999), help="Monte Carlo permutations of the dates")
@click.option("--seed", type=int, default=None, help="drawn and reported if omitted")
@click.option("--alpha", default=0.05, show_default=True,
              help="level of the Benjamini-Hochberg FDR over the tested cells")
@output_file_option("--html", "html_out", "the tables as a page")
@json_option
@handles_errors
def near_repeat_cmd(layer: str, categories: tuple[str, ...], start: str | None,
                    end: str | None, area: str | None, distance_band: float,
                    distance_bands: int, time_band: int, time_bands: int, metric: str,
                    permutations: int, seed: int | None, alpha: float,
                    html_out: Path | None, as_json: bool) -> None:
    """Near-repeat patterns: the Knox test over distance bands x time bands, in the
    Near Repeat Calculator's layout (Knox ratios; * more pairs than chance, - fewer,
    two-sided permutation p with Benjamini-Hochberg FDR). Day-precision data or better."""
    from service.app.analysis import CountsRequest
    from service.app.near_repeat import AREA_UNIT, NearRepeatOptions, near_repeat_table
    from service.render.near_repeat import near_repeat_page, nrc_text, pattern_sentence

    req = CountsRequest.parse(layer=layer, categories=categories, start=start, end=end,
                              unit=AREA_UNIT, area=area)
    opts = NearRepeatOptions(distance_band_m=distance_band, distance_bands=distance_bands,
                             time_band_days=time_band, time_bands=time_bands, metric=metric,
                             permutations=permutations, seed=seed, alpha=alpha)
    store = open_store()
    cli_cost_check(store, req, None, "counts")
    table = near_repeat_table(store, req, opts, role="admin")
    if html_out:
        html_out.write_text(near_repeat_page(table), encoding="utf-8")

    def human(data: dict[str, Any]) -> None:
        p = data["parameters"]
        click.echo(f"{data['events']:,} events of {p['layer']} in {p['area']} "
                   f"({p['crs']}, {p['metric']} distance)")
        click.echo(pattern_sentence(data))
        click.echo("Knox ratios (observed / expected pairs):")
        click.echo(nrc_text(data))
        for w in data["warnings"]:
            click.echo(f"  warning: {w}")
        if html_out:
            click.echo(f"written {html_out}")

    emit(table, as_json, human)
