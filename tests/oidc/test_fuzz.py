"""Random parameters at every endpoint, over real HTTP: whatever a client sends, the answer is
the spec's error (or a page), never a 500."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote_from_bytes

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.oidc.helpers import (
    REDIRECT,
    add_client,
    make_user,
    pkce,
    provider_env,
    sign_in,
    tokens_for,
)

NAMES = ["response_type", "client_id", "redirect_uri", "scope", "state", "nonce", "prompt",
         "max_age", "response_mode", "ui_locales", "claims_locales", "id_token_hint",
         "login_hint", "acr_values", "claims", "display", "request", "request_uri",
         "code_challenge", "code_challenge_method", "grant_type", "code", "code_verifier",
         "refresh_token", "client_secret", "client_assertion", "client_assertion_type",
         "token", "token_type_hint", "access_token", "post_logout_redirect_uri", "r",
         "decision", "csrf_token"]
PLAUSIBLE = ["code", "token", "id_token", "none", "login", "consent", "openid",
             "openid profile email offline_access", "rp", REDIRECT, REDIRECT + "/", "S256",
             "plain", "form_post", "query", "fragment", "authorization_code", "refresh_token",
             "client_credentials", "password", "0", "-1", "99999999999", "urn:nidan:acr:2sv",
             '{"id_token": {"acr": {"values": ["urn:nidan:acr:2sv"]}}}', "{", "[]", "null",
             "a.b.c", "eyJhbGciOiJub25lIn0.e30.", 'quote"back\\slash', "日本語", "\x00",
             "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", "x" * 300]
VALUES = st.one_of(st.sampled_from(PLAUSIBLE), st.text(max_size=40))
PARAMS = st.lists(st.tuples(st.one_of(st.sampled_from(NAMES), st.text(max_size=10)), VALUES),
                  max_size=8)
AUTH = st.one_of(st.none(), st.sampled_from(["Basic cnA6eA==", "Basic ////", "Basic",
                                             "Bearer", "Bearer x.y.z", "Basic 8J+YgA==",
                                             "Negotiate abc"]), st.text(max_size=30))
ENDPOINTS = [("GET", "/authorize"), ("POST", "/authorize"), ("GET", "/authorize/resume"),
             ("POST", "/authorize/consent"), ("POST", "/token"), ("GET", "/userinfo"),
             ("POST", "/userinfo"), ("POST", "/revoke"), ("POST", "/introspect"),
             ("GET", "/logout"), ("POST", "/logout"), ("POST", "/logout/confirm"),
             ("GET", "/.well-known/openid-configuration"), ("GET", "/jwks.json")]


def test_random_requests_never_get_a_500(tmp_path: Path) -> None:
    with provider_env(tmp_path) as env, httpx.Client(timeout=10) as agent:
        add_client(env)
        add_client(env, "spa", token_endpoint_auth_method="none", secret_hash=None)
        sign_in(env, agent, make_user(env))
        real = tokens_for(env, agent)
        _verifier, challenge = pkce()
        PLAUSIBLE.extend([real["id_token"], real["access_token"], real["refresh_token"],
                          challenge])

        @settings(max_examples=250, deadline=None, database=None)
        @given(endpoint=st.sampled_from(ENDPOINTS), params=PARAMS, auth=AUTH,
               signed_in=st.booleans(), raw_query=st.one_of(st.none(), st.binary(max_size=30)))
        def request(endpoint: tuple[str, str], params: list[tuple[str, str]], auth: str | None,
                    signed_in: bool, raw_query: bytes | None) -> None:
            method, path = endpoint
            headers = {}
            if auth is not None and all(32 <= ord(char) < 127 for char in auth):
                headers["Authorization"] = auth
            client = agent if signed_in else httpx.Client(timeout=10)
            try:
                if raw_query is not None:
                    # Any bytes, percent-encoded (invalid UTF-8 included), keeping = and &.
                    url = env.url(path) + "?" + quote_from_bytes(raw_query, safe="=&")
                    response = client.request(method, url, headers=headers)
                elif method == "GET":
                    response = client.get(env.url(path), params=tuple(params), headers=headers)
                else:
                    response = client.post(env.url(path), data=dict(params), headers=headers)
            finally:
                if client is not agent:
                    client.close()
            assert response.status_code < 500, (method, path, params, response.text[:300])

        request()
