"""What every repository of the store shares: the engine, transactions, bulk writes."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from service.store.engine import create_engine, is_unique_violation
from service.store.tables import metadata
from spatial.errors import ConflictError

#: rows written to PostgreSQL's COPY as one CSV text
_COPY_ROWS = 50_000


def _insert_sql(table: str, columns: Sequence[str]) -> str:
    marks = ", ".join("?" for _ in columns)
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"


def _csv_bytes(columns: Mapping[str, Any]) -> bytes:
    """The columns as CSV for PostgreSQL's ``COPY ... (FORMAT csv)``.

    Arrow quotes every string (so ``""`` is an empty text) and writes ``None``
    as an empty unquoted field (NULL to COPY); doubles are written in their
    shortest round-trip form, so a float comes back bit for bit.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    arrays = {}
    for name, values in columns.items():
        if isinstance(values, np.ndarray) and values.dtype.kind in "iuf":
            arrays[name] = pa.array(values)
        else:  # python scalars: str, int, None; the type is inferred
            arrays[name] = pa.array(values if isinstance(values, list | np.ndarray)
                                    else list(values), from_pandas=False)
    sink = pa.BufferOutputStream()
    pacsv.write_csv(pa.table(arrays), sink,
                    write_options=pacsv.WriteOptions(include_header=False,
                                                     quoting_style="needed"))
    return sink.getvalue().to_pybytes()


#: rows below which a bulk load into PostgreSQL keeps the indexes as they are
_BULK_REBUILD_MIN = 20_000

#: SQLite page cache of a bulk transaction (KiB): held only while it runs
BULK_CACHE_KIB = 256 * 1024


