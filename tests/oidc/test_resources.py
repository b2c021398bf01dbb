"""UserInfo (RFC 6750 bearer usage and errors), revocation (RFC 7009), introspection
(RFC 7662), and private_key_jwt client authentication (RFC 7523) with single-use jti."""

from __future__ import annotations

import secrets
import time

import httpx
from joserfc import jwk, jwt
from tests.oidc.helpers import Env, add_client, make_user, sign_in, tokens_for


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_userinfo_by_header_and_by_form_body(env: Env, agent: httpx.Client) -> None:
    session = sign_in(env, agent, make_user(env))
    token = tokens_for(env, agent)["access_token"]
    by_get = httpx.get(env.url("/userinfo"), headers=bearer(token))
    by_post = httpx.post(env.url("/userinfo"), headers=bearer(token))
    by_form = httpx.post(env.url("/userinfo"), data={"access_token": token})
    for response in (by_get, by_post, by_form):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")
        assert response.headers["cache-control"] == "no-store"
        assert response.json()["sub"] == session.user_id
        assert response.json()["email"] == "seller@example.com"


def test_userinfo_errors_say_what_failed(env: Env, agent: httpx.Client) -> None:
    sign_in(env, agent, make_user(env))
    token = tokens_for(env, agent)["access_token"]
    missing = httpx.get(env.url("/userinfo"))
    assert missing.status_code == 401
    # RFC 6750 3.1: no credentials at all -> a challenge without an error code.
    assert missing.headers["www-authenticate"] == f'Bearer realm="{env.base}"'
    invalid = httpx.get(env.url("/userinfo"), headers=bearer(token[:-6] + "AAAAAA"))
    assert invalid.status_code == 401
    assert 'error="invalid_token"' in invalid.headers["www-authenticate"]
    assert invalid.json()["error"] == "invalid_token"
    twice = httpx.post(env.url("/userinfo"), headers=bearer(token),
                       data={"access_token": token})
    assert twice.status_code == 400
    assert 'error="invalid_request"' in twice.headers["www-authenticate"]
    scheme = httpx.get(env.url("/userinfo"), headers={"Authorization": f"Token {token}"})
    assert scheme.status_code == 401
    assert scheme.json()["error"] == "invalid_request"
    # Query parameters never carry a token here (RFC 6750 2.3 is not offered).
    assert httpx.get(env.url("/userinfo"), params={"access_token": token}).status_code == 401


def test_userinfo_refuses_an_id_token_or_a_token_without_openid(env: Env,
                                                                agent: httpx.Client) -> None:
    sign_in(env, agent, make_user(env))
    tokens = tokens_for(env, agent)
    assert httpx.get(env.url("/userinfo"),
                     headers=bearer(tokens["id_token"])).status_code == 401
    secret = add_client(env, "svc", grant_types=["client_credentials"], redirect_uris=[])
    service = httpx.post(env.url("/token"), data={"grant_type": "client_credentials"},
                         auth=("svc", secret)).json()["access_token"]
    forbidden = httpx.get(env.url("/userinfo"), headers=bearer(service))
    assert forbidden.status_code == 403
    assert 'error="insufficient_scope"' in forbidden.headers["www-authenticate"]


def test_an_expired_access_token_is_refused(env: Env, agent: httpx.Client) -> None:
    sign_in(env, agent, make_user(env))
    token = tokens_for(env, agent)["access_token"]
    env.clock.advance(601)
    assert httpx.get(env.url("/userinfo"), headers=bearer(token)).status_code == 401


def introspect(env: Env, token: str, client_id: str = "rp", **extra: str) -> httpx.Response:
    return httpx.post(env.url("/introspect"), data={"token": token, **extra},
                      auth=(client_id, env.secrets[client_id]))


def test_introspection_of_access_and_refresh_tokens(env: Env, agent: httpx.Client) -> None:
    session = sign_in(env, agent, make_user(env))
    tokens = tokens_for(env, agent)
    access = introspect(env, tokens["access_token"]).json()
    assert access["active"] is True
    assert access["sub"] == session.user_id
    assert access["client_id"] == "rp"
    assert access["iss"] == env.base
    assert access["scope"] == "openid profile email"
    refresh = introspect(env, tokens["refresh_token"], token_type_hint="refresh_token").json()
    assert refresh["active"] is True
    assert refresh["token_type"] == "refresh_token"
    assert introspect(env, "not-a-token").json() == {"active": False}


def test_introspection_ends_with_the_account_and_its_epoch(env: Env,
                                                            agent: httpx.Client) -> None:
    """A moved security epoch (C4) or a disabled account makes its tokens inactive to a
    resource server too, as /token and /userinfo refuse them; enabling the account again
    does not bring them back."""
    user = make_user(env)
    accounts = env.services.accounts
    sign_in(env, agent, user)
    tokens = tokens_for(env, agent)
    accounts.bump_epoch(user.id, reason="test")
    for token in (tokens["access_token"], tokens["refresh_token"]):
        assert introspect(env, token).json() == {"active": False}
    agent.cookies.clear()
    sign_in(env, agent, accounts.get(user.id) or user)
    tokens = tokens_for(env, agent)
    assert introspect(env, tokens["access_token"]).json()["active"] is True
    accounts.set_status(user.id, "disabled")
    for token in (tokens["access_token"], tokens["refresh_token"]):
        assert introspect(env, token).json() == {"active": False}
    accounts.set_status(user.id, "active")
    for token in (tokens["access_token"], tokens["refresh_token"]):
        assert introspect(env, token).json() == {"active": False}


