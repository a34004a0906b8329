"""Gazetteers (versioned postcode directories and address extracts) and their rows.

Each import is a new version of its name (never updated or deleted); the
latest version of each kind is the one geocoding uses (:mod:`service.app.geocoding`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from service.store.base import StoreBase, inserted_id, iso, now
from service.store.tables import gazetteer_addresses, gazetteer_postcodes, gazetteers_table
from spatial.errors import NotFoundError
from spatial.limits import check_name

#: Kinds holding postcodes (the rest hold addresses).
POSTCODE_KINDS = ("onspd", "codepoint")


@dataclass(frozen=True)
class GazetteerInfo:
    id: int
    kind: str
    name: str
    version: int
    imported_at: datetime
    imported_by: str
    source_file: str
    rows: int
    rejected: int
    sha256: str

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name} v{self.version}"

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "name": self.name, "version": self.version,
                "imported_at": iso(self.imported_at), "imported_by": self.imported_by,
                "source_file": self.source_file, "rows": self.rows, "rejected": self.rejected,
                "sha256": self.sha256}


def _info(r: Any) -> GazetteerInfo:
    return GazetteerInfo(id=int(r.id), kind=r.kind, name=r.name, version=int(r.version),
                         imported_at=r.imported_at, imported_by=r.imported_by,
                         source_file=r.source_file, rows=int(r.rows),
                         rejected=int(r.rejected), sha256=r.sha256)


class GazetteersRepository(StoreBase):
    """Writes and reads of ``gazetteers``, ``postcodes`` and ``addresses``."""

    def add_gazetteer(self, conn: Connection, *, kind: str, name: str, source_file: str,
                      sha256: str, actor: str, rejected: int, frame: pd.DataFrame
                      ) -> GazetteerInfo:
        """A new version of gazetteer ``name`` holding ``frame``'s rows.

        ``frame``: postcode kinds ``postcode``, ``easting``, ``northing``,
        ``terminated`` (``""`` live); addresses ``uprn``, ``text``, ``tokens``,
        ``easting``, ``northing``.
        """
        check_name(name, "name")
        version = int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(
            gazetteers_table.c.version), 0)).where(gazetteers_table.c.name == name))
            .scalar() or 0) + 1
        at = now()
        res = conn.execute(gazetteers_table.insert().values(
            kind=kind, name=name, version=version, imported_at=at, imported_by=actor,
            source_file=source_file, rows=len(frame), rejected=rejected, sha256=sha256))
        gid = inserted_id(res)
        pg = self.dialect == "postgresql"
        n = len(frame)

        def floats(col: str) -> Any:
            arr = frame[col].to_numpy(dtype=np.float64)
            return arr if pg else arr.tolist()

        ids: Any = np.full(n, gid, dtype=np.int64) if pg else [gid] * n
        if kind in POSTCODE_KINDS:
            term = frame["terminated"].to_numpy(dtype=object)
            columns = {"gazetteer_id": ids, "postcode": frame["postcode"].tolist(),
                       "easting": floats("easting"), "northing": floats("northing"),
                       "terminated": [t or None for t in term.tolist()]}
            table = gazetteer_postcodes.name
        else:
            columns = {"gazetteer_id": ids, "uprn": frame["uprn"].tolist(),
                       "text": frame["text"].tolist(), "tokens": frame["tokens"].tolist(),
                       "easting": floats("easting"), "northing": floats("northing")}
            table = gazetteer_addresses.name
        self._bulk_insert_columns(conn, table, columns)
        return GazetteerInfo(id=gid, kind=kind, name=name, version=version, imported_at=at,
                             imported_by=actor, source_file=source_file, rows=n,
                             rejected=rejected, sha256=sha256)

    def gazetteers_list(self) -> list[GazetteerInfo]:
        q = sa.select(gazetteers_table).order_by(gazetteers_table.c.name,
                                                 gazetteers_table.c.version)
        with self.engine.connect() as conn:
            return [_info(r) for r in conn.execute(q)]

    def latest_gazetteer(self, kinds: tuple[str, ...]) -> GazetteerInfo:
        """The most recently imported gazetteer of one of ``kinds``."""
        q = (sa.select(gazetteers_table).where(gazetteers_table.c.kind.in_(kinds))
             .order_by(gazetteers_table.c.id.desc()).limit(1))
        with self.engine.connect() as conn:
            row = conn.execute(q).first()
        if row is None:
            raise NotFoundError(f"no {' or '.join(kinds)} gazetteer has been imported; import "
                                f"one with `remap gazetteer import {kinds[0]} FILE` or "
                                "POST /v1/gazetteers")
        return _info(row)

    def gazetteer_rows(self, info: GazetteerInfo) -> pd.DataFrame:
        """All rows of one gazetteer version, as stored."""
        if info.kind in POSTCODE_KINDS:
            t = gazetteer_postcodes
            cols = ["postcode", "easting", "northing", "terminated"]
        else:
            t = gazetteer_addresses
            cols = ["uprn", "text", "tokens", "easting", "northing"]
        q = sa.select(*(t.c[c] for c in cols)).where(t.c.gazetteer_id == info.id)
        with self.engine.connect() as conn:
            frame = pd.DataFrame([tuple(r) for r in conn.execute(q)], columns=cols)
        if "terminated" in frame:
            frame["terminated"] = frame["terminated"].fillna("").astype(str)
        return frame
