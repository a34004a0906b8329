"""``remap harm-index``: the crime harm indices (CCHI, ONS CSS) and a force's own table."""

from __future__ import annotations

from typing import Any

import click

from service.cli.common import echo_each, emit, handles_errors, json_option


@click.group("harm-index")
def harm_index_group() -> None:
    """Crime harm indices: list them, show one's weights and sources (or check a force's CSV)."""


def _print_list(rows: list[dict[str, Any]]) -> None:
    for r in rows:
        click.echo(f"{r['name']:<8} {r['title']} -- {r['version']}")
        click.echo(f"         unit: {r['unit']}")
        click.echo(f"         source: {r['source']}")


def _print_table(t: dict[str, Any]) -> None:
    click.echo(f"{t['name']}: {t['title']}")
    for key in ("version", "unit", "citation", "source", "stored_copy", "gaps"):
        if t["meta"].get(key):
            click.echo(f"  {key}: {t['meta'][key]}")
    click.echo("\n  police.uk crime type -> weight (how it was obtained)")
    for r in t["police_uk"]:
        generated = " [police-generated: left out of harm unless asked]" if (
            r["police_uk_category"] in t["police_generated"]) else ""
        click.echo(f"  {r['police_uk_category']:<30} {r['weight']:>12.6g}{generated}")
        click.echo(f"      {r['offence'] + ': ' if r['offence'] else ''}{r['basis']}")
    echo_each("  excluded: ", [f"{r['police_uk_category']}: {r['basis']}"
                               for r in t["excluded"]])
    click.echo(f"\n  {len(t['offence_rows'])} offence row(s)")
    for r in t["offence_rows"]:
        code = f"[{r['ho_code']}] " if r["ho_code"] else ""
        click.echo(f"  {r['weight']:>12.6g}  {code}{r['offence']}")


@harm_index_group.command("list")
@json_option
@handles_errors
def harm_index_list_cmd(as_json: bool) -> None:
    """The shipped harm indices."""
    from service.app.harm_indices import harm_index_list

    emit(harm_index_list(), as_json, _print_list)


@harm_index_group.command("show")
@click.argument("name_or_file")
@json_option
@handles_errors
def harm_index_show_cmd(name_or_file: str, as_json: bool) -> None:
    """A harm index's weights and sources: NAME (cchi, css) or a force's CSV (validated)."""
    from spatial.evaluation.harm_index import load_harm_table

    emit(load_harm_table(name_or_file).as_dict(), as_json, _print_table)
