"""A live provider with registration on (or off), and what the tests of registration share:
an MCP-like client's steps over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from idp.app import create_app
from tests.conftest import make_settings
from tests.live_server import free_port, live_server
from tests.oidc.helpers import Clock, Env, build_env_services, csrf_form, journey, pkce


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


def authorize(env: Env, agent: httpx.Client, client_id: str, redirect_uri: str,
              challenge: str, state: str) -> httpx.Response:
    query = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
             "scope": "openid profile", "state": state, "nonce": "n-" + state,
             "code_challenge": challenge, "code_challenge_method": "S256"}
    return agent.get(env.url("/authorize?" + urlencode(query)))


def token_for(env: Env, agent: httpx.Client, client_id: str, redirect_uri: str,
              email: str) -> dict[str, Any]:
    """The whole code flow of a public client, following the redirects by hand: sign-in
    (when the browser has no session), consent, the code, the token."""
    verifier, challenge = pkce()
    page = journey(env, agent, authorize(env, agent, client_id, redirect_uri, challenge, "s"),
                   email)
    fields = csrf_form(page.text, "/authorize/consent")
    answered = agent.post(env.url("/authorize/consent"), data={**fields, "decision": "approve"})
    assert answered.status_code == 303, answered.text[:300]
    code = parse_qs(urlsplit(answered.headers["location"]).query)["code"][0]
    response = httpx.post(env.url("/token"), data={
        "grant_type": "authorization_code", "code": code, "client_id": client_id,
        "redirect_uri": redirect_uri, "code_verifier": verifier})
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return tokens
