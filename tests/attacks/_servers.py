"""Real ``idp serve`` processes for the attack and fault tests: several uvicorn workers on one
loopback port, on SQLite or Redis, and clients with distinct source addresses.

``Served`` writes a config file, starts ``idp --config FILE serve --workers N`` in its own
process group, waits for ``/readyz``, and reads the audit events every worker writes to
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
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from idp.services import Services
from idp.settings import load_settings
from tests.conftest import FAST_PASSWORDS, TEST_DATA_KEY
from tests.live_server import free_port
from tests.oidc.helpers import Clock, Env, build_env_services

IDP = str(Path(sys.executable).parent / "idp")
# Three workers import the whole app; on a loaded 2-core machine that takes a while.
READY_TIMEOUT_S = 240.0
STOP_TIMEOUT_S = 10.0


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value))


def _toml(sections: dict[str, dict[str, Any]]) -> str:
    lines: list[str] = []
    for name, values in sections.items():
        lines.append(f"[{name}]")
        lines.extend(f"{key} = {_toml_value(value)}" for key, value in values.items())
    return "\n".join(lines) + "\n"


def address(n: int) -> str:
    """The n-th client address, 127.0.0.(n + 1): 127.0.0.1 is the trusted proxy's own."""
    assert 1 <= n <= 250
    return f"127.0.0.{n + 1}"


@dataclass
class Served:
    """One running deployment (see the module docstring)."""

    directory: Path
    store_url: str
    # Two workers on the 2-core CI machine: races cross processes, start-up stays short.
    workers: int = 2
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    services: Services | None = None
    env: Env | None = None
    _log_offset: int = 0
    last_refusal: httpx.Response | None = None  # for a failing test's message

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.directory / "server.log"

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
        path.write_text(_toml(base))
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
        environment = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [IDP, "--config", str(config), "serve"], stdout=log, stderr=log,
            cwd=self.directory, env=environment, start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"idp serve exited: {self.log_tail()}")
            try:
                # One worker runs in the supervisor's own process (no children).
                if httpx.get(self.base + "/readyz", timeout=1).status_code == 200 and (
                    self.workers == 1 or len(self.worker_pids()) >= self.workers
                ):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"idp serve not ready in {READY_TIMEOUT_S} s: {self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def worker_pids(self) -> list[int]:
        """The worker processes of the supervisor (children running the app)."""
        assert self.process is not None
        pids: list[int] = []
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            listed = children.read_text().split()
        except OSError:
            return []
        for raw in listed:
            try:
                cmdline = Path(f"/proc/{raw}/cmdline").read_bytes()
            except OSError:
                continue
            if b"resource_tracker" not in cmdline:
                pids.append(int(raw))
        return pids

    def kill_worker(self) -> int:
        """SIGKILL one worker (the supervisor starts a new one); returns its pid."""
        pid = self.worker_pids()[0]
        os.kill(pid, signal.SIGKILL)
        return pid

    def stop(self) -> None:
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(STOP_TIMEOUT_S)
        self.process = None

    def kill_all(self) -> None:
        """SIGKILL the supervisor and every worker at once (a crash of the machine)."""
        process = self.process
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(STOP_TIMEOUT_S)
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
    running = Served(directory, store_url, **options)
    try:
        yield running.start()
    finally:
        running.close()
