"""What the notices know about the request an audit event happened in.

Audit events name who and what, not the browser. A small ASGI middleware puts the request's
client address, User-Agent and this browser's *known-browser id* (a random value in a
long-lived cookie, never a secret: it only tells "seen before" from "never seen") into a
context variable, which the audit listener reads from whatever thread the event is emitted
in (Starlette's thread pool copies the context).

The id is issued once a person signs in on a browser that has none; the middleware then adds
its ``Set-Cookie`` to that response. HttpOnly, SameSite=Lax, ``Secure`` and the ``__Host-``
prefix on https.
"""

from __future__ import annotations

import ipaddress
import secrets
from contextvars import ContextVar
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["RequestInfo", "RequestInfoMiddleware", "browser_cookie_name", "current_request",
           "rough_network"]

# 400 days: the longest lifetime browsers keep (RFC 6265bis 5.5).
BROWSER_COOKIE_MAX_AGE_S: Final = 400 * 24 * 3600
_MAX_ID_CHARS: Final = 64


def browser_cookie_name(secure: bool) -> str:
    return "__Host-nidan_browser" if secure else "nidan_browser"


@dataclass
class RequestInfo:
    """One request as the notices see it. ``issue_browser_id`` is set (from any thread) when
    this browser needs a known-browser cookie; the middleware sends it."""

    ip: str | None
    user_agent: str | None
    browser_id: str | None
    issue_browser_id: str | None = None

    def ensure_browser_id(self) -> str:
        """This browser's id, issuing one if it has none yet."""
        if self.browser_id is None:
            self.browser_id = self.issue_browser_id = secrets.token_urlsafe(18)
        return self.browser_id


_current: ContextVar[RequestInfo | None] = ContextVar("nidan_request_info", default=None)


def current_request() -> RequestInfo | None:
    """The request being served in this context, or ``None`` (a command, a worker)."""
    return _current.get()


def rough_network(ip: str | None) -> str | None:
    """A rough location a person can compare, without the full address: the /24 of an IPv4
    address (``203.0.113.x``), the /48 of an IPv6 one. No geolocation database is used."""
    if not ip:
        return None
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv4Address):
        return ".".join(str(address).split(".")[:3]) + ".x"
    network = ipaddress.ip_network(f"{address}/48", strict=False)
    return str(network)


def _cookie(headers: list[tuple[bytes, bytes]], name: str) -> str | None:
    for key, value in headers:
        if key == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # noqa: S112  # nosec B112
                continue  # a malformed Cookie header: no id, nothing lost
            morsel = jar.get(name)
            if morsel is not None and 0 < len(morsel.value) <= _MAX_ID_CHARS:
                return morsel.value
    return None


class RequestInfoMiddleware:
    """Pure ASGI (no extra task), so the context variable reaches the endpoint."""

    def __init__(self, app: ASGIApp, *, secure: bool) -> None:
        self.app = app
        self.secure = secure
        self.name = browser_cookie_name(secure)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = list(scope.get("headers") or [])
        user_agent = next((v.decode("latin-1") for k, v in headers if k == b"user-agent"),
                          None)
        client = scope.get("client")
        info = RequestInfo(ip=client[0] if client else None, user_agent=user_agent,
                           browser_id=_cookie(headers, self.name))

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start" and info.issue_browser_id:
                attributes = [f"{self.name}={info.issue_browser_id}", "Path=/",
                              f"Max-Age={BROWSER_COOKIE_MAX_AGE_S}", "HttpOnly",
                              "SameSite=Lax"]
                if self.secure:
                    attributes.append("Secure")
                message = {**message, "headers": [
                    *message.get("headers", []),
                    (b"set-cookie", "; ".join(attributes).encode("latin-1")),
                ]}
            await send(message)

        token = _current.set(info)
        try:
            await self.app(scope, receive, sending)
        finally:
            _current.reset(token)
