"""``remap watch``: watch an operation's areas for a market's return, and check it.

The commands call the same use cases as the API (:mod:`service.app.watches`); the
CLI is a trusted local user and sees every series (role ``admin``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from service.cli.common import (
    echo_each,
    emit,
    emit_rows,
    handles_errors,
    json_option,
    open_store,
    progress,
)


def _print_watch(w: dict[str, Any]) -> None:
    click.echo(f"watch {w['id']} {w['name']!r} on operation {w['operation_id']}: "
               f"{len(w['layers'])} layer(s) x {len(w['areas'])} area(s), per {w['period']}")
    click.echo("  layers: " + ", ".join(w["layers"]))
    click.echo("  areas:  " + ", ".join(a["name"] for a in w["areas"]))


def _print_check(c: dict[str, Any]) -> None:
    from service.render.watch_layer import check_lines

    for line in check_lines(c):
        click.echo(line)
    echo_each("warning: ", c["warnings"])
    echo_each("withheld: ", c["withheld"])


@click.group("watch")
def watch_group() -> None:
    """Re-emergence watches: a Poisson CUSUM on an operation's areas after it."""


@watch_group.command("create")
@click.option("--operation", "operation_id", type=int, required=True)
@click.option("--name", required=True)
@click.option("--layer", "layers", multiple=True,
              help="LAYER/CATEGORY, repeat (default: the operation's outcome layers, "
                   "dealing_site/* and ambulance/*)")
@click.option("--period", type=click.Choice(["week", "28days", "month"]), default="week",
              show_default=True, help="month-precision data is counted per month")
@click.option("--arl0", type=float, default=None,
              help="in-control average run length per series, periods (default: a year)")
@click.option("--false-alarms-per-year", type=float, default=None,
              help="instead of --arl0: expected false alarms a year across the watch")
@click.option("--mu1", "mu1_rule", type=click.Choice(["pre", "rise"]), default="pre",
              show_default=True, help="alarm level: the pre-operation level, or a rise")
@click.option("--rise", type=float, default=0.5, show_default=True)
@click.option("--baseline-periods", type=int, default=None,
              help="periods after the operation setting its level (default: the after "
                   "window)")
@click.option("--site-radius", "site_radius_m", type=float, default=150.0, show_default=True)
@click.option("--max-sites", type=int, default=5, show_default=True)
@json_option
@handles_errors
def watch_create(as_json: bool, **options: Any) -> None:
    """Create a watch on an operation."""
    from service.app.watches import create_watch

    data = {k: (list(v) or None) if k == "layers" else v for k, v in options.items()}
    emit(create_watch(open_store(), data, actor="cli"), as_json, _print_watch)


@watch_group.command("list")
@click.option("--operation", "operation_id", type=int, default=None)
@json_option
@handles_errors
def watch_list(operation_id: int | None, as_json: bool) -> None:
    """Every watch (of one operation)."""
    from service.app.watches import list_watches

    emit_rows(list_watches(open_store(), operation_id=operation_id), as_json,
              lambda w: f"{w['id']}\t{w['name']}\toperation {w['operation_id']}\t"
                        f"per {w['period']}", empty="no watches")


@watch_group.command("check")
@click.argument("watch_id", type=int)
@click.option("--map", "map_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="write the watched areas coloured by alarm state here")
@json_option
@handles_errors
def watch_check(watch_id: int, map_path: Path | None, as_json: bool) -> None:
    """Check a watch now; its alarms are recorded."""
    from service.app.watches import check_watch

    store = open_store()
    with progress(f"watch {watch_id} check"):
        c = check_watch(store, watch_id, actor="cli")
    if map_path is not None:
        from service.render.watch_layer import watch_map_html

        map_path.write_text(watch_map_html(store, watch_id, c, role="admin"), encoding="utf-8")
    emit(c, as_json, _print_check)
    if map_path is not None and not as_json:
        click.echo(f"map written: {map_path}")
