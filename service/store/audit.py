"""The audit log: append-only and hash-chained, so that an edit cannot go unseen.

Every row carries ``prev_hash`` (the ``row_hash`` of the row before it, or
:data:`GENESIS` for the first) and ``row_hash``, the SHA-256 of a canonical
serialisation of ``(id, at, actor, action, detail, prev_hash)``
(:func:`row_digest`). :func:`verify` recomputes the chain and names the first
row that does not fit: an edited row fails its own hash, a deleted row breaks
the link of the row after it, reordered rows fail their hashes (the id is
hashed), and rows cut from the end no longer reach the head.

The head (table ``audit_head``, one row) records the last id, the last hash
and the number of rows. It is also the lock that serialises appends: every
append first writes the head row (an upsert), which on SQLite takes the
database's single write lock and on PostgreSQL the head row's lock, both held
until the transaction ends; only then is the previous hash read. Two writers
therefore never chain onto the same row, and an append rolled back with its
transaction leaves no trace in the chain.

Triggers refuse ``UPDATE`` and ``DELETE`` on ``audit_log``: the application
only appends. (Someone who owns the database can drop them; that is what the
chain is for.)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from service.store.base import StoreBase, now
from service.store.tables import audit_head, audit_log

if TYPE_CHECKING:
    from service.store.store import Store

#: ``prev_hash`` of the first row.
GENESIS = "0" * 64

_GUARD_MESSAGE = "audit_log is append-only"


def install_guards(conn: Connection) -> None:
    """Triggers that refuse UPDATE and DELETE on ``audit_log``."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text(
            "CREATE OR REPLACE FUNCTION remap_audit_append_only() RETURNS trigger "
            f"LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '{_GUARD_MESSAGE}'; END $$"))
        conn.execute(sa.text("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log"))
        conn.execute(sa.text(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION remap_audit_append_only()"))
    else:
        for op in ("UPDATE", "DELETE"):
            name = f"audit_log_no_{op.lower()}"
            conn.execute(sa.text(f"DROP TRIGGER IF EXISTS {name}"))
            conn.execute(sa.text(
                f"CREATE TRIGGER {name} BEFORE {op} ON audit_log "
                f"BEGIN SELECT RAISE(ABORT, '{_GUARD_MESSAGE}'); END"))


def drop_guards(conn: Connection) -> None:
    """Remove the triggers (what an attacker owning the database would do; tests use it)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log"))
    else:
        for op in ("update", "delete"):
            conn.execute(sa.text(f"DROP TRIGGER IF EXISTS audit_log_no_{op}"))


# --------------------------------------------------------------------------- hashing

def _at_text(at: datetime | str) -> str:
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    return at.isoformat(sep=" ", timespec="microseconds")


def row_digest(row_id: int, at: datetime | str, actor: str, action: str, detail: str,
               prev_hash: str) -> str:
    """SHA-256 (hex) of the canonical JSON array of a row's fields and its predecessor's
    hash; ``detail`` is the stored JSON text, exactly as stored."""
    payload = json.dumps([int(row_id), _at_text(at), actor, action, detail, prev_hash],
                         ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- writing

_LOCK_HEAD = sa.text(
    "INSERT INTO audit_head (id, last_id, last_hash, n_rows) VALUES (1, 0, :genesis, 0) "
    "ON CONFLICT (id) DO UPDATE SET n_rows = audit_head.n_rows")


def append(conn: Connection, actor: str, action: str, detail: dict[str, Any]) -> int:
    """Append one row inside ``conn``'s transaction; returns its id.

    The head upsert comes first: it takes the lock (see the module docstring)
    that is held until the caller's transaction ends.
    """
    conn.execute(_LOCK_HEAD, {"genesis": GENESIS})
    head = conn.execute(sa.select(audit_head).where(audit_head.c.id == 1)).one()
    if conn.dialect.name == "postgresql":
        new_id = int(conn.execute(sa.text(
            "SELECT nextval(pg_get_serial_sequence('audit_log', 'id'))")).scalar_one())
    else:
        top = conn.execute(sa.select(sa.func.max(audit_log.c.id))).scalar()
        new_id = max(int(top or 0), int(head.last_id)) + 1
    at = now()
    text = json.dumps(detail, default=str, sort_keys=True)
    h = row_digest(new_id, at, actor, action, text, head.last_hash)
    conn.execute(audit_log.insert().values(id=new_id, at=at, actor=actor, action=action,
                                           detail=text, prev_hash=head.last_hash, row_hash=h))
    conn.execute(audit_head.update().where(audit_head.c.id == 1).values(
        last_id=new_id, last_hash=h, n_rows=head.n_rows + 1))
    return new_id


def record(store: StoreBase, conn: Connection | None, actor: str, action: str,
           detail: dict[str, Any]) -> int:
    """:func:`append` in ``conn``'s transaction, or in a transaction of its own."""
    if conn is not None:
        return append(conn, actor, action, detail)
    with store.begin() as own:
        return append(own, actor, action, detail)


# --------------------------------------------------------------------------- reading

@dataclass(frozen=True)
class AuditQuery:
    action: str | None = None
    actor: str | None = None
    since: datetime | None = None   # inclusive
    until: datetime | None = None   # exclusive
    limit: int | None = None
    offset: int = 0
    newest_first: bool = False


def _where(q: AuditQuery) -> list[Any]:
    cond: list[Any] = []
    if q.action:
        cond.append(audit_log.c.action == q.action)
    if q.actor:
        cond.append(audit_log.c.actor == q.actor)
    if q.since:
        cond.append(audit_log.c.at >= q.since)
    if q.until:
        cond.append(audit_log.c.at < q.until)
    return cond


def _entry(r: Any) -> dict[str, Any]:
    try:
        detail: Any = json.loads(r.detail)
    except ValueError:
        detail = r.detail  # an edited row may no longer be JSON; show what is there
    return {"id": int(r.id), "at": _at_text(r.at).replace(" ", "T"), "actor": r.actor,
            "action": r.action, "detail": detail, "prev_hash": r.prev_hash,
            "row_hash": r.row_hash}


def entries(store: StoreBase, q: AuditQuery) -> tuple[list[dict[str, Any]], int]:
    """The rows matching ``q`` (a page of them) and how many match in all."""
    cond = _where(q)
    order = audit_log.c.id.desc() if q.newest_first else audit_log.c.id
    sel = sa.select(audit_log).where(*cond).order_by(order)
    if q.limit is not None:
        sel = sel.limit(q.limit).offset(q.offset)
    with store.engine.connect() as conn:
        rows = [_entry(r) for r in conn.execute(sel)]
        total = int(conn.execute(sa.select(sa.func.count()).select_from(audit_log)
                                 .where(*cond)).scalar() or 0)
    return rows, total


@dataclass(frozen=True)
class Verification:
    ok: bool
    rows: int                 # rows checked (up to the first broken one)
    first_broken: int | None  # id of the first row that does not fit
    reason: str | None
    head_id: int | None       # when intact: the last row, and its hash to note down
    head_hash: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _chain(conn: Connection) -> Iterator[Any]:
    sel = sa.select(audit_log).order_by(audit_log.c.id)
    yield from conn.execution_options(yield_per=2000).execute(sel)


def verify(store: StoreBase) -> Verification:
    """Recompute the chain; the first row that does not fit is named, with why.

    The head is read first and checked when the scan reaches the row it names,
    so rows appended while the scan runs do not make it fail.
    """
    with store.engine.connect() as conn:
        head = conn.execute(sa.select(audit_head).where(audit_head.c.id == 1)).first()
        head_id = int(head.last_id) if head is not None else 0
        prev, n, last_id = GENESIS, 0, None

        def broken(row_id: int | None, reason: str) -> Verification:
            return Verification(False, n, row_id, reason, None, None)

        for r in _chain(conn):
            n += 1
            if r.row_hash is None or r.prev_hash is None:
                return broken(int(r.id), f"row {r.id} carries no hash: it was not written "
                                         "by remap")
            if r.prev_hash != prev:
                what = "the start" if last_id is None else f"row {last_id}"
                return broken(int(r.id), f"row {r.id} does not follow {what}: a row between "
                                         "them was deleted, or rows were inserted or reordered")
            if row_digest(r.id, r.at, r.actor, r.action, r.detail, r.prev_hash) != r.row_hash:
                return broken(int(r.id), f"row {r.id} was changed after it was written "
                                         "(its content no longer matches its hash)")
            if head is not None and int(r.id) == head_id and (
                    r.row_hash != head.last_hash or n != int(head.n_rows)):
                return broken(int(r.id), f"row {r.id} does not match the audit head "
                                         f"(which records {head.n_rows} rows up to it)")
            prev, last_id = r.row_hash, int(r.id)
    if head is None and n > 0:
        return Verification(False, n, None, "the audit head is missing", None, None)
    if head_id and (last_id or 0) < head_id:
        return Verification(False, n, head_id,
                            f"the chain ends at row {last_id} but the head records row "
                            f"{head_id}: rows at the end were deleted", None, None)
    return Verification(True, n, None, None, last_id, prev if n else None)


# --------------------------------------------------------------------------- refusals

REFUSAL_STATUSES = frozenset({401, 403, 429})


def record_refusal(store: Store, *, status: int, method: str, path: str,
                   client: str | None, presented_key: str | None,
                   error: str | None = None, message: str | None = None) -> int:
    """One ``refused`` row for a 401, 403 or 429 answer."""
    ref = store.key_reference(presented_key)
    actor = f"key:{ref['key_id']}" if "key_id" in ref else "anonymous"
    detail: dict[str, Any] = {"status": status, "method": method, "path": path[:512],
                              "client": client, **ref}
    if error:
        detail["error"] = error[:64]
    if message:
        if presented_key and presented_key in message:
            message = message.replace(presented_key, "<key>")
        detail["message"] = message[:300]
    return record(store, None, actor, "refused", detail)


# --------------------------------------------------------------------------- the repository

class AuditRepository(StoreBase):
    """The audit log as methods of the store."""

    def audit(self, conn: Connection | None, actor: str, action: str,
              detail: dict[str, Any]) -> None:
        """Append to the hash-chained audit log, inside ``conn``'s transaction or, with
        ``None``, in a transaction of its own."""
        record(self, conn, actor, action, detail)

    def audit_entries(self, action: str | None = None) -> list[dict[str, Any]]:
        return entries(self, AuditQuery(action=action))[0]
