"""Street networks (versioned road links in EPSG:27700) for street units."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from service.store.base import StoreBase, inserted_id, now
from service.store.tables import street_networks, street_segments
from spatial.errors import NotFoundError, ParameterError
from spatial.limits import check_name

#: The name police.uk streets go by; a stored network may not take it.
POLICEUK: str = "policeuk"
SEGMENT_COLUMNS = ("segment_id", "name", "classification", "function", "start_node",
                   "end_node", "length_m", "wkb")


@dataclass(frozen=True)
class StreetNetworkInfo:
    id: int
    name: str
    version: int
    source_file: str
    source_layer: str | None
    fields: dict[str, Any]
    rejected: int
    created_at: datetime
    segment_count: int

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "version": self.version,
                "source_file": self.source_file, "source_layer": self.source_layer,
                "fields": self.fields, "rejected": self.rejected,
                "created_at": self.created_at.isoformat(), "segment_count": self.segment_count}


def _info(r: Any) -> StreetNetworkInfo:
    return StreetNetworkInfo(id=r.id, name=r.name, version=r.version,
                             source_file=r.source_file, source_layer=r.source_layer,
                             fields=json.loads(r.fields), rejected=int(r.rejected),
                             created_at=r.created_at, segment_count=int(r.n or 0))


class StreetsRepository(StoreBase):
    """Reads and writes of ``street_networks`` and ``street_segments`` (never updated)."""

    def add_street_network(self, conn: Connection, *, name: str, source_file: str,
                           source_layer: str | None, fields: dict[str, Any], rejected: int,
                           segments: pd.DataFrame) -> tuple[int, int]:
        """A new version of network ``name`` with ``segments`` (columns
        :data:`SEGMENT_COLUMNS`, ``wkb`` hex in EPSG:27700); returns its id and version."""
        check_name(name, "name")
        if name == POLICEUK:
            raise ParameterError("name", f"{POLICEUK!r} is the police.uk street units' name "
                                         "(street:policeuk); choose another")
        version = int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(
            street_networks.c.version), 0)).where(street_networks.c.name == name)).scalar()
            or 0) + 1
        res = conn.execute(street_networks.insert().values(
            name=name, version=version, source_file=source_file, source_layer=source_layer,
            fields=json.dumps(fields), rejected=int(rejected), created_at=now()))
        network_id = inserted_id(res)
        n = len(segments)
        columns: dict[str, Any] = {"network_id": [network_id] * n,
                                   "position": list(range(n))}
        for c in SEGMENT_COLUMNS:
            values = segments[c].astype(object).where(segments[c].notna(), None).tolist()
            columns[c] = [float(v) for v in values] if c == "length_m" else values
        self._bulk_insert_columns(conn, street_segments.name, columns)
        return network_id, version

    def street_networks_list(self) -> list[StreetNetworkInfo]:
        counts = (sa.select(street_segments.c.network_id, sa.func.count().label("n"))
                  .group_by(street_segments.c.network_id).subquery())
        q = (sa.select(street_networks, counts.c.n)
             .select_from(street_networks.outerjoin(
                 counts, counts.c.network_id == street_networks.c.id))
             .order_by(street_networks.c.name, street_networks.c.version))
        with self.engine.connect() as conn:
            return [_info(r) for r in conn.execute(q)]

    def street_network(self, name: str, version: int | None = None) -> StreetNetworkInfo:
        """The named network at ``version`` (default: the latest)."""
        every = self.street_networks_list()
        found = [s for s in every if s.name == name
                 and (version is None or s.version == version)]
        if not found:
            known = sorted({s.name for s in every})
            raise NotFoundError(
                f"street network {name!r}" + (f" version {version}" if version else "")
                + " does not exist; known networks: "
                + (", ".join(known) or "none (add one with `remap streets import`)")
                + f"; {POLICEUK!r} (street:policeuk) needs none")
        return found[-1]

    def street_segments_frame(self, network_id: int) -> pd.DataFrame:
        """The segments of one network version in file order (:data:`SEGMENT_COLUMNS`)."""
        cols = [street_segments.c[c] for c in SEGMENT_COLUMNS]
        q = (sa.select(*cols).where(street_segments.c.network_id == network_id)
             .order_by(street_segments.c.position))
        with self.engine.connect() as conn:
            return pd.DataFrame(conn.execute(q).all(), columns=list(SEGMENT_COLUMNS))

    def street_snap_points(self, layer: str, key: str,
                           bbox: tuple[float, float, float, float] | None = None
                           ) -> pd.DataFrame:
        """Distinct (``lon``, ``lat``, ``value``) of a layer's events, ``value`` being the
        attribute ``key`` (police.uk ``Location``), inside ``bbox`` (WGS84) when given
        (segments outside it are not opened)."""
        from service.store import segments as seg

        with self.engine.connect() as conn:
            got = seg.read_segments(conn, seg.SegmentPrune(layers=(layer,), bbox=bbox),
                                    ["lon", "lat", seg.ATTR_PREFIX + key])
        if bbox is not None:
            lon, lat = got["lon"].to_numpy(), got["lat"].to_numpy()
            got = got.loc[(lon >= bbox[0]) & (lon <= bbox[2])
                          & (lat >= bbox[1]) & (lat <= bbox[3])]
        frame = pd.DataFrame({"lon": got["lon"].to_numpy(), "lat": got["lat"].to_numpy(),
                              "value": got[seg.ATTR_PREFIX + key].to_numpy(dtype=object)})
        frame = frame.drop_duplicates(ignore_index=True)
        return frame.sort_values(["lon", "lat", "value"], na_position="last",
                                 kind="stable").reset_index(drop=True)
