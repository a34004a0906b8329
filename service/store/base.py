"""What every repository of the store shares: the engine, transactions, bulk writes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from service.store.engine import create_engine, is_unique_violation
from service.store.tables import metadata
from spatial.errors import ConflictError


def now() -> datetime:
    """The current UTC time, naive (as every DateTime column stores it)."""
    return datetime.now(UTC).replace(tzinfo=None)


def inserted_id(result: Any) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def iso(value: Any) -> str | None:
    """A stored time as ISO 8601 text (SQLite may already return text)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return pd.Timestamp(value).isoformat()


class StoreBase:
    """The connection to one database; the repositories add the methods per kind of record."""

    CHUNK = 5_000

    def __init__(self, url: str, *, h3_resolution: int = 11) -> None:
        self.url = url
        self.h3_resolution = h3_resolution
        self.engine: Engine = create_engine(url)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def dispose(self) -> None:
        self.engine.dispose()

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """One transaction: everything inside commits together or not at all.

        A unique key taken by a concurrent writer rolls it back and is a
        :class:`ConflictError` (HTTP 409), never a driver traceback.
        """
        try:
            with self.engine.begin() as conn:
                yield conn
        except sa.exc.IntegrityError as exc:
            if not is_unique_violation(exc):
                raise  # e.g. the audit log's append-only trigger: not a conflict
            raise ConflictError(
                "another request changed the same data at the same time; nothing was "
                "written, run it again",
                details={"constraint": str(exc.orig).splitlines()[0][:200]}) from exc

    def _bulk_insert(self, conn: Connection, table: str, columns: list[str],
                     rows: list[tuple[Any, ...]]) -> None:
        """Rows by COPY (PostgreSQL) or one executemany (SQLite), inside ``conn``."""
        dbapi = conn.connection.dbapi_connection
        assert dbapi is not None
        cur = dbapi.cursor()
        try:
            if self.dialect == "postgresql":
                with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join("?" for _ in columns)
                cur.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                                rows)
        except Exception as exc:
            if is_unique_violation(exc):
                # another writer stored some of these rows since we looked: the whole
                # transaction rolls back, and the caller can simply run it again
                raise ConflictError(
                    "another import stored some of these events at the same time; nothing "
                    "was written, run the import again") from exc
            raise
        finally:
            cur.close()

    def table_counts(self) -> dict[str, int]:
        """Row counts of every table: a cheap fingerprint used by tests and the CLI."""
        out = {}
        with self.engine.connect() as conn:
            for t in metadata.sorted_tables:
                out[t.name] = int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar()
                                  or 0)
        return out
