"""``events-<layer>``: the event layers the caller may receive as points."""

from __future__ import annotations

import difflib
from dataclasses import replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from service.api.ogc.params import BBox, OgcCrs
from service.api.ogc.providers import (
    Caller,
    CollectionMeta,
    EncodedFeatures,
    ItemsPage,
    ItemsQuery,
    audit_sensitive,
    audit_sensitive_layers,
)
from service.app.export import (
    FileCache,
    FileFormat,
    cached_events_file,
    coordinates_in,
    events_table,
)
from service.render.geojson import events_features, events_features_json
from service.store import FeatureFilter, Store
from spatial.disclosure import may_see_points
from spatial.errors import NotFoundError, ParameterError, PermissionDeniedError
from spatial.timewindow import TimeWindow


def feature_filter(layer: str, window: TimeWindow, bbox: BBox | None,
                   categories: tuple[str, ...] = ()) -> FeatureFilter:
    """Rows of ``layer`` in ``window`` (of ``categories``, if any) whose point lies in
    ``bbox``: a projected box is matched exactly on the stored x/y, after a lon/lat
    pre-selection by its envelope."""
    if bbox is None:
        return FeatureFilter(layer, window.start, window.end, categories=categories)
    projected = not bbox.crs.is_crs84
    return FeatureFilter(layer, window.start, window.end, envelope=bbox.crs84_envelope(),
                         box=bbox.coords if projected else None,
                         box_epsg=bbox.crs.epsg if projected else None,
                         categories=categories)


def parse_cursor(cursor: str | None) -> int | None:
    """The last id of the previous page, from a ``next`` link's ``cursor``."""
    if cursor is None:
        return None
    try:
        after = int(cursor)
    except ValueError:
        after = -1
    if after < 0 or after > 2**62:
        raise ParameterError("cursor", f"{cursor[:40]!r} is not a cursor of this collection; "
                                       "follow the next link of the previous page")
    return after


def resolve_category(store: Store, layer: str, value: str) -> str:
    """The stored spelling of ``value`` (matched ignoring case); a value the layer does not
    have is an error with suggestions, never an empty page mistaken for none."""
    known = store.layer_category_names(layer)
    if value in known:
        return value
    folded = {k.casefold(): k for k in known}
    if value.casefold() in folded:
        return folded[value.casefold()]
    near = difflib.get_close_matches(value.casefold(), list(folded), n=3, cutoff=0.5)
    hint = (f"; did you mean {', '.join(repr(folded[n]) for n in near)}?" if near
            else f"; known: {', '.join(known)}")
    raise ParameterError("category", f"layer {layer!r} has no category {value!r}{hint}")


def features_json_in_crs(frame: pd.DataFrame, target: OgcCrs) -> str:
    """As :func:`features_in_crs`, one JSON array text; ``attributes`` as stored (text)."""
    if target.is_crs84:
        return events_features_json(frame)
    x, y = coordinates_in(frame, target.epsg)
    return events_features_json(frame.assign(x=x, y=y), metric=True)


def features_in_crs(frame: pd.DataFrame, target: OgcCrs) -> list[dict[str, Any]]:
    """Event features in ``target``: stored x/y where stored in it, else transformed."""
    if target.is_crs84:
        return events_features(frame)
    x, y = coordinates_in(frame, target.epsg)
    return events_features(frame.assign(x=x, y=y), metric=True)


class EventLayerProvider:
    """``events-<layer>``: the layers the caller may receive as points."""

    def list_collections(self, caller: Caller) -> list[CollectionMeta]:
        return self._metas(caller, None)

    def describe(self, caller: Caller, name: str) -> CollectionMeta:
        self._check(caller, name)
        return self._metas(caller, name)[0]

    def queryables(self, caller: Caller, name: str) -> dict[str, dict[str, Any]]:
        self._check(caller, name)
        return {"category": {
            "type": "string", "title": "Category",
            "description": "the event's category (police.uk crime type); matched ignoring "
                           "case",
            "enum": caller.store.layer_category_names(name)}}

    def items(self, caller: Caller, name: str, query: ItemsQuery) -> ItemsPage:
        """One page by keyset: ``cursor`` (the last id served) if given, else ``offset``;
        the next page's cursor whenever more follow."""
        self._check(caller, name)
        f = self._filter(caller, name, query)
        after = parse_cursor(query.cursor)
        total = caller.store.count_feature_events(f)
        # one row more than asked says whether a next page exists without another count
        if after is not None:
            frame = caller.store.feature_events(replace(f, after_id=after),
                                                limit=query.limit + 1, parse_attributes=False)
        else:
            frame = caller.store.feature_events(f, limit=query.limit + 1, offset=query.offset,
                                                parse_attributes=False)
        more = len(frame) > query.limit
        frame = frame.iloc[:query.limit]
        if not frame.empty:
            sensitive = sorted(set(frame.loc[frame["sensitivity"] != "open", "layer"]))
            audit_sensitive_layers(caller, sensitive, len(frame))
        features = EncodedFeatures(features_json_in_crs(frame, query.crs), len(frame))
        return ItemsPage(features, total,
                         next_cursor=str(int(frame["id"].iloc[-1])) if more else None)

    def table(self, caller: Caller, name: str, query: ItemsQuery) -> gpd.GeoDataFrame:
        """Every matching event (bulk download), under the same disclosure rule and audit
        as a page."""
        self._check(caller, name)
        return events_table(caller.store, self._filter(caller, name, query), query.crs.epsg,
                            actor=caller.who.actor, via="ogc", query=caller.url)

    def cached_file(self, caller: Caller, name: str, query: ItemsQuery, fmt: FileFormat,
                    cache: FileCache, *, audit: bool = True) -> tuple[Path, str, str]:
        """The bulk download file, from ``cache`` while the events are unchanged
        (:func:`service.app.export.cached_events_file`), under the same disclosure
        rule and audit as a page."""
        self._check(caller, name)
        return cached_events_file(caller.store, cache, self._filter(caller, name, query),
                                  query.crs.epsg, fmt, layer_name=f"events-{name}",
                                  actor=caller.who.actor, via="ogc", query=caller.url,
                                  audit=audit)

    @staticmethod
    def _filter(caller: Caller, name: str, query: ItemsQuery) -> FeatureFilter:
        value = query.properties.get("category")
        categories = () if value is None else (resolve_category(caller.store, name, value),)
        return feature_filter(name, query.window, query.bbox, categories)

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
