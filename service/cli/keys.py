"""``remap keys``: create, list and revoke API keys.

Nothing here logs: a key is printed once, to stdout, and never written elsewhere;
the first admin key (``bootstrap``) goes only to a file of mode 0600.
"""

from __future__ import annotations

from pathlib import Path

import click

from service.cli.common import RoleChoice, emit, emit_rows, handles_errors, json_option, open_store
from spatial.errors import ParameterError


@click.group("keys")
def keys_group() -> None:
    """API keys (roles: admin, analyst, partner)."""


@keys_group.command("create")
@click.option("--role", type=RoleChoice(), required=True)
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
    emit_rows(open_store().list_keys(), as_json,
              lambda r: f"{r['id']:>4} {r['prefix']}...  {r['role']:<8} {r['label']}"
                        + (f"  revoked {r['revoked_at']}" if r["revoked_at"] else ""))


@keys_group.command("revoke")
@click.argument("key_id", type=int)
@json_option
@handles_errors
def keys_revoke(key_id: int, as_json: bool) -> None:
    """Revoke a key by its id."""
    open_store().revoke_key(key_id)
    emit({"revoked": key_id}, as_json, lambda d: click.echo(f"revoked key {key_id}"))


@keys_group.command("bootstrap")
@click.option("--file", "key_file", type=click.Path(dir_okay=False, path_type=Path),
              default=None,
              help="where the key is written (mode 0600); default REMAP_BOOTSTRAP_ADMIN_KEY_FILE")
@json_option
@handles_errors
def keys_bootstrap(key_file: Path | None, as_json: bool) -> None:
    """The first admin key, only if no active admin key exists: written to a file (mode
    0600), never printed. Safe to run at every start."""
    from service.app.deploy import bootstrap_admin_key
    from service.settings import get_settings

    key_file = key_file or get_settings().bootstrap_admin_key_file
    if key_file is None:
        raise ParameterError("--file", "give --file or set REMAP_BOOTSTRAP_ADMIN_KEY_FILE")
    outcome = bootstrap_admin_key(open_store(), key_file)
    emit({"created": outcome.created, "file": outcome.file, "key_id": outcome.key_id,
          "prefix": outcome.prefix}, as_json,
         lambda d: click.echo(
             f"first admin key {d['prefix']}... (id {d['key_id']}) written to {d['file']} "
             "(mode 0600)" if d["created"] else
             f"an admin key exists (id {d['key_id']}, {d['prefix']}...): nothing written"))
