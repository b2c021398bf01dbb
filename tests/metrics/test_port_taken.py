"""A /metrics port somebody else holds never stops the identity provider (real processes)."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest

from tests.conftest import FAST_PASSWORDS, TEST_DATA_KEY
from tests.served import Served, write_config

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("workers", [1, 2])
def test_a_taken_metrics_port_leaves_the_server_serving(tmp_path: Path, workers: int) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = write_config(tmp_path / "idp.toml", {
            "metrics": {"listen": f"127.0.0.1:{port}"},
            "server": {"issuer": "http://127.0.0.1:8000"},
            "store": {"url": f"sqlite:///{tmp_path}/idp.sqlite3"},
            "passwords": dict(FAST_PASSWORDS),
            "secrets": {"data_keys": [TEST_DATA_KEY], "cookie_keys": ["c" * 32]},
            "delivery": {"allow_outbox": True,
                         "transports": {"outbox": {"path": str(tmp_path / "outbox.jsonl")}}},
        })
        served = Served.start(config, workers=workers, name=f"taken-{workers}")
        try:
            assert httpx.get(served.url("/healthz"), timeout=10).status_code == 200
            discovery = httpx.get(served.url("/.well-known/openid-configuration"), timeout=10)
            assert discovery.status_code == 200
            assert "cannot listen" in served.log_path.read_text()
        finally:
            served.stop()
