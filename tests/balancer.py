"""A load balancer on loopback, in front of ``idp serve`` replicas, as an ingress would be.

A real HTTP proxy (uvicorn in a thread by :func:`tests.live_server.live_server`, forwarding
with httpx from 127.0.0.1): each request
goes to the next replica in turn (round robin), or to the one :meth:`Balancer.pinned` names;
a replica that refuses connections is skipped, as a load balancer's health check would. It
appends the address it was connected from to ``X-Forwarded-For`` and sets
``X-Forwarded-Proto``, so the replicas (trusting 127.0.0.1) see each client's own address:
tests give clients distinct addresses with ``httpx.HTTPTransport(local_address="127.0.0.N")``.
``routed`` records which replica served each request.

    with Balancer([replica.base for replica in replicas]) as balancer:
        httpx.get(balancer.base + "/healthz")
        balancer.routed[-1]   # Routed(method="GET", path="/healthz", replica=0, status=200)
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy
from types import TracebackType
from typing import Self

import httpx
from starlette.types import Message, Receive, Scope, Send

from tests.live_server import Loopback, live_server
from tests.redis_servers import free_port

__all__ = ["Balancer", "Routed"]

# RFC 9110 7.6.1: connection-specific fields are not forwarded.
HOP_BY_HOP = frozenset({b"connection", b"keep-alive", b"proxy-connection", b"te", b"trailer",
                        b"transfer-encoding", b"upgrade", b"content-length"})


@dataclass(frozen=True)
class Routed:
    method: str
    path: str
    replica: int
    status: int


class Balancer(Loopback):
    def __init__(self, backends: Sequence[str], *, timeout_s: float = 60.0) -> None:
        self.backends = list(backends)
        self.routed: list[Routed] = []
        self.port = free_port()
        self._turn = itertools.count()
        self._pin: int | None = None
        self._timeout_s = timeout_s
        self._http: httpx.AsyncClient | None = None
        self._lock = threading.Lock()
        self._running = ExitStack()

    @contextmanager
    def pinned(self, replica: int) -> Iterator[None]:
        """Send every request to one replica while the block runs."""
        self._pin = replica
        try:
            yield
        finally:
            self._pin = None

    def replicas_since(self, start: int) -> list[int]:
        with self._lock:
            return [routed.replica for routed in self.routed[start:]]

    # -- the proxy -----------------------------------------------------------------------

    def _order(self) -> list[int]:
        if self._pin is not None:
            return [self._pin]
        first = next(self._turn) % len(self.backends)
        return [(first + step) % len(self.backends) for step in range(len(self.backends))]

    async def _app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        peer = scope["client"][0]
        headers = [(name, value) for name, value in scope["headers"]
                   if name not in HOP_BY_HOP and name != b"x-forwarded-proto"]
        forwarded = [value for name, value in headers if name == b"x-forwarded-for"]
        headers = [(name, value) for name, value in headers if name != b"x-forwarded-for"]
        chain = b", ".join([*forwarded, peer.encode()])
        headers += [(b"x-forwarded-for", chain), (b"x-forwarded-proto", b"http")]
        path = scope["raw_path"] + (b"?" + scope["query_string"] if scope["query_string"] else b"")
        assert self._http is not None
        for replica in self._order():
            request = self._http.build_request(
                scope["method"], self.backends[replica] + path.decode("latin-1"),
                headers=headers, content=body)
            try:
                response = await self._http.send(request, stream=True)
            except httpx.ConnectError:
                continue  # down: as a health-checked load balancer would, try the next one
            except httpx.HTTPError:
                break  # it took the request and failed: not sent again (it may have acted)
            try:
                content = b"".join([chunk async for chunk in response.aiter_raw()])
            except httpx.HTTPError:
                break
            finally:
                await response.aclose()
            with self._lock:
                self.routed.append(Routed(scope["method"], scope["path"], replica,
                                          response.status_code))
            out = [(name.lower(), value) for name, value in response.headers.raw
                   if name.lower() not in HOP_BY_HOP]
            out.append((b"content-length", str(len(content)).encode()))
            await send({"type": "http.response.start", "status": response.status_code,
                        "headers": out})
            await send({"type": "http.response.body", "body": content})
            return
        await send({"type": "http.response.start", "status": 502,
                    "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"no replica answers"})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message: Message = await receive()
            if message["type"] == "lifespan.startup":
                # A fresh connection for every request: a killed replica's pooled connection
                # is never reused, and requests spread like separate clients'.
                self._http = httpx.AsyncClient(
                    transport=httpx.AsyncHTTPTransport(local_address="127.0.0.1"),
                    # A proxy keeps no cookies: one person's would go out with the next's.
                    cookies=CookieJar(DefaultCookiePolicy(allowed_domains=[])),
                    limits=httpx.Limits(max_keepalive_connections=0),
                    timeout=self._timeout_s, follow_redirects=False)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._http is not None:
                    await self._http.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    # -- running -------------------------------------------------------------------------

    def start(self) -> Self:
        # proxy_headers=False: the balancer sees its clients' own addresses.
        self._running.enter_context(live_server(self._app, self.port, proxy_headers=False,
                                                interface="asgi3", access_log=False))
        return self

    def stop(self) -> None:
        self._running.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

