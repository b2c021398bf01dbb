"""The application over real HTTP: health, readiness, security headers."""

from __future__ import annotations

import logging

import httpx
import pytest

from idp.app import create_app
from idp.services import Services
from idp.settings import Settings
from idp.web.headers import SECURITY_HEADERS
from tests.conftest import make_settings
from tests.live_server import live_server


def test_healthz_and_readyz_answer_json(settings: Settings) -> None:
    with live_server(create_app(settings)) as base:
        health = httpx.get(f"{base}/healthz")
        ready = httpx.get(f"{base}/readyz")
    assert health.status_code == 200
    assert health.json() == {"status": "ok"}
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "store": "ok"}


def test_readyz_is_503_when_the_store_is_gone(settings: Settings, services: Services) -> None:
    app = create_app(settings, services)
    with live_server(app) as base:
        services.store.close()
        ready = httpx.get(f"{base}/readyz")
        health = httpx.get(f"{base}/healthz")
    assert ready.status_code == 503
    assert ready.json() == {"status": "unavailable", "store": "unreachable"}
    assert health.status_code == 200


def test_every_response_has_the_security_headers(settings: Settings) -> None:
    with live_server(create_app(settings)) as base:
        responses = [httpx.get(f"{base}{path}") for path in ("/", "/healthz", "/nope")]
    assert [r.status_code for r in responses] == [200, 200, 404]
    for response in responses:
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value
        assert response.headers["cache-control"] == "no-store"
        assert "strict-transport-security" not in response.headers  # http issuer: no HSTS


def test_https_issuer_adds_hsts(tmp_path: object) -> None:
    from pathlib import Path

    settings = make_settings(Path(str(tmp_path)), server={"issuer": "https://id.example.com"})
    with live_server(create_app(settings)) as base:
        response = httpx.get(f"{base}/healthz")
    assert response.headers["strict-transport-security"] == "max-age=63072000"


def test_the_access_log_never_holds_a_query_string(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="idp.access")
    with live_server(create_app(settings)) as base:
        httpx.get(f"{base}/healthz?code=SECRET-CODE-123&state=xyz")
    lines = [r.getMessage() for r in caplog.records if r.name == "idp.access"]
    assert any(line.startswith("GET /healthz 200 ") for line in lines)
    assert all("SECRET-CODE-123" not in line and "state" not in line for line in lines)
