"""In-process rate limits: sliding windows per key and per client address.

Two limits, both settings (``REMAP_AUTH_FAILURES_PER_MINUTE``,
``REMAP_EXPENSIVE_REQUESTS_PER_MINUTE``):

- **failed authentication**, per client address: an unknown or revoked key
  counts; beyond the limit a failed attempt answers 429 (with ``Retry-After``)
  instead of 401. A valid key is always served, so a partner behind the same
  address as a key-guesser is not locked out (keys are 256-bit random: the
  limit stops floods, it is not what makes guessing hopeless). A missing
  header is not a guess and is not counted.
- **expensive routes** (counts, hotspots, autocorrelation, maps, packs,
  imports, boundary uploads, operation reports), per key.

State is per application instance (``app.state.rate_limits``) and in memory:
several server processes each keep their own windows.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from fastapi import Request

from spatial.errors import RateLimitError

WINDOW_S = 60.0


class SlidingWindow:
    """At most ``limit`` events per ``window_s`` seconds per key (a sliding log)."""

    def __init__(self, limit: int, window_s: float = WINDOW_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window_s = window_s
        self.clock = clock
        self._hits: dict[Any, deque[float]] = {}
        self._lock = threading.Lock()

    def _trim(self, key: Any, now: float) -> deque[float]:
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window_s:
            hits.popleft()
        return hits

    def retry_after(self, key: Any) -> int:
        """0 when one more is allowed now, else whole seconds until it is."""
        with self._lock:
            now = self.clock()
            hits = self._trim(key, now)
            if len(hits) < self.limit:
                return 0
            return max(1, math.ceil(hits[len(hits) - self.limit] + self.window_s - now))

    def hit(self, key: Any) -> int:
        """Record one event; 0 if it was within the limit, else the seconds to wait
        (an event over the limit is not recorded)."""
        with self._lock:
            now = self.clock()
            hits = self._trim(key, now)
            if len(hits) >= self.limit:
                return max(1, math.ceil(hits[len(hits) - self.limit] + self.window_s - now))
            hits.append(now)
            if len(self._hits) > 100_000:  # forget idle keys
                for k in [k for k, v in self._hits.items() if not v]:
                    del self._hits[k]
            return 0


class RateLimits:
    """The limiters of one application."""

    def __init__(self, auth_failures_per_minute: int, expensive_per_minute: int) -> None:
        self.auth_failures = SlidingWindow(auth_failures_per_minute)
        self.expensive = SlidingWindow(expensive_per_minute)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def limits_of(request: Request) -> RateLimits:
    limits: RateLimits | None = getattr(request.app.state, "rate_limits", None)
    if limits is None:
        s = request.app.state.settings
        limits = RateLimits(s.auth_failures_per_minute, s.expensive_requests_per_minute)
        request.app.state.rate_limits = limits
    return limits


def check_expensive(request: Request, key_id: int) -> None:
    """Count one expensive request of ``key_id``; :class:`RateLimitError` over the limit."""
    _count(limits_of(request).expensive, key_id, "expensive requests", "for this key",
           "REMAP_EXPENSIVE_REQUESTS_PER_MINUTE", "expensive_requests_per_minute")


def check_auth_failure(request: Request) -> None:
    """Count one failed key from the caller's address; :class:`RateLimitError` over
    the limit (the caller answers 401 otherwise)."""
    _count(limits_of(request).auth_failures, client_address(request),
           "failed API-key attempts", "from this address", "REMAP_AUTH_FAILURES_PER_MINUTE",
           "auth_failures_per_minute")


def _count(window: SlidingWindow, who: Any, what: str, whose: str, variable: str,
           limit_name: str) -> None:
    """Count one hit of ``who``; :class:`RateLimitError` naming the limit when over it."""
    wait = window.hit(who)
    if wait:
        raise RateLimitError(
            f"more than {window.limit} {what} in {window.window_s:g} s {whose} "
            f"({variable}); retry after {wait} s",
            retry_after=wait, details={"limit": limit_name, "limit_value": window.limit})
