"""A real HTTP server on loopback for tests: uvicorn in a thread, on a free port.

The one way the tests run an app in-process (the provider, a relying party's endpoint, the
load balancer); ``tests.served`` is the one way to start ``idp serve`` as a process.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from tests.redis_servers import free_port

__all__ = ["Loopback", "free_port", "live_server"]

START_TIMEOUT_S = 10.0


class Loopback:
    """A server a test runs on 127.0.0.1 (``idp serve``, the balancer): its URLs."""

    port: int

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path


@contextmanager
def live_server(app: ASGIApp, port: int | None = None, **options: Any) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 until the block ends; yields the base URL. ``options`` go
    to ``uvicorn.Config`` (``proxy_headers=False``, ``lifespan="off"``, ...)."""
    port = port or free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, **{
        "log_level": "warning", "server_header": False, "lifespan": "on", **options})
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
