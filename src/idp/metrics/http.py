"""The outermost layer of the app: a request id for every request, and the HTTP metrics.

``X-Request-ID`` from the client (a proxy, a relying party) is kept when well-formed, else
replaced by a fresh one; it is returned on every response and is on every log line and audit
event of the request (:class:`idp.observability.RequestContext`). Metrics, when on, are by
route *template* (``/account/devices/{device_id}``, never the path itself), method and status
class; an unknown path is ``unmatched``. For ``/token`` errors the RFC 6749 ``error`` code is
read from the (small) JSON body. Pure ASGI: nothing buffered but a /token error body.
"""

from __future__ import annotations

import json
import os
import re
import time
from typing import TYPE_CHECKING, Any

from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from idp.metrics import tracing
from idp.observability import RequestContext, bind_request, unbind_request

if TYPE_CHECKING:
    from idp.metrics.instruments import Instruments

__all__ = ["RequestIdMiddleware", "valid_request_id"]

_REQUEST_ID = re.compile(rb"[A-Za-z0-9][A-Za-z0-9._:-]{7,127}")
_HEADER = b"x-request-id"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_STATUS = {1: "1xx", 2: "2xx", 3: "3xx", 4: "4xx", 5: "5xx"}
_TOKEN_ERRORS = frozenset({
    # RFC 6749 5.2, plus the two of 4.1.2.1 a token endpoint may also answer.
    "invalid_request", "invalid_client", "invalid_grant", "unauthorized_client",
    "unsupported_grant_type", "invalid_scope", "server_error", "temporarily_unavailable",
})
_MAX_ERROR_BODY = 4096


def valid_request_id(raw: bytes) -> str | None:
    """The id, if it is 8-128 characters of letters, digits and ``._:-`` (nothing a log line
    or a header could be bent by); else ``None``."""
    return raw.decode("ascii") if _REQUEST_ID.fullmatch(raw) else None


class _Routes:
    """Endpoint -> route template, built from the app's routes on first use."""

    def __init__(self) -> None:
        self._by_endpoint: dict[Any, list[tuple[re.Pattern[str], str]]] | None = None
        self._mounts: list[tuple[str, str]] = []

    def template(self, scope: Scope) -> str:
        if self._by_endpoint is None:
            self._build(scope["app"].routes)
        assert self._by_endpoint is not None
        candidates = self._by_endpoint.get(scope.get("endpoint"))
        path = scope["path"]
        if candidates:
            if len(candidates) == 1:
                return candidates[0][1]
            for regex, template in candidates:
                if regex.match(path):
                    return template
        for prefix, template in self._mounts:
            if path.startswith(prefix + "/"):
                return template
        return "unmatched"

    def _build(self, routes: list[Any], prefix: str = "") -> None:
        self._by_endpoint = {}
        for route in routes:
            if isinstance(route, Route):
                self._by_endpoint.setdefault(route.endpoint, []).append(
                    (route.path_regex, prefix + route.path_format))
            elif isinstance(route, Mount):
                self._mounts.append((prefix + route.path, prefix + route.path + "/{path}"))


class RequestIdMiddleware:
    """Add as the app's outermost middleware (after every other ``add_middleware``)."""

    def __init__(self, app: ASGIApp, metrics: Instruments | None = None) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = _Routes()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = None
        for name, value in scope["headers"]:
            if name == _HEADER:
                request_id = valid_request_id(value)
                break
        if request_id is None:
            request_id = os.urandom(16).hex()
        token = bind_request(RequestContext(request_id))
        span = None
        if tracing.active():
            method = scope["method"]
            span = tracing.ServerSpan(method if method in _METHODS else "other", scope["headers"])
        metrics = self.metrics
        started = time.perf_counter()
        status = 500
        watch_errors = metrics is not None and scope["path"] == "/token"
        error_body: list[bytes] = []
        header = (_HEADER, request_id.encode("ascii"))

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            elif (watch_errors and status >= 400 and message["type"] == "http.response.body"
                  and sum(map(len, error_body)) < _MAX_ERROR_BODY):
                error_body.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if span is not None:
                span.end(self.routes.template(scope), status)
            unbind_request(token)
            if metrics is not None:
                elapsed = time.perf_counter() - started
                method = scope["method"]
                metrics.child(
                    metrics.http_duration, self.routes.template(scope),
                    method if method in _METHODS else "other", _STATUS.get(status // 100, "other"),
                ).observe(elapsed)
                if watch_errors and status >= 400:
                    metrics.child(metrics.token_errors, _token_error(b"".join(error_body))).inc()


def _token_error(body: bytes) -> str:
    try:
        error = json.loads(body).get("error")
    except (ValueError, AttributeError):
        return "other"
    return error if error in _TOKEN_ERRORS else "other"
