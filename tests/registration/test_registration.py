"""RFC 7591 registration over real HTTP: off by default, what is refused and how
(invalid_redirect_uri, invalid_client_metadata), the per-address limit, the cap, and the
initial-access-token mode."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from idp.registration import Registration
from tests.oidc.helpers import Env
from tests.registration.conftest import mcp_metadata, register, registration_env


def test_off_by_default_no_endpoint_and_nothing_in_discovery(tmp_path: Path) -> None:
    with registration_env(tmp_path) as env:
        assert env.settings.registration.mode == "off"
        discovery = httpx.get(env.url("/.well-known/openid-configuration")).json()
        assert "registration_endpoint" not in discovery
        assert register(env, mcp_metadata()).status_code == 404
        assert httpx.get(env.url("/register/dyn-x")).status_code == 404


@pytest.mark.parametrize("uri", [
    "http://tool.example.com/callback",  # plain http off loopback
    "http://127.0.0.2.example.com/cb",
    "javascript:alert(1)//",
    "JavaScript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    " javascript:alert(1)",
    "https://tool.example.com/cb#frag",
    "https://*.example.com/cb",
    "https://tool.example.com/*",
    "com.example.tool:/callback",
    "https://user:pw@tool.example.com/cb",
    "ftp://tool.example.com/cb",
    "/relative/callback",
])
def test_a_redirect_uri_no_client_may_register_is_refused(open_env: Env, uri: str) -> None:
    response = register(open_env, mcp_metadata(redirect_uris=["https://ok.example.com/cb", uri]))
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_redirect_uri", body
    assert "redirect_uris" in body["error_description"]
    assert uri.strip() not in body["error_description"]  # never echoed back


@pytest.mark.parametrize(("metadata", "words"), [
    ({"token_endpoint_auth_method": "client_secret_basic"}, "only none"),
    ({"token_endpoint_auth_method": "private_key_jwt"}, "token_endpoint_auth_method"),
    ({"scope": "openid offline_access"}, "offline_access not offered"),
    ({"grant_types": ["client_credentials"]}, "grant_types"),
    ({"grant_types": ["refresh_token"]}, "must include authorization_code"),
    ({"response_types": ["token"]}, "response_types"),
    ({"redirect_uris": "https://tool.example.com/cb"}, "redirect_uris"),
    ({"client_name": "x" * 500}, "client_name"),
    ({"logo_uri": "http://tool.example.com/logo.png"}, "logo_uri"),
])
def test_metadata_that_cannot_be_honoured_is_refused(open_env: Env, metadata: dict[str, Any],
                                                     words: str) -> None:
    response = register(open_env, mcp_metadata(**metadata))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client_metadata"
    assert words in response.json()["error_description"]


def test_a_body_that_is_no_json_object_is_refused(open_env: Env) -> None:
    for content, kind in ((b"[1, 2]", "application/json"), (b"{nope", "application/json"),
                          (b"redirect_uris=x", "application/x-www-form-urlencoded"),
                          (b"{" + b" " * 20_000 + b"}", "application/json")):
        response = httpx.post(open_env.url("/register"), content=content,
                              headers={"Content-Type": kind})
        assert response.status_code == 400, content[:20]
        assert response.json()["error"] == "invalid_client_metadata"


def test_browser_based_tools_may_call_it_across_origins(open_env: Env) -> None:
    preflight = httpx.options(open_env.url("/register"), headers={
        "Origin": "https://inspector.example", "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    made = register(open_env, mcp_metadata())
    assert made.headers["access-control-allow-origin"] == "*"


def test_unknown_fields_are_ignored_and_defaults_filled_in(open_env: Env) -> None:
    response = register(open_env, {"redirect_uris": ["https://tool.example.com/cb"],
                                   "software_statement": "eyJ.x.y", "favourite_colour": "red",
                                   "client_uri": "https://tool.example.com"})
    assert response.status_code == 201, response.text
    info = response.json()
    assert "favourite_colour" not in info
    assert "software_statement" not in info
    assert info["token_endpoint_auth_method"] == "none"  # open mode: public clients only
    assert info["grant_types"] == ["authorization_code"]
    assert info["scope"] == "openid profile email"  # the allowlist
    assert info["client_uri"] == "https://tool.example.com"
    client = open_env.provider.clients.get(info["client_id"])
    assert client is not None
    assert client.config.registered
    assert client.is_public
    assert client.config.require_pkce


def test_over_the_limit_an_address_waits_and_others_do_not(tmp_path: Path) -> None:
    with registration_env(tmp_path, mode="open", per_address=3, window_s=600) as env:
        for _ in range(3):
            assert register(env, mcp_metadata(), address="127.0.0.2").status_code == 201
        refused = register(env, mcp_metadata(), address="127.0.0.2")
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 600
        assert refused.json()["error"] == "temporarily_unavailable"
        assert register(env, mcp_metadata(), address="127.0.0.3").status_code == 201
        assert len(list(_registered(env))) == 4


def test_the_cap_refuses_one_more_client_clearly(tmp_path: Path) -> None:
    with registration_env(tmp_path, mode="open", max_clients=2) as env:
        first = register(env, mcp_metadata()).json()
        assert register(env, mcp_metadata()).status_code == 201
        refused = register(env, mcp_metadata())
        assert refused.status_code == 403
        assert refused.json()["error"] == "access_denied"
        assert "no more registered clients (at most 2)" in refused.json()["error_description"]
        assert len(list(_registered(env))) == 2
        # A client that leaves makes room.
        gone = httpx.delete(first["registration_client_uri"], headers={
            "Authorization": "Bearer " + first["registration_access_token"]})
        assert gone.status_code == 204
        assert register(env, mcp_metadata()).status_code == 201


def _registered(env: Env) -> Any:
    return (c.client_id for c in env.provider.clients.all() if c.config.registered)


# -- initial access tokens --------------------------------------------------------------


def test_initial_token_mode_wants_a_token_from_the_operator(tmp_path: Path) -> None:
    with registration_env(tmp_path, mode="initial-token") as env:
        discovery = httpx.get(env.url("/.well-known/openid-configuration")).json()
        assert discovery["registration_endpoint"] == env.url("/register")
        metadata = {"redirect_uris": ["https://tool.example.com/cb"], "client_name": "Tool"}
        none = register(env, metadata)
        assert none.status_code == 401
        assert none.json()["error"] == "invalid_token"
        assert none.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
        wrong = register(env, metadata, token="not-a-token-we-made")
        assert wrong.status_code == 401
        assert not list(_registered(env))

        token, _ = Registration(env.services).create_initial_token(uses=2, actor="test")
        made = register(env, metadata, token=token)
        assert made.status_code == 201, made.text
        info = made.json()
        # RFC 7591 2: the default method is client_secret_basic: a secret, shown once.
        assert info["token_endpoint_auth_method"] == "client_secret_basic"
        assert info["client_secret_expires_at"] == 0
        client = env.provider.clients.get(info["client_id"])
        assert client is not None
        assert client.check_client_secret(info["client_secret"])
        assert info["client_secret"] not in str(env.services.store.get(
            "oidc-client:" + info["client_id"]))
        # A bad request does not use the token up.
        assert register(env, {"redirect_uris": ["http://x.example/cb"]},
                        token=token).status_code == 400
        assert register(env, {**metadata, "token_endpoint_auth_method": "none"},
                        token=token).status_code == 201
        used_up = register(env, metadata, token=token)
        assert used_up.status_code == 401
        assert "used up" in used_up.json()["error_description"]


def test_an_initial_token_expires(tmp_path: Path) -> None:
    with registration_env(tmp_path, mode="initial-token") as env:
        token, _ = Registration(env.services).create_initial_token(uses=5, lifetime_s=600)
        env.clock.advance(601)
        response = register(env, {"redirect_uris": ["https://tool.example.com/cb"]}, token=token)
        assert response.status_code == 401
        assert "expired" in response.json()["error_description"]


def test_the_initial_token_is_kept_only_as_a_digest(tmp_path: Path) -> None:
    with registration_env(tmp_path, mode="initial-token") as env:
        token, _ = Registration(env.services).create_initial_token(uses=1)
        store = env.services.store
        keys = list(store.scan("registration:"))
        assert keys
        assert all(token not in key for key in keys)
        assert all(token.encode() not in (store.get(key) or b"") for key in keys)
