"""The client's address behind proxies (DESIGN "Deployment"; ``[server] trusted_proxies``).

``X-Forwarded-For`` and ``X-Forwarded-Proto`` are believed only when the connection comes
from a trusted proxy. Each proxy appends the address it was connected from, so the header is
read right to left: the first hop that is not a trusted proxy is the client. Whatever lies to
its left was written by the client itself and is ignored. A hop that is not an IP address
(``unknown``, a name, garbage) ends the walk: nothing to its left can be vouched for, so the
client is the last hop that could be, at worst the proxy we are connected to.

The address found replaces the ASGI scope's ``client``, so every per-IP rule (password limits,
audit events, a trusted browser's rough location) reads the same, normalised address
(``2001:DB8::1`` and ``2001:db8::1`` are one address; ``::ffff:192.0.2.1`` is ``192.0.2.1``).

uvicorn's own ProxyHeadersMiddleware is turned off by ``idp serve``: it takes the right-most
untrusted hop too, but returns a hop that is no address as the client (``garbage`` becomes
the client's "address"), and lives in the server rather than the application.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Sequence
from typing import Final

from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["ForwardedHeadersMiddleware", "TrustedProxies"]

logger = logging.getLogger("idp.web.proxies")

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# Longer than any address with a port: a longer hop is garbage, not parsed at all.
_MAX_HOP_CHARS: Final = 64
_MAX_HOPS: Final = 32
_SCHEMES: Final = frozenset({"http", "https"})


def parse_address(text: str) -> IpAddress | None:
    """An IP address from ``1.2.3.4``, ``1.2.3.4:80``, ``2001:db8::1`` or ``[2001:db8::1]:80``;
    ``None`` for anything else. IPv4-mapped IPv6 addresses become IPv4."""
    text = text.strip()
    if not text or len(text) > _MAX_HOP_CHARS:
        return None
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not (rest.startswith(":") and rest[1:].isdigit())):
            return None
        text = host
    elif text.count(":") == 1:  # IPv4 with a port
        host, _, port = text.partition(":")
        if not port.isdigit():
            return None
        text = host
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class TrustedProxies:
    """The ``trusted_proxies`` setting, parsed: which peers' forwarded headers to believe."""

    def __init__(self, entries: Sequence[str]) -> None:
        self.everyone = "*" in entries
        self.networks: tuple[Network, ...] = tuple(
            ipaddress.ip_network(entry, strict=True) for entry in entries if entry != "*"
        )

    def trusts(self, address: IpAddress) -> bool:
        return self.everyone or any(address in network for network in self.networks)

    def client_address(self, peer: str, forwarded_for: Sequence[str]) -> str:
        """The client's address, given the connected peer and the X-Forwarded-For headers."""
        address = parse_address(peer)
        if address is None:
            return peer  # a Unix socket or the like: nothing to normalise or trust
        hops = [hop for header in forwarded_for for hop in header.split(",")][-_MAX_HOPS:]
        if not self.trusts(address):
            return str(address)
        for hop in reversed(hops):
            found = parse_address(hop)
            if found is None:
                _warn_once(hop)
                break
            address = found
            if not self.trusts(found):
                break
        return str(address)


_warned = False


def _warn_once(hop: str) -> None:
    global _warned
    if not _warned:
        _warned = True
        # The hop itself is not logged: it may be anything a client sent.
        logger.warning(
            "X-Forwarded-For from a trusted proxy holds a hop that is no IP address; the "
            "hops to its left are ignored (is a proxy in front not in server.trusted_proxies, "
            "or does it write names?)"
        )


class ForwardedHeadersMiddleware:
    """Sets the scope's ``client`` (and ``scheme``) from forwarded headers of trusted peers."""

    def __init__(self, app: ASGIApp, trusted_proxies: Sequence[str]) -> None:
        self.app = app
        self.trusted = TrustedProxies(trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client") if scope["type"] in ("http", "websocket") else None
        if client:
            forwarded_for: list[str] = []
            protos: list[str] = []
            for name, value in scope["headers"]:
                if name == b"x-forwarded-for":
                    forwarded_for.append(value.decode("latin-1"))
                elif name == b"x-forwarded-proto":
                    protos.append(value.decode("latin-1"))
            peer = parse_address(client[0])
            trusted = peer is not None and self.trusted.trusts(peer)
            scope = dict(scope)
            host = self.trusted.client_address(client[0], forwarded_for if trusted else [])
            # The port of a forwarded hop is unknown (or the proxy's): 0 says so.
            scope["client"] = (host, client[1] if host == client[0] else 0)
            if trusted and len(protos) == 1 and protos[0].strip().lower() in _SCHEMES:
                # One value only: a list ("https, http") could be anyone's; keep the socket's.
                scheme = protos[0].strip().lower()
                scope["scheme"] = scheme if scope["type"] == "http" else scheme.replace(
                    "http", "ws")
        await self.app(scope, receive, send)
