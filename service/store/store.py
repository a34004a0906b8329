"""The :class:`Store`: the one entry point the rest of remap uses, composed of the repositories."""

from __future__ import annotations

import hashlib

import sqlalchemy as sa

from service.store import migrations
from service.store.base import iso
from service.store.event_scan import EventScanRepository
from service.store.features import FeaturesRepository
from service.store.gazetteers import GazetteersRepository
from service.store.imports import ImportsRepository
from service.store.keys import KeysRepository
from service.store.layers import LayersRepository
from service.store.operations import OperationsRepository
from service.store.results import ResultsRepository
from service.store.streets import StreetsRepository
from service.store.tables import (
    boundary_sets,
    event_segments,
    imports,
    layers,
    operations_table,
    saved_results,
    street_networks,
    watch_alarms,
    watches_table,
)
from service.store.watches import WatchesRepository


def _max(column: sa.Column) -> sa.ScalarSelect:  # type: ignore[type-arg]
    return sa.select(sa.func.max(column)).scalar_subquery()


def _count(column: sa.Column) -> sa.ScalarSelect:  # type: ignore[type-arg]
    return sa.select(sa.func.count(column)).scalar_subquery()


class Store(FeaturesRepository, LayersRepository, ImportsRepository, KeysRepository,
            OperationsRepository, ResultsRepository, WatchesRepository, EventScanRepository,
            GazetteersRepository, StreetsRepository):
    """The events store. ``Store(url)`` connects and brings the schema up to date.

    Its methods come from one repository per kind of record: events (with the
    OGC features and the boundaries they are filtered by), layers, imports, API
    keys and the audit log, operations and saved results.
    """

    def __init__(self, url: str, *, h3_resolution: int = 11, migrate: bool = True) -> None:
        super().__init__(url, h3_resolution=h3_resolution)
        if migrate:
            self.migrate()

    def migrate(self) -> list[int]:
        """Apply the migrations not yet applied; returns their versions."""
        return migrations.apply_pending(self.engine)

    def schema_version(self) -> int:
        return migrations.schema_version(self.engine)

    _data_version_sql: str | None = None

    def data_version(self) -> str:
        """The version of everything a read can depend on: a short hex digest that
        changes with every write that can change an answer, and only then.

        What it is made of, and why that sees every write (each table is written
        only as said here, see the repositories):

        - events: the highest event id and the latest import that added rows, its
          id and time (:meth:`events_version`); an import that met only
          duplicates or rejects adds nothing and changes nothing;
        - boundary sets: the highest set id (a new version of a set is a new row;
          sets, units and placements are never updated or deleted);
        - layers: every layer's name, sensitivity and description (a handful of
          rows; a new layer or changed metadata changes it);
        - operations: the highest id, how many are started and the latest start
          (the baseline lock is one-way, the definition is never rewritten), and
          the ids of those shared (sharing can be withdrawn, so the set itself);
        - watches and their recorded alarms (append only): the highest ids;
        - street networks (a new version is a new row; never updated): the highest id;
        - saved results (replaced by name, or deleted): how many and the latest
          creation time.

        One query: indexed maxima and scans of the small tables (layers,
        operations, saved results); never of events. Its SQL is made once per store
        (building and compiling it took 20 times longer than running it).
        """
        if self._data_version_sql is None:
            self._data_version_sql = str(self._data_version_query().compile(
                dialect=self.engine.dialect, compile_kwargs={"literal_binds": True}))
        with self.engine.connect() as conn:
            row = conn.exec_driver_sql(self._data_version_sql).one()
        parts = [v if isinstance(v, int | str) or v is None else iso(v) for v in row]
        return hashlib.sha256(repr(parts).encode()).hexdigest()[:24]

    @staticmethod
    def _data_version_query() -> sa.Select:  # type: ignore[type-arg]
        adding = (imports.c.accepted > imports.c.duplicates)
        latest_id = (sa.select(imports.c.id).where(adding)
                     .order_by(imports.c.id.desc()).limit(1).scalar_subquery())
        latest_at = (sa.select(imports.c.imported_at).where(adding)
                     .order_by(imports.c.id.desc()).limit(1).scalar_subquery())
        scalars = sa.select(
            _max(event_segments.c.id_hi), latest_id, latest_at,
            _max(boundary_sets.c.id),
            _max(operations_table.c.id), _count(operations_table.c.started_at),
            _max(operations_table.c.started_at),
            _max(watches_table.c.id), _max(watch_alarms.c.id),
            _count(saved_results.c.name), _max(saved_results.c.created_at),
            _max(street_networks.c.id))
        # the sets (shared operations, layers' metadata) as text, in key order, inside
        # the one query: sub-selects ordered by key, joined by the database
        shared_ids = (sa.select(sa.cast(operations_table.c.id, sa.Text).label("v"))
                      .where(operations_table.c.shared).order_by(operations_table.c.id)
                      .subquery())
        layer_meta = (sa.select((layers.c.name + "\x1f" + layers.c.sensitivity + "\x1f"
                                 + layers.c.description).label("v"))
                      .order_by(layers.c.name).subquery())
        sets = [sa.select(sa.func.aggregate_strings(q.c.v, "\x1e")).scalar_subquery()
                for q in (shared_ids, layer_meta)]
        return scalars.add_columns(*sets)
