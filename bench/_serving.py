"""What the benches that run a server in a child process share: a free loopback port, the
settings of a throw-away provider, the child started and waited for, and its CPU time.

The scripts put the project's root on ``sys.path`` and import ``bench._serving``; their
figures are CPU seconds of the *server* process, read from /proc.
"""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

__all__ = ["DATA_KEY", "ROOT", "TICKS", "bench_settings", "child_server", "cpu_seconds",
           "free_port", "run_quietly"]

ROOT = Path(__file__).resolve().parent.parent
DATA_KEY = "bench1:" + base64.b64encode(b"b" * 32).decode()
TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def bench_settings(directory: Path, port: int, **sections: Any) -> Any:
    """A provider on ``port`` with its own SQLite store in ``directory``, cheap password
    hashing and the outbox transport; ``sections`` add to (or replace) those."""
    from idp.settings import load_settings

    empty = directory / "empty.toml"
    empty.write_text("")
    return load_settings(
        empty,
        server={"issuer": f"http://127.0.0.1:{port}"},
        store={"url": f"sqlite:///{directory}/bench.sqlite3"},
        passwords={"argon2_time_cost": 1, "argon2_memory_kib": 8192},
        secrets={"data_keys": [DATA_KEY], "cookie_keys": ["bench-cookie-key-0123456789"]},
        delivery={"allow_outbox": True,
                  "transports": {"outbox": {"path": str(directory / "outbox.jsonl")}}},
        logging={"level": "WARNING"},
        **sections,
    )


def run_quietly(app: Any, port: int) -> None:
    """Serve ``app`` with uvicorn (one worker) in this (child) process, without its logs."""
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False,
                server_header=False)


@contextmanager
def child_server(argv: list[str], port: int, *, what: str = "the server",
                 env: Mapping[str, str] | None = None, start_s: float = 30) -> Iterator[int]:
    """Run ``argv`` (a server on ``port``); yields its pid once ``/healthz`` answers, stops
    it on the way out."""
    process = subprocess.Popen(argv, cwd=ROOT, env=None if env is None else dict(env))
    try:
        deadline = time.monotonic() + start_s
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"{what} did not start") from None
                time.sleep(0.1)
        yield process.pid
    finally:
        process.terminate()
        process.wait(timeout=10)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime
