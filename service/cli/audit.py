"""``remap audit list`` and ``remap audit verify``: the hash-chained audit log."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from service.cli.common import emit, handles_errors, json_option, open_store


@click.group("audit")
def audit_group() -> None:
    """The hash-chained audit log: list it, verify it."""


def _print_entries(data: dict[str, Any]) -> None:
    for e in data["entries"]:
        click.echo(f"{e['id']:>6}  {e['at'][:19]}  {e['actor']:<10} {e['action']:<18} "
                   f"{json.dumps(e['detail'], sort_keys=True, default=str)}")
    click.echo(f"({len(data['entries'])} of {data['numberMatched']} matching entries)")


@audit_group.command("list")
@click.option("--action", default=None, help="e.g. refused, read_points, import")
@click.option("--actor", default=None, help="e.g. key:3, cli, anonymous")
@click.option("--since", default=None, help="inclusive: YYYY-MM, YYYY-MM-DD or ISO (UTC)")
@click.option("--until", default=None, help="inclusive date or month, or ISO (UTC)")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100_000),
              help="the most recent N matching entries")
@json_option
@handles_errors
def audit_list(action: str | None, actor: str | None, since: str | None,
               until: str | None, limit: int, as_json: bool) -> None:
    """The most recent entries, oldest of them first."""
    from service.store import audit
    from spatial.timewindow import parse_time

    q = audit.AuditQuery(action=action, actor=actor,
                         since=parse_time(since, "since") if since else None,
                         until=parse_time(until, "until", end=True) if until else None,
                         limit=limit, newest_first=True)
    rows, total = audit.entries(open_store(), q)
    rows.reverse()
    emit({"entries": rows, "numberMatched": total}, as_json, _print_entries)


def _print_verification(r: dict[str, Any]) -> None:
    if r["ok"] and not r["rows"]:
        click.echo("audit log intact: empty")
    elif r["ok"]:
        click.echo(f"audit log intact: {r['rows']} rows, head row {r['head_id']} "
                   f"hash {r['head_hash']}")
    else:
        where = (f"first broken row: {r['first_broken']}"
                 if r["first_broken"] is not None else "broken")
        click.echo(f"audit log BROKEN, {where}: {r['reason']}")


@audit_group.command("verify")
@json_option
@handles_errors
def audit_verify(as_json: bool) -> None:
    """Recompute the hash chain; exit 1 naming the first broken row if it is broken."""
    from service.store import audit

    result = audit.verify(open_store()).as_dict()
    emit(result, as_json, _print_verification)
    if not result["ok"]:
        sys.exit(1)
