"""End to end with the real sign-in journey (password, then a TOTP code computed from the
imported secret) and a real OAuth client (authlib's httpx client), as a relying party would
do it: discovery, PKCE + nonce + state, code exchange, userinfo, refresh, revocation."""

from __future__ import annotations

import secrets
import warnings

import httpx
import pyotp

from idp.login import ACR_2SV, ACR_TRUSTED_BROWSER

with warnings.catch_warnings():
    # authlib's httpx client asks for the httpx2 package (not installed); httpx works.
    warnings.filterwarnings("ignore", message="The httpx module is deprecated")
    from authlib.integrations.httpx_client import OAuth2Client
from tests.oidc.helpers import (
    PASSWORD,
    REDIRECT,
    TOTP_SECRET,
    Env,
    add_client,
    authorize,
    authorize_query,
    exchange,
    form_with,
    journey,
    make_user,
    pkce,
    query_of,
    verify_jwt,
)


def test_authlib_client_signs_in_with_a_real_second_factor(env: Env,
                                                           agent: httpx.Client) -> None:
    user = make_user(env, enroll=True)
    meta = httpx.get(env.url("/.well-known/openid-configuration")).json()
    client = OAuth2Client("rp", env.secrets["rp"], scope="openid profile email",
                          redirect_uri=REDIRECT, code_challenge_method="S256")
    verifier = secrets.token_urlsafe(48)
    nonce = secrets.token_urlsafe(12)
    url, state = client.create_authorization_url(meta["authorization_endpoint"],
                                                 code_verifier=verifier, nonce=nonce)
    start = agent.get(url)
    assert start.status_code == 303
    assert start.headers["location"].startswith("/login")
    back = journey(env, agent, start, user.email)
    location = back.headers["location"]
    assert location.startswith(REDIRECT)
    assert query_of(location)["iss"] == env.base  # RFC 9207
    token = client.fetch_token(meta["token_endpoint"], authorization_response=location,
                               code_verifier=verifier, state=state)
    claims = verify_jwt(env, token["id_token"])
    assert claims["iss"] == env.base
    assert claims["aud"] == "rp"
    assert claims["nonce"] == nonce
    assert claims["acr"] == ACR_2SV
    assert "otp" in claims["amr"]
    assert "mfa" in claims["amr"]
    info = client.get(meta["userinfo_endpoint"]).json()
    assert info["sub"] == claims["sub"] == user.id
    refreshed = client.refresh_token(meta["token_endpoint"])
    assert refreshed["refresh_token"] != token["refresh_token"]
    assert verify_jwt(env, refreshed["id_token"])["auth_time"] == claims["auth_time"]
    client.revoke_token(meta["revocation_endpoint"], token=refreshed["refresh_token"],
                        token_type_hint="refresh_token")
    again = httpx.post(meta["token_endpoint"], data={
        "grant_type": "refresh_token", "refresh_token": refreshed["refresh_token"]},
        auth=("rp", env.secrets["rp"]))
    assert again.json()["error"] == "invalid_grant"
    client.close()


def test_a_wrong_password_never_reaches_the_client(env: Env, agent: httpx.Client) -> None:
    user = make_user(env, enroll=True)
    _verifier, challenge = pkce()
    start = authorize(env, agent, **authorize_query(code_challenge=challenge,
                                                    code_challenge_method="S256"))
    page = agent.get(env.url(start.headers["location"]))
    fields = form_with(page.text, "/login")
    fields.update(email=user.email, password=PASSWORD + "x")
    refused = agent.post(env.url("/login"), data=fields)
    assert refused.status_code in (400, 401, 429)
    assert "location" not in refused.headers


def test_signing_in_to_a_second_tool_asks_nothing(env: Env, agent: httpx.Client) -> None:
    add_client(env, "tool-2", redirect_uris=[REDIRECT])
    user = make_user(env, enroll=True)
    _verifier, challenge = pkce()
    start = authorize(env, agent, **authorize_query(code_challenge=challenge,
                                                    code_challenge_method="S256"))
    first = journey(env, agent, start, user.email)
    assert query_of(first.headers["location"])["code"]
    verifier2, challenge2 = pkce()
    second = authorize(env, agent, **authorize_query("tool-2", code_challenge=challenge2,
                                                     code_challenge_method="S256"))
    assert second.status_code == 303
    assert second.headers["location"].startswith(REDIRECT)
    tokens = exchange(env, query_of(second.headers["location"])["code"], verifier2,
                      "tool-2").json()
    assert verify_jwt(env, tokens["id_token"])["aud"] == "tool-2"


def test_a_trusted_browser_skips_the_code_until_a_client_asks_for_2sv(
        env: Env, agent: httpx.Client) -> None:
    """T1 then T5: the trusted browser stands in for the code (acr says so) until a client
    asks for urn:nidan:acr:2sv, which gets a code even there."""
    user = make_user(env, enroll=True)
    verifier, challenge = pkce()
    query = authorize_query(code_challenge=challenge, code_challenge_method="S256")
    first = journey(env, agent, authorize(env, agent, **query), user.email, trust=True)
    tokens = exchange(env, query_of(first.headers["location"])["code"], verifier).json()
    assert verify_jwt(env, tokens["id_token"])["acr"] == ACR_2SV
    # Sign out (the trusted-browser cookie stays), then sign in again: password only.
    agent.get(env.url("/logout"), params={"id_token_hint": tokens["id_token"]})
    verifier, challenge = pkce()
    query = authorize_query(code_challenge=challenge, code_challenge_method="S256")
    second = journey(env, agent, authorize(env, agent, **query), user.email, code=False)
    tokens = exchange(env, query_of(second.headers["location"])["code"], verifier).json()
    claims = verify_jwt(env, tokens["id_token"])
    assert claims["acr"] == ACR_TRUSTED_BROWSER
    assert claims["amr"] == ["pwd"]
    # A client wants a fresh second factor: the code is asked despite the trusted browser.
    verifier, challenge = pkce()
    query = authorize_query(code_challenge=challenge, code_challenge_method="S256",
                            acr_values=ACR_2SV)
    start = authorize(env, agent, **query)
    assert start.headers["location"].startswith("/login")
    third = journey(env, agent, start, user.email)
    tokens = exchange(env, query_of(third.headers["location"])["code"], verifier).json()
    assert verify_jwt(env, tokens["id_token"])["acr"] == ACR_2SV


def test_login_hint_prefills_the_sign_in_page(env: Env, agent: httpx.Client) -> None:
    _verifier, challenge = pkce()
    start = authorize(env, agent, **authorize_query(
        code_challenge=challenge, code_challenge_method="S256",
        login_hint="hinted@example.com", ui_locales="en"))
    page = agent.get(env.url(start.headers["location"]))
    assert form_with(page.text, "/login")["email"] == "hinted@example.com"
    assert page.headers["content-language"] == "en"
    assert "Tool rp" in page.text  # "Sign in to continue to <client name>"


def test_the_code_is_real_totp(env: Env) -> None:
    assert len(pyotp.TOTP(TOTP_SECRET).now()) == 6
