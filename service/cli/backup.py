"""``remap backup PATH`` and ``remap restore PATH``: the whole store, copied with a
manifest and a checksum, and back (service/app/backup.py)."""

from __future__ import annotations

from pathlib import Path

import click

from service.cli.common import emit, handles_errors, json_option, open_store, using_store


@click.command("backup")
@click.argument("path", type=click.Path(path_type=Path))
@json_option
@handles_errors
def backup_cmd(path: Path, as_json: bool) -> None:
    """Copy the store (REMAP_DATABASE_URL) to PATH: a new folder, or a file ending .tar.

    SQLite: the online backup API (safe while remap serves). PostgreSQL: pg_dump in
    the custom format (the client must be the server's major version or newer).
    """
    from service.app.backup import backup

    manifest = backup(open_store(), path)
    emit({"path": str(path), **manifest.as_dict()}, as_json,
         lambda d: click.echo(
             f"{d['backend']} store (schema {d['schema_version']}) backed up to {d['path']}: "
             f"{sum(d['row_counts'].values())} rows in {len(d['row_counts'])} tables, "
             f"{d['dump_bytes']} bytes, sha256 {d['sha256'][:16]}..."))


@click.command("restore")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True,
              help="replace everything in a store that is not empty")
@json_option
@handles_errors
def restore_cmd(path: Path, force: bool, as_json: bool) -> None:
    """Restore the backup at PATH (folder or .tar) into the store (REMAP_DATABASE_URL).

    Checks the checksum, refuses a backup of a newer schema or another backend, and a
    store that is not empty unless --force; migrates an older backup up to the current
    schema and checks every table's rows against the manifest. Stop the server first.
    """
    from service.app.backup import restore
    from service.settings import get_settings

    settings = get_settings()
    using_store(settings.database_url)
    outcome = restore(path, settings.database_url, force=force,
                      h3_resolution=settings.h3_resolution)
    data = {"path": str(path), "backend": outcome.manifest.backend,
            "backup_schema_version": outcome.manifest.schema_version,
            "schema_version": outcome.schema_version, "row_counts": outcome.row_counts}
    emit(data, as_json, lambda d: click.echo(
        f"restored {d['path']} ({d['backend']}, schema {d['backup_schema_version']}"
        + (f", migrated to {d['schema_version']}" if d["schema_version"] !=
           d["backup_schema_version"] else "")
        + f"): {sum(d['row_counts'].values())} rows in {len(d['row_counts'])} tables, "
          "as in its manifest"))
