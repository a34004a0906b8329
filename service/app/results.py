"""Saved hotspot results: a named FeatureCollection with its parameters.

An analyst saves a result (``save=NAME`` on ``/v1/hotspots``, ``remap hotspots
--save NAME``) so that a tasking meeting, a GIS (as the OGC API collection
``hotspots-NAME``) or a partner can read exactly the figures that were
presented, with the parameters that made them. Results of health layers are
never served to roles without point access.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from service.store import Store
from spatial.disclosure import needs_small_number_suppression
from spatial.errors import ConflictError, PermissionDeniedError
from spatial.limits import check_name


def save_result(store: Store, name: str, collection: dict[str, Any], *, layer: str,
                method: str, actor: str) -> dict[str, Any]:
    """Store ``collection`` under ``name``, owned by ``actor`` (the key id).

    The owner may save under the same name again (replacing the result); anyone
    else, admins included, gets a :class:`ConflictError` naming the result, so a
    figure presented at a meeting is never silently replaced by another user's.
    """
    check_name(name, "save")
    created = datetime.now(UTC).replace(tzinfo=None)
    with store.begin() as conn:
        owner = store.result_owner(conn, name)
        if owner is not None and owner != actor:
            raise ConflictError(f"saved result {name!r} belongs to another user; save under "
                                "another name", details={"parameter": "save", "name": name})
        # a concurrent first save of the same name fails on the primary key: 409 (Store.begin)
        store.replace_result(
            conn, name=name, layer=layer, method=method, created_at=created, created_by=actor,
            parameters=json.dumps(collection.get("parameters", {}), default=str),
            collection=json.dumps(collection, default=str))
        store.audit(conn, actor, "save_result", {"name": name, "layer": layer,
                                                  "method": method})
    return {"name": name, "layer": layer, "method": method, "owner": actor,
            "created_at": created.isoformat()}


def list_results(store: Store, role: str) -> list[dict[str, Any]]:
    rows = store.result_summaries()
    return [{"name": r.name, "layer": r.layer, "method": r.method,
             "created_at": r.created_at.isoformat() if r.created_at else None,
             "parameters": json.loads(r.parameters)}
            for r in rows if may_read(role, r.layer, json.loads(r.parameters))]


def may_read(role: str, layer: str, parameters: dict[str, Any]) -> bool:
    # a saved result holds the analyst's exact figures: one made from a health or
    # restricted layer (as counts or as a rate's denominator) is for analysts only
    return not needs_small_number_suppression(
        role, [layer, str(parameters.get("denominator_layer") or "")])


def get_result(store: Store, name: str, role: str) -> dict[str, Any]:
    """The saved FeatureCollection, with ``name``, ``layer`` and ``method`` members."""
    row = store.saved_result(name)
    if not may_read(role, row.layer, json.loads(row.parameters)):
        raise PermissionDeniedError(f"result {name!r} holds exact figures of health or "
                                    f"restricted data (layer {row.layer!r} or its rate's "
                                    f"denominator); role {role!r} may not read it")
    fc: dict[str, Any] = json.loads(row.collection)
    fc.update({"name": row.name, "layer": row.layer, "method": row.method,
               "created_at": row.created_at.isoformat()})
    return fc
