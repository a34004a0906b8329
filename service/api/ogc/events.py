"""``events-<layer>``: the event layers the caller may receive as points."""

from __future__ import annotations

from typing import Any

import pandas as pd

from service.api.ogc.params import BBox, OgcCrs
from service.api.ogc.providers import (
    Caller,
    CollectionMeta,
    ItemsPage,
    ItemsQuery,
    audit_sensitive,
)
from service.render.geojson import events_features
from service.store import FeatureFilter
from spatial.disclosure import may_see_points
from spatial.errors import NotFoundError, PermissionDeniedError
from spatial.place import crs
from spatial.timewindow import TimeWindow


def feature_filter(layer: str, window: TimeWindow, bbox: BBox | None) -> FeatureFilter:
    """Rows of ``layer`` in ``window`` whose point lies in ``bbox``: a projected box is
    matched exactly on the stored x/y, after a lon/lat pre-selection by its envelope."""
    if bbox is None:
        return FeatureFilter(layer, window.start, window.end)
    projected = not bbox.crs.is_crs84
    return FeatureFilter(layer, window.start, window.end, envelope=bbox.crs84_envelope(),
                         box=bbox.coords if projected else None,
                         box_epsg=bbox.crs.epsg if projected else None)


def features_in_crs(frame: pd.DataFrame, target: OgcCrs) -> list[dict[str, Any]]:
    """Event features in ``target``: stored x/y where stored in it, else transformed."""
    if target.is_crs84:
        return events_features(frame)
    x = frame["x"].to_numpy(dtype=float).copy()
    y = frame["y"].to_numpy(dtype=float).copy()
    other = frame["crs_epsg"].to_numpy() != target.epsg
    if other.any():
        x[other], y[other] = crs.to_metric(frame["lon"].to_numpy(dtype=float)[other],
                                           frame["lat"].to_numpy(dtype=float)[other],
                                           target.epsg)
    return events_features(frame.assign(x=x, y=y), metric=True)


class EventLayerProvider:
    """``events-<layer>``: the layers the caller may receive as points."""

    def list_collections(self, caller: Caller) -> list[CollectionMeta]:
        return self._metas(caller, None)

    def describe(self, caller: Caller, name: str) -> CollectionMeta:
        self._check(caller, name)
        return self._metas(caller, name)[0]

    def items(self, caller: Caller, name: str, query: ItemsQuery) -> ItemsPage:
        self._check(caller, name)
        f = feature_filter(name, query.window, query.bbox)
        total = caller.store.count_feature_events(f)
        frame = caller.store.feature_events(f, limit=query.limit, offset=query.offset)
        features = features_in_crs(frame, query.crs)
        audit_sensitive(caller, features)
        return ItemsPage(features, total)

    def item(self, caller: Caller, name: str, feature_id: str,
             target: OgcCrs) -> dict[str, Any]:
        self._check(caller, name)
        try:
            event_id = int(feature_id)
        except ValueError:
            event_id = -1
        frame = caller.store.feature_events(FeatureFilter(name, event_id=event_id))
        if frame.empty:
            raise NotFoundError(f"no feature {feature_id!r} in collection 'events-{name}'")
        features = features_in_crs(frame, target)
        audit_sensitive(caller, features)
        return features[0]

    @staticmethod
    def _check(caller: Caller, name: str) -> None:
        if name not in caller.store.layer_names():
            raise NotFoundError(f"collection 'events-{name}' does not exist: no layer {name!r}")
        if not may_see_points(caller.who.role, name):
            raise PermissionDeniedError(
                f"role {caller.who.role!r} may not receive point-level events of layer "
                f"{name!r}; use /v1/counts for aggregated, disclosure-controlled figures")

    @staticmethod
    def _metas(caller: Caller, only: str | None) -> list[CollectionMeta]:
        extents = caller.store.layer_extents()
        out = []
        for layer in caller.store.list_layers():
            name = layer["name"]
            if (only is not None and name != only) or not may_see_points(caller.who.role, name):
                continue
            bbox, interval = extents.get(name, (None, None))
            out.append(CollectionMeta(
                name=name, title=f"{name} events",
                description=f"{layer['description']} (sensitivity {layer['sensitivity']}, "
                            f"{layer['count']} events)",
                bbox=bbox, interval=interval))
        return out
