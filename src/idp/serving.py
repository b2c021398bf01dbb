"""``idp serve``: uvicorn, with a graceful shutdown that keeps its promises.

On SIGTERM (or SIGINT) a replica

1. stops accepting: the listening socket is closed at once, so new connections are refused
   and a load balancer moves on. With several workers the supervisor holds a copy of the
   socket too; uvicorn's supervisor keeps it open until every worker has exited, so
   connections made during the drain would wait in the kernel's queue and then be reset.
   :class:`_Supervisor` closes its copy first;
2. lets requests in flight finish, for at most ``server.shutdown_timeout`` seconds, then
   cuts off the rest;
3. stops the back-channel logout worker (the application's lifespan): the delivery being
   sent is finished, within ``oidc.backchannel_timeout_s``, and the others stay pending in
   the store for another replica.

So a replica exits within ``shutdown_timeout + backchannel_timeout_s`` plus about a second;
the supervisor kills a worker that has not exited two seconds after that bound.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from typing import Final

import uvicorn
from uvicorn.supervisors import Multiprocess

from idp.observability import configure_logging
from idp.settings import Settings

__all__ = ["KILL_MARGIN_S", "exit_bound_s", "serve"]

APP: Final = "idp.app:create_app_from_environment"
KILL_MARGIN_S: Final = 2.0
WORKER_HEALTHCHECK_S: Final = 30


def exit_bound_s(settings: Settings) -> float:
    """How long after SIGTERM a replica may take to exit (the pod's grace period must be
    longer, plus any preStop pause)."""
    return settings.server.shutdown_timeout + settings.oidc.backchannel_timeout_s + 1.0


def serve(settings: Settings, *, host: str, port: int, workers: int) -> None:
    config = uvicorn.Config(
        APP, factory=True, host=host, port=port, workers=workers,
        log_level=settings.logging.level.lower(), server_header=False,
        # Our own forwarded-headers middleware (idp.web.proxies) reads X-Forwarded-*.
        proxy_headers=False,
        # Our own JSON logging (configured by the app factory): never a traceback; and our own
        # access log, without query strings (they carry codes and hints).
        log_config=None, access_log=False,
        timeout_graceful_shutdown=settings.server.shutdown_timeout,
        # A new worker imports everything before it answers the supervisor's health check;
        # on a busy or CPU-limited machine that takes longer than uvicorn's 5 s, after which
        # the supervisor kills it and starts another, which never gets further either.
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_S,
    )
    # The supervisor's own messages (a worker died, stopping) in the same JSON lines.
    configure_logging(settings.logging.level, settings.logging.json_format)
    if workers == 1:
        uvicorn.Server(config).run()
        return
    listener = config.bind_socket()
    try:
        _Supervisor(config, sockets=[listener], bound_s=exit_bound_s(settings)).run()
    finally:
        listener.close()


class _Supervisor(Multiprocess):
    """uvicorn's worker supervisor, which stops listening before it asks workers to stop and
    does not wait for a stuck worker forever."""

    def __init__(self, config: uvicorn.Config, sockets: list[socket.socket],
                 bound_s: float) -> None:
        super().__init__(config, sockets=sockets)
        self._bound_s = bound_s

    def terminate_all(self) -> None:
        for sock in self.sockets:
            sock.close()  # new connections are refused from now on
        super().terminate_all()

    def join_all(self) -> None:
        deadline = time.monotonic() + self._bound_s + KILL_MARGIN_S
        for process in self.processes:
            process.process.join(max(0.0, deadline - time.monotonic()))
            if process.process.exitcode is None and process.pid is not None:
                os.kill(process.pid, signal.SIGKILL)
                process.process.join()
