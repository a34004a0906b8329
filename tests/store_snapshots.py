"""Expensive stores built once per test session (per xdist worker) and copied per test.

A *dataset* is a function that fills an empty store (the synthetic town,
say). The first test that asks for it on a backend builds it through the
real pipeline; the store's whole state is then kept and every later test
gets a private copy:

- SQLite: the database file, copied with SQLite's online backup.
- PostgreSQL: every data table as ``COPY ... (FORMAT binary)`` and every
  sequence's position; a test's database is emptied (``TRUNCATE ... RESTART
  IDENTITY``) and reloaded from them. Measured against ``CREATE DATABASE
  ... TEMPLATE``: the copy itself is quick (0.2 s) but each ``DROP
  DATABASE`` waits for a checkpoint (0.7-15 s on the shared machine), and a
  database per test would also pay PostGIS's start-up per connection.

Tests stay isolated: each gets its own file (SQLite) or an emptied and
reloaded database (PostgreSQL), whatever the previous test wrote.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from service.store import Store

#: Tables a store keeps across a reset: the migration ledger and PostGIS's own.
KEEP = ("schema_migrations", "spatial_ref_sys")


def sqlite_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def postgres_tables(conn: sa.Connection) -> list[str]:
    rows = conn.execute(sa.text(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
        "ORDER BY tablename")).scalars().all()
    return [t for t in rows if t not in KEEP]


def empty_postgres(store: Store) -> None:
    """Every data table emptied and every sequence restarted (one statement)."""
    with store.begin() as conn:
        names = ", ".join(f'"{t}"' for t in postgres_tables(conn))
        conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@dataclass
class PostgresState:
    tables: dict[str, bytes]
    sequences: dict[str, int]


def dump_postgres(store: Store) -> PostgresState:
    state = PostgresState({}, {})
    with store.begin() as conn:
        cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        for table in postgres_tables(conn):
            with cur.copy(f'COPY "{table}" TO STDOUT (FORMAT binary)') as copy:
                state.tables[table] = b"".join(bytes(chunk) for chunk in copy)
        for name, last in conn.execute(sa.text(
                "SELECT schemaname || '.' || sequencename, last_value FROM pg_sequences "
                "WHERE schemaname = current_schema() AND last_value IS NOT NULL")):
            state.sequences[name] = int(last)
    return state


def restore_postgres(store: Store, state: PostgresState) -> None:
    empty_postgres(store)
    with store.begin() as conn:
        # the rows were consistent when dumped: no foreign-key checks, so any table order
        conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
        cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        for table, data in state.tables.items():
            with cur.copy(f'COPY "{table}" FROM STDIN (FORMAT binary)') as copy:
                copy.write(data)
        for name, last in state.sequences.items():
            conn.execute(sa.text("SELECT setval(:s, :v, true)"), {"s": name, "v": last})


def copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite database, even of one that is open."""
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


@dataclass
class Snapshots:
    """The datasets built so far in this worker, per backend; ``""`` is the empty store."""

    folder: Path
    sqlite: dict[str, Path] = field(default_factory=dict)
    postgres: dict[str, PostgresState] = field(default_factory=dict)
    values: dict[tuple[str, str], Any] = field(default_factory=dict)

    def has(self, dialect: str, dataset: str) -> bool:
        return (dialect, dataset) in self.values

    def keep(self, store: Store, dataset: str, value: Any) -> None:
        """Remember the state ``store`` is in now as ``dataset``."""
        if store.dialect == "postgresql":
            self.postgres[dataset] = dump_postgres(store)
        else:
            path = self.folder / f"{dataset or 'empty'}.db"
            copy_sqlite(sqlite_path(store.url), path)
            self.sqlite[dataset] = path
        self.values[(store.dialect, dataset)] = value

    def open_sqlite(self, path: Path, dataset: str) -> Store:
        """A store at ``path``: a copy of ``dataset`` if built, else an empty one."""
        if self.has("sqlite", dataset):
            shutil.copyfile(self.sqlite[dataset], path)
        elif self.has("sqlite", ""):
            shutil.copyfile(self.sqlite[""], path)
        store = Store(f"sqlite:///{path}")
        if not self.has("sqlite", ""):  # migrations run once per worker
            self.keep(store, "", None)
        return store

    def open_postgres(self, url: str, dataset: str) -> Store:
        """The worker's database holding ``dataset`` if built, else emptied."""
        store = Store(url)
        if self.has("postgresql", dataset) and dataset:
            restore_postgres(store, self.postgres[dataset])
        else:
            empty_postgres(store)
        return store

    def fill(self, store: Store, dataset: str, build: Callable[[], Any]) -> Any:
        """``dataset``'s value, building it into ``store`` (then kept) the first time."""
        if not self.has(store.dialect, dataset):
            self.keep(store, dataset, build())
        return self.values[(store.dialect, dataset)]
