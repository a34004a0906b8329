"""``boundaries-<set>``: the latest version of each boundary set, as polygons."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import shapely

from service.api.ogc.params import OgcCrs
from service.api.ogc.providers import (
    Caller,
    CollectionMeta,
    ItemsPage,
    ItemsQuery,
    geometry_features_in,
)
from service.store import BoundarySetInfo, Store
from spatial.errors import NotFoundError
from spatial.io.polygons import geometries_from_wkb
from spatial.place import crs


class BoundarySetProvider:
    """``boundaries-<set>``: the latest version of each boundary set, as polygons.

    Units have no time, so ``datetime`` does not filter them (OGC leaves that to the server).
    """

    def list_collections(self, caller: Caller) -> list[CollectionMeta]:
        latest = {s.name: s for s in caller.store.boundary_sets_list()}  # by version
        return [self._meta(info, self._geoms(caller.store, info)[1])
                for info in latest.values()]

    def describe(self, caller: Caller, name: str) -> CollectionMeta:
        info = caller.store.boundary_set(name)
        return self._meta(info, self._geoms(caller.store, info)[1])

    def items(self, caller: Caller, name: str, query: ItemsQuery) -> ItemsPage:
        info = caller.store.boundary_set(name)
        units, geoms = self._geoms(caller.store, info)
        if query.bbox is not None:
            box = shapely.box(*query.bbox.coords)
            tested = (geoms if query.bbox.crs.is_crs84
                      else crs.reproject_geometries(geoms, crs.WGS84, query.bbox.crs.epsg))
            keep = np.flatnonzero(shapely.intersects(tested, box))
        else:
            keep = np.arange(len(units))
        page = keep[query.offset:query.offset + query.limit]
        return ItemsPage(self._features(info, units, geoms, page, query.crs), len(keep))

    def item(self, caller: Caller, name: str, feature_id: str,
             target: OgcCrs) -> dict[str, Any]:
        info = caller.store.boundary_set(name)
        units, geoms = self._geoms(caller.store, info)
        found = np.flatnonzero(units["unit_id"].to_numpy() == feature_id)
        if not found.size:
            raise NotFoundError(f"no feature {feature_id!r} in collection 'boundaries-{name}'")
        return self._features(info, units, geoms, found[:1], target)[0]

    @staticmethod
    def _geoms(store: Store, info: BoundarySetInfo) -> tuple[pd.DataFrame, np.ndarray]:
        units = store.boundary_units_frame(info.id)
        return units, np.asarray(geometries_from_wkb(units["wkb"].to_numpy()), dtype=object)

    @staticmethod
    def _features(info: BoundarySetInfo, units: pd.DataFrame, geoms: np.ndarray,
                  rows: np.ndarray, target: OgcCrs) -> list[dict[str, Any]]:
        sub = units.iloc[rows]
        props = [{"unit_id": u, "label": lab, "area_m2": a, "boundary_set": info.name,
                  "version": info.version}
                 for u, lab, a in zip(sub["unit_id"], sub["label"], sub["area_m2"], strict=True)]
        return geometry_features_in(geoms[rows], props, sub["unit_id"].tolist(), target)

    @staticmethod
    def _meta(info: BoundarySetInfo, geoms: np.ndarray) -> CollectionMeta:
        b = shapely.total_bounds(geoms) if len(geoms) else None
        return CollectionMeta(
            name=info.name, title=f"{info.name} (version {info.version})",
            description=f"Boundary set {info.name!r} version {info.version}: "
                        f"{info.unit_count} units from {info.source_file}",
            bbox=None if b is None else (float(b[0]), float(b[1]), float(b[2]), float(b[3])))
