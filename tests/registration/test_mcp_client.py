"""An MCP-like client end to end over real HTTP: discovery, registration, the authorization
code with PKCE to a loopback port it really listens on (RFC 8252 7.3: a port it did not
register), the real sign-in (password and TOTP) and the consent page, the token, userinfo."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from tests.live_server import free_port, live_server
from tests.oidc.helpers import Env, csrf_form, journey, make_user, pkce
from tests.registration.conftest import authorize as _authorize
from tests.registration.conftest import mcp_metadata


class Callback:
    """The client's redirect listener: a real server on a loopback port; keeps the queries."""

    def __init__(self) -> None:
        self.received: list[dict[str, str]] = []
        self.arrived = threading.Event()

    async def endpoint(self, request: Request) -> Response:
        self.received.append(dict(request.query_params))
        self.arrived.set()
        return PlainTextResponse("You may close this window.")


@contextmanager
def callback_server() -> Iterator[tuple[Callback, int]]:
    callback = Callback()
    port = free_port()
    with live_server(Starlette(routes=[Route("/callback", callback.endpoint)]), port=port):
        yield callback, port


def test_an_mcp_client_registers_signs_a_person_in_and_gets_a_working_token(
        open_env: Env, agent: httpx.Client) -> None:
    env = open_env
    user = make_user(env, enroll=True)
    discovery = httpx.get(env.url("/.well-known/oauth-authorization-server")).json()
    assert discovery["registration_endpoint"] == env.url("/register")

    registered = httpx.post(discovery["registration_endpoint"], json=mcp_metadata())
    assert registered.status_code == 201, registered.text
    info = registered.json()
    assert info["token_endpoint_auth_method"] == "none"
    assert "client_secret" not in info
    assert info["registration_access_token"]
    assert info["registration_client_uri"] == env.url(f"/register/{info['client_id']}")
    assert registered.headers["cache-control"] == "no-store"

    with callback_server() as (callback, port):
        redirect_uri = f"http://127.0.0.1:{port}/callback"
        verifier, challenge = pkce()
        start = _authorize(env, agent, info["client_id"], redirect_uri, challenge, "s1")
        assert start.status_code == 303
        assert start.headers["location"].startswith("/login")
        consent = journey(env, agent, start, user.email)
        # Consent is always asked of a self-registered client.
        assert consent.status_code == 200
        assert "Agent Tool" in consent.text
        fields = csrf_form(consent.text, "/authorize/consent")
        answered = agent.post(env.url("/authorize/consent"), data={**fields,
                                                                   "decision": "approve"})
        assert answered.status_code == 303
        location = answered.headers["location"]
        assert location.startswith(redirect_uri + "?")
        # The client's own listener gets the browser's redirect.
        assert httpx.get(location).status_code == 200
        assert callback.arrived.wait(5)
        got = callback.received[0]
        assert got["state"] == "s1"
        assert got["iss"] == env.base

        token = httpx.post(discovery["token_endpoint"], data={
            "grant_type": "authorization_code", "code": got["code"], "client_id": info["client_id"],
            "redirect_uri": redirect_uri, "code_verifier": verifier})
        assert token.status_code == 200, token.text
        tokens = token.json()
        me = httpx.get(discovery["userinfo_endpoint"],
                       headers={"Authorization": f"Bearer {tokens['access_token']}"})
        assert me.status_code == 200
        assert me.json()["sub"] == user.id

        # The next authorization asks again: nothing was remembered for this client.
        _, challenge2 = pkce()
        again = _authorize(env, agent, info["client_id"], redirect_uri, challenge2, "s2")
        assert again.status_code == 200
        assert "/authorize/consent" in again.text


def test_the_port_is_free_only_on_loopback_and_only_the_port(open_env: Env,
                                                             agent: httpx.Client) -> None:
    env = open_env
    info = httpx.post(env.url("/register"), json=mcp_metadata(
        redirect_uris=["http://127.0.0.1/callback", "https://tool.example.com/cb"])).json()
    _, challenge = pkce()

    def page(redirect_uri: str) -> int:
        return _authorize(env, agent, info["client_id"], redirect_uri, challenge, "s").status_code

    assert page("http://127.0.0.1:53123/callback") == 303  # into the sign-in
    # PKCE S256 is required of it, as of every client: the error goes back to the client.
    query = {"response_type": "code", "client_id": info["client_id"], "scope": "openid",
             "redirect_uri": "http://127.0.0.1:53123/callback", "state": "s"}
    plain = agent.get(env.url("/authorize"), params=query)
    assert plain.status_code == 303
    assert "error=invalid_request" in plain.headers["location"]
    assert plain.headers["location"].startswith("http://127.0.0.1:53123/callback?")
    for wrong in ("http://127.0.0.1:53123/other", "http://localhost:53123/callback",
                  "http://127.0.0.1:53123/callback?x=1", "https://tool.example.com:8443/cb",
                  "http://127.0.0.1:53123@evil.example/callback"):
        assert page(wrong) == 400, wrong  # the error page, never a redirect


def test_a_client_registered_by_the_operator_keeps_exact_matching(open_env: Env,
                                                                  agent: httpx.Client) -> None:
    from tests.oidc.helpers import add_client

    env = open_env
    add_client(env, "operator-app", token_endpoint_auth_method="none", secret_hash=None,
               redirect_uris=["http://127.0.0.1/callback"])
    _, challenge = pkce()
    moved = _authorize(env, agent, "operator-app", "http://127.0.0.1:5000/callback",
                       challenge, "s")
    assert moved.status_code == 400
    exact = _authorize(env, agent, "operator-app", "http://127.0.0.1/callback", challenge, "s")
    assert exact.status_code == 303
