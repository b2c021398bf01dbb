"""The access log: method, path, status and time of every request, and nothing more.

uvicorn's own access log prints the query string, which carries authorization codes, state,
`id_token_hint` and login hints: it is turned off (``idp serve``) and this one used instead.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["AccessLogMiddleware"]

log = logging.getLogger("idp.access")


class AccessLogMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record)
        finally:
            elapsed_ms = (time.perf_counter() - started) * 1000
            # The path only: never the query string (codes, hints, state).
            log.info("%s %s %d %.1fms", scope["method"], scope["path"], status, elapsed_ms)
