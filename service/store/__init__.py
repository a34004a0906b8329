"""The store: one schema (SQLAlchemy Core) on SQLite or PostgreSQL/PostGIS.

One code path serves both databases. :mod:`~service.store.tables` holds the
schema, :mod:`~service.store.migrations` the ordered migrations that reach it,
:mod:`~service.store.engine` the connection; one repository module per kind of
record (events, features, boundaries, layers, imports, keys, audit, operations,
saved results) adds its methods to :class:`Store`, the single entry point, and no
SQL is written outside this package. Tables are imported from
:mod:`service.store.tables` (their names are also those of the repository modules).
"""

from service.store.boundaries import BoundarySetInfo
from service.store.engine import StoreBusyError
from service.store.events import EventFilter
from service.store.features import FeatureFilter
from service.store.keys import ROLES
from service.store.store import Store
from service.store.tables import metadata

__all__ = ["ROLES", "BoundarySetInfo", "EventFilter", "FeatureFilter", "Store",
           "StoreBusyError", "metadata"]
