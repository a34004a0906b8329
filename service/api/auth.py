"""API keys and roles.

Every ``/v1`` route depends on :func:`principal`: the ``X-API-Key`` header
(QGIS and other OGC clients can send custom headers) names a stored key; the
key's role decides what the caller may see (:mod:`spatial.disclosure`).
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader

from service.api.ratelimit import check_auth_failure, check_expensive
from service.store import Store
from spatial.errors import AuthenticationError, PermissionDeniedError

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False,
                              description="An API key made with `remap keys create`.")


@dataclass(frozen=True)
class Principal:
    key_id: int
    role: str

    @property
    def actor(self) -> str:
        return f"key:{self.key_id}"


def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def principal(request: Request, key: str | None = Depends(api_key_header),
              store: Store = Depends(get_store)) -> Principal:
    """The caller. A wrong key counts against the caller's address
    (:mod:`service.api.ratelimit`): beyond the limit it answers 429, not 401."""
    if not key:
        raise AuthenticationError("missing X-API-Key header")
    found = store.role_for_key(key)
    if found is None:
        check_auth_failure(request)
        raise AuthenticationError("unknown or revoked API key")
    return Principal(key_id=found[0], role=found[1])


def require_role(*roles: str):  # type: ignore[no-untyped-def]
    """A dependency that admits only ``roles``."""

    def check(p: Principal = Depends(principal)) -> Principal:
        if p.role not in roles:
            raise PermissionDeniedError(f"role {p.role!r} may not do this; needs one of "
                                        f"{', '.join(roles)}")
        return p

    return check


def expensive(*roles: str):  # type: ignore[no-untyped-def]
    """A dependency for expensive routes: the caller (of ``roles``, any role when
    none are given), counted against its key's rate limit (429 beyond it)."""
    who_dep = require_role(*roles) if roles else principal

    def check(request: Request, p: Principal = Depends(who_dep)) -> Principal:
        check_expensive(request, p.key_id)
        # a cached answer of this route counts each request it serves (service.api.fastpath)
        request.state.expensive_counted = True
        return p

    return check
