"""The `helm test` pod's script, run here against a real Nidan on loopback: it passes when
discovery names the issuer and the JWKS has public keys, and fails when the issuer differs."""

from __future__ import annotations

import base64
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from idp.app import create_app
from idp.settings import load_settings
from tests.deploy.chart import CHART, of_kind
from tests.live_server import free_port, live_server


@pytest.fixture(scope="module")
def nidan(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("nidan")
    port = free_port()
    settings = load_settings(
        None,
        server={"issuer": f"http://127.0.0.1:{port}"},
        store={"url": f"sqlite:///{folder}/nidan.sqlite3"},
        secrets={"data_keys": ["k1:" + base64.b64encode(secrets.token_bytes(32)).decode()],
                 "cookie_keys": [secrets.token_urlsafe(48)]},
        oidc={"clients_file": None},
        delivery={"sms": ["outbox"], "voice": ["outbox"], "allow_outbox": True,
                  "transports": {"outbox": {"path": str(folder / "outbox.jsonl")}}},
    )
    with live_server(create_app(settings), port=port) as url:
        yield url


def _script(renders: Any, base: str, issuer: str) -> str:
    [pod] = of_kind(renders.get(CHART / "ci" / "sqlite-values.yaml")[1], "Pod")
    [container] = pod["spec"]["containers"]
    assert container["command"] == ["python", "-c"]
    script: str = container["args"][0]
    script, found_base = re.subn(r'^base = ".*"$', f"base = {base!r}", script, flags=re.M)
    script, found_issuer = re.subn(r'^issuer = ".*"$', f"issuer = {issuer!r}", script, flags=re.M)
    assert (found_base, found_issuer) == (1, 1)
    return script


def _run(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, check=False)


def test_helm_test_pod_passes_against_nidan(nidan: str, renders: Any) -> None:
    result = _run(_script(renders, nidan, nidan))
    assert result.returncode == 0, result.stderr
    assert re.match(rf"ok: issuer {re.escape(nidan)}, \d+ public signing keys", result.stdout)


def test_helm_test_pod_fails_on_another_issuer(nidan: str, renders: Any) -> None:
    result = _run(_script(renders, nidan, "https://id.example.com"))
    assert result.returncode != 0
    assert "discovery names the issuer" in result.stderr

