"""OGC API - Features for remap: parameters, collection providers and documents.

The router is :mod:`service.api.routers.ogc`; the collections it serves come
from the providers listed in :mod:`service.api.ogc.registry`; the SQL behind the
event collections is :mod:`service.store.features`.
"""
