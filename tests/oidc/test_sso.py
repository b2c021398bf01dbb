"""The SSO session weighed against each request: prompt, max_age, acr_values (T5),
id_token_hint, claims, consent, and the way back from the sign-in journey."""

from __future__ import annotations

import json
import time

import httpx
from tests.oidc.helpers import (
    REDIRECT,
    Env,
    add_client,
    authorize,
    authorize_query,
    code_flow,
    csrf_form,
    exchange,
    make_user,
    pkce,
    query_of,
    sign_in,
    tokens_for,
    verify_jwt,
)

from idp.login import ACR_2SV, ACR_TRUSTED_BROWSER


def with_pkce(client_id: str = "rp", **params: str) -> tuple[dict[str, str], str]:
    verifier, challenge = pkce()
    return authorize_query(client_id, code_challenge=challenge, code_challenge_method="S256",
                           **params), verifier


def error_of(response: httpx.Response, state: str) -> str:
    assert response.status_code == 303, response.text[:300]
    params = query_of(response.headers["location"])
    assert response.headers["location"].startswith(REDIRECT)
    assert params["state"] == state
    assert "code" not in params
    return params["error"]


def test_one_session_serves_every_client(env: Env, agent: httpx.Client) -> None:
    add_client(env, "rp2")
    session = sign_in(env, agent, make_user(env))
    first = tokens_for(env, agent, "rp")
    second = tokens_for(env, agent, "rp2")  # asks nothing: no page in between
    one, two = verify_jwt(env, first["id_token"]), verify_jwt(env, second["id_token"])
    assert one["sid"] == two["sid"] == session.sid
    assert (one["aud"], two["aud"]) == ("rp", "rp2")
    assert env.services.sessions.clients(session.sid) == {"rp", "rp2"}


def test_prompt_none_without_a_session_is_login_required(env: Env, agent: httpx.Client) -> None:
    query, _ = with_pkce(prompt="none")
    assert error_of(authorize(env, agent, **query), query["state"]) == "login_required"


def test_prompt_none_with_a_session_answers_at_once(env: Env, agent: httpx.Client) -> None:
    sign_in(env, agent, make_user(env))
    params, _ = code_flow(env, agent, prompt="none")
    assert params["code"]


def test_prompt_none_never_combines(env: Env, agent: httpx.Client) -> None:
    sign_in(env, agent, make_user(env))
    query, _ = with_pkce(prompt="none login")
    assert error_of(authorize(env, agent, **query), query["state"]) == "invalid_request"


def test_prompt_none_when_consent_is_due_is_consent_required(env: Env,
                                                             agent: httpx.Client) -> None:
    add_client(env, "asks", skip_consent=False)
    sign_in(env, agent, make_user(env))
    query, _ = with_pkce("asks", prompt="none")
    assert error_of(authorize(env, agent, **query), query["state"]) == "consent_required"


def test_prompt_login_asks_the_password_again(env: Env, agent: httpx.Client) -> None:
    sign_in(env, agent, make_user(env))
    query, _ = with_pkce(prompt="login")
    response = authorize(env, agent, **query)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


def test_max_age_exceeded_starts_a_sign_in(env: Env, agent: httpx.Client) -> None:
    sign_in(env, agent, make_user(env), auth_time=time.time() - 100)
    query, _ = with_pkce(max_age="10")
    response = authorize(env, agent, **query)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")
    query, _ = with_pkce(max_age="10", prompt="none")
    assert error_of(authorize(env, agent, **query), query["state"]) == "login_required"


def test_max_age_within_keeps_the_original_auth_time(env: Env, agent: httpx.Client) -> None:
    signed_at = time.time() - 100
    sign_in(env, agent, make_user(env), auth_time=signed_at)
    tokens = tokens_for(env, agent, max_age="3600")
    assert verify_jwt(env, tokens["id_token"])["auth_time"] == int(signed_at)


