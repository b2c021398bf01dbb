"""Real ``idp serve`` processes for the attack and fault tests: several uvicorn workers on one
loopback port, on SQLite or Redis, and clients with distinct source addresses.

``Served`` writes a config file, starts ``idp serve --config FILE --workers N`` in its own
process group (through :class:`tests.served.Served`, the tests' one way to start it), waits
for ``/readyz`` and for every worker, and reads the audit events every worker writes to
stderr (one JSON line each), so a test counts what the *server* evaluated, not what the
client saw. ``services`` is the same configuration built in the test process, sharing the
store, for seeding people and clients and for reading state. ``kill_worker`` sends SIGKILL to
one worker (uvicorn's supervisor starts another); ``restart`` stops every process and starts
them again on the same port. Kept small on purpose: tests/served.py (multi-replica) may
absorb it later.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from idp.services import Services
from idp.settings import load_settings
from tests.conftest import FAST_PASSWORDS, TEST_DATA_KEY
from tests.live_server import Loopback
from tests.oidc.helpers import Clock, Env, build_env_services
from tests.redis_servers import free_port
from tests.served import Served as Process
from tests.served import toml_text

# Three workers import the whole app; on a loaded 2-core machine that takes a while.
READY_TIMEOUT_S = 240.0


def address(n: int) -> str:
    """The n-th client address, 127.0.0.(n + 1): 127.0.0.1 is the trusted proxy's own."""
    assert 1 <= n <= 250
    return f"127.0.0.{n + 1}"


@dataclass
class Served(Loopback):
    """One running deployment (see the module docstring)."""

    directory: Path
    store_url: str
    # Two workers on the 2-core CI machine: races cross processes, start-up stays short.
    workers: int = 2
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: Process | None = None
    services: Services | None = None
    env: Env | None = None
    _log_offset: int = 0
    last_refusal: httpx.Response | None = None  # for a failing test's message

    @property
    def log_path(self) -> Path:
        return self.directory / "serve.log"

    def config_path(self) -> Path:
        path = self.directory / "idp.toml"
        clients = self.directory / "clients.toml"
        clients.write_text("")
        base: dict[str, dict[str, Any]] = {
            "server": {"issuer": self.base, "host": "127.0.0.1", "port": self.port,
                       "workers": self.workers},
            "store": {"url": self.store_url},
            "passwords": dict(FAST_PASSWORDS),
            "secrets": {"data_keys": [TEST_DATA_KEY],
                        "cookie_keys": ["attack-test-cookie-key-0123"]},
            "delivery": {"allow_outbox": True},
            "delivery.transports.outbox": {"path": str(self.directory / "outbox.jsonl")},
            "oidc": {"clients_file": str(clients), "backchannel_poll_s": 0.2},
            "logging": {"level": "INFO"},
        }
        for name, values in self.sections.items():
            base[name] = {**base.get(name, {}), **values}
        path.write_text(toml_text(base))
        return path

    def start(self) -> Served:
        config = self.config_path()
        if self.services is None:
            settings = load_settings(config)
            # Sealed signing keys go in first, so the workers don't race to make their own.
            self.services = build_env_services(settings, Clock())
            self.env = Env(base=self.base, settings=settings, services=self.services,
                           clock=Clock())
        self._spawn(config)
        return self

    def _spawn(self, config: Path) -> None:
        # One worker runs in the supervisor's own process (no children).
        self.process = Process.start(
            config, workers=self.workers, port=self.port, workdir=self.directory,
            ready_timeout=READY_TIMEOUT_S,
            ready=lambda process: self.workers == 1 or len(process.worker_pids()) >= self.workers)

    def log_tail(self, lines: int = 20) -> str:
        return self.process.log_tail(lines) if self.process is not None else ""

    def worker_pids(self) -> list[int]:
        """The worker processes of the supervisor (children running the app)."""
        assert self.process is not None
        return self.process.worker_pids()

    def kill_worker(self) -> int:
        """SIGKILL one worker (the supervisor starts a new one); returns its pid."""
        pid = self.worker_pids()[0]
        os.kill(pid, signal.SIGKILL)
        return pid

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
        self.process = None

    def kill_all(self) -> None:
        """SIGKILL the supervisor and every worker at once (a crash of the machine)."""
        if self.process is not None:
            self.process.kill()
            self.process.stop()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self._spawn(self.config_path())

    def close(self) -> None:
        self.stop()
        if self.services is not None:
            self.services.close()
            self.services = None

    # -- what the server did ---------------------------------------------------------------

    def mark(self) -> None:
        """Audit events from here on are what :meth:`audit` returns."""
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0

    def audit(self, event: str | None = None) -> list[dict[str, Any]]:
        """The audit events every worker wrote since :meth:`mark`, in order."""
        with self.log_path.open("rb") as log:
            log.seek(self._log_offset)
            raw = log.read().decode(errors="replace")
        found: list[dict[str, Any]] = []
        for line in raw.splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if not isinstance(record, dict) or record.get("logger") != "idp.audit":
                continue
            data = json.loads(record["message"])
            if event is None or data.get("event") == event:
                found.append(data)
        return found

    def tracebacks(self) -> list[str]:
        """Log lines that look like a Python traceback (there must be none)."""
        text = self.log_path.read_text(errors="replace")
        return [line for line in text.splitlines() if "Traceback (most recent call last)" in line]

    # -- clients ---------------------------------------------------------------------------

    def client(self, n: int = 1, **options: Any) -> httpx.Client:
        """A cookie-keeping client from address(n), following no redirect by itself."""
        transport = httpx.HTTPTransport(local_address=address(n))
        return httpx.Client(base_url=self.base, transport=transport,
                            timeout=options.pop("timeout", 30), **options)


@contextmanager
def served(directory: Path, store_url: str, **options: Any) -> Iterator[Served]:
    directory.mkdir(parents=True, exist_ok=True)
    with closing(Served(directory, store_url, **options)) as running:
        yield running.start()