def _sqlite_cache(conn: Connection, size: int) -> None:
    """``PRAGMA cache_size`` on the driver connection (outside any transaction)."""
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    cur = dbapi.cursor()
    try:
        cur.execute(f"PRAGMA cache_size={int(size)}")
    finally:
        cur.close()


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
    def begin(self, *, bulk: bool = False) -> Iterator[Connection]:
        """One transaction: everything inside commits together or not at all.

        A unique key taken by a concurrent writer rolls it back and is a
        :class:`ConflictError` (HTTP 409), never a driver traceback.

        ``bulk``: the transaction writes many rows (an import). On SQLite its
        connection gets a page cache of :data:`BULK_CACHE_KIB` for the
        transaction (the default 2 MiB spills random-order index inserts, such as
        a gazetteer's, to the WAL long before the commit), set back when it ends.
        Event imports do not ask for it: they write one Parquet value per segment,
        which gains nothing from it, and a 20M-row import stays 256 MiB smaller. Durability is
        the engine's: WAL with ``synchronous=NORMAL`` (a commit is atomic and
        survives the process being killed; only a power cut may lose the last
        commits, never corrupting the file).
        """
        with self.engine.connect() as outer:
            tuned = bulk and self.dialect == "sqlite"
            if tuned:
                _sqlite_cache(outer, -BULK_CACHE_KIB)
            try:
                with self._transaction(outer) as conn:
                    yield conn
            finally:
                if tuned:
                    _sqlite_cache(outer, -2000)  # SQLite's default

    @contextmanager
    def _transaction(self, conn: Connection) -> Iterator[Connection]:
        try:
            with conn.begin():
                yield conn
        except sa.exc.IntegrityError as exc:
            if not is_unique_violation(exc):
                raise  # e.g. the audit log's append-only trigger: not a conflict
            raise ConflictError(
                "another request changed the same data at the same time; nothing was "
                "written, run it again",
                details={"constraint": str(exc.orig).splitlines()[0][:200]}) from exc

    def _bulk_insert(self, conn: Connection, table: str, columns: list[str],
                     rows: Iterable[tuple[Any, ...]]) -> None:
        """Rows by COPY (PostgreSQL) or one executemany (SQLite), inside ``conn``."""
        def write(cur: Any) -> None:
            if self.dialect == "postgresql":
                with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                cur.executemany(_insert_sql(table, columns), rows)

        self._run_bulk(conn, write)

    def _bulk_insert_columns(self, conn: Connection, table: str,
                             columns: Mapping[str, Any]) -> None:
        """Rows given as equal-length columns (python scalars, ``None`` for NULL).

        PostgreSQL: one ``COPY ... FROM STDIN (FORMAT csv)`` of a buffer that
        Arrow's CSV writer builds from the columns in C++ (no per-row Python);
        SQLite: one ``executemany`` over ``zip`` of the columns (no row list).
        Both run inside ``conn``'s transaction: a failure writes nothing.
        """
        names = list(columns)
        if not names or len(columns[names[0]]) == 0:
            return

        def write(cur: Any) -> None:
            if self.dialect == "postgresql":
                n = len(columns[names[0]])
                with cur.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN "
                              "(FORMAT csv)") as copy:
                    # the CSV text is made a slice of rows at a time: memory stays bounded
                    for start in range(0, n, _COPY_ROWS):
                        copy.write(_csv_bytes({k: v[start:start + _COPY_ROWS]
                                               for k, v in columns.items()}))
            else:
                cur.executemany(_insert_sql(table, names), zip(*columns.values(), strict=True))

        self._run_bulk(conn, write)

    @contextmanager
    def _bulk_load(self, conn: Connection, table: str, incoming: int) -> Iterator[None]:
        """Around a large COPY into ``table`` on PostgreSQL: its secondary indexes, unique
        constraints and foreign keys are dropped for the load and built again after it,
        in the same transaction, when ``incoming`` rows are at least as many as the
        table holds.

        One sorted build per index and one join per foreign key instead of a random
        B-tree insert and a lookup per row ("Populating a Database" in the PostgreSQL
        manual): the 178,243 police.uk events COPY in 3-4 s instead of 8-12 s here.
        Nothing is weakened: the unique key is built again before the commit, so a
        duplicate still fails the whole transaction (a :class:`ConflictError`), and a
        failure anywhere rolls the definitions back with the rows. The price is that
        the table is locked (``ACCESS EXCLUSIVE``) until the commit, so readers wait
        for a first or very large import instead of reading beside it; smaller
        imports into a bigger table keep the indexes and do not lock readers out.
        SQLite keeps its indexes (its large bulk page cache does most of the same
        work, and a rebuild there gained under 10 %).
        """
        if self.dialect != "postgresql" or incoming < _BULK_REBUILD_MIN:
            yield
            return
        held = conn.execute(sa.text(
            f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT :n) AS s"),
            {"n": incoming}).scalar()
        if int(held or 0) >= incoming:
            yield
            return
        constraints = conn.execute(sa.text(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = CAST(:t AS regclass) AND contype IN ('u', 'f') ORDER BY conname"),
            {"t": table}).all()
        owned = {name for name, _ in constraints}
        found = conn.execute(sa.text(
            "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
            "JOIN pg_class i ON i.oid = x.indexrelid "
            "WHERE x.indrelid = CAST(:t AS regclass) AND NOT x.indisprimary ORDER BY i.relname"),
            {"t": table}).all()
        indexes = [(str(name), str(ddl)) for name, ddl in found if name not in owned]
        for name, _ in constraints:
            conn.execute(sa.text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
        for name, _ in indexes:
            conn.execute(sa.text(f'DROP INDEX "{name}"'))
        yield
        # unique keys first: the foreign keys of other tables may lean on them
        for name, ddl in sorted(constraints, key=lambda c: not c[1].startswith("UNIQUE")):
            try:
                conn.execute(sa.text(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {ddl}'))
            except sa.exc.IntegrityError as exc:
                if is_unique_violation(exc):
                    raise ConflictError(
                        "another import stored some of these events at the same time; "
                        "nothing was written, run the import again") from exc
                raise
        for _, ddl in indexes:
            conn.execute(sa.text(ddl))

    def _run_bulk(self, conn: Connection, write: Callable[[Any], None]) -> None:
        dbapi = conn.connection.dbapi_connection
        assert dbapi is not None
        cur = dbapi.cursor()
        try:
            write(cur)
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
        """Row counts of every table, and ``events``: the events the segments hold (a cheap
        fingerprint used by tests and the CLI)."""
        from service.store.tables import LEGACY_TABLES, event_segments

        out = {}
        with self.engine.connect() as conn:
            for t in metadata.sorted_tables:
                if t.name in LEGACY_TABLES:
                    continue
                out[t.name] = int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar()
                                  or 0)
            # the events themselves (rows of the segments), under the name they always had
            out["events"] = int(conn.execute(sa.select(sa.func.coalesce(
                sa.func.sum(event_segments.c.n_rows), 0))).scalar() or 0)
        return out
