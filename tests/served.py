"""Real ``idp serve`` processes for tests: a config file, a free loopback port, N workers.

    config = write_config(tmp_path / "idp.toml", {"store": {"url": redis.url}, ...})
    with Served.start(config, workers=2, name="a") as replica:   # returns once /readyz is 200
        httpx.get(replica.url("/healthz"))
        replica.terminate()        # SIGTERM, as Kubernetes sends it; replica.wait() -> exit code
        replica.kill()             # SIGKILL to the whole process group (supervisor and workers)
        replica.audit_events()     # the audit log the process wrote (JSON lines on stderr)

Each process runs in a session of its own (its workers too), in its own working directory,
with no ``IDP_*`` variable of the test's environment. Leaving the block stops it: SIGTERM,
then SIGKILL of the group if it has not exited in time.

The one way the tests start ``idp serve`` (the attack, fault, metrics, demo and replica tests
all come here); ``tests.live_server`` is the one way to run an app in-process.

    Served.start(None, workers=None, args=["--dev"], workdir=tmp)   # idp serve --dev
    Served.start(config, workers=2, ready=lambda s: len(s.worker_pids()) == 2)
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

import httpx

from tests.live_server import Loopback
from tests.redis_servers import free_port

__all__ = ["Served", "idp_command", "toml_text", "write_config"]

READY_TIMEOUT_S = 120.0  # two workers importing everything on 2 busy cores
STOP_TIMEOUT_S = 30.0


def idp_command() -> list[str]:
    """The ``idp`` console script of the running interpreter's environment."""
    script = Path(sys.executable).with_name("idp")
    if not script.exists():
        raise RuntimeError(f"no idp command beside {sys.executable}: run `uv sync` first")
    return [str(script)]


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str | Path):
        return json.dumps(str(value))  # a JSON string is a TOML basic string
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def toml_text(sections: Mapping[str, Mapping[str, Any]]) -> str:
    """TOML for nested sections of plain values (what Nidan's config holds)."""
    lines: list[str] = []

    def table(name: str, values: Mapping[str, Any]) -> None:
        lines.append(f"[{name}]")
        nested = {k: v for k, v in values.items() if isinstance(v, Mapping)}
        for key, value in values.items():
            if key not in nested:
                lines.append(f"{key} = {_toml_value(value)}")
        lines.append("")
        for key, value in nested.items():
            table(f"{name}.{key}", value)

    for name, values in sections.items():
        table(name, values)
    return "\n".join(lines)


def write_config(path: Path, sections: Mapping[str, Mapping[str, Any]]) -> Path:
    # Several servers run side by side: each /metrics listener on a free port of its own.
    sections = {"metrics": {"listen": "127.0.0.1:0"}, **sections}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(toml_text(sections), encoding="utf-8")
    return path


class Served(Loopback):
    """One ``idp serve`` process (a uvicorn supervisor and its workers, or one worker)."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, log_path: Path, name: str,
                 log: IO[bytes]) -> None:
        self.process, self.port, self.log_path, self.name = process, port, log_path, name
        self._log = log

    @classmethod
    def start(cls, config: Path | None, *, workers: int | None = 2, port: int | None = None,
              name: str = "idp", env: Mapping[str, str] | None = None,
              wait: bool = True, workdir: Path | None = None, args: Sequence[str] = (),
              ready_path: str = "/readyz", ready: Callable[[Served], bool] | None = None,
              ready_timeout: float = READY_TIMEOUT_S) -> Served:
        """Start ``idp serve [--config CONFIG] ARGS`` on 127.0.0.1 (``--workers`` unless
        ``workers`` is None: the config's, or one process); by default return once it is
        ready: ``ready_path`` answers 200 and ``ready(served)``, if given, is true.

        The working directory is ``workdir`` (default: a fresh one beside the config); the
        log (stdout and stderr) is its ``serve.log``. No ``IDP_*`` or ``PROMETHEUS_*``
        variable of the test's environment reaches the process; ``env`` adds to it."""
        port = port or free_port()
        if workdir is None:
            assert config is not None, "a server without a config needs a working directory"
            workdir = config.parent / f"run-{name}-{port}"
        workdir.mkdir(parents=True, exist_ok=True)
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("IDP_", "PROMETHEUS_"))}
        log_path = workdir / "serve.log"
        log = log_path.open("ab")
        process = subprocess.Popen(
            [*idp_command(), "serve", *(["--config", str(config)] if config else []),
             "--host", "127.0.0.1", "--port", str(port),
             *(["--workers", str(workers)] if workers is not None else []), *args],
            cwd=workdir, env={**clean, **(env or {})}, stdin=subprocess.DEVNULL,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        served = cls(process, port, log_path, name, log)
        if wait:
            try:
                served.wait_ready(ready_timeout, path=ready_path, ready=ready)
            except BaseException:
                served.stop()
                raise
        return served

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def wait_ready(self, timeout: float = READY_TIMEOUT_S, *, path: str = "/readyz",
                   ready: Callable[[Served], bool] | None = None) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"idp serve {self.name} exited ({self.process.returncode}):\n"
                                   f"{self.log_tail()}")
            try:
                if httpx.get(self.url(path), timeout=2).status_code == 200 and (
                    ready is None or ready(self)
                ):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"idp serve {self.name} not ready in {timeout} s:\n{self.log_tail()}")

    def worker_pids(self) -> list[int]:
        """uvicorn's worker processes under the supervisor (not multiprocessing's resource
        tracker, nor a worker that has exited); none when one process serves."""
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
                if int(fields[1]) == self.pid and fields[0] not in ("Z", "X") and (
                    b"spawn_main" in (entry / "cmdline").read_bytes()
                ):
                    pids.append(int(entry.name))
            except OSError:
                continue
        return sorted(pids)

    def terminate(self) -> None:
        """SIGTERM to the supervisor, as a container runtime sends it to PID 1."""
        if self.alive():
            self.process.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL to every process of the replica (a node lost, an OOM kill)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        # The workers are not our children: wait until the kernel has them gone (and with
        # them the listening socket), as it would be for a lost node.
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.01)

    def wait(self, timeout: float = STOP_TIMEOUT_S) -> int:
        return self.process.wait(timeout)

    def stop(self) -> None:
        self.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(STOP_TIMEOUT_S)
        self.kill()  # the group: a worker must never outlive its test
        self._log.close()

    def log_lines(self) -> list[str]:
        return self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_lines()[-lines:])

    def logged(self) -> list[dict[str, Any]]:
        """The JSON log records the process wrote."""
        records = []
        for line in self.log_lines():
            if line.startswith("{"):
                try:
                    records.append(json.loads(line))
                except ValueError:
                    continue
        return records

    def audit_events(self, name: str | None = None) -> list[dict[str, Any]]:
        events = []
        for record in self.logged():
            if record.get("logger") == "idp.audit":
                event: dict[str, Any] = json.loads(record["message"])
                if name is None or event["event"] == name:
                    events.append(event)
        return events

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
