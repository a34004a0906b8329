"""Imports: one row per file import, with what it accepted, rejected and found duplicated."""

from __future__ import annotations

from sqlalchemy.engine import Connection

from service.store.base import StoreBase, inserted_id, now
from service.store.tables import imports


class ImportsRepository(StoreBase):
    """Writes of ``imports`` (inside the import's own transaction)."""

    def record_import(self, conn: Connection, *, layer: str, file_name: str, fmt: str,
                      actor: str) -> int:
        res = conn.execute(imports.insert().values(
            layer=layer, file_name=file_name, format=fmt, actor=actor, imported_at=now(),
            accepted=0, rejected=0, duplicates=0))
        return inserted_id(res)

    def finish_import(self, conn: Connection, import_id: int, *, accepted: int, rejected: int,
                      duplicates: int) -> None:
        conn.execute(imports.update().where(imports.c.id == import_id).values(
            accepted=accepted, rejected=rejected, duplicates=duplicates))