def test_introspection_needs_client_authentication_and_permission(env: Env,
                                                                  agent: httpx.Client) -> None:
    sign_in(env, agent, make_user(env))
    token = tokens_for(env, agent)["access_token"]
    anonymous = httpx.post(env.url("/introspect"), data={"token": token})
    assert anonymous.status_code in (400, 401)
    assert anonymous.json()["error"] == "invalid_client"
    add_client(env, "stranger")
    assert introspect(env, token, "stranger").json() == {"active": False}
    add_client(env, "api", introspection=True, grant_types=["client_credentials"],
               redirect_uris=[])
    assert introspect(env, token, "api").json()["active"] is True


def test_revoking_an_access_token(env: Env, agent: httpx.Client) -> None:
    sign_in(env, agent, make_user(env))
    tokens = tokens_for(env, agent)
    response = httpx.post(env.url("/revoke"), data={"token": tokens["access_token"]},
                          auth=("rp", env.secrets["rp"]))
    assert response.status_code == 200
    assert httpx.get(env.url("/userinfo"),
                     headers=bearer(tokens["access_token"])).status_code == 401
    assert introspect(env, tokens["access_token"]).json() == {"active": False}


def test_revoking_a_refresh_token_ends_its_grant(env: Env, agent: httpx.Client) -> None:
    sign_in(env, agent, make_user(env))
    tokens = tokens_for(env, agent)
    response = httpx.post(env.url("/revoke"), data={"token": tokens["refresh_token"],
                                                    "token_type_hint": "refresh_token"},
                          auth=("rp", env.secrets["rp"]))
    assert response.status_code == 200
    refreshed = httpx.post(env.url("/token"), data={"grant_type": "refresh_token",
                                                    "refresh_token": tokens["refresh_token"]},
                           auth=("rp", env.secrets["rp"]))
    assert refreshed.json()["error"] == "invalid_grant"
    assert httpx.get(env.url("/userinfo"),
                     headers=bearer(tokens["access_token"])).status_code == 401


def test_revocation_rules(env: Env) -> None:
    # RFC 7009 2.2: an unknown token is not an error.
    unknown = httpx.post(env.url("/revoke"), data={"token": "whatever"},
                         auth=("rp", env.secrets["rp"]))
    assert unknown.status_code == 200
    bad_hint = httpx.post(env.url("/revoke"), data={"token": "x", "token_type_hint": "cookie"},
                          auth=("rp", env.secrets["rp"]))
    assert bad_hint.json()["error"] == "unsupported_token_type"
    no_client = httpx.post(env.url("/revoke"), data={"token": "x"})
    assert no_client.json()["error"] == "invalid_client"


# -- private_key_jwt -----------------------------------------------------------------------


def assertion(env: Env, key: jwk.RSAKey, client_id: str, jti: str | None = None) -> str:
    now = int(time.time())
    claims = {"iss": client_id, "sub": client_id, "aud": env.url("/token"), "iat": now,
              "exp": now + 60, "jti": jti or secrets.token_urlsafe(12)}
    return jwt.encode({"alg": "RS256", "kid": key.thumbprint()}, claims, key)


def test_private_key_jwt_with_single_use_jti(env: Env) -> None:
    key = jwk.RSAKey.generate_key(2048, private=True)
    public = {**key.as_dict(private=False), "kid": key.thumbprint()}
    add_client(env, "broker", token_endpoint_auth_method="private_key_jwt", secret_hash=None,
               jwks={"keys": [public]}, grant_types=["client_credentials"], redirect_uris=[])
    signed = assertion(env, key, "broker")
    form = {"grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": signed}
    first = httpx.post(env.url("/token"), data=form)
    assert first.status_code == 200, first.text
    replay = httpx.post(env.url("/token"), data=form)
    assert replay.status_code in (400, 401)
    assert replay.json()["error"] == "invalid_client"
    other_key = jwk.RSAKey.generate_key(2048, private=True)
    forged = httpx.post(env.url("/token"), data={**form, "client_assertion": assertion(
        env, other_key, "broker")})
    assert forged.json()["error"] == "invalid_client"
    wrong_audience = dict(form, client_assertion=jwt.encode(
        {"alg": "RS256"}, {"iss": "broker", "sub": "broker", "aud": "https://elsewhere",
                           "exp": int(time.time()) + 60, "jti": "j1"}, key))
    assert httpx.post(env.url("/token"), data=wrong_audience).json()["error"] == "invalid_client"
    # A secret client can't be impersonated through an assertion either.
    as_secret_client = dict(form, client_assertion=assertion(env, key, "rp"))
    assert httpx.post(env.url("/token"),
                      data=as_secret_client).json()["error"] == "invalid_client"
