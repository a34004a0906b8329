"""Connecting: one SQLAlchemy engine for SQLite or PostgreSQL/PostGIS, and what their errors mean."""

from __future__ import annotations

import sqlite3
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

#: SQLSTATE of a unique or primary key violation (PostgreSQL, psycopg's ``UniqueViolation``).
UNIQUE_VIOLATION_SQLSTATE = "23505"

#: SQLite's extended result codes for a taken unique or primary key.
_SQLITE_UNIQUE_CODES = frozenset({sqlite3.SQLITE_CONSTRAINT_UNIQUE,
                                  sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY})


#: Raised when no connection came free within the pool's timeout (the API answers 503).
StoreBusyError = sa.exc.TimeoutError

#: Connections kept open, and the extra ones opened under load (40 in all).
POOL_SIZE = 10
POOL_OVERFLOW = 30


def create_engine(url: str) -> Engine:
    """An engine for ``url``; ``postgresql://`` means psycopg 3, SQLite gets its pragmas."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    # as many connections as the server's worker threads (anyio's 40), so requests under
    # load wait for a thread, not for a connection; one still not free after 30 s is a
    # 503 (service.api.errors), not a 500
    engine = sa.create_engine(url, future=True, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW)
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # foreign keys are off by default in SQLite; WAL lets readers run beside the one writer
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def is_unique_violation(exc: BaseException) -> bool:
    """Whether ``exc`` (a driver error, or SQLAlchemy's wrapper of one) is a taken unique or
    primary key: SQLSTATE 23505 on PostgreSQL, ``SQLITE_CONSTRAINT_UNIQUE`` or
    ``SQLITE_CONSTRAINT_PRIMARYKEY`` on SQLite. Other integrity errors (a foreign key, the
    audit log's append-only trigger) are not."""
    orig = exc.orig if isinstance(exc, sa.exc.DBAPIError) else exc
    if isinstance(orig, sqlite3.IntegrityError):
        return orig.sqlite_errorcode in _SQLITE_UNIQUE_CODES
    return getattr(orig, "sqlstate", None) == UNIQUE_VIOLATION_SQLSTATE


def is_transient_error(exc: BaseException) -> bool:
    """Whether ``exc`` is an operational error worth trying again a little later: above
    all SQLite's "database is locked" when a long import holds its single writer for
    longer than the driver waits."""
    return isinstance(exc, sa.exc.OperationalError)
