"""The /metrics listener, run by the supervising ``idp serve`` process.

uvicorn's workers each write prometheus-client's multiprocess files into one folder; this
process sums them at every scrape, so a scrape sees all workers exactly (never one worker
picked at random by a load balancer). uvicorn calls no hook when a worker dies: before each
scrape, the live-gauge files of every process that is no longer running (or is a zombie)
are removed, so a worker killed with -9 leaves no stale gauge; its counters stay in the sum,
as counters must. The folder is emptied at start.

Call :func:`prepare` before anything imports prometheus-client (it sets
``PROMETHEUS_MULTIPROC_DIR``), then :func:`start`.
"""

from __future__ import annotations

import hmac
import logging
import os
import re
import shutil
import socket
import sys
import tempfile
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from idp.settings import MetricsSettings

__all__ = ["Exporter", "prepare", "serve_metrics", "start"]

log = logging.getLogger("idp.metrics")
_PID = re.compile(r"_(\d+)\.db$")


def prepare(settings: MetricsSettings) -> tuple[Path, bool]:
    """Empty (or make) the multiprocess folder and point prometheus-client at it. Returns
    the folder and whether it is a temporary one of ours (removed at the end)."""
    if settings.multiprocess_dir:
        folder, temporary = Path(settings.multiprocess_dir), False
        folder.mkdir(parents=True, exist_ok=True)
        for entry in folder.glob("*.db"):
            entry.unlink()
    else:
        folder, temporary = Path(tempfile.mkdtemp(prefix="nidan-metrics-")), True
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    return folder, temporary


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    # The state follows the parenthesised command name: Z zombie, X dead.
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def remove_dead(folder: Path) -> list[int]:
    """``mark_process_dead`` for every pid with files here that no longer runs."""
    from prometheus_client import multiprocess

    pids = {int(m.group(1)) for f in os.listdir(folder) if (m := _PID.search(f))}
    dead = [pid for pid in sorted(pids) if not _running(pid)]
    for pid in dead:
        multiprocess.mark_process_dead(pid, str(folder))  # type: ignore[no-untyped-call]
    return dead


@dataclass
class Exporter:
    server: ThreadingHTTPServer
    thread: threading.Thread
    folder: Path
    temporary: bool

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.server.server_address[:2]
        return str(host), int(port)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
        if self.temporary:
            shutil.rmtree(self.folder, ignore_errors=True)


def start(settings: MetricsSettings, folder: Path, temporary: bool) -> Exporter:
    """Serve ``GET /metrics`` on ``settings.listen`` from a daemon thread."""
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(folder))  # type: ignore[no-untyped-call]
    token = settings.bearer_token.get_secret_value().encode() if settings.bearer_token else None
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        server_version = "nidan-metrics"
        sys_version = ""

        def do_GET(self) -> None:
            if self.path.partition("?")[0] != "/metrics":
                self._reply(404, b"not found\n")
                return
            if token is not None:
                given = self.headers.get("Authorization", "").encode("latin-1", "replace")
                if not hmac.compare_digest(given, b"Bearer " + token):
                    self._reply(401, b"unauthorized\n",
                                {"WWW-Authenticate": 'Bearer realm="metrics"'})
                    return
            with lock:  # one scrape at a time cleans and reads the folder
                remove_dead(folder)
                body = generate_latest(registry)
            self._reply(200, body, {"Content-Type": CONTENT_TYPE_LATEST})

        def _reply(self, status: int, body: bytes, headers: dict[str, str] | None = None
                   ) -> None:
            self.send_response(status)
            for name, value in (headers or {"Content-Type": "text/plain"}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # scrapes every few seconds would drown the log

    host, port = settings.address

    class Server(ThreadingHTTPServer):
        address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        daemon_threads = True

    server = Server((host, port), Handler)
    thread = threading.Thread(target=server.serve_forever, name="metrics", daemon=True)
    thread.start()
    log.info("metrics on http://%s:%d/metrics", host, server.server_address[1])
    return Exporter(server, thread, folder, temporary)


def serve_metrics(settings: MetricsSettings) -> Exporter | None:
    """For ``idp serve``: the exporter when metrics are on (before the workers start).

    A listener that cannot bind (the port is taken) does not stop the identity provider:
    sign-in matters more than its metrics. One error line says so, and the scrape target's
    absence fires ``NidanTargetDown``."""
    if not settings.enabled:
        return None
    folder, temporary = prepare(settings)
    try:
        return start(settings, folder, temporary)
    except OSError as exc:
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        # The workers read their settings from the environment too: no metrics there either
        # (they would count into a folder nobody scrapes, or fail to find one).
        os.environ["IDP_METRICS__ENABLED"] = "false"
        if temporary:
            shutil.rmtree(folder, ignore_errors=True)
        print(f"idp: error: metrics.listen: cannot listen on {settings.listen}: "
              f"{exc.strerror or exc}; serving without /metrics", file=sys.stderr)
        return None
