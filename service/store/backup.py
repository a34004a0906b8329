"""Copies of a whole store, and back: SQLite through its online backup API, PostgreSQL
through ``pg_dump``/``pg_restore`` in the custom format.

What is counted with a copy comes from the same snapshot as the copy: the SQLite
copy's own file, or on PostgreSQL a ``REPEATABLE READ`` transaction whose snapshot
``pg_dump --snapshot`` uses, so rows written meanwhile are in neither.
The orchestration (manifest, checksum, checks) is :mod:`service.app.backup`.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from service.store.migrations import LATEST_VERSION, MIGRATIONS
from spatial.errors import RemapError

#: Tables of extensions, not of remap (PostGIS's reference systems).
FOREIGN_TABLES = frozenset({"spatial_ref_sys"})

#: Tables whose rows a freshly migrated, never used store already has.
BOOKKEEPING_TABLES = frozenset({"schema_migrations", "audit_head"})

__all__ = ["LATEST_VERSION", "MIGRATIONS", "BackupToolError", "backend_of", "copy_store",
           "restore_store", "row_counts", "schema_version_of"]


class BackupToolError(RemapError):
    """pg_dump / pg_restore missing or failing, or a SQLite copy failing."""

    code = "backup_failed"


def backend_of(url: str) -> str:
    """``sqlite`` or ``postgresql``, from a store URL."""
    return "postgresql" if url.startswith("postgresql") else "sqlite"


def remap_tables(conn: Connection) -> list[str]:
    """The store's tables (introspected, so tables of later migrations count too)."""
    return sorted(t for t in sa.inspect(conn).get_table_names() if t not in FOREIGN_TABLES)


def _counts(conn: Connection) -> dict[str, int]:
    """Rows per table; in a store of events as segments (migration 17) also ``events``
    and ``event_units``: the events and placements the segments hold, so that a backup
    made before the migration and restored (so migrated) after it is checked as well."""
    tables = remap_tables(conn)
    out = {t: int(conn.execute(sa.text(f'SELECT count(*) FROM "{t}"')).scalar_one())
           for t in tables}
    if "event_segments" in tables and "events" not in tables:
        out["events"] = int(conn.execute(sa.text(
            "SELECT coalesce(sum(n_rows), 0) FROM event_segments")).scalar_one())
        out["event_units"] = int(conn.execute(sa.text(
            "SELECT coalesce(sum(s.n_rows), 0) FROM event_segment_units u "
            "JOIN event_segments s ON s.id = u.segment_id")).scalar_one())
    return out


def _version(conn: Connection) -> int:
    if "schema_migrations" not in remap_tables(conn):
        return 0
    return int(conn.execute(sa.text("SELECT max(version) FROM schema_migrations")).scalar()
               or 0)


def row_counts(engine: Engine) -> dict[str, int]:
    """Rows per table of the store."""
    with engine.connect() as conn:
        return _counts(conn)


def schema_version_of(engine: Engine) -> int:
    with engine.connect() as conn:
        return _version(conn)


def sqlite_path(url: str) -> Path:
    path = sa.engine.make_url(url).database
    if not path or path == ":memory:":
        raise BackupToolError(f"not a SQLite file store: {url}")
    return Path(path)


def _libpq(url: str) -> tuple[list[str], dict[str, str]]:
    """pg_dump/pg_restore connection options and environment (the password in
    PGPASSWORD, never on the command line)."""
    u = sa.engine.make_url(url)
    args = [f"--dbname={u.database}"]
    if u.host:
        args.append(f"--host={u.host}")
    if u.port:
        args.append(f"--port={u.port}")
    if u.username:
        args.append(f"--username={u.username}")
    env = {**os.environ}
    if u.password is not None:
        env["PGPASSWORD"] = str(u.password)
    return args, env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupToolError(f"{name} not found: install the PostgreSQL client "
                              "(Debian: postgresql-client) of the server's major version")
    return path


def _run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        lines = [ln for ln in (done.stderr or done.stdout).strip().splitlines() if ln]
        raise BackupToolError(f"{Path(command[0]).name} failed (exit {done.returncode}): "
                              + ("; ".join(lines[-3:]) or "no message"))


def copy_store(engine: Engine, url: str, dump: Path) -> tuple[dict[str, int], int]:
    """Copy the store at ``url`` into the file ``dump``; returns the copy's row counts and
    schema version (from the copy's own snapshot)."""
    if backend_of(url) == "sqlite":
        source = sqlite3.connect(sqlite_path(url))
        target = sqlite3.connect(dump)
        try:
            with target:
                source.backup(target)  # the online backup API: consistent while others write
        finally:
            target.close()
            source.close()
        copy = sa.create_engine(f"sqlite:///{dump}")
        try:
            return row_counts(copy), schema_version_of(copy)
        finally:
            copy.dispose()
    args, env = _libpq(url)
    pg_dump = _tool("pg_dump")
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            snapshot = conn.execute(sa.text("SELECT pg_export_snapshot()")).scalar_one()
            counts, version = _counts(conn), _version(conn)
            # the transaction stays open while pg_dump reads the same snapshot
            _run([pg_dump, "--format=custom", "--no-owner", "--no-privileges",
                  f"--snapshot={snapshot}", f"--file={dump}", *args], env)
    return counts, version


def is_empty(engine: Engine) -> bool:
    """No rows but the bookkeeping of a freshly migrated store."""
    return all(n == 0 for t, n in row_counts(engine).items() if t not in BOOKKEEPING_TABLES)


def restore_store(url: str, dump: Path, *, dispose: Callable[[], None] | None = None) -> None:
    """Put the copy ``dump`` into the store at ``url``, all or nothing.

    SQLite: the backup API copies the whole file over the target. PostgreSQL:
    ``pg_restore`` in one transaction (``--single-transaction --exit-on-error``) with
    ``--clean --if-exists``: the dump's objects already in the target (those of a store
    migrated but empty, or with ``replace`` a full one) are dropped first, inside that
    transaction. ``dispose`` closes the caller's connections to the target first.
    """
    if dispose is not None:
        dispose()
    if backend_of(url) == "sqlite":
        target_path = sqlite_path(url)
        source = sqlite3.connect(f"file:{dump}?mode=ro", uri=True)
        target = sqlite3.connect(target_path)
        try:
            with target:
                source.backup(target)
        except sqlite3.Error as exc:
            raise BackupToolError(f"SQLite restore into {target_path} failed: {exc}") from exc
        finally:
            target.close()
            source.close()
        return
    args, env = _libpq(url)
    _run([_tool("pg_restore"), "--no-owner", "--no-privileges", "--single-transaction",
          "--exit-on-error", "--clean", "--if-exists", *args, str(dump)], env)
