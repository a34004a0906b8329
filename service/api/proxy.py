"""Behind a reverse proxy: the scheme, host, client address and path prefix that the
client used, so that every absolute link remap writes is one the client can follow.

A TLS proxy serving remap at ``https://intel.force.local/remap/`` passes requests on
as ``http://127.0.0.1:8000/v1/...``. :class:`ForwardedHeadersMiddleware` puts back
what the client saw, from the proxy's headers, but only when the request comes
from an address in ``REMAP_FORWARDED_ALLOW_IPS`` (anyone else could send the same
headers to forge links or their address in the log):

- ``X-Forwarded-Proto`` -> the scheme (``https``);
- ``X-Forwarded-Host`` -> the ``Host`` links are built on (with its port);
- ``X-Forwarded-For`` -> the client address (the nearest one not a trusted proxy),
  which the rate limits and the request log see;
- ``X-Forwarded-Prefix`` -> the ASGI ``root_path`` (else ``REMAP_ROOT_PATH``).

The root path is set as the ASGI specification has it: ``scope["root_path"]`` is
the prefix and ``scope["path"]`` starts with it, so Starlette's ``request.url`` and
``url_for`` (OGC ``self``/``next``/``alternate``) carry it and its router matches
the path without it (:func:`route_path`). A proxy that passes the prefix on
unstripped works too: a path already under the prefix is left as it is.
uvicorn's own forwarded-header handling is turned off (``remap serve``), so these
rules are the only ones.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

#: A host (name, IPv4 or [IPv6]) with an optional port: what X-Forwarded-Host may say.
_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$")
#: A path prefix: "/" then path characters, no query, fragment or backslash.
_PREFIX = re.compile(r"^(/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)+$")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TrustedProxies:
    """The addresses whose forwarded headers are believed: ``""`` none, ``"*"`` any, or
    comma-separated addresses and CIDR networks (``127.0.0.1, 10.0.0.0/8, ::1``)."""

    def __init__(self, spec: str) -> None:
        items = [s.strip() for s in spec.split(",") if s.strip()]
        self.any = "*" in items
        self.networks: list[Network] = []
        for item in items:
            if item == "*":
                continue
            try:
                self.networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError as exc:
                raise ValueError(f"REMAP_FORWARDED_ALLOW_IPS: {item!r} is not an address "
                                 "or a network (CIDR)") from exc

    def __contains__(self, host: object) -> bool:
        if self.any:
            return True
        if not isinstance(host, str) or not self.networks:
            return False
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in net for net in self.networks)

    def __bool__(self) -> bool:
        return self.any or bool(self.networks)


def normal_prefix(value: str) -> str:
    """A root path as stored: ``""`` or ``/a/b`` with no trailing slash."""
    return value.strip().rstrip("/")


def route_path(scope: Scope) -> str:
    """The path the app routes on: ``scope["path"]`` without the root path."""
    path: str = scope.get("path", "")
    root = scope.get("root_path", "")
    if root and (path == root or path.startswith(root + "/")):
        return path[len(root):] or "/"
    return path


def url_prefix(scope: Scope | Any) -> str:
    """The root path of a request (scope or Starlette request): what every absolute link
    remap writes (``/static``, tiles, docs) starts with; ``""`` when served at ``/``."""
    scope = getattr(scope, "scope", scope)
    return str(scope.get("app_root_path") or scope.get("root_path") or "").rstrip("/")


def _header(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _first(value: str | None) -> str | None:
    """The first of a comma-separated header (what the proxy nearest the client said)."""
    if value is None:
        return None
    first = value.split(",")[0].strip()
    return first or None


class ForwardedHeadersMiddleware:
    """Scheme, host, client and root path from a trusted proxy's headers (module docstring)."""

    def __init__(self, app: ASGIApp, *, trusted: str = "", root_path: str = "") -> None:
        self.app = app
        self.trusted = TrustedProxies(trusted)
        self.root_path = normal_prefix(root_path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            scope = dict(scope)
            prefix = self.root_path
            client = scope.get("client")
            if self.trusted and client and client[0] in self.trusted:
                prefix = self._forwarded(scope, prefix)
            if prefix:
                self._under(scope, prefix)
        await self.app(scope, receive, send)

    def _forwarded(self, scope: dict[str, Any], prefix: str) -> str:
        headers = list(scope.get("headers", []))
        proto = _first(_header(headers, b"x-forwarded-proto"))
        if proto is not None and proto.lower() in ("http", "https", "ws", "wss"):
            proto = proto.lower()
            if scope["type"] == "websocket":
                proto = {"http": "ws", "https": "wss"}.get(proto, proto)
            elif proto in ("ws", "wss"):
                proto = {"ws": "http", "wss": "https"}[proto]
            scope["scheme"] = proto
        host = _first(_header(headers, b"x-forwarded-host"))
        if host is not None and _HOST.match(host):
            headers = [(k, v) for k, v in headers if k.lower() != b"host"]
            headers.append((b"host", host.encode("latin-1")))
            scope["headers"] = headers
        forwarded_for = _header(headers, b"x-forwarded-for")
        if forwarded_for:
            # the nearest address that is not one of our proxies is the client
            hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
            for hop in reversed(hops):
                if hop not in self.trusted or hop == hops[0]:
                    scope["client"] = (hop, 0)
                    break
        forwarded_prefix = _header(headers, b"x-forwarded-prefix")
        if forwarded_prefix is not None:
            candidate = normal_prefix(_first(forwarded_prefix) or "")
            if candidate == "" or _PREFIX.match(candidate):
                prefix = candidate
        return prefix

    @staticmethod
    def _under(scope: dict[str, Any], prefix: str) -> None:
        path: str = scope.get("path", "")
        if not (path == prefix or path.startswith(prefix + "/")):
            scope["path"] = prefix + path
            raw = scope.get("raw_path")
            if raw is not None:
                scope["raw_path"] = prefix.encode("latin-1") + raw
        scope["root_path"] = prefix
