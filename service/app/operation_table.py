"""The ``operations`` table and its migrations (the store's part of operations).

Kept apart from the use cases so that the store can own them: a row holds an
operation's definition (request + resolved areas, JSON), its status, who
created it, when it started, the locked baseline (JSON: counts + sha256
fingerprint) and whether an analyst shared it.
"""

from __future__ import annotations

import weakref

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from service.store import Store, metadata, register_migration

OPERATION_STATUSES = ("planned", "started")

operations_table = sa.Table(
    "operations", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("definition", sa.Text, nullable=False),   # JSON: request + resolved areas
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("created_by", sa.Text, nullable=False),
    sa.Column("started_at", sa.DateTime, nullable=True),
    sa.Column("baseline", sa.Text, nullable=True),      # JSON: locked counts + fingerprint
    # partners and viewers see an operation only when an analyst shared it, once started
    sa.Column("shared", sa.Boolean, nullable=False, server_default=sa.false()),
)


def _m10_operations(conn: Connection) -> None:
    metadata.create_all(conn, tables=[operations_table])


def _m13_operation_sharing(conn: Connection) -> None:
    columns = {c["name"] for c in sa.inspect(conn).get_columns("operations")}
    if "shared" not in columns:
        conn.execute(sa.text("ALTER TABLE operations ADD COLUMN shared BOOLEAN NOT NULL "
                             "DEFAULT FALSE"))


register_migration(10, "operations: definitions, status and baseline locks", _m10_operations)
register_migration(13, "operations: shared with partners", _m13_operation_sharing)

_READY: weakref.WeakSet[Store] = weakref.WeakSet()


def ensure_schema(store: Store) -> None:
    """Apply the operations migration to a store opened before this module was imported."""
    if store not in _READY:
        store.migrate()
        _READY.add(store)
