"""Discovery (OIDC Discovery 1.0, RFC 8414) and the JWKS, over HTTP."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

import httpx
from joserfc import jwk
from tests.conftest import make_settings
from tests.live_server import live_server
from tests.oidc.helpers import Env

from idp.app import create_app
from idp.services import build_services


def test_discovery_names_every_endpoint_under_the_issuer(env: Env) -> None:
    response = httpx.get(env.url("/.well-known/openid-configuration"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    doc = response.json()
    assert doc["issuer"] == env.base  # Discovery 4.3: exactly the URL it was fetched under
    for name, path in (("authorization_endpoint", "/authorize"), ("token_endpoint", "/token"),
                       ("userinfo_endpoint", "/userinfo"), ("jwks_uri", "/jwks.json"),
                       ("revocation_endpoint", "/revoke"),
                       ("introspection_endpoint", "/introspect"),
                       ("end_session_endpoint", "/logout")):
        assert doc[name] == env.base + path
    assert doc["response_types_supported"] == ["code"]  # no implicit, no hybrid
    assert doc["response_modes_supported"] == ["query", "form_post"]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["request_parameter_supported"] is False
    assert doc["request_uri_parameter_supported"] is False
    assert doc["claims_parameter_supported"] is True
    assert doc["authorization_response_iss_parameter_supported"] is True
    assert doc["backchannel_logout_supported"] is True
    assert doc["backchannel_logout_session_supported"] is True
    assert set(doc["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic", "client_secret_post", "private_key_jwt", "none"}
    assert set(doc["id_token_signing_alg_values_supported"]) == {"RS256", "ES256"}
    assert "urn:nidan:acr:2sv" in doc["acr_values_supported"]
    assert {"openid", "profile", "email", "offline_access"} == set(doc["scopes_supported"])
    # Only what we can serve: no phone or address data is kept.
    assert "phone" not in doc["scopes_supported"]
    assert "address" not in doc["scopes_supported"]
    assert {"sid", "auth_time", "acr", "amr", "email"} <= set(doc["claims_supported"])
    assert "password" not in doc["grant_types_supported"]
    assert "implicit" not in doc["grant_types_supported"]


def test_rfc8414_document_is_the_same(env: Env) -> None:
    oidc = httpx.get(env.url("/.well-known/openid-configuration")).json()
    oauth = httpx.get(env.url("/.well-known/oauth-authorization-server")).json()
    assert oidc == oauth


def test_public_documents_may_be_cached(env: Env) -> None:
    for path in ("/.well-known/openid-configuration", "/jwks.json"):
        response = httpx.get(env.url(path))
        assert response.headers["cache-control"] == "public, max-age=300"
        assert response.headers["access-control-allow-origin"] == "*"


def test_jwks_publishes_public_keys_with_unique_kids(env: Env) -> None:
    keys = httpx.get(env.url("/jwks.json")).json()["keys"]
    assert {key["alg"] for key in keys} == {"RS256", "ES256"}
    kids = [key["kid"] for key in keys]
    assert len(kids) == len(set(kids))
    for key in keys:
        assert key["use"] == "sig"
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)  # never a private part
        imported = jwk.import_key(key)
        assert imported.thumbprint() == key["kid"]  # RFC 7638 thumbprint as kid


def test_every_replica_publishes_the_same_keys(env: Env) -> None:
    """Keys live in the store: a second provider on the same store signs with them too."""
    from tests.oidc.helpers import oidc_test_settings

    from idp.oidc.provider import OidcProvider

    services = env.services
    other = OidcProvider(env.settings, services.store, services.audit, services.accounts,
                         services.sessions, oidc=oidc_test_settings(), clock=env.clock)
    assert other.keys.jwks_json() == httpx.get(env.url("/jwks.json")).content


def test_a_dev_mode_issuer_off_loopback_still_works(tmp_path: Path) -> None:
    """`idp serve --dev --host 0.0.0.0`: a plain-http issuer that isn't loopback, which
    authlib alone would refuse on every request."""
    settings = make_settings(tmp_path, server={"issuer": "http://10.0.0.5:8000", "dev": True})
    with (
        closing(build_services(settings)) as services,
        live_server(create_app(settings, services)) as base,
    ):
        token = httpx.post(base + "/token", data={"grant_type": "password"})
        page = httpx.get(base + "/authorize", params={"client_id": "nobody"})
    assert token.json()["error"] == "unsupported_grant_type"
    assert page.status_code == 400