def test_acr_2sv_forces_a_code_on_a_trusted_browser(env: Env, agent: httpx.Client) -> None:
    """T5: the trusted browser stood in for the code; the client wants a fresh one."""
    sign_in(env, agent, make_user(env), acr=ACR_TRUSTED_BROWSER)
    query, _ = with_pkce(acr_values=ACR_2SV)
    response = authorize(env, agent, **query)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")
    query, _ = with_pkce(acr_values=ACR_2SV, prompt="none")
    assert error_of(authorize(env, agent, **query), query["state"]) == "login_required"
    claims_acr = json.dumps({"id_token": {"acr": {"essential": True, "values": [ACR_2SV]}}})
    query, _ = with_pkce(claims=claims_acr, prompt="none")
    assert error_of(authorize(env, agent, **query), query["state"]) == "login_required"


def test_a_trusted_browser_session_says_so_in_acr_and_amr(env: Env,
                                                          agent: httpx.Client) -> None:
    sign_in(env, agent, make_user(env), acr=ACR_TRUSTED_BROWSER)
    claims = verify_jwt(env, tokens_for(env, agent)["id_token"])
    assert claims["acr"] == ACR_TRUSTED_BROWSER
    assert claims["amr"] == ["pwd"]  # never otp or mfa without a code


def test_acr_2sv_on_a_2sv_session_answers_at_once(env: Env, agent: httpx.Client) -> None:
    sign_in(env, agent, make_user(env))
    claims = verify_jwt(env, tokens_for(env, agent, acr_values=ACR_2SV)["id_token"])
    assert claims["acr"] == ACR_2SV
    assert claims["amr"] == ["pwd", "otp", "mfa"]


def test_id_token_hint_of_another_person_is_not_accepted(env: Env, agent: httpx.Client) -> None:
    alice = make_user(env, "alice@example.com")
    sign_in(env, agent, alice)
    alice_token = tokens_for(env, agent)["id_token"]
    with httpx.Client() as other:
        sign_in(env, other, make_user(env, "bob@example.com"))
        query, _ = with_pkce(id_token_hint=alice_token, prompt="none")
        assert error_of(authorize(env, other, **query), query["state"]) == "login_required"
        query, _ = with_pkce(id_token_hint=alice_token)
        fresh = authorize(env, other, **query)
        assert fresh.status_code == 303
        assert fresh.headers["location"].startswith("/login")
    # Alice's own hint, with her session: answered at once.
    params, _ = code_flow(env, agent, id_token_hint=alice_token, prompt="none")
    assert params["code"]


def test_a_forged_id_token_hint_is_invalid_request(env: Env, agent: httpx.Client) -> None:
    sign_in(env, agent, make_user(env))
    token = tokens_for(env, agent)["id_token"]
    head, body, signature = token.split(".")
    forged = f"{head}.{body}.{signature[:-4]}AAAA"
    query, _ = with_pkce(id_token_hint=forged, prompt="none")
    assert error_of(authorize(env, agent, **query), query["state"]) == "invalid_request"


def test_claims_parameter_asks_for_single_claims(env: Env, agent: httpx.Client) -> None:
    sign_in(env, agent, make_user(env))
    claims = json.dumps({"id_token": {"email": {"essential": True}, "unknown_claim": None},
                         "userinfo": {"name": None}})
    tokens = tokens_for(env, agent, scope="openid", claims=claims)
    id_token = verify_jwt(env, tokens["id_token"])
    assert id_token["email"] == "seller@example.com"
    assert "name" not in id_token
    assert "unknown_claim" not in id_token
    info = httpx.get(env.url("/userinfo"),
                     headers={"Authorization": f"Bearer {tokens['access_token']}"}).json()
    assert info["name"] == "Seller One"
    assert "email" not in info


def test_scope_limits_the_claims(env: Env, agent: httpx.Client) -> None:
    sign_in(env, agent, make_user(env))
    tokens = tokens_for(env, agent, scope="openid")
    info = httpx.get(env.url("/userinfo"),
                     headers={"Authorization": f"Bearer {tokens['access_token']}"}).json()
    assert set(info) == {"sub"}
    tokens = tokens_for(env, agent, scope="openid email phone address")
    assert tokens["scope"] == "openid email"  # unsupported scopes are dropped, not refused
    info = httpx.get(env.url("/userinfo"),
                     headers={"Authorization": f"Bearer {tokens['access_token']}"}).json()
    assert info == {"sub": info["sub"], "email": "seller@example.com", "email_verified": False}


# -- consent -------------------------------------------------------------------------------


