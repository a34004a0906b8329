"""Every table of the store, as SQLAlchemy Core metadata (one schema for SQLite and PostgreSQL).

Portable columns hold everything the queries use (lon/lat, BNG metres, H3 cell,
WKB of polygons); on PostgreSQL migration 2 adds PostGIS geometry columns
generated from them. The definitions here are the current schema; how an older
store reaches it is :mod:`service.store.migrations`.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

schema_migrations = sa.Table(
    "schema_migrations", metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("applied_at", sa.DateTime, nullable=False),
)

layers = sa.Table(
    "layers", metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("sensitivity", sa.String(16), nullable=False),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

imports = sa.Table(
    "imports", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("layer", sa.String(64), sa.ForeignKey("layers.name"), nullable=False),
    sa.Column("file_name", sa.Text, nullable=False),
    sa.Column("format", sa.String(16), nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("imported_at", sa.DateTime, nullable=False),
    sa.Column("accepted", sa.Integer, nullable=False),
    sa.Column("rejected", sa.Integer, nullable=False),
    sa.Column("duplicates", sa.Integer, nullable=False),
)

#: The row store of events (migration 1 to 16); migration 17 moves its rows into
#: :data:`event_segments` and drops it. Kept here as the history migrations 1-16 build.
events = sa.Table(
    "events", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
              autoincrement=True),
    sa.Column("layer", sa.String(64), sa.ForeignKey("layers.name"), nullable=False),
    sa.Column("event_key", sa.String(128), nullable=False),
    sa.Column("source_id", sa.Text, nullable=False),
    sa.Column("time", sa.DateTime, nullable=False),
    sa.Column("time_precision", sa.String(8), nullable=False),
    sa.Column("lon", sa.Float(precision=53), nullable=False),
    sa.Column("lat", sa.Float(precision=53), nullable=False),
    sa.Column("x", sa.Float(precision=53), nullable=False),
    sa.Column("y", sa.Float(precision=53), nullable=False),
    sa.Column("crs_epsg", sa.Integer, nullable=False),
    sa.Column("location_precision", sa.String(8), nullable=False),
    sa.Column("category", sa.Text, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("sensitivity", sa.String(16), nullable=False),
    sa.Column("h3", sa.String(16), nullable=False),
    sa.Column("attributes", sa.Text, nullable=False),
    sa.Column("import_id", sa.Integer, sa.ForeignKey("imports.id"), nullable=True),
    # migration 15: how a geocoded event was placed (postcode, postcode_sector, ...);
    # NULL: the row gave its coordinates ("point")
    sa.Column("geocode_precision", sa.String(24), nullable=True),
    sa.UniqueConstraint("layer", "event_key", name="uq_events_layer_key"),
)
sa.Index("ix_events_layer_category_time", events.c.layer, events.c.category, events.c.time)
sa.Index("ix_events_h3", events.c.h3)
sa.Index("ix_events_lon_lat", events.c.lon, events.c.lat)

boundary_sets = sa.Table(
    "boundary_sets", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("id_field", sa.Text, nullable=False),
    sa.Column("label_field", sa.Text, nullable=True),
    sa.Column("effective_date", sa.Date, nullable=True),
    sa.Column("source_file", sa.Text, nullable=False),
    sa.Column("repairs", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.UniqueConstraint("name", "version", name="uq_boundary_sets_name_version"),
)

boundary_units = sa.Table(
    "boundary_units", metadata,
    sa.Column("set_id", sa.Integer, sa.ForeignKey("boundary_sets.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("unit_id", sa.String(128), primary_key=True),
    sa.Column("label", sa.Text, nullable=False),
    sa.Column("wkb", sa.Text, nullable=False),  # WGS84 polygon, hex WKB
    sa.Column("area_m2", sa.Float(precision=53), nullable=False),
)

#: Placements of the row store (migrations 1-16; replaced by :data:`event_segment_units`).
event_units = sa.Table(
    "event_units", metadata,
    sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer, "sqlite"),
              sa.ForeignKey("events.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("set_id", sa.Integer, sa.ForeignKey("boundary_sets.id", ondelete="CASCADE"),
              primary_key=True),
    # NULL: the event lies outside every polygon of the set
    sa.Column("unit_id", sa.String(128), nullable=True),
)
sa.Index("ix_event_units_set_unit", event_units.c.set_id, event_units.c.unit_id)

api_keys = sa.Table(
    "api_keys", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("prefix", sa.String(12), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("label", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("revoked_at", sa.DateTime, nullable=True),
)

audit_log = sa.Table(
    "audit_log", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    # hash chain (service.store.audit, migration 11)
    sa.Column("prev_hash", sa.String(64), nullable=True),
    sa.Column("row_hash", sa.String(64), nullable=True),
)

#: Tables migration 17 drops (their rows live on in the segments).
LEGACY_TABLES = frozenset({"events", "event_units"})

#: The tables of migration 1, as they were created then (audit_log's hash columns
#: included; migration 11 adds them only where they are missing).
CORE_TABLES = [schema_migrations, layers, imports, events, boundary_sets, boundary_units,
               event_units, api_keys, audit_log]

# migration 3 -----------------------------------------------------------------------------

saved_results = sa.Table(
    "saved_results", metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("layer", sa.String(64), nullable=False),
    sa.Column("method", sa.String(16), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("created_by", sa.Text, nullable=False),
    sa.Column("parameters", sa.Text, nullable=False),
    sa.Column("collection", sa.Text, nullable=False),
)

# migrations 10 and 13 --------------------------------------------------------------------

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

# migration 11 ----------------------------------------------------------------------------

#: The audit chain's head: one row (id 1), also the lock that serialises appends
#: (:mod:`service.store.audit`).
audit_head = sa.Table(
    "audit_head", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),  # always 1
    sa.Column("last_id", sa.BigInteger, nullable=False),
    sa.Column("last_hash", sa.String(64), nullable=False),
    sa.Column("n_rows", sa.BigInteger, nullable=False),
)

# migration 14 ----------------------------------------------------------------------------

#: Re-emergence watches on an operation (:mod:`service.store.watches`).
watches_table = sa.Table(
    "watches", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("operation_id", sa.Integer, sa.ForeignKey("operations.id"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    # JSON: layers, areas, period, ARL0 or family rate, mu1 rule, baseline
    sa.Column("definition", sa.Text, nullable=False),
    sa.Column("created_by", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)
sa.Index("ix_watches_operation", watches_table.c.operation_id)

#: Every alarm a check found, kept once per series and period (append only).
watch_alarms = sa.Table(
    "watch_alarms", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("watch_id", sa.Integer, sa.ForeignKey("watches.id"), nullable=False),
    sa.Column("series", sa.String(300), nullable=False),
    sa.Column("layer", sa.String(64), nullable=False),
    sa.Column("area", sa.String(64), nullable=False),
    sa.Column("period_start", sa.Date, nullable=False),
    sa.Column("cusum", sa.Float(precision=53), nullable=False),
    sa.Column("h", sa.Float(precision=53), nullable=False),
    sa.Column("recorded_at", sa.DateTime, nullable=False),
    sa.Column("recorded_by", sa.Text, nullable=False),
    sa.UniqueConstraint("watch_id", "series", "period_start", name="uq_watch_alarms_period"),
)

# migration 15 ----------------------------------------------------------------------------

#: Gazetteers the force supplies (:mod:`service.store.gazetteers`): each import a new
#: version of its name; rows are never updated or deleted.
gazetteers_table = sa.Table(
    "gazetteers", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(16), nullable=False),       # onspd | codepoint | addresses
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("imported_at", sa.DateTime, nullable=False),
    sa.Column("imported_by", sa.Text, nullable=False),
    sa.Column("source_file", sa.Text, nullable=False),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("rejected", sa.Integer, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.UniqueConstraint("name", "version", name="uq_gazetteers_name_version"),
)

gazetteer_postcodes = sa.Table(
    "postcodes", metadata,
    sa.Column("gazetteer_id", sa.Integer, sa.ForeignKey("gazetteers.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("postcode", sa.String(8), primary_key=True),   # normalised "OUT IN"
    sa.Column("easting", sa.Float(precision=53), nullable=False),
    sa.Column("northing", sa.Float(precision=53), nullable=False),
    sa.Column("terminated", sa.String(16), nullable=True),   # ONSPD doterm (YYYYMM)
)

gazetteer_addresses = sa.Table(
    "addresses", metadata,
    sa.Column("gazetteer_id", sa.Integer, sa.ForeignKey("gazetteers.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("uprn", sa.String(32), primary_key=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("tokens", sa.Text, nullable=False),            # normalised, space-separated
    sa.Column("easting", sa.Float(precision=53), nullable=False),
    sa.Column("northing", sa.Float(precision=53), nullable=False),
)

# --- street networks (issue 14: street segments as units; migration 16) ---------------
street_networks = sa.Table(
    "street_networks", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("source_file", sa.Text, nullable=False),
    sa.Column("source_layer", sa.Text, nullable=True),
    sa.Column("fields", sa.Text, nullable=False),  # JSON: field -> column of the file
    sa.Column("rejected", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.UniqueConstraint("name", "version", name="uq_street_networks_name_version"),
)

street_segments = sa.Table(
    "street_segments", metadata,
    sa.Column("network_id", sa.Integer,
              sa.ForeignKey("street_networks.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("segment_id", sa.String(128), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),  # order in the file
    sa.Column("name", sa.Text, nullable=True),
    sa.Column("classification", sa.Text, nullable=True),
    sa.Column("function", sa.Text, nullable=True),
    sa.Column("start_node", sa.Text, nullable=True),
    sa.Column("end_node", sa.Text, nullable=True),
    sa.Column("length_m", sa.Float(precision=53), nullable=False),
    sa.Column("wkb", sa.Text, nullable=False),  # EPSG:27700 line, hex WKB
)

# --- events as Parquet segments (issue 13: a column store in the database; migration 17)

#: One Parquet file of events per row (:mod:`service.store.segments`): one layer, one
#: month of time (or several with few events), one import batch; the ranges let reads
#: skip whole segments.
event_segments = sa.Table(
    "event_segments", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("layer", sa.String(64), sa.ForeignKey("layers.name"), nullable=False),
    sa.Column("import_id", sa.Integer, sa.ForeignKey("imports.id"), nullable=True),
    sa.Column("n_rows", sa.Integer, nullable=False),
    sa.Column("id_lo", sa.BigInteger, nullable=False),
    sa.Column("id_hi", sa.BigInteger, nullable=False),
    sa.Column("time_min", sa.DateTime, nullable=False),
    sa.Column("time_max", sa.DateTime, nullable=False),
    sa.Column("lon_min", sa.Float(precision=53), nullable=False),
    sa.Column("lon_max", sa.Float(precision=53), nullable=False),
    sa.Column("lat_min", sa.Float(precision=53), nullable=False),
    sa.Column("lat_max", sa.Float(precision=53), nullable=False),
    # JSON list of the payload's attribute columns ("attributes" or "attr:<key>")
    sa.Column("attribute_columns", sa.Text, nullable=False),
    # JSON {category: [events, first time ISO]}: layers' categories without opening payloads
    sa.Column("categories", sa.Text, nullable=False),
    sa.Column("payload", sa.LargeBinary, nullable=False),
)
sa.Index("ix_event_segments_layer_time", event_segments.c.layer, event_segments.c.time_min)
sa.Index("ix_event_segments_id_hi", event_segments.c.id_hi)

#: Per segment and boundary-set version: one Parquet column ``unit_id`` aligned with the
#: segment's rows (null: outside every polygon of the set).
event_segment_units = sa.Table(
    "event_segment_units", metadata,
    sa.Column("segment_id", sa.Integer, sa.ForeignKey("event_segments.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("set_id", sa.Integer, sa.ForeignKey("boundary_sets.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("payload", sa.LargeBinary, nullable=False),
)
sa.Index("ix_event_segment_units_set", event_segment_units.c.set_id)
