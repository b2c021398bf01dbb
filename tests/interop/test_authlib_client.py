"""authlib's OAuth 2.0 client (the httpx one) as a relying party: discovery, PKCE S256 +
state + nonce, the real sign-in, code exchange, the ID token verified with joserfc against the
provider's JWKS, UserInfo, refresh with rotation, reuse refused, RP-initiated logout.

authlib's client checks the state and little else; what a strict RP checks on top (issuer,
RFC 9207 ``iss``, the ID token) is done here as such an RP would."""

from __future__ import annotations

import secrets
import warnings
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from tests.interop.browser import visit
from tests.interop.id_tokens import provider_keys, verify_id_token
from tests.oidc.helpers import Env, add_client, make_user, query_of

from idp.login import ACR_2SV

with warnings.catch_warnings():
    # authlib's httpx client asks for the httpx2 package (not installed); httpx works.
    warnings.filterwarnings("ignore", message="The httpx module is deprecated")
    from authlib.integrations.base_client.errors import OAuthError
    from authlib.integrations.httpx_client import OAuth2Client

CALLBACK = "http://127.0.0.1:8766/callback"
SIGNED_OUT = "http://127.0.0.1:8766/signed-out"


def discover(env: Env) -> dict[str, Any]:
    meta: dict[str, Any] = httpx.get(env.url("/.well-known/openid-configuration")).json()
    # OIDC Discovery 4.3: the issuer in the document is exactly the one asked about.
    assert meta["issuer"] == env.base
    assert "S256" in meta["code_challenge_methods_supported"]
    assert meta["authorization_response_iss_parameter_supported"] is True
    return meta


@pytest.mark.parametrize("auth", ["client_secret_basic", "client_secret_post"])
def test_authlib_client_signs_in_refreshes_and_logs_out(env: Env, agent: httpx.Client,
                                                        auth: str) -> None:
    secret = add_client(env, "tool", token_endpoint_auth_method=auth, redirect_uris=[CALLBACK],
                        post_logout_redirect_uris=[SIGNED_OUT])
    user = make_user(env, enroll=True)
    meta = discover(env)
    keys = provider_keys(meta["jwks_uri"])
    client = OAuth2Client("tool", secret, scope="openid profile email", redirect_uri=CALLBACK,
                          code_challenge_method="S256", token_endpoint_auth_method=auth)
    with client:
        verifier = secrets.token_urlsafe(48)
        nonce = secrets.token_urlsafe(16)
        url, state = client.create_authorization_url(meta["authorization_endpoint"],
                                                     code_verifier=verifier, nonce=nonce)
        assert query_of(url)["code_challenge_method"] == "S256"
        seen = visit(env, agent, url, user.email)
        assert seen.pages == ["/login", "/login/code"]
        callback = seen.back_to(CALLBACK)
        returned = query_of(callback)
        assert returned["iss"] == meta["issuer"]  # RFC 9207 2.4
        assert returned["state"] == state

        token = client.fetch_token(meta["token_endpoint"], authorization_response=callback,
                                   code_verifier=verifier)
        assert token["token_type"].lower() == "bearer"
        claims = verify_id_token(token["id_token"], keys=keys, issuer=meta["issuer"],
                                 client_id="tool", nonce=nonce,
                                 access_token=token["access_token"])
        assert claims["sub"] == user.id
        assert claims["azp"] == "tool"
        assert claims["acr"] == ACR_2SV
        assert claims["amr"] == ["pwd", "otp", "mfa"]
        session = env.services.sessions.by_sid(claims["sid"])
        assert session is not None
        assert session.user_id == user.id

        info = client.get(meta["userinfo_endpoint"]).json()
        assert info["sub"] == claims["sub"]  # OIDC Core 5.3.2
        assert info["email"] == user.email

        first_refresh_token = token["refresh_token"]
        refreshed = client.refresh_token(meta["token_endpoint"])
        assert refreshed["refresh_token"] != first_refresh_token
        again = verify_id_token(refreshed["id_token"], keys=keys, issuer=meta["issuer"],
                                client_id="tool", nonce=None,
                                access_token=refreshed["access_token"])
        for name in ("sub", "auth_time", "acr", "amr", "sid"):
            assert again[name] == claims[name], name
        assert client.get(meta["userinfo_endpoint"]).json()["sub"] == claims["sub"]
        # Rotation: the spent token is refused, and its reuse revokes the family.
        newest = refreshed["refresh_token"]
        with pytest.raises(OAuthError) as reused:
            client.refresh_token(meta["token_endpoint"], refresh_token=first_refresh_token)
        assert reused.value.error == "invalid_grant"
        with pytest.raises(OAuthError) as revoked:
            client.refresh_token(meta["token_endpoint"], refresh_token=newest)
        assert revoked.value.error == "invalid_grant"

    end_session = meta["end_session_endpoint"] + "?" + urlencode({
        "id_token_hint": token["id_token"], "post_logout_redirect_uri": SIGNED_OUT,
        "state": "bye-2", "client_id": "tool"})
    out = agent.get(end_session)
    assert out.status_code == 303, out.text[:300]
    assert out.headers["location"].startswith(SIGNED_OUT + "?")
    assert query_of(out.headers["location"]) == {"state": "bye-2"}
    assert env.services.sessions.by_sid(claims["sid"]) is None