def _consent(env: Env, agent: httpx.Client, page: httpx.Response, decision: str
             ) -> httpx.Response:
    assert page.status_code == 200
    fields = csrf_form(page.text, "/authorize/consent")
    fields["decision"] = decision
    return agent.post(env.url("/authorize/consent"), data=fields)


def test_consent_is_asked_once_then_remembered(env: Env, agent: httpx.Client) -> None:
    add_client(env, "asks", skip_consent=False)
    sign_in(env, agent, make_user(env))
    query, verifier = with_pkce("asks")
    page = authorize(env, agent, **query)
    assert "Tool asks" in page.text
    response = _consent(env, agent, page, "approve")
    assert response.status_code == 303
    assert exchange(env, query_of(response.headers["location"])["code"], verifier,
                    "asks").status_code == 200
    params, _ = code_flow(env, agent, "asks")  # remembered: no page
    assert params["code"]
    forced, _ = with_pkce("asks", prompt="consent")
    assert authorize(env, agent, **forced).status_code == 200  # prompt=consent asks again


def test_refused_consent_is_access_denied(env: Env, agent: httpx.Client) -> None:
    add_client(env, "asks", skip_consent=False)
    sign_in(env, agent, make_user(env))
    query, _ = with_pkce("asks")
    response = _consent(env, agent, authorize(env, agent, **query), "deny")
    assert error_of(response, query["state"]) == "access_denied"


def test_consent_without_its_csrf_token_is_refused(env: Env, agent: httpx.Client) -> None:
    add_client(env, "asks", skip_consent=False)
    sign_in(env, agent, make_user(env))
    query, _ = with_pkce("asks")
    fields = csrf_form(authorize(env, agent, **query).text, "/authorize/consent")
    del fields["csrf_token"]
    fields["decision"] = "approve"
    assert agent.post(env.url("/authorize/consent"), data=fields).status_code == 403


def test_offline_access_needs_the_persons_own_yes(env: Env, agent: httpx.Client) -> None:
    sign_in(env, agent, make_user(env))  # rp skips consent, but not for offline_access
    query, verifier = with_pkce(scope="openid offline_access")
    page = authorize(env, agent, **query)
    assert page.status_code == 200
    assert "consent" in page.text
    response = _consent(env, agent, page, "approve")
    tokens = exchange(env, query_of(response.headers["location"])["code"], verifier).json()
    assert tokens["scope"] == "openid offline_access"
    # With prompt=none and no yes on record, offline_access is dropped, not granted.
    with httpx.Client() as other:
        sign_in(env, other, make_user(env, "two@example.com"))
        quiet = tokens_for(env, other, scope="openid offline_access", prompt="none")
        assert quiet["scope"] == "openid"


# -- the way back from the sign-in journey ----------------------------------------------


def test_a_saved_request_resumes_once_and_only_with_a_session(env: Env,
                                                              agent: httpx.Client) -> None:
    query, _ = with_pkce()
    assert authorize(env, agent, **query).status_code == 303  # into /login
    saved = [key.removeprefix("oidc-authz:") for key in env.services.store.scan("oidc-authz:")]
    assert len(saved) == 1
    resumed = agent.get(env.url(f"/authorize/resume?r={saved[0]}"))
    # The journey didn't end in a session: an error for the client, never a loop to /login.
    assert error_of(resumed, query["state"]) == "login_required"
    again = agent.get(env.url(f"/authorize/resume?r={saved[0]}"))
    assert again.status_code == 400
    assert "location" not in again.headers


def test_a_resume_needs_a_fresh_enough_session(env: Env, agent: httpx.Client) -> None:
    """prompt=login saved the request; an old session (no new sign-in) doesn't satisfy it."""
    sign_in(env, agent, make_user(env), auth_time=time.time() - 600)
    query, _ = with_pkce(prompt="login")
    assert authorize(env, agent, **query).status_code == 303
    [key] = list(env.services.store.scan("oidc-authz:"))
    resumed = agent.get(env.url(f"/authorize/resume?r={key.removeprefix('oidc-authz:')}"))
    assert error_of(resumed, query["state"]) == "login_required"


def test_an_unknown_resume_is_an_error_page(env: Env, agent: httpx.Client) -> None:
    for value in ("nope", "A" * 22, "../../etc", ""):
        response = agent.get(env.url("/authorize/resume"), params={"r": value})
        assert response.status_code == 400
        assert "location" not in response.headers
