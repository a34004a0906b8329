"""API keys: only their SHA-256 is stored; the plaintext is shown once, when created."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from service.store.audit import AuditRepository
from service.store.base import iso, now
from service.store.tables import api_keys
from spatial.errors import NotFoundError, ParameterError
from spatial.roles import ROLES

#: :meth:`KeysRepository.keys_version`'s query, as plain SQL (the same on both backends):
#: it runs on every request of the API's fast path, where building and compiling the
#: statement took twice as long as running it.
_KEYS_VERSION_SQL = "SELECT count(*), max(id), count(revoked_at) FROM api_keys"


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


class KeysRepository(AuditRepository):
    """Reads and writes of ``api_keys``; creating and revoking are audited."""

    def create_key(self, role: str, label: str = "") -> str:
        """A new API key for ``role``; returns the plaintext once, stores its hash."""
        if role not in ROLES:
            raise ParameterError("role", f"{role!r} is not one of {', '.join(ROLES)}")
        plaintext = "rmp_" + secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            conn.execute(api_keys.insert().values(
                key_hash=hash_key(plaintext), prefix=plaintext[:10], role=role, label=label,
                created_at=now()))
            self.audit(conn, "cli", "key_create", {"role": role, "prefix": plaintext[:10],
                                                   "label": label})
        return plaintext

    def role_for_key(self, plaintext: str) -> tuple[int, str] | None:
        q = sa.select(api_keys.c.id, api_keys.c.role).where(
            api_keys.c.key_hash == hash_key(plaintext), api_keys.c.revoked_at.is_(None))
        with self.engine.connect() as conn:
            row = conn.execute(q).first()
        return (int(row[0]), str(row[1])) if row else None

    def keys_version(self) -> str:
        """A version of the keys table that changes with every create and revoke (keys
        are never deleted or edited otherwise): how many there are, the highest id and
        how many are revoked. One query over a small table; the API's in-memory key
        check (:mod:`service.api.fastpath`) trusts a verified key only while it holds."""
        with self.engine.connect() as conn:
            n, top, revoked = conn.exec_driver_sql(_KEYS_VERSION_SQL).one()
        return f"{int(n)}:{int(top or 0)}:{int(revoked)}"

    def list_keys(self) -> list[dict[str, Any]]:
        q = sa.select(api_keys.c.id, api_keys.c.prefix, api_keys.c.role, api_keys.c.label,
                      api_keys.c.created_at, api_keys.c.revoked_at).order_by(api_keys.c.id)
        with self.engine.connect() as conn:
            return [{k: iso(v) if isinstance(v, datetime) else v
                     for k, v in r._mapping.items()} for r in conn.execute(q)]

    def revoke_key(self, key_id: int) -> None:
        with self.engine.begin() as conn:
            res = conn.execute(api_keys.update().where(api_keys.c.id == key_id,
                                                       api_keys.c.revoked_at.is_(None))
                               .values(revoked_at=now()))
            if res.rowcount == 0:
                raise NotFoundError(f"no active key with id {key_id}")
            self.audit(conn, "cli", "key_revoke", {"id": key_id})

    def key_reference(self, presented: str | None) -> dict[str, Any]:
        """Who a presented key is, for the log, never the key itself: its id (and whether it
        is revoked) when it is a stored key, otherwise its first characters if it is long
        enough that those cannot be the whole of it."""
        if not presented:
            return {"key": "none"}
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(api_keys.c.id, api_keys.c.prefix,
                                         api_keys.c.revoked_at)
                               .where(api_keys.c.key_hash == hash_key(presented))).first()
        if row is not None:
            return {"key": "known", "key_id": int(row.id), "key_prefix": row.prefix,
                    "revoked": row.revoked_at is not None}
        out: dict[str, Any] = {"key": "unknown", "key_length": len(presented)}
        if len(presented) >= 20:
            out["key_prefix"] = presented[:10]
        return out
