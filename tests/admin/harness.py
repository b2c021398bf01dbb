"""What the admin API's tests share: a live provider with admin clients, real tokens from
its /token, calls over HTTP, and a look at the state a refused call must not change."""

from __future__ import annotations

import atexit
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.admin.openapi_check import PREFIX, checked
from tests.oidc.helpers import (
    Env,
    add_client,
    authorize,
    authorize_query,
    exchange,
    journey,
    pkce,
    provider_env,
    query_of,
)

ALL = ("admin:users:read", "admin:users:write", "admin:mfa:reset", "admin:sessions:revoke",
       "admin:clients:write", "admin:audit:read")
SERVICE: dict[str, Any] = {"grant_types": ["client_credentials"], "redirect_uris": [],
                           "post_logout_redirect_uris": []}
# One connection pool for every call of the tests (a new client per call costs more than
# the call); the connections of a stopped server are simply opened again.
HTTP = httpx.Client(timeout=10)
atexit.register(HTTP.close)


@contextmanager
def admin_env(tmp_path: Path) -> Iterator[Env]:
    """A provider with ``ops`` (every admin scope), ``reader`` (admin:users:read), ``plain``
    (no admin scope) and ``brief`` (every admin scope, tokens of 60 s)."""
    with provider_env(tmp_path) as running:
        add_client(running, "ops", admin_scopes=list(ALL), **SERVICE)
        add_client(running, "reader", admin_scopes=["admin:users:read"], **SERVICE)
        add_client(running, "plain", **SERVICE)
        add_client(running, "brief", admin_scopes=list(ALL), access_token_lifetime_s=60,
                   **SERVICE)
        yield running


def token(env: Env, client_id: str = "ops", scope: str = " ".join(ALL)) -> str:
    answer = HTTP.post(env.url("/token"), data={"grant_type": "client_credentials",
                                                "scope": scope},
                       auth=(client_id, env.secrets[client_id]))
    assert answer.status_code == 200, answer.text
    value: str = answer.json()["access_token"]
    return value


def call(env: Env, method: str, path: str, bearer: str | None = None, *,
         json: Any = None, headers: dict[str, str] | None = None) -> httpx.Response:
    sent = dict(headers or {})
    if bearer is not None:
        sent["Authorization"] = f"Bearer {bearer}"
    return HTTP.request(method, env.url(PREFIX + path), json=json, headers=sent)


def api(env: Env, method: str, template: str, bearer: str | None = None, *,
        params: dict[str, str] | None = None, json: Any = None,
        headers: dict[str, str] | None = None) -> httpx.Response:
    """A call to the operation at ``template`` (path parameters from ``params``), its
    answer checked against the OpenAPI document."""
    path = template
    for name, value in (params or {}).items():
        path = path.replace("{" + name + "}", value)
    return checked(call(env, method, path, bearer, json=json, headers=headers),
                   method, template.split("?")[0])


def new_user(env: Env, email: str) -> httpx.Response:
    return checked(call(env, "POST", "/users", token(env), json={
        "email": email, "display_name": "Seller", "locale": "en"}), "POST", "/users")


def audit_since(env: Env, seq: int) -> list[dict[str, Any]]:
    return list(env.services.audit_log.events(after=seq))


def sign_in_to_rp(env: Env, agent: httpx.Client, email: str, **how: bool) -> dict[str, Any]:
    """The real journey (password, TOTP) to the client ``rp``; its tokens."""
    verifier, challenge = pkce()
    start = authorize(env, agent, **authorize_query(code_challenge=challenge,
                                                    code_challenge_method="S256"))
    left = journey(env, agent, start, email, **how)
    assert left.status_code == 303, left.text[:300]
    answer = exchange(env, query_of(left.headers["location"])["code"], verifier)
    assert answer.status_code == 200, answer.text
    tokens: dict[str, Any] = answer.json()
    return tokens
