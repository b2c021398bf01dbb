"""A strict real relying party against the provider: panva's openid-client v6 (certified RP
library) run by Node, with every check it has switched on (issuer equality at discovery,
ID-token signatures through ``enableNonRepudiationChecks``, state, RFC 9207 ``iss``, nonce,
``auth_time`` against ``max_age``, ``azp``, the algorithm pinned to RS256, the UserInfo
``sub``). The browser part is done here, through the real sign-in pages with a real TOTP code.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.interop.browser import visit
from tests.interop.node_rp import NodeRp
from tests.oidc.helpers import Env, add_client, header_of, make_user, query_of

from idp.login import ACR_2SV
from idp.users import User

# A loopback redirect URI (RFC 8252 7.3) nobody listens on: the test stops at the provider's
# redirect and hands its Location to the client, as the browser would have.
CALLBACK = "http://127.0.0.1:8765/callback"
SIGNED_OUT = "http://127.0.0.1:8765/signed-out"
AMR_CODE = ["pwd", "otp", "mfa"]


def register(env: Env, client_id: str, auth: str) -> str | None:
    """A client of the given authentication method; its secret (None for a public one)."""
    uris: dict[str, Any] = {"redirect_uris": [CALLBACK],
                            "post_logout_redirect_uris": [SIGNED_OUT]}
    if auth == "none":
        add_client(env, client_id, token_endpoint_auth_method="none", secret_hash=None, **uris)
        return None
    return add_client(env, client_id, token_endpoint_auth_method=auth, **uris)


def rp_request(env: Env, tmp_path: Path, client_id: str, auth: str, secret: str | None,
               **parameters: str) -> dict[str, Any]:
    request: dict[str, Any] = {
        "issuer": env.base, "client_id": client_id, "auth": auth,
        "redirect_uri": CALLBACK, "scope": "openid profile email",
        "state_file": str(tmp_path / f"rp-{client_id}-{time.monotonic_ns()}.json"),
        "parameters": parameters,
    }
    if secret is not None:
        request["client_secret"] = secret
    return request


def sign_in(env: Env, agent: httpx.Client, node_rp: NodeRp, request: dict[str, Any],
            user: User, **finishing: Any) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """The client starts, the person signs in, the client finishes: (start, finish, pages)."""
    started = node_rp.ok("start", request)
    seen = visit(env, agent, started["authorization_url"], user.email)
    finished = node_rp.ok("finish", {"state_file": request["state_file"],
                                     "callback_url": seen.back_to(CALLBACK), **finishing})
    return started, finished, seen.pages


def test_discovery_holds_the_issuer_to_its_url(env: Env, node_rp: NodeRp,
                                               tmp_path: Path) -> None:
    secret = register(env, "tool", "client_secret_basic")
    for algorithm in ("oidc", "oauth2"):  # OIDC Discovery 4 and RFC 8414 3
        request = rp_request(env, tmp_path, "tool", "client_secret_basic", secret)
        started = node_rp.ok("start", {**request, "discovery": algorithm})
        assert started["issuer"] == env.base
        assert started["supports_pkce"] is True
        url = started["authorization_url"]
        assert url.startswith(env.url("/authorize?"))
        params = query_of(url)
        assert params["code_challenge_method"] == "S256"
        assert params["state"] == started["state"]
        assert params["nonce"] == started["nonce"]
    # The same server under another name is not that issuer: the client must refuse it.
    other_name = env.base.replace("127.0.0.1", "localhost")
    refused = node_rp.run("start", {**rp_request(env, tmp_path, "tool", "client_secret_basic",
                                                 secret), "issuer": other_name})
    assert refused["ok"] is False
    assert refused["step"] == "discovery"
    assert refused["error"]["code"] == "OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED", refused


@pytest.mark.parametrize("auth", ["client_secret_basic", "client_secret_post", "none"])
def test_openid_client_signs_in_refreshes_and_logs_out(env: Env, agent: httpx.Client,
                                                       node_rp: NodeRp, tmp_path: Path,
                                                       auth: str) -> None:
    """Confidential clients (Basic and form-post secrets) and a public client (PKCE only):
    discovery, PKCE S256 + state + nonce, the real sign-in, code exchange, ID token, UserInfo,
    refresh with rotation, reuse refused, RP-initiated logout."""
    secret = register(env, "tool", auth)
    user = make_user(env, enroll=True)
    request = rp_request(env, tmp_path, "tool", auth, secret)
    started, finished, pages = sign_in(env, agent, node_rp, request, user, refresh=True,
                                       post_logout_redirect_uri=SIGNED_OUT,
                                       logout_state="bye-1")
    assert pages == ["/login", "/login/code"]  # a password, then a real second factor
    assert finished["steps"] == ["discovery", "authorization_code_grant", "userinfo",
                                 "refresh_token_grant", "userinfo_after_refresh",
                                 "refresh_token_reuse", "end_session_url"]

    claims = finished["claims"]  # as openid-client validated them
    assert claims["iss"] == env.base
    assert claims["aud"] == "tool"
    assert claims["azp"] == "tool"
    assert claims["sub"] == user.id
    assert claims["nonce"] == started["nonce"]
    assert claims["acr"] == ACR_2SV
    assert claims["amr"] == AMR_CODE
    assert isinstance(claims["auth_time"], int)
    assert claims["auth_time"] <= claims["iat"] < claims["exp"]
    session = env.services.sessions.by_sid(claims["sid"])
    assert session is not None
    assert session.user_id == user.id
    assert finished["tokens"]["token_type"] == "bearer"  # lower-cased by the client

    info = finished["userinfo"]
    assert info["sub"] == user.id
    assert info["email"] == user.email
    assert info["name"] == "Seller One"

    # Refresh: a new refresh token; the ID token keeps the sign-in's facts, without nonce.
    refreshed = finished["refreshed"]
    assert refreshed["tokens"]["refresh_token"] != finished["tokens"]["refresh_token"]
    again = refreshed["claims"]
    for name in ("iss", "aud", "azp", "sub", "auth_time", "acr", "amr", "sid"):
        assert again[name] == claims[name], name
    assert "nonce" not in again
    assert finished["refreshed_userinfo"]["sub"] == user.id
    # Rotation: the spent refresh token is refused, and its reuse revokes the whole family.
    reused = finished["reused"]
    assert reused["refused"] is True
    assert reused["error"]["error"] == "invalid_grant", reused
    newest = node_rp.run("refresh", {**request,
                                     "refresh_token": refreshed["tokens"]["refresh_token"]})
    assert newest["ok"] is False
    assert newest["error"]["error"] == "invalid_grant", newest

    # RP-initiated logout through the URL the client built: back to the client, session gone.
    end_session = finished["end_session_url"]
    assert end_session.startswith(env.url("/logout?"))
    out = agent.get(end_session)
    assert out.status_code == 303, out.text[:300]
    assert out.headers["location"].startswith(SIGNED_OUT + "?")
    assert query_of(out.headers["location"]) == {"state": "bye-1"}
    assert env.services.sessions.by_sid(claims["sid"]) is None
    # The browser is signed out: a silent request gets login_required, as the client sees it.
    quiet = rp_request(env, tmp_path, "tool", auth, secret, prompt="none")
    url = node_rp.ok("start", quiet)["authorization_url"]
    back = agent.get(url)
    assert back.status_code == 303
    silent = node_rp.run("finish", {"state_file": quiet["state_file"],
                                    "callback_url": back.headers["location"]})
    assert silent["ok"] is False
    assert silent["step"] == "authorization_code_grant"
    assert silent["error"]["error"] == "login_required", silent


def test_max_age_gets_a_fresh_sign_in_and_the_client_checks_auth_time(
        env: Env, agent: httpx.Client, node_rp: NodeRp, tmp_path: Path) -> None:
    """The client sends max_age and holds auth_time to it; a session older than max_age
    signs in again (password and code), and the new auth_time is the new sign-in's."""
    secret = register(env, "tool", "client_secret_basic")
    user = make_user(env, enroll=True)
    first_request = rp_request(env, tmp_path, "tool", "client_secret_basic", secret,
                               max_age="600")
    _, first, pages = sign_in(env, agent, node_rp, first_request, user)
    assert pages == ["/login", "/login/code"]
    signed_in_at = first["claims"]["auth_time"]
    # Let the session grow older than max_age=1 (auth_time is whole seconds, rounded down).
    while time.time() < signed_in_at + 2.1:
        time.sleep(0.1)
    second_request = rp_request(env, tmp_path, "tool", "client_secret_basic", secret,
                                max_age="1")
    _, second, pages = sign_in(env, agent, node_rp, second_request, user)
    assert pages == ["/login", "/login/code"]  # the password again, and a code
    claims = second["claims"]
    assert claims["auth_time"] > signed_in_at
    assert claims["acr"] == ACR_2SV
    assert claims["amr"] == AMR_CODE
    # Within max_age, the session answers at once with its original auth_time.
    third_request = rp_request(env, tmp_path, "tool", "client_secret_basic", secret,
                               max_age="600")
    started = node_rp.ok("start", third_request)
    back = agent.get(started["authorization_url"])
    assert back.status_code == 303
    assert back.headers["location"].startswith(CALLBACK + "?")
    third = node_rp.ok("finish", {"state_file": third_request["state_file"],
                                  "callback_url": back.headers["location"]})
    assert third["claims"]["auth_time"] == claims["auth_time"]


def test_an_es256_client_gets_es256_id_tokens(env: Env, agent: httpx.Client, node_rp: NodeRp,
                                              tmp_path: Path) -> None:
    """A client registered for ES256 (id_token_signed_response_alg): the client pins ES256
    and verifies the signatures against the provider's EC key, at sign-in and on refresh."""
    secret = add_client(env, "tool", redirect_uris=[CALLBACK],
                        id_token_signed_response_alg="ES256")
    user = make_user(env, enroll=True)
    request = {**rp_request(env, tmp_path, "tool", "client_secret_basic", secret),
               "id_token_alg": "ES256"}
    _, finished, _ = sign_in(env, agent, node_rp, request, user, refresh=True)
    assert header_of(finished["tokens"]["id_token"])["alg"] == "ES256"
    assert header_of(finished["refreshed"]["tokens"]["id_token"])["alg"] == "ES256"
    assert finished["claims"]["acr"] == ACR_2SV
    assert finished["reused"]["refused"] is True
