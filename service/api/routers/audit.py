"""The audit log for admins: list it, filtered and paged, and verify its hash chain."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from service.api.auth import Principal, get_store, require_role
from service.api.dependencies import Page, paging
from service.api.errors import KEYED_RESPONSES
from service.api.models.audit import AuditPage, AuditVerification
from service.api.models.choices import SortOrder
from service.store import Store, audit
from spatial.timewindow import parse_time

router = APIRouter(prefix="/v1", tags=["audit"], responses=KEYED_RESPONSES)


@router.get("/audit", response_model=AuditPage,
            response_model_exclude_unset=True,
            summary="Audit log entries (admin), filtered and paged")
def list_audit(request: Request,
               action: str | None = Query(None, max_length=64,
                                          description="e.g. refused, read_points, import"),
               actor: str | None = Query(None, max_length=200,
                                         description="e.g. key:3, cli, anonymous"),
               since: str | None = Query(None, description="inclusive: YYYY-MM, YYYY-MM-DD or "
                                                           "ISO date-time (UTC)"),
               until: str | None = Query(None, description="inclusive date or month, or an "
                                                           "exclusive date-time (UTC)"),
               order: SortOrder = Query(SortOrder("asc"),
                                        description="by id: asc (oldest first) or desc"),
               page: Page = Depends(paging),
               store: Store = Depends(get_store),
               _who: Principal = Depends(require_role("admin"))) -> dict[str, Any]:
    q = audit.AuditQuery(action=action, actor=actor,
                         since=parse_time(since, "since") if since else None,
                         until=parse_time(until, "until", end=True) if until else None,
                         limit=page.limit, offset=page.offset, newest_first=order == "desc")
    rows, total = audit.entries(store, q)
    out: dict[str, Any] = {"entries": rows, "numberMatched": total, "numberReturned": len(rows),
                           "limit": page.limit, "offset": page.offset, "next": None}
    if page.offset + page.limit < total:
        out["next"] = str(request.url.include_query_params(offset=page.offset + page.limit,
                                                           limit=page.limit))
    return out


@router.get("/audit/verify", response_model=AuditVerification,
            response_model_exclude_unset=True, summary="Recompute the audit hash chain (admin)")
def verify_audit(store: Store = Depends(get_store),
                 _who: Principal = Depends(require_role("admin"))) -> dict[str, Any]:
    """``ok``, the number of rows checked, and when broken the first row that does not
    fit (``first_broken``) and why (``reason``)."""
    return audit.verify(store).as_dict()
