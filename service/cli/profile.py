"""``remap profile``: the problem profile of an area, layer and window."""

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


def _pct(share: float | None) -> str:
    return "-" if share is None else f"{100 * share:.1f} %"


def _print_profile(p: dict[str, Any]) -> None:
    par = p["parameters"]
    click.echo(f"{p['events']} events of {par['layer']} in {par['area']}")
    click.echo("events per month: " + ", ".join(
        f"{m} {c}" for m, c in zip(p["trend"]["months"], p["trend"]["counts"], strict=True)))
    click.echo(f"time of day: {p['time_statement']}")
    if p["day_of_week"] is not None:
        click.echo("day of week: " + ", ".join(
            f"{d[:3]} {c}" for d, c in zip(p["day_of_week"]["days"], p["day_of_week"]["counts"],
                                           strict=True)))
    for why in p["withheld"]:
        click.echo(f"withheld: {why}")
    if p["top_streets"] is not None:
        click.echo(f"top streets ({p['streets']:,} streets with events):")
        for s in p["top_streets"]:
            click.echo(f"  {s['street']:<40} {s['count']:>7,}  {_pct(s['share']):>7}")
        click.echo(f"repeat locations ({p['repeat_location_count']:,} points with 2+ events, "
                   f"{p['events_at_repeat_locations']:,} events):")
        for r in p["repeat_locations"]:
            click.echo(f"  {r['lat']:.6f},{r['lon']:.6f}  {r['street'] or '-':<28} "
                       f"{r['count']:>7,}  {_pct(r['share']):>7}")
        for kind in ("units", "streets"):
            c = p["concentration"][kind]
            tops = ", ".join(f"top {s['percent']:g} %: {_pct(s['share'])}"
                             for s in c["top_shares"])
            gini = "-" if c["gini"] is None else f"{c['gini']:.3f}"
            click.echo(f"concentration over {c['units']:,} {kind}: {tops}; 80 % of events in "
                       f"{_pct(c['eighty_share'])} of {kind}; Gini {gini}")
    for w in p["warnings"]:
        click.echo(f"  warning: {w}")


@click.command("profile")
@request_options(unit_help="units the concentration is measured over: h3:RES | "
                           "boundary:SET[@VERSION] | grid:CELL_METRES")
@click.option("--top", default=10, show_default=True, type=click.IntRange(1, 1000),
              help="streets and repeat locations listed")
@output_file_option("--html", "html_out", "the profile as a page (tables, SVG trend chart)")
@output_file_option("--svg", "svg_out", "the monthly trend chart as an SVG file")
@json_option
@handles_errors
def profile_cmd(layer: str, categories: tuple[str, ...], start: str | None, end: str | None,
                unit: str, area: str | None, top: int, html_out: Path | None,
                svg_out: Path | None, as_json: bool) -> None:
    """A problem profile: top streets, repeat locations, concentration (top x % of units
    and streets, Gini), the monthly trend, and day of week and hour where times allow."""
    from service.app.analysis import CountsRequest
    from service.app.profile import problem_profile
    from service.render.profile import profile_page, trend_svg

    req = CountsRequest.parse(layer=layer, categories=categories, start=start, end=end,
                              unit=unit, area=area)
    store = open_store()
    cli_cost_check(store, req, None, "counts")
    p = problem_profile(store, req, role="admin", top=top)
    if html_out:
        html_out.write_text(profile_page(p), encoding="utf-8")
    if svg_out:
        svg_out.write_text(trend_svg(p, title=f"{layer}: events per calendar month"),
                           encoding="utf-8")

    def human(data: dict[str, Any]) -> None:
        _print_profile(data)
        for path in (html_out, svg_out):
            if path:
                click.echo(f"written {path}")

    emit(p, as_json, human)
