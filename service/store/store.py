"""The :class:`Store`: the one entry point the rest of remap uses, composed of the repositories."""

from __future__ import annotations

from service.store import migrations
from service.store.event_scan import EventScanRepository
from service.store.features import FeaturesRepository
from service.store.imports import ImportsRepository
from service.store.keys import KeysRepository
from service.store.layers import LayersRepository
from service.store.operations import OperationsRepository
from service.store.results import ResultsRepository
from service.store.watches import WatchesRepository


class Store(FeaturesRepository, LayersRepository, ImportsRepository, KeysRepository,
            OperationsRepository, ResultsRepository, WatchesRepository, EventScanRepository):
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
