"""A live provider with registration on (or off), and what the tests of registration share:
an MCP-like client's steps over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from idp.app import create_app
from tests.conftest import make_settings
from tests.live_server import free_port, live_server
from tests.oidc.helpers import Clock, Env, build_env_services


@contextmanager
def registration_env(tmp_path: Path, **registration: Any) -> Iterator[Env]:
    """A provider on 127.0.0.1 (issuer = its URL) with ``[registration]`` as given."""
    port = free_port()
    clock = Clock()
    sections: dict[str, dict[str, object]] = {"server": {"issuer": f"http://127.0.0.1:{port}"}}
    if registration:
        sections["registration"] = registration
    settings = make_settings(tmp_path, **sections)
    services = build_env_services(settings, clock)
    try:
        with live_server(create_app(settings, services), port=port) as base:
            yield Env(base=base, settings=settings, services=services, clock=clock)
    finally:
        services.close()


@pytest.fixture
def open_env(tmp_path: Path) -> Iterator[Env]:
    with registration_env(tmp_path, mode="open", per_address=50) as env:
        yield env


def register(env: Env, metadata: dict[str, Any], *, token: str | None = None,
             address: str | None = None) -> httpx.Response:
    """POST the metadata to the registration endpoint named by discovery, from ``address``
    (one of 127.0.0.N) when given."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    transport = httpx.HTTPTransport(local_address=address) if address else None
    with httpx.Client(transport=transport, timeout=10) as http:
        return http.post(env.url("/register"), json=metadata, headers=headers)


def mcp_metadata(**overrides: Any) -> dict[str, Any]:
    """What an MCP client sends (its loopback callback registered without a port)."""
    return {"client_name": "Agent Tool", "redirect_uris": ["http://127.0.0.1/callback"],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"], "token_endpoint_auth_method": "none",
            "scope": "openid profile", **overrides}


@pytest.fixture
def agent() -> Iterator[httpx.Client]:
    """A browser-like client: keeps cookies, follows no redirect by itself."""
    with httpx.Client(timeout=10) as client:
        yield client
