"""The token endpoint: codes, ID and access tokens, refresh rotation, client authentication."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import httpx
import pytest
from tests.oidc.helpers import (
    REDIRECT,
    Env,
    add_client,
    code_flow,
    exchange,
    header_of,
    make_user,
    provider_env,
    sign_in,
    tokens_for,
    verify_jwt,
)

from idp.login import ACR_2SV


def refresh(env: Env, token: str, client_id: str = "rp", **extra: str) -> httpx.Response:
    return httpx.post(env.url("/token"), data={"grant_type": "refresh_token",
                                               "refresh_token": token, **extra},
                      auth=(client_id, env.secrets[client_id]))


def userinfo_status(env: Env, access_token: str) -> int:
    return httpx.get(env.url("/userinfo"),
                     headers={"Authorization": f"Bearer {access_token}"}).status_code


def assert_no_store(response: httpx.Response) -> None:
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"


def test_the_id_token_carries_every_claim(env: Env, agent: httpx.Client) -> None:
    session = sign_in(env, agent, make_user(env))
    params, verifier = code_flow(env, agent, nonce="n-0123")
    response = exchange(env, params["code"], verifier)
    assert response.status_code == 200
    assert_no_store(response)
    tokens = response.json()
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 600
    claims = verify_jwt(env, tokens["id_token"])
    assert claims["iss"] == env.base
    assert claims["sub"] == session.user_id
    assert claims["aud"] == "rp"
    assert claims["azp"] == "rp"
    assert claims["exp"] - claims["iat"] == 600
    assert claims["auth_time"] == int(session.auth_time)
    assert claims["nonce"] == "n-0123"
    assert claims["acr"] == ACR_2SV
    assert claims["amr"] == ["pwd", "otp", "mfa"]
    assert claims["sid"] == session.sid
    digest = hashlib.sha256(tokens["access_token"].encode()).digest()
    assert claims["at_hash"] == base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()
    header = header_of(tokens["id_token"])
    assert header["alg"] == "RS256"
    assert header["kid"]


def test_the_nonce_is_optional_for_the_code_flow(env: Env, agent: httpx.Client) -> None:
    sign_in(env, agent, make_user(env))
    params, verifier = code_flow(env, agent, nonce="")
    claims = verify_jwt(env, exchange(env, params["code"], verifier).json()["id_token"])
    assert "nonce" not in claims


def test_a_client_may_ask_for_es256_id_tokens(env: Env, agent: httpx.Client) -> None:
    add_client(env, "ec", id_token_signed_response_alg="ES256")
    sign_in(env, agent, make_user(env))
    token = tokens_for(env, agent, "ec")["id_token"]
    assert header_of(token)["alg"] == "ES256"
    assert verify_jwt(env, token)["aud"] == "ec"


def test_access_tokens_are_rfc9068_jwts(env: Env, agent: httpx.Client) -> None:
    session = sign_in(env, agent, make_user(env))
    token = tokens_for(env, agent)["access_token"]
    assert header_of(token)["typ"] == "at+jwt"
    claims = verify_jwt(env, token)
    assert claims["iss"] == env.base
    assert claims["sub"] == session.user_id
    assert claims["client_id"] == "rp"
    assert claims["aud"] == "rp"
    assert claims["scope"] == "openid profile email"
    assert claims["jti"]
    assert claims["acr"] == ACR_2SV
    assert claims["auth_time"] == int(session.auth_time)


def test_a_reused_code_is_refused_and_revokes_what_it_gave(env: Env,
                                                          agent: httpx.Client) -> None:
    sign_in(env, agent, make_user(env))
    params, verifier = code_flow(env, agent)
    first = exchange(env, params["code"], verifier).json()
    assert userinfo_status(env, first["access_token"]) == 200
    second = exchange(env, params["code"], verifier)
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"
    assert_no_store(second)
    assert userinfo_status(env, first["access_token"]) == 401
    assert refresh(env, first["refresh_token"]).json()["error"] == "invalid_grant"


def test_a_code_expires_after_60_seconds(env: Env, agent: httpx.Client) -> None:
    sign_in(env, agent, make_user(env))
    params, verifier = code_flow(env, agent)
    env.clock.advance(61)
    response = exchange(env, params["code"], verifier)
    assert response.json()["error"] == "invalid_grant"


def test_a_code_has_256_bits_and_works_once_within_its_minute(env: Env,
                                                             agent: httpx.Client) -> None:
    sign_in(env, agent, make_user(env))
    params, verifier = code_flow(env, agent)
    assert len(base64.urlsafe_b64decode(params["code"] + "=")) >= 16  # >= 128 bits
    env.clock.advance(55)
    assert exchange(env, params["code"], verifier).status_code == 200


def test_the_code_is_bound_to_its_redirect_uri_and_client(env: Env, agent: httpx.Client) -> None:
    add_client(env, "rp2")
    sign_in(env, agent, make_user(env))
    params, verifier = code_flow(env, agent)
    other = exchange(env, params["code"], verifier, client_id="rp2")
    assert other.json()["error"] == "invalid_grant"
    moved = exchange(env, params["code"], verifier, redirect_uri=REDIRECT + "/x")
    assert moved.json()["error"] == "invalid_grant"


def test_pkce_verifier_rules(env: Env, agent: httpx.Client) -> None:
    sign_in(env, agent, make_user(env))
    params, _verifier = code_flow(env, agent)
    wrong = exchange(env, params["code"], "x" * 43)
    assert wrong.json()["error"] == "invalid_grant"
    params, _verifier = code_flow(env, agent)
    missing = exchange(env, params["code"], None)
    assert missing.json()["error"] == "invalid_request"


def test_a_verifier_without_a_challenge_is_refused(env: Env, agent: httpx.Client) -> None:
    add_client(env, "legacy", require_pkce=False)
    sign_in(env, agent, make_user(env))
    response = agent.get(env.url("/authorize"), params={
        "response_type": "code", "client_id": "legacy", "redirect_uri": REDIRECT,
        "scope": "openid", "state": "s"})
    code = dict(httpx.URL(response.headers["location"]).params)["code"]
    refused = exchange(env, code, "v" * 43, client_id="legacy")
    assert refused.json()["error"] == "invalid_request"  # RFC 9700 4.8.2


def test_refresh_rotates_and_keeps_the_original_authentication(env: Env,
                                                               agent: httpx.Client) -> None:
    session = sign_in(env, agent, make_user(env))
    first = tokens_for(env, agent)
    env.clock.advance(300)
    response = refresh(env, first["refresh_token"])
    assert response.status_code == 200
    assert_no_store(response)
    second = response.json()
    assert second["refresh_token"] != first["refresh_token"]
    claims = verify_jwt(env, second["id_token"])
    assert claims["auth_time"] == int(session.auth_time)  # OIDC Core 12.2
    assert claims["sid"] == session.sid
    assert claims["acr"] == ACR_2SV
    assert "nonce" not in claims
    assert claims["iat"] >= verify_jwt(env, first["id_token"])["iat"] + 300


def test_a_refresh_token_expires_absolutely_however_often_it_is_rotated(
    env: Env, agent: httpx.Client
) -> None:
    # ASVS 10.4.8: rotation never moves the end of the grant ([lifetimes] refresh_token_s).
    sign_in(env, agent, make_user(env))
    token = tokens_for(env, agent)["refresh_token"]
    lifetime = env.settings.lifetimes.refresh_token_s
    for _ in range(3):
        env.clock.advance(lifetime / 4)
        rotated = refresh(env, token)
        assert rotated.status_code == 200
        token = rotated.json()["refresh_token"]
    env.clock.advance(lifetime / 4 + 1)  # the newest token is a week old, its grant over
    expired = refresh(env, token)
    assert expired.status_code == 400
    assert expired.json()["error"] == "invalid_grant"


def test_a_reused_refresh_token_revokes_the_whole_family(env: Env, agent: httpx.Client) -> None:
    sign_in(env, agent, make_user(env))
    first = tokens_for(env, agent)
    second = refresh(env, first["refresh_token"]).json()
    reused = refresh(env, first["refresh_token"])
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"
    # The thief's replay ended the family: the legitimate holder's tokens stop too.
    assert refresh(env, second["refresh_token"]).json()["error"] == "invalid_grant"
    assert userinfo_status(env, second["access_token"]) == 401


def test_refresh_may_narrow_but_never_widen_the_scope(env: Env, agent: httpx.Client) -> None:
    sign_in(env, agent, make_user(env))
    first = tokens_for(env, agent, scope="openid email")
    wider = refresh(env, first["refresh_token"], scope="openid email profile")
    assert wider.json()["error"] == "invalid_scope"
    narrower = refresh(env, first["refresh_token"], scope="openid")
    assert narrower.status_code == 200
    assert narrower.json()["scope"] == "openid"


def test_refresh_is_refused_once_the_second_factor_was_reset(env: Env,
                                                            agent: httpx.Client) -> None:
    """The promise: `idp users reset-2sv` (methods reset, epoch bumped) ends every grant."""
    user = make_user(env, enroll=True)
    sign_in(env, agent, user)
    tokens = tokens_for(env, agent)
    env.services.methods.reset(user.id, actor="test")
    env.services.accounts.bump_epoch(user.id, reason="reset-2sv", actor="test")
    assert refresh(env, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert userinfo_status(env, tokens["access_token"]) == 401


def test_refresh_is_refused_for_a_disabled_account(env: Env, agent: httpx.Client) -> None:
    user = make_user(env)
    sign_in(env, agent, user)
    tokens = tokens_for(env, agent)
    env.services.accounts.set_status(user.id, "disabled", actor="test")
    assert refresh(env, tokens["refresh_token"]).json()["error"] == "invalid_grant"


def test_client_credentials_for_a_service_client(env: Env) -> None:
    secret = add_client(env, "svc", grant_types=["client_credentials"], redirect_uris=[],
                        scopes=["openid", "profile"])
    response = httpx.post(env.url("/token"), data={"grant_type": "client_credentials",
                                                   "scope": "profile"}, auth=("svc", secret))
    assert response.status_code == 200
    assert_no_store(response)
    body = response.json()
    assert "refresh_token" not in body
    assert "id_token" not in body
    claims = verify_jwt(env, body["access_token"])
    assert claims["sub"] == "svc"
    assert claims["scope"] == "profile"
    denied = httpx.post(env.url("/token"), data={"grant_type": "client_credentials"},
                        auth=("rp", env.secrets["rp"]))
    assert denied.json()["error"] == "unauthorized_client"


def test_client_secret_post_and_basic_both_work(env: Env, agent: httpx.Client) -> None:
    sign_in(env, agent, make_user(env))
    params, verifier = code_flow(env, agent)
    response = httpx.post(env.url("/token"), data={
        "grant_type": "authorization_code", "code": params["code"], "redirect_uri": REDIRECT,
        "code_verifier": verifier, "client_id": "rp", "client_secret": env.secrets["rp"]})
    assert response.status_code == 200


@pytest.mark.parametrize("auth", [("rp", "wrong-secret"), ("nobody", "x")])
def test_a_wrong_secret_is_invalid_client_with_a_challenge(env: Env,
                                                           auth: tuple[str, str]) -> None:
    response = httpx.post(env.url("/token"), data={"grant_type": "client_credentials"},
                          auth=auth)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"].startswith("Basic")
    assert_no_store(response)


def test_malformed_basic_credentials_are_invalid_client(env: Env) -> None:
    for value in ("Basic ////", "Basic " + base64.b64encode(b"\xff\xfe:x").decode(), "Basic"):
        response = httpx.post(env.url("/token"), data={"grant_type": "client_credentials"},
                              headers={"Authorization": value})
        assert response.status_code == 401, value
        assert response.json()["error"] == "invalid_client"


def test_a_public_client_authenticates_with_pkce_alone(env: Env, agent: httpx.Client) -> None:
    env.secrets["spa"] = ""
    add_client(env, "spa", token_endpoint_auth_method="none", secret_hash=None)
    sign_in(env, agent, make_user(env))
    params, verifier = code_flow(env, agent, "spa")
    response = httpx.post(env.url("/token"), data={
        "grant_type": "authorization_code", "code": params["code"], "redirect_uri": REDIRECT,
        "code_verifier": verifier, "client_id": "spa"})
    assert response.status_code == 200
    # A confidential client can't pass as public by leaving its secret out.
    params, verifier = code_flow(env, agent)
    anonymous = httpx.post(env.url("/token"), data={
        "grant_type": "authorization_code", "code": params["code"], "redirect_uri": REDIRECT,
        "code_verifier": verifier, "client_id": "rp"})
    assert anonymous.json()["error"] == "invalid_client"


def test_other_grant_types_do_not_exist(env: Env) -> None:
    for grant in ("password", "implicit", "urn:ietf:params:oauth:grant-type:device_code", ""):
        response = httpx.post(env.url("/token"), data={"grant_type": grant, "username": "a",
                                                       "password": "b"},
                              auth=("rp", env.secrets["rp"]))
        assert response.status_code == 400
        assert response.json()["error"] == "unsupported_grant_type"
        assert_no_store(response)


def test_the_token_endpoint_takes_only_posted_forms(env: Env) -> None:
    assert httpx.get(env.url("/token")).status_code == 405
    response = httpx.post(env.url("/token"), json={"grant_type": "client_credentials"},
                          auth=("rp", env.secrets["rp"]))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_an_unreachable_store_is_a_json_503(tmp_path: Path) -> None:
    with provider_env(tmp_path) as env:
        secret = add_client(env)
        env.services.store.close()
        response = httpx.post(env.url("/token"), data={"grant_type": "client_credentials"},
                              auth=("rp", secret))
        userinfo = httpx.get(env.url("/userinfo"), headers={"Authorization": "Bearer x.y.z"})
    for answer in (response, userinfo):
        assert answer.status_code == 503
        assert answer.json()["error"] == "temporarily_unavailable"
