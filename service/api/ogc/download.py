"""Bulk download of a collection: every matching feature in one GeoPackage or FlatGeobuf.

A provider with a ``table`` method hands over a GeoDataFrame (the event layers:
one query, no GeoJSON in between); any other is asked for all its items at once
(boundary sets and saved results are small). Either way the provider's own
disclosure check and audit run, as for a page of items.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from service.api.ogc.providers import Caller, CollectionProvider, EncodedFeatures, ItemsQuery


def collection_table(provider: CollectionProvider, caller: Caller, name: str,
                     query: ItemsQuery) -> gpd.GeoDataFrame:
    """Every feature of collection ``name`` matching ``query`` (its limit and offset
    ignored), with the feature id as column ``id``."""
    table = getattr(provider, "table", None)
    if table is not None:
        return table(caller, name, query)
    page = provider.items(caller, name, replace(query, limit=2**62, offset=0, cursor=None))
    features = (json.loads(page.features.text) if isinstance(page.features, EncodedFeatures)
                else page.features)
    return features_table(features, query)


def features_table(features: list[dict[str, Any]], query: ItemsQuery) -> gpd.GeoDataFrame:
    """GeoJSON features as a GeoDataFrame; nested property values become JSON text."""
    rows = []
    for ft in features:
        props = {k: json.dumps(v, sort_keys=True, default=str) if isinstance(v, dict | list)
                 else v for k, v in ft["properties"].items()}
        rows.append({"id": ft.get("id"), **props})
    geoms = [shapely.geometry.shape(ft["geometry"]) if ft.get("geometry") else None
             for ft in features]
    return gpd.GeoDataFrame(pd.DataFrame(rows), geometry=geoms,
                            crs="OGC:CRS84" if query.crs.is_crs84 else f"EPSG:{query.crs.epsg}")
